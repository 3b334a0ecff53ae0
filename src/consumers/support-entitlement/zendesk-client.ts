/**
 * A small Zendesk Support API client for the entitlement sink: authentication (OAuth Bearer token or
 * API token), a timeout on every call, and every refusal turned into a SynclineError with a class:
 *
 * - retriable: 429 (with Retry-After, which Zendesk always sends), 5xx (with Retry-After when sent),
 *   409 (Zendesk's answer to concurrent updates of one record), and 401/403: the account refuses our
 *   credentials as a whole, which no record can fix, so the record must not be dead-lettered (the
 *   runner's breaker holds the partitions until the probe passes);
 * - permanent: 422 RecordInvalid, naming each attribute of `details` and its error (e.g.
 *   `name: Name: has already been taken (DuplicateValue)`), and every other 4xx (400, 404).
 */
import { ErrorCodes, SynclineError, type ErrorContext } from '../../runtime/errors.ts';
import { retriable, retryAfterMs, send, type HttpAnswer } from '../saas/http-target.ts';
import type { SupportTargetConfig } from './support-config.ts';

/** When credentials are refused: retrying soon will not help; the breaker probes in between. */
const CREDENTIALS_BACKOFF_MS = 60_000;

export interface ZendeskRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Under `/api/v2`, e.g. `/organizations/123.json`. */
  path: string;
  json?: unknown;
  /** Answer 404 as a value instead of a refusal (a lookup that may find nothing). */
  notFoundIsAnswer?: boolean;
}

interface DetailEntry {
  description?: string;
  error?: string;
}

export class ZendeskClient {
  private readonly config: SupportTargetConfig;
  private readonly authorization: string;

  constructor(config: SupportTargetConfig) {
    this.config = config;
    const credentials = config.credentials;
    this.authorization =
      credentials.kind === 'oauth'
        ? `Bearer ${credentials.token}`
        : `Basic ${Buffer.from(`${credentials.email}/token:${credentials.token}`).toString('base64')}`;
  }

  async request(request: ZendeskRequest, context: ErrorContext = {}): Promise<HttpAnswer> {
    const where: ErrorContext = { ...context, target: 'support' };
    const answer = await send(
      {
        method: request.method,
        url: `${this.config.url}/api/v2${request.path}`,
        headers: { authorization: this.authorization },
        ...(request.json === undefined ? {} : { json: request.json }),
        timeoutMs: this.config.timeoutMs,
      },
      where,
    );
    if (answer.status >= 200 && answer.status < 300) return answer;
    if (answer.status === 404 && request.notFoundIsAnswer) return answer;
    throw refusal(answer, request, where);
  }
}

/** Classifies a non-2xx answer of the Zendesk API. */
export function refusal(answer: HttpAnswer, request: ZendeskRequest, context: ErrorContext): SynclineError {
  const body = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as {
    error?: unknown;
    description?: unknown;
    details?: unknown;
  };
  const errorName =
    typeof body.error === 'string'
      ? body.error
      : typeof (body.error as { title?: unknown } | undefined)?.title === 'string'
        ? String((body.error as { title: string }).title)
        : undefined;
  const details = detailsOf(body.details);
  const fields = Object.keys(details);
  const detailText = fields
    .map((field) =>
      (details[field] ?? [])
        .map(
          (entry) => `${field}: ${entry.description ?? 'invalid'}${entry.error ? ` (${entry.error})` : ''}`,
        )
        .join('; '),
    )
    .join('; ');
  const description = typeof body.description === 'string' ? body.description : undefined;
  const summary =
    [errorName, detailText || description].filter(Boolean).join(': ') || `status ${answer.status}`;
  const what = `Zendesk ${request.method} ${resourceOf(request.path)}`;
  const where: ErrorContext = {
    ...context,
    status: answer.status,
    ...(errorName ? { errorCode: errorName } : {}),
    ...(fields.length > 0 ? { fields: fields.join(',') } : {}),
  };
  const after = retryAfterMs(answer.headers);
  if (answer.status === 429) {
    return retriable(ErrorCodes.TARGET_RATE_LIMITED, `${what}: ${summary}`, where, after);
  }
  if (answer.status >= 500) {
    return retriable(ErrorCodes.TARGET_UNAVAILABLE, `${what}: ${summary}`, where, after);
  }
  if (answer.status === 409) {
    return retriable(ErrorCodes.TARGET_REJECTED, `${what}: ${summary}`, where, after);
  }
  if (answer.status === 401 || answer.status === 403) {
    return retriable(
      ErrorCodes.TARGET_UNAVAILABLE,
      `${what}: Zendesk refused our credentials (${summary}): check ZENDESK_OAUTH_TOKEN, or ZENDESK_EMAIL and ZENDESK_API_TOKEN`,
      where,
      after ?? CREDENTIALS_BACKOFF_MS,
    );
  }
  return SynclineError.permanent(ErrorCodes.TARGET_REJECTED, `${what}: ${summary}`, where);
}

function detailsOf(value: unknown): Record<string, DetailEntry[]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const details: Record<string, DetailEntry[]> = {};
  for (const [field, entries] of Object.entries(value as Record<string, unknown>)) {
    details[field] = Array.isArray(entries)
      ? entries.filter((entry): entry is DetailEntry => typeof entry === 'object' && entry !== null)
      : [];
  }
  return details;
}

/** `/organizations/123.json` → `organizations`: the resource, without ids. */
function resourceOf(path: string): string {
  return (
    path
      .split('?')[0]
      ?.split('/')
      .filter(Boolean)[0]
      ?.replace(/\.json$/, '') ?? path
  );
}
