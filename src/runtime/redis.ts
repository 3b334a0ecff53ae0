/**
 * The Redis client factory (idempotency keys, leases, cursors). A stage that needs Redis must fail
 * closed when it is gone (DESIGN.md: pause, commit nothing, report not ready, resume by itself), so
 * the client is set up to notice fast and to come back by itself:
 * - commands fail after one reconnection attempt instead of queueing for a long time, so the
 *   caller learns that Redis is down and pauses;
 * - reconnection never gives up (capped exponential back-off with jitter);
 * - connection errors are logged once per outage rather than once per attempt.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import { ErrorCodes, SynclineError } from './errors.ts';
import type { Logger } from './logger.ts';
import { withTimeout } from './timeout.ts';

export interface RedisClientOptions {
  /** Shown in logs and in Redis' CLIENT LIST. Default `syncline`. */
  name?: string;
  /** A command without a reply after this long fails (ms). Default 5000. */
  commandTimeoutMs?: number;
  /** Anything else ioredis accepts, for special clients (e.g. a subscriber). */
  overrides?: RedisOptions;
}

/** Delay before reconnection attempt `times` (1-based): 100 ms doubling to 5 s, plus up to 20 % jitter. */
export function redisRetryDelay(times: number): number {
  const base = Math.min(5000, 100 * 2 ** Math.min(times - 1, 10));
  return Math.round(base + Math.random() * base * 0.2);
}

/**
 * A client for `config.redisUrl`. It connects lazily, on the first command or on `connect()`; the
 * URL may carry credentials and a database number (`redis://:secret@host:6379/2`) and `rediss://`
 * for TLS.
 */
export function createRedis(config: Config, logger: Logger, options: RedisClientOptions = {}): Redis {
  const log = logger.child({ component: 'redis', client: options.name ?? 'syncline' });
  const client = new Redis(config.redisUrl, {
    connectionName: options.name ?? 'syncline',
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: redisRetryDelay,
    // After a failover the old primary turns replica: reconnect to find the writable one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    ...options.overrides,
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn(
      { err: { message: error.message, code: (error as { code?: unknown }).code } },
      'Redis unreachable',
    );
  });
  client.on('ready', () => {
    if (down) log.info('Redis reachable again');
    down = false;
  });
  return client;
}

/**
 * Resolves when Redis answers PING within `timeoutMs`; rejects with a retriable REDIS_UNAVAILABLE
 * otherwise. Uses the given client, so it reports what the stage using that client sees.
 */
export async function pingRedis(client: Redis, timeoutMs = 2000): Promise<void> {
  try {
    const reply = await withTimeout(
      client.ping(),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs}ms`),
    );
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.REDIS_UNAVAILABLE,
      `Redis not reachable: ${error instanceof Error ? error.message : String(error)}`,
      { part: 'redis' },
      error,
    );
  }
}

/** Closes a client: QUIT when connected (replies in flight are delivered), otherwise just disconnect. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
    return;
  }
  client.disconnect();
}

/** What a consumer's batch offers a wait: whether to go on, and keeping the group membership alive. */
export interface HeldWork {
  isRunning(): boolean;
  isStale(): boolean;
  heartbeat(): Promise<void>;
}

/**
 * Fail closed while Redis is away: waits (heartbeating, nothing marked or committed) until Redis
 * answers a ping again, or the work in hand is stopped or moved. Stages that need idempotency
 * claims hold their partition here instead of skipping the check.
 */
export async function waitUntilRedisAnswers(redis: Redis, work: HeldWork, pollMs = 500): Promise<void> {
  while (work.isRunning() && !work.isStale()) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    await work.heartbeat().catch(() => undefined);
    try {
      await pingRedis(redis, 1000);
      return;
    } catch {
      // still away
    }
  }
}

/** Deletes every key that starts with `prefix` (SCAN + UNLINK, never KEYS). Returns how many. */
export async function deleteByPrefix(redis: Redis, prefix: string, batch = 1000): Promise<number> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', batch);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
