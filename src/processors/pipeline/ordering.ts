/**
 * Source-order guard of the processing pipeline: per source entity (system, entity, entity id) the
 * highest source version applied so far, in Redis beside the idempotency keys. A record carrying an
 * older version than one already applied is stale: recorded (metric, log), never emitted as current.
 *
 * The version is raised only after the record's output is acknowledged, so a crash in between
 * leaves the old version and the redelivery is processed again. An equal version is therefore not
 * stale: it is that redelivery (the idempotency key and deterministic event ids take care of it).
 */
import type { Redis } from 'ioredis';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { LuaScript } from '../../runtime/lua-script.ts';

/** One source entity: `stripe` / `subscription` / `sub_123`. */
export interface SourceEntity {
  system: string;
  entity: string;
  id: string;
}

export interface SourceOrderOptions {
  redis: Redis;
  /** The pipeline's key prefix. */
  prefix: string;
  /** How long an entity's version is kept after its last change (ms). Default 30 days. */
  ttlMs?: number;
}

// Sets the version only when it grows; refreshes the expiry either way.
const RAISE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local next = tonumber(ARGV[1])
if next > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

// RAISE for many entities: KEYS the version keys, ARGV[1] the expiry, ARGV[1 + i] the version of KEYS[i].
const RAISE_MANY = new LuaScript(`
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '-1')
  local next = tonumber(ARGV[1 + i])
  if next > current then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'PX', ARGV[1])
  else
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
end
return #KEYS`);

/** True when `version` is older than the highest one applied (unknown entity: never stale). */
export function isStale(version: number, highestApplied: number | null): boolean {
  return highestApplied !== null && version < highestApplied;
}

export class SourceOrder {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(options: SourceOrderOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}ver:`;
    this.#ttlMs = options.ttlMs ?? 30 * 24 * 60 * 60 * 1000;
  }

  keyOf(entity: SourceEntity): string {
    return `${this.#prefix}${entity.system}:${entity.entity}:${entity.id}`;
  }

  /** The highest version applied for the entity, or null when none was. */
  async highestApplied(entity: SourceEntity): Promise<number | null> {
    const value = await call('read', () => this.#redis.get(this.keyOf(entity)));
    return value === null ? null : Number(value);
  }

  /** {@link highestApplied} of many entities in one command (MGET), in their order. */
  async highestAppliedMany(entities: readonly SourceEntity[]): Promise<(number | null)[]> {
    if (entities.length === 0) return [];
    const values = await call('read', () =>
      this.#redis.mget(...entities.map((entity) => this.keyOf(entity))),
    );
    return values.map((value) => (value === null ? null : Number(value)));
  }

  /** {@link applied} for many entities in one command. */
  async appliedMany(entries: readonly { entity: SourceEntity; version: number }[]): Promise<void> {
    if (entries.length === 0) return;
    await call('raise', () =>
      RAISE_MANY.run(
        this.#redis,
        entries.map((entry) => this.keyOf(entry.entity)),
        [this.#ttlMs, ...entries.map((entry) => String(entry.version))],
      ),
    );
  }

  /** Records `version` as applied (after its output was acknowledged); never lowers it. */
  async applied(entity: SourceEntity, version: number): Promise<void> {
    await call('raise', () => this.#redis.eval(RAISE, 1, this.keyOf(entity), String(version), this.#ttlMs));
  }
}

async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.REDIS_UNAVAILABLE,
      `source order ${operation} failed: ${error instanceof Error ? error.message : String(error)}`,
      { part: 'source-order' },
      error,
    );
  }
}
