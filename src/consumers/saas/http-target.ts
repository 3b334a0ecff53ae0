/**
 * One HTTP exchange with a SaaS target, with what every SaaS sink needs around it: a timeout on
 * every call, the body parsed once, Retry-After read, and transport failures (timeout, refused,
 * reset) turned into retriable SynclineErrors. What a status *means* is the platform client's
 * business (Salesforce and Zendesk word their refusals differently); this module only carries.
 *
 * Shared by the CRM write-back and the support entitlement sink.
 */
import { ErrorCodes, SynclineError, type ErrorContext } from '../../runtime/errors.ts';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, undefined when empty. */
  body: unknown;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** A JSON value (sent as application/json) or form fields (sent url-encoded). */
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs: number;
}

/**
 * Sends one request. Resolves with any HTTP answer (a 4xx or 5xx is an answer, not an exception);
 * rejects only with a retriable SynclineError when no answer came: TIMEOUT after `timeoutMs`, or
 * TARGET_UNAVAILABLE when the connection failed. A write that timed out may have been applied:
 * callers only send writes that are safe to repeat.
 */
export async function send(call: HttpCall, context: ErrorContext): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  let body: string | undefined;
  if (call.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(call.json);
  } else if (call.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(call.form).toString();
  }
  const where = { ...context, method: call.method, path: pathOf(call.url) };
  let response: Response;
  let text: string;
  try {
    response = await fetch(call.url, {
      method: call.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    // The body is read under the same timeout: a target that stalls mid-answer is a timeout too.
    text = await response.text();
  } catch (error) {
    throw transportFailure(error, call, where);
  }
  return { status: response.status, headers: response.headers, body: parseBody(text) };
}

/** Retry-After in ms (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A retriable error with the target's own earliest-retry hint. */
export function retriable(
  code: (typeof ErrorCodes)[keyof typeof ErrorCodes],
  message: string,
  context: ErrorContext,
  retryAfter?: number,
): SynclineError {
  return new SynclineError(code, message, {
    retriable: true,
    context,
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  });
}

/** The path of a URL without its query (which may carry ids): what logs and error contexts show. */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '?';
  }
}

function transportFailure(error: unknown, call: HttpCall, context: ErrorContext): SynclineError {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return SynclineError.retriable(
      ErrorCodes.TIMEOUT,
      `${call.method} ${context.path ?? ''}: no answer within ${call.timeoutMs} ms`,
      context,
      error,
    );
  }
  // fetch reports every network failure as TypeError('fetch failed') with the socket error as cause.
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const detail = code ?? (typeof cause?.message === 'string' ? cause.message : String(error));
  return SynclineError.retriable(
    ErrorCodes.TARGET_UNAVAILABLE,
    `${call.method} ${context.path ?? ''}: the target did not answer (${detail})`,
    context,
    error,
  );
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
