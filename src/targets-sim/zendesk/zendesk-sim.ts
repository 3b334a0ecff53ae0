/**
 * A test double shaped like the Zendesk Support API's organizations, for the support write-back (a
 * customer's entitlement in organization fields). It runs in process ({@link startZendeskSim}) or as a
 * process (`syncline targets serve`), keeps organizations in memory, and records every request and
 * every applied change so tests can assert exactly-once effects.
 *
 *   GET    /api/v2/organizations/{id}.json
 *   PUT    /api/v2/organizations/{id}.json                 {"organization": {...}} → 200
 *   DELETE /api/v2/organizations/{id}.json                 → 204
 *   POST   /api/v2/organizations.json                      create → 201
 *   POST   /api/v2/organizations/create_or_update.json     match by id, then external_id → 200 / 201
 *   GET    /api/v2/organizations/search.json?external_id=  (or ?name=)
 *   GET    /api/v2/organization_fields.json                the field definitions
 *
 * Authentication: `Authorization: Bearer <OAuth token>` or Basic `{email}/token:{api token}`; 401
 * `{"error": "Couldn't authenticate you"}` otherwise. The account's request limit answers 429 with
 * Retry-After and `{"error": "APIRateLimitExceeded", ...}`; success answers carry X-Rate-Limit and
 * X-Rate-Limit-Remaining. Not found is 404 `{"error": "RecordNotFound", "description": "Not found"}`;
 * bad values 422 `{"error": "RecordInvalid", "description": "Record validation errors", "details": {...}}`.
 * Not Zendesk: `external_id` is kept unique here, so create_or_update by external id is deterministic.
 *
 * Admin (same credentials): `/_faults`, and under `/_sim/`: `GET requests`, `GET writes`,
 * `DELETE recording`, `POST organizations` (seed one; `id` may be given).
 */
import type { IncomingMessage } from 'node:http';
import { createLogger, type Logger } from '../../runtime/logger.ts';
import { FaultServer, type DoubleBehaviour } from '../common/fault-server.ts';
import type { FaultSettings, FaultState } from '../common/faults.ts';
import {
  bearerToken,
  headerValue,
  tokenMatches,
  type InboundRequest,
  type LimitDecision,
  type Reply,
} from '../common/http.ts';
import { diff, Recorder, type PendingWrite } from '../common/recorder.ts';
import {
  checkOrganization,
  ORGANIZATION_FIELDS,
  type CheckedOrganization,
  type Organization,
} from './organizations.ts';

export interface ZendeskSimOptions {
  /** OAuth access tokens (Bearer); the first also opens the admin routes. */
  tokens: readonly string[];
  /** API tokens for Basic authentication as `{email}/token:{token}`. */
  apiTokens?: readonly { email: string; token: string }[];
  host?: string;
  port?: number;
  /** Requests per minute for the account. Default 700 (Zendesk Suite Professional). */
  requestsPerMinute?: number;
  logger?: Logger;
}

export interface ZendeskSim {
  readonly url: string;
  /** `http://host:port/api/v2`. */
  readonly apiUrl: string;
  readonly recorder: Recorder;
  /** Stores an organization as given (no API call, nothing recorded); returns its id. */
  seed(organization: Partial<Organization> & { name: string }): number;
  organization(id: number): Organization | undefined;
  setFaults(settings: FaultSettings): Promise<void>;
  clearFaults(): Promise<void>;
  faults(): FaultState;
  close(): Promise<void>;
}

const ACCOUNT = 'account';

class ZendeskApi implements DoubleBehaviour {
  readonly recorder = new Recorder();
  private readonly options: ZendeskSimOptions;
  private readonly organizations = new Map<number, Organization>();
  private nextId = 360_000_000_001;
  origin = '';

  constructor(options: ZendeskSimOptions) {
    this.options = options;
  }

  authenticate(request: IncomingMessage): { clientId: string } | Reply {
    const header = headerValue(request.headers, 'authorization');
    const bearer = bearerToken(header);
    if (bearer !== undefined && tokenMatches(bearer, this.options.tokens)) return { clientId: ACCOUNT };
    const basic = /^Basic\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const match = /^(.+)\/token:(.+)$/.exec(decoded);
      const known = this.options.apiTokens?.find((entry) => entry.email === match?.[1]);
      if (match?.[2] && known && tokenMatches(match[2], [known.token])) return { clientId: ACCOUNT };
    }
    return {
      status: 401,
      headers: { 'www-authenticate': 'Basic realm="Web Password"' },
      body: { error: "Couldn't authenticate you" },
    };
  }

  limited(decision: LimitDecision): Reply {
    return {
      status: 429,
      headers: {
        'retry-after': String(decision.retryAfterSeconds),
        'x-rate-limit': String(decision.limit),
        'x-rate-limit-remaining': '0',
      },
      body: {
        error: 'APIRateLimitExceeded',
        description: 'Number of allowed API requests per minute exceeded',
      },
    };
  }

  usageHeaders(decision: LimitDecision): Record<string, string> {
    return { 'x-rate-limit': String(decision.limit), 'x-rate-limit-remaining': String(decision.remaining) };
  }

  failure(status: number, retryAfterSeconds: number | undefined): Reply {
    return {
      status,
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
      body:
        status === 500
          ? { error: 'InternalServerError', description: 'An internal error occurred' }
          : { error: 'ServiceUnavailable', description: 'Zendesk is temporarily unavailable' },
    };
  }

  error(status: 413 | 500, message: string): Reply {
    return {
      status,
      body: { error: status === 413 ? 'RequestTooLarge' : 'InternalServerError', description: message },
    };
  }

  async handle(request: InboundRequest): Promise<Reply> {
    const pending: PendingWrite[] = [];
    const ignored: string[] = [];
    const reply = this.route(request, pending, ignored);
    const errorCode =
      typeof (reply.body as { error?: unknown } | undefined)?.error === 'string'
        ? (reply.body as { error: string }).error
        : undefined;
    this.recorder.exchange(request, reply, pending, { errorCode, ignoredFields: ignored });
    return Promise.resolve(reply);
  }

  admin(request: InboundRequest): Reply | undefined {
    const path = request.url.pathname.slice('/_sim/'.length);
    const recording = this.recorder.adminRoute(path, request.method);
    if (recording) return recording;
    if (path === 'organizations' && request.method === 'POST') {
      const body = parseJson(request.body) as (Partial<Organization> & { name?: unknown }) | undefined;
      if (!body || typeof body.name !== 'string')
        return { status: 400, body: { error: 'an organization object with a name' } };
      try {
        return { status: 201, body: { id: this.seed({ ...body, name: body.name }) } };
      } catch (problem) {
        return { status: 422, body: { error: (problem as Error).message } };
      }
    }
    return undefined;
  }

  seed(input: Partial<Organization> & { name: string }): number {
    const id = input.id ?? this.allocateId();
    if (this.organizations.has(id)) throw new Error(`organization ${id} exists`);
    this.nextId = Math.max(this.nextId, id + 1);
    const now = zendeskNow();
    this.organizations.set(id, {
      ...this.blank(id, input.name, now),
      ...input,
      id,
      url: this.urlOf(id),
      organization_fields: { ...blankFields(), ...input.organization_fields },
    });
    return id;
  }

  organization(id: number): Organization | undefined {
    const organization = this.organizations.get(id);
    return organization ? structuredClone(organization) : undefined;
  }

  private route(request: InboundRequest, pending: PendingWrite[], ignored: string[]): Reply {
    const path = request.url.pathname;
    const method = request.method;
    if (path === '/api/v2/organization_fields.json' && method === 'GET') {
      return {
        status: 200,
        body: {
          organization_fields: ORGANIZATION_FIELDS.map((field, index) => ({
            id: 360_000_100_000 + index,
            key: field.key,
            title: field.title,
            type: field.type === 'dropdown' ? 'dropdown' : field.type,
            active: true,
            ...(field.options
              ? { custom_field_options: field.options.map((value) => ({ name: value, value })) }
              : {}),
          })),
          next_page: null,
          previous_page: null,
          count: ORGANIZATION_FIELDS.length,
        },
      };
    }
    if (path === '/api/v2/organizations/search.json' && method === 'GET') {
      const externalId = request.url.searchParams.get('external_id');
      const name = request.url.searchParams.get('name');
      if (externalId === null && name === null) {
        return {
          status: 400,
          body: { error: 'InvalidParameter', description: 'external_id or name is required' },
        };
      }
      const found = [...this.organizations.values()].filter(
        (organization) =>
          (externalId === null || organization.external_id === externalId) &&
          (name === null || organization.name === name),
      );
      return {
        status: 200,
        body: { organizations: found, next_page: null, previous_page: null, count: found.length },
      };
    }
    if (path === '/api/v2/organizations.json') {
      if (method !== 'POST') return methodNotAllowed('POST');
      const parsed = organizationOf(request.body);
      if ('reply' in parsed) return parsed.reply;
      const input = parsed.organization;
      return this.create(input, pending, ignored);
    }
    if (path === '/api/v2/organizations/create_or_update.json') {
      if (method !== 'POST') return methodNotAllowed('POST');
      const parsed = organizationOf(request.body);
      if ('reply' in parsed) return parsed.reply;
      const input = parsed.organization;
      const byId = typeof input.id === 'number' ? this.organizations.get(input.id) : undefined;
      const byExternal =
        byId ??
        (typeof input.external_id === 'string'
          ? [...this.organizations.values()].find((o) => o.external_id === input.external_id)
          : undefined);
      return byExternal
        ? this.update(byExternal.id, input, pending, ignored)
        : this.create(input, pending, ignored);
    }
    const single = /^\/api\/v2\/organizations\/(\d+)\.json$/.exec(path);
    if (single?.[1]) {
      const id = Number(single[1]);
      if (method === 'GET') {
        const organization = this.organizations.get(id);
        return organization ? { status: 200, body: { organization } } : notFound();
      }
      if (method === 'PUT') {
        const parsed = organizationOf(request.body);
        if ('reply' in parsed) return parsed.reply;
        const input = parsed.organization;
        return this.update(id, input, pending, ignored);
      }
      if (method === 'DELETE') {
        const organization = this.organizations.get(id);
        if (!organization) return notFound();
        this.organizations.delete(id);
        pending.push({
          kind: 'delete',
          objectType: 'organization',
          id: String(id),
          changed: { deleted: { from: false, to: true } },
        });
        return { status: 204 };
      }
      return methodNotAllowed('GET, PUT, DELETE');
    }
    return { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } };
  }

  private create(input: Record<string, unknown>, pending: PendingWrite[], ignored: string[]): Reply {
    const checked = checkOrganization(input);
    ignored.push(...checked.ignored);
    if (checked.values.name === undefined && !checked.details.name) {
      checked.details.name = [{ description: 'Name: cannot be blank', error: 'BlankValue' }];
    }
    const invalid = this.invalid(checked, undefined);
    if (invalid) return invalid;
    const id = this.allocateId();
    const now = zendeskNow();
    const { organization_fields: fields, ...attributes } = checked.values;
    const organization: Organization = {
      ...this.blank(id, checked.values.name ?? '', now),
      ...attributes,
      organization_fields: { ...blankFields(), ...fields },
    };
    this.organizations.set(id, organization);
    pending.push({
      kind: 'create',
      objectType: 'organization',
      id: String(id),
      changed: diff(undefined, comparable(organization)),
    });
    return { status: 201, headers: { location: this.urlOf(id) }, body: { organization } };
  }

  private update(
    id: number,
    input: Record<string, unknown>,
    pending: PendingWrite[],
    ignored: string[],
  ): Reply {
    const current = this.organizations.get(id);
    if (!current) return notFound();
    const checked = checkOrganization(input);
    ignored.push(...checked.ignored);
    const invalid = this.invalid(checked, id);
    if (invalid) return invalid;
    const { organization_fields: fields, ...attributes } = checked.values;
    const next: Organization = {
      ...current,
      ...attributes,
      organization_fields: { ...current.organization_fields, ...fields },
    };
    const changed = diff(comparable(current), comparable(next));
    // Zendesk moves updated_at only when something changed.
    if (Object.keys(changed).length > 0) next.updated_at = zendeskNow();
    this.organizations.set(id, next);
    pending.push({ kind: 'update', objectType: 'organization', id: String(id), changed });
    return { status: 200, body: { organization: next } };
  }

  private invalid(checked: CheckedOrganization, self: number | undefined): Reply | undefined {
    const details = { ...checked.details };
    for (const organization of this.organizations.values()) {
      if (organization.id === self) continue;
      if (
        checked.values.name !== undefined &&
        organization.name.toLowerCase() === checked.values.name.toLowerCase()
      ) {
        (details.name ??= []).push({ description: 'Name: has already been taken', error: 'DuplicateValue' });
      }
      if (
        typeof checked.values.external_id === 'string' &&
        organization.external_id === checked.values.external_id
      ) {
        (details.external_id ??= []).push({
          description: 'External id: has already been taken',
          error: 'DuplicateValue',
        });
      }
    }
    if (Object.keys(details).length === 0) return undefined;
    return {
      status: 422,
      body: { error: 'RecordInvalid', description: 'Record validation errors', details },
    };
  }

  private allocateId(): number {
    while (this.organizations.has(this.nextId)) this.nextId += 1;
    return this.nextId++;
  }

  private urlOf(id: number): string {
    return `${this.origin}/api/v2/organizations/${id}.json`;
  }

  private blank(id: number, name: string, now: string): Organization {
    return {
      url: this.urlOf(id),
      id,
      name,
      shared_tickets: false,
      shared_comments: false,
      external_id: null,
      created_at: now,
      updated_at: now,
      domain_names: [],
      details: null,
      notes: null,
      group_id: null,
      tags: [],
      organization_fields: blankFields(),
    };
  }
}

export async function startZendeskSim(options: ZendeskSimOptions): Promise<ZendeskSim> {
  if (options.tokens.length === 0) throw new Error('the Zendesk double needs at least one token');
  const logger = options.logger ?? createLogger({ name: 'syncline-zendesk-sim' });
  const api = new ZendeskApi(options);
  const server = new FaultServer({
    name: 'zendesk-sim',
    behaviour: api,
    logger,
    rateLimit: { limit: options.requestsPerMinute ?? 700, windowMs: 60_000 },
  });
  const url = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  api.origin = url;
  logger.info({ url }, 'Zendesk double listening');
  return {
    url,
    apiUrl: `${url}/api/v2`,
    recorder: api.recorder,
    seed: (organization) => api.seed(organization),
    organization: (id) => api.organization(id),
    setFaults: (settings) => server.setFaults(settings),
    clearFaults: () => server.clearFaults(),
    faults: () => server.faultState(),
    close: () => server.close(),
  };
}

/** The `organization` object of a body, or the 400 answer when there is none. */
function organizationOf(body: Buffer): { organization: Record<string, unknown> } | { reply: Reply } {
  const parsed = parseJson(body);
  if (parsed === undefined)
    return {
      reply: {
        status: 400,
        body: { error: 'InvalidJSON', description: 'The request body is not valid JSON' },
      },
    };
  const organization = (parsed as { organization?: unknown } | null | undefined)?.organization;
  if (organization === null || typeof organization !== 'object' || Array.isArray(organization)) {
    return {
      reply: {
        status: 400,
        body: {
          error: 'ParameterMissing',
          description: 'param is missing or the value is empty: organization',
        },
      },
    };
  }
  return { organization: organization as Record<string, unknown> };
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function notFound(): Reply {
  return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
}

function methodNotAllowed(allow: string): Reply {
  return {
    status: 405,
    headers: { allow },
    body: { error: 'MethodNotAllowed', description: `Allowed: ${allow}` },
  };
}

function blankFields(): Record<string, null> {
  return Object.fromEntries(ORGANIZATION_FIELDS.map((field) => [field.key, null]));
}

/** The organization without its stamps, flattened so a change of one organization field is one entry. */
function comparable(organization: Organization): Record<string, unknown> {
  const {
    organization_fields: fields,
    created_at: _created,
    updated_at: _updated,
    url: _url,
    ...rest
  } = organization;
  return {
    ...rest,
    ...Object.fromEntries(
      Object.entries(fields).map(([key, value]) => [`organization_fields.${key}`, value]),
    ),
  };
}

/** Zendesk writes times without fractions: `2024-01-31T12:00:00Z`. */
function zendeskNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
