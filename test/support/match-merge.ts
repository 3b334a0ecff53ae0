/**
 * Match-merge engines on the real local Redis, each test under its own key prefix, deleted after.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MatchEngine, type MatchConfigInput } from '../../src/processors/match-merge/engine.ts';
import { RedisMatchStore } from '../../src/processors/match-merge/store.ts';
import type { MdmEvent } from '../../src/processors/match-merge/types.ts';
import { loadConfig } from '../../src/runtime/config.ts';

export interface MatchHarness {
  prefix: string;
  /** A new engine on its own Redis connection, sharing the prefix (another processor instance). */
  engine(config?: MatchConfigInput): MatchEngine;
  /** The store of the first engine's connection. */
  store: RedisMatchStore;
  /** Every event returned so far by engines of this harness that went through `publish`. */
  published: MdmEvent[];
  publish(events: readonly MdmEvent[]): void;
  close(): Promise<void>;
}

export function matchHarness(label: string): MatchHarness {
  const { redisUrl } = loadConfig();
  const prefix = `test:mm:${label}:${randomUUID().slice(0, 8)}:`;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
    connections.push(redis);
    return redis;
  };
  const store = new RedisMatchStore({ redis: connect(), prefix });
  let first = true;
  const published: MdmEvent[] = [];
  return {
    prefix,
    store,
    published,
    engine(config) {
      const engineStore = first ? store : new RedisMatchStore({ redis: connect(), prefix });
      first = false;
      return new MatchEngine({ store: engineStore, ...(config ? { config } : {}) });
    },
    publish(events) {
      published.push(...events);
    },
    async close() {
      await store.deleteAll();
      for (const redis of connections) redis.disconnect();
    },
  };
}
