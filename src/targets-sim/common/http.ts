/**
 * Small HTTP helpers shared by the reference ERP and the SaaS doubles: answers as values, bearer
 * token checks that do not leak timing, and a per-client fixed-window request limiter.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** An answer as a value: handlers return it; the server writes it (or drops it, under a fault). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A JSON value, or undefined for no body (204). */
  body?: unknown;
}

/** An API request after the server read it: the body is raw bytes, parsed by whoever knows its shape. */
export interface InboundRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Id of this request, for logs and error bodies. */
  requestId: string;
  /** Who is calling: a stable, non-secret id derived from the credentials. */
  clientId: string;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers, body };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** True when `provided` equals one of `accepted`, compared in constant time per candidate. */
export function tokenMatches(provided: string | undefined, accepted: readonly string[]): boolean {
  if (provided === undefined) return false;
  const given = digest(provided);
  let matched = false;
  for (const candidate of accepted) {
    // Comparing digests keeps lengths equal, so timingSafeEqual never throws and leaks no length.
    if (timingSafeEqual(given, digest(candidate))) matched = true;
  }
  return matched;
}

/** A stable id for a credential that says nothing about it: `client-<8 hex>`. */
export function clientIdOf(token: string): string {
  return `client-${digest(token).toString('hex').slice(0, 8)}`;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The value of a header that may be repeated, as one string. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value;
}

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (at least 1). */
  retryAfterSeconds: number;
}

/**
 * Counts requests per client in fixed windows. A fixed window is what most SaaS limits are (per
 * minute, per day), and it makes Retry-After exact: the time until the window ends.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; windowMs: number; count: number }>();

  take(clientId: string, limit: number, windowMs: number, now = Date.now()): LimitDecision {
    let window = this.windows.get(clientId);
    if (!window || window.windowMs !== windowMs || now >= window.start + windowMs) {
      window = { start: now, windowMs, count: 0 };
      this.windows.set(clientId, window);
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
    if (window.count >= limit) {
      return { allowed: false, limit, remaining: 0, retryAfterSeconds };
    }
    window.count += 1;
    return { allowed: true, limit, remaining: limit - window.count, retryAfterSeconds };
  }

  /** Forgets every window (a fault reset starts the counting afresh). */
  reset(): void {
    this.windows.clear();
  }
}

/** JSON with object keys sorted at every depth: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
