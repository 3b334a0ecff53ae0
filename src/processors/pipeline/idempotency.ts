/**
 * Idempotency keys of the processing pipeline, in Redis (DESIGN.md, Guarantees).
 *
 * A processor claims the input's idempotency key before it produces anything (SET NX PX: a lease
 * with a random token), and marks it done, with the ids of the events it produced, only after Kafka
 * acknowledged them. A crash between the two leaves a claim that expires with its lease: the record
 * is redelivered and processed again, producing the same deterministic event ids, so nothing is
 * lost and nothing takes effect twice downstream. A key claimed by another live instance (after a
 * rebalance) is not skipped: it is retried until that instance marked it done or its lease ran out.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { LuaScript } from '../../runtime/lua-script.ts';

/** What claiming a key found. */
export type ClaimResult =
  /** The key is ours until `release` or `markDone`. */
  | { status: 'claimed'; claim: Claim }
  /** Processed and acknowledged before: skip the record (a duplicate suppressed). */
  | { status: 'done'; eventIds: string[] }
  /** Another instance holds a live lease: leave the record for later, never skip it. */
  | { status: 'held'; leaseLeftMs: number };

export interface Claim {
  key: string;
  token: string;
}

export interface IdempotencyStoreOptions {
  redis: Redis;
  /** Key prefix shared with the rest of the pipeline's state, e.g. `syncline:pipeline:`. */
  prefix: string;
  /** How long a claim lives without being marked done (ms); longer than one record takes. Default 15 s. */
  leaseMs?: number;
  /**
   * How long a done key is remembered (ms). Default 8 days: beyond the raw topics' 7-day retention,
   * the furthest back a replay can reach.
   */
  doneTtlMs?: number;
}

const CLAIM_PREFIX = 'claim:';
const DONE_PREFIX = 'done:';

// Marks done only while the claim is still ours (or gone: our lease ran out but the output is
// acknowledged, and nobody else claimed in between). Another instance's live claim is left alone:
// it will produce the same event ids and mark done itself.
const MARK_DONE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

// Claims the key when it is free, or when it holds `reclaim` (ARGV[3]): a claim of ours whose
// release failed while Redis was away. Otherwise reports what holds it, in the same round trip.
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current == false or (ARGV[3] ~= '' and current == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, current, redis.call('PTTL', KEYS[1])}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// The same three for many keys at once (a chunk of records): one command instead of one per key.
const CLAIM_MANY = new LuaScript(`
local n = #KEYS
local out = {}
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  local reclaim = ARGV[1 + n + i]
  if current == false or (reclaim ~= '' and current == reclaim) then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'PX', ARGV[1])
    out[i] = {1}
  else
    out[i] = {0, current, redis.call('PTTL', KEYS[i])}
  end
end
return out`);

const MARK_DONE_MANY = new LuaScript(`
local n = #KEYS
local marked = 0
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  if current == false or current == ARGV[1 + i] then
    redis.call('SET', KEYS[i], ARGV[1 + n + i], 'PX', ARGV[1])
    marked = marked + 1
  end
end
return marked`);

const RELEASE_MANY = new LuaScript(`
local released = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then released = released + redis.call('DEL', KEYS[i]) end
end
return released`);

/** The idempotency keys of one pipeline (one key prefix). Every call rejects with a retriable REDIS_UNAVAILABLE when Redis fails. */
export class IdempotencyStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #doneTtlMs: number;

  constructor(options: IdempotencyStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}idem:`;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#doneTtlMs = options.doneTtlMs ?? 8 * 24 * 60 * 60 * 1000;
  }

  /** The Redis key of an idempotency key. */
  keyOf(idempotencyKey: string): string {
    return this.#prefix + idempotencyKey;
  }

  /**
   * Claims `idempotencyKey` with a fresh lease, or says why it cannot be claimed (one round trip).
   * `reclaim`: the token of an earlier claim of ours that could not be released (Redis was away);
   * finding it, the key is claimed again at once instead of waiting for that lease to run out.
   */
  async claim(idempotencyKey: string, reclaim?: string): Promise<ClaimResult> {
    const key = this.keyOf(idempotencyKey);
    const token = `${CLAIM_PREFIX}${randomUUID()}`;
    return redisCall('claim', async () => {
      const reply = (await this.#redis.eval(CLAIM, 1, key, token, this.#leaseMs, reclaim ?? '')) as [
        number,
        string?,
        number?,
      ];
      if (reply[0] === 1) return { status: 'claimed', claim: { key, token } };
      return interpretExisting(reply[1] ?? null, reply[2] ?? 0);
    });
  }

  /** {@link claim} for many keys in one command; results in the order of `requests`. */
  async claimMany(
    requests: readonly { idempotencyKey: string; reclaim?: string | undefined }[],
  ): Promise<ClaimResult[]> {
    if (requests.length === 0) return [];
    const keys = requests.map((request) => this.keyOf(request.idempotencyKey));
    const tokens = requests.map(() => `${CLAIM_PREFIX}${randomUUID()}`);
    return redisCall('claim', async () => {
      const replies = (await CLAIM_MANY.run(this.#redis, keys, [
        this.#leaseMs,
        ...tokens,
        ...requests.map((request) => request.reclaim ?? ''),
      ])) as [number, string?, number?][];
      return replies.map((reply, index): ClaimResult =>
        reply[0] === 1
          ? { status: 'claimed', claim: { key: keys[index]!, token: tokens[index]! } }
          : interpretExisting(reply[1] ?? null, reply[2] ?? 0),
      );
    });
  }

  /** {@link markDone} for many claims in one command. */
  async markDoneMany(entries: readonly { claim: Claim; eventIds: readonly string[] }[]): Promise<void> {
    if (entries.length === 0) return;
    await redisCall('mark done', () =>
      MARK_DONE_MANY.run(
        this.#redis,
        entries.map((entry) => entry.claim.key),
        [
          this.#doneTtlMs,
          ...entries.map((entry) => entry.claim.token),
          ...entries.map((entry) => `${DONE_PREFIX}${JSON.stringify(entry.eventIds)}`),
        ],
      ),
    );
  }

  /** {@link release} for many claims in one command. */
  async releaseMany(claims: readonly Claim[]): Promise<void> {
    if (claims.length === 0) return;
    await redisCall('release', () =>
      RELEASE_MANY.run(
        this.#redis,
        claims.map((claim) => claim.key),
        claims.map((claim) => claim.token),
      ),
    );
  }

  /** Records that the output of the claimed key (these event ids) is acknowledged by Kafka. */
  async markDone(claim: Claim, eventIds: readonly string[]): Promise<void> {
    const done = `${DONE_PREFIX}${JSON.stringify(eventIds)}`;
    await redisCall('mark done', () =>
      this.#redis.eval(MARK_DONE, 1, claim.key, claim.token, done, this.#doneTtlMs),
    );
  }

  /** Gives the key up after a failure, so that the redelivery need not wait for the lease. */
  async release(claim: Claim): Promise<void> {
    await redisCall('release', () => this.#redis.eval(RELEASE, 1, claim.key, claim.token));
  }
}

/**
 * What an existing value means. Exported for unit tests. A key that vanished between SET NX and GET
 * (its lease just ran out) is reported as held for 0 ms: the caller retries at once.
 */
export function interpretExisting(current: string | null, pttl: number): ClaimResult {
  if (current?.startsWith(DONE_PREFIX)) {
    const ids: unknown = JSON.parse(current.slice(DONE_PREFIX.length));
    return { status: 'done', eventIds: Array.isArray(ids) ? ids.map(String) : [] };
  }
  return { status: 'held', leaseLeftMs: Math.max(0, pttl) };
}

async function redisCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.REDIS_UNAVAILABLE,
      `idempotency ${operation} failed: ${error instanceof Error ? error.message : String(error)}`,
      { part: 'idempotency' },
      error,
    );
  }
}
