/**
 * What the signature schemes of our platforms have in common: HMAC-SHA256 with one of several active
 * secrets (old and new both valid while a secret is rotated), compared in constant time, with a
 * timestamp that must fall inside a replay window.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureRejections, type Verification } from './source.ts';

/** Five minutes either way: the tolerance Stripe uses, applied to every platform. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function hmacSha256(secret: string, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Constant-time equality of two byte strings. Unequal lengths return false at once: the length of
 * an HMAC is public, so that leaks nothing.
 */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether a signed timestamp is within the replay window around the moment the request arrived.
 * Both directions are checked: a timestamp from the future is as suspicious as an old one, within
 * the same tolerance for clock skew.
 */
export function withinWindow(timestampSeconds: number, receivedAt: Date, toleranceSeconds: number): boolean {
  const age = receivedAt.getTime() / 1000 - timestampSeconds;
  return Math.abs(age) <= toleranceSeconds;
}

export interface TimestampedSignatureHeader {
  timestamp: number;
  signatures: string[];
}

/**
 * Reads a `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` header (Stripe's layout, which our CRM callout
 * follows too). Other schemes (`v0=`) are ignored; returns undefined when there is no usable
 * timestamp or no v1 signature.
 */
export function parseTimestampedHeader(header: string): TimestampedSignatureHeader | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    if (separator < 0) continue;
    const name = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export interface TimestampedHmacCheck {
  header: string | undefined;
  headerName: string;
  rawBody: Buffer;
  secrets: readonly string[];
  receivedAt: Date;
  toleranceSeconds?: number;
}

/**
 * Verifies a `t=...,v1=...` header whose v1 is the hex HMAC-SHA256 of `"<t>.<raw body>"`. Any v1
 * value matching any active secret passes, so a sender may sign with both the old and the new
 * secret during rotation, and we may hold both.
 */
export function verifyTimestampedHmac(check: TimestampedHmacCheck): Verification {
  const { header, headerName, rawBody, secrets, receivedAt } = check;
  if (secrets.length === 0) {
    return {
      ok: false,
      rejection: SignatureRejections.NOT_CONFIGURED,
      reason: 'no webhook secret is configured for this source',
    };
  }
  if (header === undefined || header === '') {
    return { ok: false, rejection: SignatureRejections.MISSING, reason: `missing ${headerName} header` };
  }
  const parsed = parseTimestampedHeader(header);
  if (!parsed) {
    return {
      ok: false,
      rejection: SignatureRejections.MALFORMED,
      reason: `${headerName} header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>`,
    };
  }
  const tolerance = check.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const candidates = parsed.signatures.map((signature) => Buffer.from(signature, 'hex'));
  const matched = secrets.some((secret) => {
    const expected = hmacSha256(secret, `${parsed.timestamp}.`, rawBody);
    return candidates.some((candidate) => safeEqual(candidate, expected));
  });
  if (!matched) {
    return {
      ok: false,
      rejection: SignatureRejections.MISMATCH,
      reason: 'signature does not match the body with any active secret',
    };
  }
  // The timestamp is checked after the signature so that a stale answer is only given to a sender
  // who holds the secret; everyone else learns nothing but "does not match".
  if (!withinWindow(parsed.timestamp, receivedAt, tolerance)) {
    return {
      ok: false,
      rejection: SignatureRejections.STALE,
      reason: `signature timestamp is outside the ${tolerance}s window`,
    };
  }
  return { ok: true };
}

/** Signs a body the way {@link verifyTimestampedHmac} checks it: for the simulator and tests. */
export function signTimestampedHmac(
  rawBody: string | Buffer,
  secrets: readonly string[],
  timestampSeconds: number,
): string {
  const signatures = secrets.map(
    (secret) => `v1=${hmacSha256(secret, `${timestampSeconds}.`, rawBody).toString('hex')}`,
  );
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}
