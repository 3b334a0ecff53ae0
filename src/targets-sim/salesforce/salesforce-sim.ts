/**
 * A test double shaped like the Salesforce REST API, for the CRM write-back (the opportunity learns
 * its ERP customer number and sync status). It runs in process ({@link startSalesforceSim}) or as a
 * process (`syncline targets serve`), keeps records in memory, and records every request and every
 * applied change so tests can assert exactly-once effects.
 *
 *   POST  /services/oauth2/token                                 client-credentials flow
 *   GET   /services/data/v60.0/sobjects/{type}/{id}               record (optional ?fields=A,B)
 *   PATCH /services/data/v60.0/sobjects/{type}/{id}               update → 204
 *   DELETE /services/data/v60.0/sobjects/{type}/{id}              delete → 204
 *   POST  /services/data/v60.0/sobjects/{type}                    create → 201 {id, success, errors}
 *   GET   /services/data/v60.0/sobjects/{type}/{extField}/{value} record by external id
 *   PATCH /services/data/v60.0/sobjects/{type}/{extField}/{value} upsert → 201 created / 200 updated
 *   GET   /services/data/v60.0/limits                             DailyApiRequests
 *
 * Errors are Salesforce's array `[{"message", "errorCode", "fields"}]`: 401 INVALID_SESSION_ID,
 * 404 NOT_FOUND / ENTITY_IS_DELETED, 400 for field errors (see sobjects.ts) and for
 * UNABLE_TO_LOCK_ROW (retriable, though a 400), 403 REQUEST_LIMIT_EXCEEDED when the org's API
 * request limit is spent (no Retry-After, as Salesforce sends none), 5xx for injected failures, and
 * 412 PRECONDITION_FAILED for a PATCH by id whose If-Unmodified-Since the record no longer meets.
 *
 * Admin (same bearer token): `/_faults`, and under `/_sim/`: `GET requests`, `GET writes`,
 * `DELETE recording`, `POST records/{type}` (seed a record, Id may be given), `POST expire-sessions`,
 * `POST lock-rows` `{"count": n}`.
 */
import { createHmac, randomBytes } from 'node:crypto';
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
import { newId, normalizeId } from './salesforce-ids.ts';
import { checkBody, fieldOf, SOBJECTS, type SalesforceError, type SObjectDefinition } from './sobjects.ts';

export interface SalesforceSimOptions {
  /** Static access tokens (what a connected app's session would be); the first also opens the admin routes. */
  tokens: readonly string[];
  /** The connected app's credentials for `POST /services/oauth2/token` (client_credentials). */
  oauth?: { clientId: string; clientSecret: string };
  host?: string;
  port?: number;
  /** The org's API request limit per 24 hours (Salesforce: DailyApiRequests). Default 1,000,000. */
  dailyRequestLimit?: number;
  /**
   * Not Salesforce: a PATCH of a well-formed id that does not exist creates the record instead of
   * answering 404, so a demo needs no seeding. Off by default.
   */
  createUnknownOnPatch?: boolean;
  logger?: Logger;
}

export interface SalesforceRecord {
  type: string;
  fields: Record<string, unknown>;
}

export interface SalesforceSim {
  /** `http://host:port`, the instance URL. */
  readonly url: string;
  /** The REST root, `http://host:port/services/data/v60.0`. */
  readonly apiUrl: string;
  readonly recorder: Recorder;
  /** Stores a record as it is (no API call, nothing recorded); returns its 18-character id. */
  seed(type: string, fields: Record<string, unknown>): string;
  /** A record by id (15 or 18 characters), with every field; undefined when unknown. */
  record(type: string, id: string): SalesforceRecord | undefined;
  /** Sessions issued by the token endpoint stop working (401 INVALID_SESSION_ID). */
  expireSessions(): void;
  /** The next `count` writes fail with UNABLE_TO_LOCK_ROW. */
  lockRowsNext(count: number): void;
  setFaults(settings: FaultSettings): Promise<void>;
  clearFaults(): Promise<void>;
  faults(): FaultState;
  close(): Promise<void>;
}

const API_VERSION = 'v60.0';
const ORG_ID = '00D5g000004SynAEAS';
const DAY_MS = 86_400_000;

interface StoredRecord {
  type: string;
  fields: Record<string, unknown>;
  deleted: boolean;
}

class SalesforceApi implements DoubleBehaviour {
  readonly recorder = new Recorder();
  private readonly options: SalesforceSimOptions;
  private readonly records = new Map<string, StoredRecord>();
  /** `Type.Field.value` → id, for External ID fields of records not deleted. */
  private readonly externalIndex = new Map<string, string>();
  private readonly sessions = new Set<string>();
  private sequence = 0;
  private lockRowsLeft = 0;
  origin = '';

  constructor(options: SalesforceSimOptions) {
    this.options = options;
  }

  authenticate(request: IncomingMessage): { clientId: string } | Reply {
    // The token endpoint is where a client gets its session: it needs none.
    if (request.url?.startsWith('/services/oauth2/token')) return { clientId: ORG_ID };
    const token = bearerToken(headerValue(request.headers, 'authorization'));
    if (token !== undefined && (tokenMatches(token, this.options.tokens) || this.sessions.has(token))) {
      // The API limit is the org's, shared by every session.
      return { clientId: ORG_ID };
    }
    return {
      status: 401,
      headers: { 'www-authenticate': 'Token' },
      body: [error('INVALID_SESSION_ID', 'Session expired or invalid')],
    };
  }

  limited(decision: LimitDecision): Reply {
    return {
      status: 403,
      headers: { 'sforce-limit-info': `api-usage=${decision.limit}/${decision.limit}` },
      body: [error('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.')],
    };
  }

  usageHeaders(decision: LimitDecision): Record<string, string> {
    return { 'sforce-limit-info': `api-usage=${decision.limit - decision.remaining}/${decision.limit}` };
  }

  failure(status: number, retryAfterSeconds: number | undefined): Reply {
    const body =
      status === 500
        ? [
            error(
              'UNKNOWN_EXCEPTION',
              `An unexpected error occurred. Please include this ErrorId if you contact support: ${randomBytes(4).toString('hex')}`,
            ),
          ]
        : [error('SERVER_UNAVAILABLE', 'Server is temporarily unavailable. Please try again later.')];
    return {
      status,
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
      body,
    };
  }

  error(status: 413 | 500, message: string): Reply {
    return { status, body: [error(status === 413 ? 'REQUEST_TOO_LARGE' : 'UNKNOWN_EXCEPTION', message)] };
  }

  async handle(request: InboundRequest): Promise<Reply> {
    const pending: PendingWrite[] = [];
    const reply = this.route(request, pending);
    const errorCode = Array.isArray(reply.body)
      ? (reply.body[0] as { errorCode?: string } | undefined)?.errorCode
      : undefined;
    this.recorder.exchange(request, reply, pending, { errorCode });
    return Promise.resolve(reply);
  }

  admin(request: InboundRequest): Reply | undefined {
    const path = request.url.pathname.slice('/_sim/'.length);
    const recording = this.recorder.adminRoute(path, request.method);
    if (recording) return recording;
    if (path === 'expire-sessions' && request.method === 'POST') {
      this.expireSessions();
      return { status: 204 };
    }
    if (path === 'lock-rows' && request.method === 'POST') {
      const count = (parseJson(request.body) as { count?: unknown } | undefined)?.count;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
        return { status: 422, body: { error: 'count must be a non-negative integer' } };
      this.lockRowsNext(count);
      return { status: 204 };
    }
    const seed = /^records\/([A-Za-z]+)$/.exec(path);
    if (seed?.[1] && request.method === 'POST') {
      const fields = parseJson(request.body);
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields))
        return { status: 400, body: { error: 'a JSON object of fields' } };
      try {
        return { status: 201, body: { id: this.seed(seed[1], fields as Record<string, unknown>) } };
      } catch (problem) {
        return { status: 422, body: { error: (problem as Error).message } };
      }
    }
    return undefined;
  }

  seed(type: string, fields: Record<string, unknown>): string {
    const sobject = SOBJECTS[type];
    if (!sobject) throw new Error(`no sObject ${type}`);
    const givenId = typeof fields.Id === 'string' ? normalizeId(fields.Id) : undefined;
    if (fields.Id !== undefined && (!givenId || !givenId.startsWith(sobject.keyPrefix))) {
      throw new Error(`Id ${JSON.stringify(fields.Id)} is not a ${type} id (prefix ${sobject.keyPrefix})`);
    }
    const id = givenId ?? this.nextId(sobject);
    const { Id: _ignored, ...rest } = fields;
    const stamp = salesforceNow();
    this.store(sobject, id, {
      ...blank(sobject),
      ...rest,
      Id: id,
      IsDeleted: false,
      CreatedDate: stamp,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    });
    return id;
  }

  record(type: string, id: string): SalesforceRecord | undefined {
    const full = normalizeId(id);
    const stored = full ? this.records.get(full) : undefined;
    if (!stored || stored.type !== type) return undefined;
    return { type: stored.type, fields: { ...stored.fields } };
  }

  expireSessions(): void {
    this.sessions.clear();
  }

  lockRowsNext(count: number): void {
    this.lockRowsLeft = count;
  }

  private route(request: InboundRequest, pending: PendingWrite[]): Reply {
    const path = request.url.pathname;
    if (path === '/services/oauth2/token') return this.token(request);
    if (path === '/services/data' || path === '/services/data/') {
      return {
        status: 200,
        body: [{ label: "Summer '24", url: `/services/data/${API_VERSION}`, version: API_VERSION.slice(1) }],
      };
    }
    const match = /^\/services\/data\/(v\d{2}\.0)(\/.*)?$/.exec(path);
    if (!match?.[1]) return notFound();
    const version = match[1];
    const rest = (match[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    if (rest.length === 1 && rest[0] === 'limits' && request.method === 'GET') {
      const max = this.options.dailyRequestLimit ?? 1_000_000;
      return { status: 200, body: { DailyApiRequests: { Max: max, Remaining: max } } };
    }
    if (rest[0] !== 'sobjects' || rest.length < 2 || rest.length > 4) return notFound();
    const sobject = SOBJECTS[rest[1] ?? ''];
    if (!sobject) return notFound();
    const method = request.method;

    if (rest.length === 2) {
      if (method !== 'POST') return methodNotAllowed(method, 'GET,HEAD,POST');
      const body = parseJson(request.body);
      if (body === undefined) return badJson();
      return this.create(sobject, body, pending);
    }
    if (rest.length === 3) {
      const id = normalizeId(rest[2] ?? '');
      if (!id || !id.startsWith(sobject.keyPrefix)) {
        return {
          status: 400,
          body: [
            error('MALFORMED_ID', `${sobject.name} ID: id value of incorrect type: ${rest[2] ?? ''}`, ['Id']),
          ],
        };
      }
      if (method === 'GET') return this.read(sobject, id, version, request.url.searchParams.get('fields'));
      if (method === 'PATCH') {
        const body = parseJson(request.body);
        if (body === undefined) return badJson();
        const precondition = this.unmodifiedSince(request, id);
        if (precondition) return precondition;
        return this.update(sobject, id, body, pending);
      }
      if (method === 'DELETE') return this.remove(sobject, id, pending);
      return methodNotAllowed(method, 'GET,HEAD,PATCH,DELETE');
    }
    const fieldName = rest[2] ?? '';
    const value = rest[3] ?? '';
    const field = fieldOf(sobject, fieldName);
    if (!field || !(field.externalId || field.name === 'Id')) {
      return {
        status: 404,
        body: [
          error('NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${fieldName}`),
        ],
      };
    }
    const existing =
      field.name === 'Id'
        ? normalizeId(value)
        : this.externalIndex.get(indexKey(sobject.name, field.name, value));
    if (method === 'GET') {
      return existing
        ? this.read(sobject, existing, version, request.url.searchParams.get('fields'))
        : notFound();
    }
    if (method !== 'PATCH') return methodNotAllowed(method, 'GET,HEAD,PATCH');
    const body = parseJson(request.body);
    if (body === undefined) return badJson();
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return {
        status: 400,
        body: [
          error(
            'JSON_PARSER_ERROR',
            'Cannot deserialize instance of sObject from a value that is not a JSON object',
          ),
        ],
      };
    }
    const given = (body as Record<string, unknown>)[field.name];
    if (given !== undefined && given !== value) {
      return {
        status: 400,
        body: [
          error('INVALID_FIELD', `The value of ${field.name} in the body does not match the one in the URL`, [
            field.name,
          ]),
        ],
      };
    }
    if (existing && this.records.get(existing)?.deleted === false) {
      const updated = this.update(sobject, existing, body, pending);
      return updated.status === 204
        ? { status: 200, body: { id: existing, success: true, errors: [], created: false } }
        : updated;
    }
    const created = this.create(
      sobject,
      { ...(body as Record<string, unknown>), [field.name]: value },
      pending,
    );
    if (created.status !== 201) return created;
    return {
      status: 201,
      headers: created.headers ?? {},
      body: { ...(created.body as Record<string, unknown>), created: true },
    };
  }

  private token(request: InboundRequest): Reply {
    if (request.method !== 'POST') return methodNotAllowed(request.method, 'POST');
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' },
      };
    }
    const oauth = this.options.oauth;
    if (
      !oauth ||
      form.get('client_id') !== oauth.clientId ||
      !tokenMatches(form.get('client_secret') ?? '', [oauth.clientSecret])
    ) {
      return {
        status: 400,
        body: { error: 'invalid_client', error_description: 'invalid client credentials' },
      };
    }
    const accessToken = `${ORG_ID}!${randomBytes(48).toString('base64url')}`;
    this.sessions.add(accessToken);
    const issuedAt = String(Date.now());
    const identity = `${this.origin}/id/${ORG_ID}/0055g00000SynUserAAA`;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        instance_url: this.origin,
        id: identity,
        token_type: 'Bearer',
        issued_at: issuedAt,
        signature: createHmac('sha256', oauth.clientSecret).update(`${identity}${issuedAt}`).digest('base64'),
      },
    };
  }

  private read(sobject: SObjectDefinition, id: string, version: string, fields: string | null): Reply {
    const stored = this.records.get(id);
    if (!stored || stored.type !== sobject.name) return notFound();
    if (stored.deleted) return { status: 404, body: [error('ENTITY_IS_DELETED', 'entity is deleted')] };
    let shown: Record<string, unknown> = stored.fields;
    if (fields) {
      const names = fields.split(',').map((name) => name.trim());
      const unknown = names.find((name) => !fieldOf(sobject, name));
      if (unknown)
        return {
          status: 400,
          body: [error('INVALID_FIELD', `No such column '${unknown}' on sobject of type ${sobject.name}`)],
        };
      shown = Object.fromEntries(['Id', ...names].map((name) => [name, stored.fields[name] ?? null]));
    }
    return {
      status: 200,
      body: {
        attributes: { type: sobject.name, url: `/services/data/${version}/sobjects/${sobject.name}/${id}` },
        ...shown,
      },
    };
  }

  private create(sobject: SObjectDefinition, body: unknown, pending: PendingWrite[]): Reply {
    const checked = checkBody(sobject, body, 'create', (id) => this.lookup(id));
    if ('errors' in checked) return { status: 400, body: checked.errors };
    const duplicate = this.duplicateOf(sobject, checked.values, undefined);
    if (duplicate) return { status: 400, body: [duplicate] };
    const id = this.nextId(sobject);
    const stamp = salesforceNow();
    const fields = {
      ...blank(sobject),
      ...checked.values,
      Id: id,
      IsDeleted: false,
      CreatedDate: stamp,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    };
    this.store(sobject, id, fields);
    pending.push({
      kind: 'create',
      objectType: sobject.name,
      id,
      changed: diff(undefined, withoutSystem(fields)),
    });
    return {
      status: 201,
      headers: { location: `/services/data/${API_VERSION}/sobjects/${sobject.name}/${id}` },
      body: { id, success: true, errors: [] },
    };
  }

  private update(sobject: SObjectDefinition, id: string, body: unknown, pending: PendingWrite[]): Reply {
    let stored = this.records.get(id);
    if (!stored && this.options.createUnknownOnPatch) {
      this.seed(sobject.name, { Id: id });
      stored = this.records.get(id);
    }
    if (!stored || stored.type !== sobject.name) return notFound();
    if (stored.deleted) return { status: 404, body: [error('ENTITY_IS_DELETED', 'entity is deleted')] };
    const checked = checkBody(sobject, body, 'update', (ref) => this.lookup(ref));
    if ('errors' in checked) return { status: 400, body: checked.errors };
    if (this.lockRowsLeft > 0) {
      this.lockRowsLeft -= 1;
      return {
        status: 400,
        body: [
          error('UNABLE_TO_LOCK_ROW', `unable to obtain exclusive access to this record or 1 records: ${id}`),
        ],
      };
    }
    const duplicate = this.duplicateOf(sobject, checked.values, id);
    if (duplicate) return { status: 400, body: [duplicate] };
    const before = withoutSystem(stored.fields);
    const after = { ...before, ...checked.values };
    const changed = diff(before, after);
    const stamp = salesforceNow();
    // Salesforce stamps a record on every successful update, even one that changes no value.
    this.store(sobject, id, {
      ...stored.fields,
      ...checked.values,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    });
    pending.push({ kind: 'update', objectType: sobject.name, id, changed });
    return { status: 204 };
  }

  /**
   * `If-Unmodified-Since` on a PATCH of an sObject row (Salesforce's weak conditional request): 412
   * when the record was modified after the given time, compared to the second as HTTP dates are;
   * 400 when the header is not an HTTP date. Undefined when the write may go ahead.
   */
  private unmodifiedSince(request: InboundRequest, id: string): Reply | undefined {
    const header = headerValue(request.headers, 'if-unmodified-since');
    if (header === undefined) return undefined;
    const since = Date.parse(header);
    if (Number.isNaN(since)) {
      return {
        status: 400,
        body: [error('INVALID_HEADER_TYPE', `If-Unmodified-Since: not an HTTP date: ${header}`)],
      };
    }
    const stored = this.records.get(id);
    const modified = stored ? Date.parse(String(stored.fields.LastModifiedDate).replace('+0000', 'Z')) : NaN;
    if (stored && !stored.deleted && Math.floor(modified / 1000) > Math.floor(since / 1000)) {
      return {
        status: 412,
        body: [
          error(
            'PRECONDITION_FAILED',
            `The record was modified after ${header} (If-Unmodified-Since); read it again`,
          ),
        ],
      };
    }
    return undefined;
  }

  private remove(sobject: SObjectDefinition, id: string, pending: PendingWrite[]): Reply {
    const stored = this.records.get(id);
    if (!stored || stored.type !== sobject.name) return notFound();
    if (stored.deleted) return { status: 404, body: [error('ENTITY_IS_DELETED', 'entity is deleted')] };
    this.unindex(sobject, stored.fields);
    stored.deleted = true;
    stored.fields = { ...stored.fields, IsDeleted: true, SystemModstamp: salesforceNow() };
    pending.push({
      kind: 'delete',
      objectType: sobject.name,
      id,
      changed: { IsDeleted: { from: false, to: true } },
    });
    return { status: 204 };
  }

  private store(sobject: SObjectDefinition, id: string, fields: Record<string, unknown>): void {
    const previous = this.records.get(id);
    if (previous) this.unindex(sobject, previous.fields);
    this.records.set(id, { type: sobject.name, fields, deleted: fields.IsDeleted === true });
    if (fields.IsDeleted === true) return;
    for (const field of sobject.fields) {
      const value = fields[field.name];
      if (field.externalId && typeof value === 'string')
        this.externalIndex.set(indexKey(sobject.name, field.name, value), id);
    }
  }

  private unindex(sobject: SObjectDefinition, fields: Record<string, unknown>): void {
    for (const field of sobject.fields) {
      const value = fields[field.name];
      if (field.externalId && typeof value === 'string')
        this.externalIndex.delete(indexKey(sobject.name, field.name, value));
    }
  }

  private duplicateOf(
    sobject: SObjectDefinition,
    values: Record<string, unknown>,
    self: string | undefined,
  ): SalesforceError | undefined {
    for (const field of sobject.fields) {
      const value = values[field.name];
      if (!field.externalId || typeof value !== 'string') continue;
      const holder = this.externalIndex.get(indexKey(sobject.name, field.name, value));
      if (holder && holder !== self) {
        return error(
          'DUPLICATE_VALUE',
          `duplicate value found: ${field.name} duplicates value on record with id: ${holder}`,
        );
      }
    }
    return undefined;
  }

  private lookup(id: string): { type: string; deleted: boolean } | undefined {
    const stored = this.records.get(id);
    return stored ? { type: stored.type, deleted: stored.deleted } : undefined;
  }

  private nextId(sobject: SObjectDefinition): string {
    for (;;) {
      this.sequence += 1;
      const id = newId(sobject.keyPrefix, this.sequence);
      if (!this.records.has(id)) return id;
    }
  }
}

export async function startSalesforceSim(options: SalesforceSimOptions): Promise<SalesforceSim> {
  if (options.tokens.length === 0) throw new Error('the Salesforce double needs at least one token');
  const logger = options.logger ?? createLogger({ name: 'syncline-salesforce-sim' });
  const api = new SalesforceApi(options);
  const server = new FaultServer({
    name: 'salesforce-sim',
    behaviour: api,
    logger,
    rateLimit: { limit: options.dailyRequestLimit ?? 1_000_000, windowMs: DAY_MS },
  });
  const url = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  api.origin = url;
  logger.info({ url }, 'Salesforce double listening');
  return {
    url,
    apiUrl: `${url}/services/data/${API_VERSION}`,
    recorder: api.recorder,
    seed: (type, fields) => api.seed(type, fields),
    record: (type, id) => api.record(type, id),
    expireSessions: () => api.expireSessions(),
    lockRowsNext: (count) => api.lockRowsNext(count),
    setFaults: (settings) => server.setFaults(settings),
    clearFaults: () => server.clearFaults(),
    faults: () => server.faultState(),
    close: () => server.close(),
  };
}

function error(errorCode: string, message: string, fields: string[] = []): SalesforceError {
  return { message, errorCode, fields };
}

function notFound(): Reply {
  return { status: 404, body: [error('NOT_FOUND', 'The requested resource does not exist')] };
}

function methodNotAllowed(method: string, allowed: string): Reply {
  return {
    status: 405,
    headers: { allow: allowed },
    body: [error('METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed}`)],
  };
}

function badJson(): Reply {
  return { status: 400, body: [error('JSON_PARSER_ERROR', 'The request body is not valid JSON')] };
}

/** Parsed JSON, undefined when the body is not JSON; an empty body is an empty object. */
function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function indexKey(type: string, field: string, value: string): string {
  return `${type}.${field}.${value}`;
}

/** Salesforce writes date-times as `2024-01-31T12:00:00.000+0000`. */
function salesforceNow(): string {
  return new Date().toISOString().replace('Z', '+0000');
}

function blank(sobject: SObjectDefinition): Record<string, unknown> {
  return Object.fromEntries(sobject.fields.map((field) => [field.name, null]));
}

const SYSTEM_FIELDS = new Set(['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']);

function withoutSystem(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => !SYSTEM_FIELDS.has(name)));
}
