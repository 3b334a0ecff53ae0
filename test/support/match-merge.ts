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

/**
 * One company, Nordwind Logistik, as three systems hold it: the same name spelled three ways, the
 * same address and country, the ERP with a tax id. Enough for the engine to merge all three; tests
 * add the fields they are about with a spread where they use them.
 */
export const nordwindCrm = {
  system: 'salesforce' as const,
  id: '001NW',
  name: 'Nordwind Logistik GmbH',
  website: 'https://www.nordwind.de',
  country: 'DE',
  address: { line1: 'Am Hafen 3', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  updatedAt: '2025-02-01T00:00:00Z',
};
export const nordwindBilling = {
  system: 'stripe' as const,
  id: 'cus_NW',
  name: 'NORDWIND LOGISTIK',
  email: 'billing@nordwind.de',
  currency: 'eur',
  country: 'DE',
  updatedAt: '2025-02-02T00:00:00Z',
};
export const nordwindErp = {
  system: 'erp' as const,
  id: 'C-1001',
  name: 'Nordwind Logistik G.m.b.H.',
  taxId: 'DE 123 456 789',
  country: 'DE',
  address: { line1: 'Am Hafen 3', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  updatedAt: '2025-02-03T00:00:00Z',
};
