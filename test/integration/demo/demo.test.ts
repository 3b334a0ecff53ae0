/**
 * The end-to-end demo is the README's main job: simulated CRM, billing and support traffic through
 * the raw, canonical and golden topics into the reference ERP and back to the CRM and support
 * doubles. Promised: every acknowledged event is processed and every canonical record settled by
 * every sink (nothing left behind), customers resolve to golden customers as the ground truth says,
 * the ERP receives writes, and clean traffic leaves nothing in a dead-letter topic.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/demo/demo.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';

/** The Redis database (of the 16 a default server has) that only this test uses. */
const DEMO_REDIS_DB = 13;

describe('syncline demo', () => {
  it('carries simulated traffic from webhooks to the ERP and the write-back targets, with nothing dead-lettered', async () => {
    // A port of its own (the default webhook port may be taken by a running ingest role), and a
    // Redis database of its own, emptied first: the demo's state uses the production key prefixes,
    // and Redis outlives the Kafka of a fresh checkout, so earlier golden records would take this
    // run's companies.
    const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    redisUrl.pathname = `/${DEMO_REDIS_DB}`;
    const redis = new Redis(redisUrl.toString());
    await redis.flushdb();
    await redis.quit();
    const config = loadConfig({
      ...process.env,
      SYNCLINE_TOPOLOGY_PROFILE: 'local',
      WEBHOOK_PORT: String(await freePort()),
      REDIS_URL: redisUrl.toString(),
    });
    const report = await runDemo(config, createLogger({ level: 'warn' }), {
      rate: 15,
      durationSeconds: 6,
      seed: `it-demo-${randomBytes(4).toString('hex')}`,
      onStep: () => undefined,
    });

    expect(report.caughtUp, JSON.stringify(report.behind)).toBe(true);
    expect(report.eventsIn).toBeGreaterThan(50);
    expect(report.webhooks.refused).toBe(0);
    expect(report.goldenCustomers).toBeGreaterThan(0);
    expect(report.goldenCustomers).toBeLessThanOrEqual(report.matchQuality.records);
    expect(report.matchQuality.precision).toBe(1);
    expect(report.matchQuality.f1).toBeGreaterThan(0.8);
    expect(report.canonicalRecords['canonical.customer']).toBeGreaterThan(0);
    expect(report.erpWrites).toBeGreaterThan(0);
    expect(report.sinkWrites.crm?.applied).toBeGreaterThan(0);
    expect(report.sinkWrites.support?.applied).toBeGreaterThan(0);
    expect(report.dlqByGroup).toEqual({
      'syncline-processor': 0,
      'erp-rest-sink': 0,
      'erp-sql-sink': 0,
      'crm-writeback-sink': 0,
      'support-entitlement-sink': 0,
    });
    expect(report.p99Ms).toBeGreaterThan(0);
  }, 300_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
