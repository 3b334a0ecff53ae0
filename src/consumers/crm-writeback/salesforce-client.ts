/**
 * A small Salesforce REST client for the CRM write-back: an OAuth 2.0 client-credentials session
 * (fetched once, shared by concurrent calls, refreshed once when Salesforce answers 401
 * INVALID_SESSION_ID), the API version in every path, a timeout on every call, the org's API usage
 * from Sforce-Limit-Info, and every refusal turned into a SynclineError with a class:
 *
 * - retriable: 5xx and 429 (with Retry-After when sent); 403 REQUEST_LIMIT_EXCEEDED (the org's API
 *   allowance is spent; Salesforce sends no Retry-After, so we suggest {@link LIMIT_BACKOFF_MS});
 *   400 UNABLE_TO_LOCK_ROW (another transaction holds the row: Salesforce's own advice is to retry);
 *   412 (a conditional write lost a race: read again and decide again); a session refused right after
 *   a refresh, and credentials the token endpoint refuses (the target as a whole refuses us: a record
 *   cannot fix that, so it must not be dead-lettered; the runner's breaker holds the partitions);
 * - permanent: other 4xx, i.e. field errors (400 INVALID_FIELD, STRING_TOO_LONG, restricted picklist,
 *   DUPLICATE_VALUE, ...), 404 NOT_FOUND / ENTITY_IS_DELETED, 403 without the limit code; the message
 *   names Salesforce's error code and the fields.
 */
import { ErrorCodes, SynclineError, type ErrorContext } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { CrmTargetConfig } from './crm-config.ts';
import { pathOf, retriable, retryAfterMs, send, type HttpAnswer } from '../saas/http-target.ts';

/** The suggested wait after REQUEST_LIMIT_EXCEEDED (Salesforce's allowance is a rolling 24 hours). */
export const LIMIT_BACKOFF_MS = 60_000;
/** The suggested wait after UNABLE_TO_LOCK_ROW: the lock holder is usually done within a second. */
const LOCK_BACKOFF_MS = 1_000;
/** Usage share of the org's daily API requests above which we warn (once per crossing). */
const USAGE_WARNING = 0.8;

export interface SalesforceError {
  message: string;
  errorCode: string;
  fields?: string[];
}

interface Session {
  accessToken: string;
  instanceUrl: string;
  generation: number;
}

export interface ApiUsage {
  used: number;
  limit: number;
}

export interface SalesforceRequest {
  method: 'GET' | 'PATCH' | 'POST';
  /** Under `/services/data/<version>`, e.g. `/sobjects/Account/001...`. */
  path: string;
  json?: unknown;
  headers?: Record<string, string>;
  /** Answer 404 as a value instead of a refusal (a lookup that may find nothing). */
  notFoundIsAnswer?: boolean;
}

export class SalesforceClient {
  private readonly config: CrmTargetConfig;
  private readonly logger: Logger;
  private session: Session | undefined;
  private pendingSession: Promise<Session> | undefined;
  private generation = 0;
  private usage: ApiUsage | undefined;
  private warnedUsage = false;

  constructor(config: CrmTargetConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
  }

  /** The org's API usage as of the last answer that carried Sforce-Limit-Info. */
  apiUsage(): ApiUsage | undefined {
    return this.usage;
  }

  /** A 2xx answer (or a 404 when asked for); anything else throws a classified SynclineError. */
  async request(request: SalesforceRequest, context: ErrorContext = {}): Promise<HttpAnswer> {
    const where: ErrorContext = { ...context, target: 'crm' };
    let session = await this.currentSession(where);
    let answer = await this.call(session, request, where);
    if (answer.status === 401) {
      // One refresh per expired session, however many calls noticed it at once.
      this.dropSession(session);
      session = await this.currentSession(where);
      answer = await this.call(session, request, where);
      if (answer.status === 401) {
        this.dropSession(session);
        throw retriable(
          ErrorCodes.TARGET_UNAVAILABLE,
          `Salesforce refused a session it had just issued (${errorsOf(answer.body)[0]?.errorCode ?? '401'}): check the connected app's policies`,
          { ...where, status: 401 },
          LIMIT_BACKOFF_MS,
        );
      }
    }
    this.noteUsage(answer.headers);
    if (answer.status >= 200 && answer.status < 300) return answer;
    if (answer.status === 404 && request.notFoundIsAnswer) return answer;
    throw refusal(answer, request, where);
  }

  /** The target answers at all: a session and the cheapest authenticated call (`/limits`). */
  async probe(): Promise<void> {
    await this.request({ method: 'GET', path: '/limits' }, { part: 'probe' });
  }

  private async call(
    session: Session,
    request: SalesforceRequest,
    context: ErrorContext,
  ): Promise<HttpAnswer> {
    return send(
      {
        method: request.method,
        url: `${session.instanceUrl}/services/data/${this.config.apiVersion}${request.path}`,
        headers: { authorization: `Bearer ${session.accessToken}`, ...request.headers },
        ...(request.json === undefined ? {} : { json: request.json }),
        timeoutMs: this.config.timeoutMs,
      },
      context,
    );
  }

  private currentSession(context: ErrorContext): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    // Concurrent calls share one token request; a failed one is not kept, the next call tries again.
    this.pendingSession ??= this.fetchSession(context).then(
      (session) => {
        this.session = session;
        this.pendingSession = undefined;
        return session;
      },
      (error: unknown) => {
        this.pendingSession = undefined;
        throw error;
      },
    );
    return this.pendingSession;
  }

  /** Forgets a session Salesforce refused, unless a newer one already replaced it. */
  private dropSession(refused: Session): void {
    if (this.session?.generation === refused.generation) this.session = undefined;
  }

  private async fetchSession(context: ErrorContext): Promise<Session> {
    const url = `${this.config.loginUrl}/services/oauth2/token`;
    const answer = await send(
      {
        method: 'POST',
        url,
        form: {
          grant_type: 'client_credentials',
          client_id: this.config.clientId,
          client_secret: this.config.clientSecret,
        },
        timeoutMs: this.config.timeoutMs,
      },
      { ...context, part: 'oauth' },
    );
    const body = answer.body as
      | { access_token?: unknown; instance_url?: unknown; error?: unknown; error_description?: unknown }
      | undefined;
    if (answer.status === 200 && typeof body?.access_token === 'string') {
      this.generation += 1;
      const instanceUrl =
        typeof body.instance_url === 'string' && body.instance_url !== ''
          ? body.instance_url.replace(/\/+$/, '')
          : this.config.loginUrl;
      this.logger.info({ target: 'crm', instance: pathlessOrigin(instanceUrl) }, 'Salesforce session issued');
      return { accessToken: body.access_token, instanceUrl, generation: this.generation };
    }
    const where = { ...context, part: 'oauth', status: answer.status };
    if (answer.status >= 500 || answer.status === 429) {
      throw retriable(
        ErrorCodes.TARGET_UNAVAILABLE,
        `Salesforce token endpoint answered ${answer.status}`,
        where,
        retryAfterMs(answer.headers),
      );
    }
    // invalid_client, invalid_grant, unsupported_grant_type: the whole target refuses us.
    const reason = typeof body?.error === 'string' ? body.error : `status ${answer.status}`;
    throw retriable(
      ErrorCodes.TARGET_UNAVAILABLE,
      `Salesforce refused the connected app's client credentials (${reason}): check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET`,
      where,
      LIMIT_BACKOFF_MS,
    );
  }

  private noteUsage(headers: Headers): void {
    const match = /api-usage=(\d+)\/(\d+)/.exec(headers.get('sforce-limit-info') ?? '');
    if (!match) return;
    const usage = { used: Number(match[1]), limit: Number(match[2]) };
    this.usage = usage;
    const high = usage.limit > 0 && usage.used / usage.limit >= USAGE_WARNING;
    if (high && !this.warnedUsage) {
      this.logger.warn({ target: 'crm', ...usage }, "over 80% of the org's daily API requests used");
    }
    this.warnedUsage = high;
  }
}

/** Salesforce's error array, whatever shape the body has. */
export function errorsOf(body: unknown): SalesforceError[] {
  if (!Array.isArray(body)) return [];
  return body.filter(
    (entry): entry is SalesforceError =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as { errorCode?: unknown }).errorCode === 'string',
  );
}

/** Classifies a non-2xx answer of the REST API. */
export function refusal(
  answer: HttpAnswer,
  request: SalesforceRequest,
  context: ErrorContext,
): SynclineError {
  const errors = errorsOf(answer.body);
  const codes = errors.map((error) => error.errorCode);
  const fields = [...new Set(errors.flatMap((error) => error.fields ?? []))];
  const summary =
    errors.length > 0
      ? errors
          .map(
            (error) =>
              `${error.errorCode}${error.fields && error.fields.length > 0 ? ` on ${error.fields.join(', ')}` : ''}: ${error.message}`,
          )
          .join('; ')
      : `status ${answer.status}`;
  const object = /\/sobjects\/([A-Za-z_]+)/.exec(request.path)?.[1];
  const what = `Salesforce ${request.method} ${object ?? pathOf(request.path)}`;
  const where: ErrorContext = {
    ...context,
    status: answer.status,
    ...(codes.length > 0 ? { errorCode: codes.join(',') } : {}),
    ...(fields.length > 0 ? { fields: fields.join(',') } : {}),
  };
  const after = retryAfterMs(answer.headers);
  if (answer.status >= 500) {
    return retriable(ErrorCodes.TARGET_UNAVAILABLE, `${what}: ${summary}`, where, after);
  }
  if (answer.status === 429) {
    return retriable(ErrorCodes.TARGET_RATE_LIMITED, `${what}: ${summary}`, where, after);
  }
  if (codes.includes('REQUEST_LIMIT_EXCEEDED')) {
    return retriable(ErrorCodes.TARGET_RATE_LIMITED, `${what}: ${summary}`, where, after ?? LIMIT_BACKOFF_MS);
  }
  if (codes.includes('UNABLE_TO_LOCK_ROW')) {
    return retriable(ErrorCodes.TARGET_REJECTED, `${what}: ${summary}`, where, after ?? LOCK_BACKOFF_MS);
  }
  if (answer.status === 412) {
    return retriable(
      ErrorCodes.TARGET_REJECTED,
      `${what}: the record changed between read and write (${summary}); it is read again on retry`,
      where,
    );
  }
  return SynclineError.permanent(ErrorCodes.TARGET_REJECTED, `${what}: ${summary}`, where);
}

function pathlessOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '?';
  }
}
