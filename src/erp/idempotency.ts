/**
 * `Idempotency-Key` the way Stripe and Adyen honour it, kept in the same database transaction as the
 * write it protects:
 *
 * - the key row (client, key, fingerprint of method + path + body) is inserted first; a concurrent
 *   request with the same key waits on the primary key until the first transaction is decided;
 * - the answer is stored in that row before commit, so key and write commit together or not at all
 *   (a failed or rolled back request stores nothing and may be retried with the same key);
 * - the same key again with the same request gets the stored answer, marked `Idempotent-Replayed:
 *   true`; with a different request it is refused (422), since the client has mixed up its keys.
 *
 * Only successful answers are stored (as Stripe does for requests that fail validation): a 4xx is
 * answered again on retry by running the request again.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { canonicalJson, type Reply } from '../targets-sim/common/http.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface IdempotencyClaim {
  clientId: string;
  key: string;
  fingerprint: string;
  method: string;
  path: string;
}

/** What a write came to. */
export type WriteOutcome =
  | { kind: 'done'; reply: Reply }
  | { kind: 'replay'; reply: Reply }
  | { kind: 'mismatch'; original: { method: string; path: string } }
  /** The first request with the key was rolled back just now: the client should simply retry. */
  | { kind: 'in-progress' };

/** The Idempotency-Key header of a request, read: absent, a key, or not a usable key. */
export type IdempotencyKeyHeader = { kind: 'none' } | { kind: 'key'; key: string } | { kind: 'invalid' };

/** A usable key is 1..255 printable ASCII characters (Stripe allows 255). */
export function readIdempotencyKey(header: string | string[] | undefined): IdempotencyKeyHeader {
  if (header === undefined) return { kind: 'none' };
  const key = Array.isArray(header) ? header.join(',') : header;
  if (key.length === 0 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) return { kind: 'invalid' };
  return { kind: 'key', key };
}

/** Method, path with query, and the body as canonical JSON: two requests are "the same" when equal. */
export function fingerprintOf(method: string, pathWithQuery: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${pathWithQuery}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

/**
 * Runs `write` in a transaction guarded by the claim (when there is one). `write` returns the answer;
 * an answer of 400 or more rolls the transaction back. Throws what `write` throws, after rollback.
 */
export async function runIdempotentWrite(
  pool: pg.Pool,
  claim: IdempotencyClaim | undefined,
  write: (client: pg.PoolClient) => Promise<Reply>,
): Promise<WriteOutcome> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (claim) {
      const inserted = await client.query(
        `INSERT INTO idempotency_keys (client_id, key, fingerprint, method, path) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (client_id, key) DO NOTHING`,
        [claim.clientId, claim.key, claim.fingerprint, claim.method, claim.path],
      );
      if (inserted.rowCount === 0) {
        const outcome = await storedOutcome(client, claim);
        await client.query('ROLLBACK');
        return outcome;
      }
    }
    const reply = await write(client);
    if (reply.status >= 400) {
      await client.query('ROLLBACK');
      return { kind: 'done', reply };
    }
    if (claim) {
      await client.query(
        `UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5
          WHERE client_id = $1 AND key = $2`,
        [
          claim.clientId,
          claim.key,
          reply.status,
          JSON.stringify(storedHeaders(reply)),
          reply.body === undefined ? null : JSON.stringify(reply.body),
        ],
      );
    }
    await client.query('COMMIT');
    return { kind: 'done', reply };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function storedOutcome(client: pg.PoolClient, claim: IdempotencyClaim): Promise<WriteOutcome> {
  const result = await client.query<{
    fingerprint: string;
    method: string;
    path: string;
    response_status: number | null;
    response_headers: Record<string, string> | null;
    response_body: string | null;
  }>(
    `SELECT fingerprint, method, path, response_status, response_headers, response_body
       FROM idempotency_keys WHERE client_id = $1 AND key = $2`,
    [claim.clientId, claim.key],
  );
  const row = result.rows[0];
  if (!row || row.response_status === null) {
    // Committed key rows always carry their answer; a missing row means the first request's
    // transaction was rolled back between our insert attempt and this read. Tell the client to retry.
    return { kind: 'in-progress' };
  }
  if (row.fingerprint !== claim.fingerprint) {
    return { kind: 'mismatch', original: { method: row.method, path: row.path } };
  }
  return {
    kind: 'replay',
    reply: {
      status: row.response_status,
      headers: { ...(row.response_headers ?? {}), [REPLAYED_HEADER]: 'true' },
      ...(row.response_body === null ? {} : { body: JSON.parse(row.response_body) as unknown }),
    },
  };
}

/** The headers worth replaying: those that describe the result, not this one request. */
function storedHeaders(reply: Reply): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (['location', 'etag', 'odata-version', 'content-type', 'odata-entityid'].includes(name.toLowerCase()))
      kept[name] = value;
  }
  return kept;
}
