/**
 * The ingest role as `syncline run --role ingest` starts it, driven by `syncline simulate` as a user
 * runs it: every simulated request is answered 2xx, the source ids of the ground truth are on their
 * raw topics (webhooks and the ERP customer master the simulator serves to the poller), and
 * redeliveries were recognised as such.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestHandle } from '../../../src/producers/ingest-service.ts';
import type { TruthLine } from '../../../src/producers/simulator/population.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createPrivateRawTopics, readTopic, type PrivateRawTopics } from '../../support/raw-topics.ts';

const run = promisify(execFile);
const secrets = {
  STRIPE_WEBHOOK_SECRET: 'whsec_sim_it',
  SALESFORCE_WEBHOOK_SECRET: 'sf-sim-it',
  ZENDESK_WEBHOOK_SECRET: 'zd-sim-it',
};
const work = mkdtempSync(join(tmpdir(), 'syncline-simulate-'));
const baseConfig = loadConfig();
const database = 'syncline_ingest_test';
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(baseConfig, logger, 'it-simulate');
let topics: PrivateRawTopics;
let ingest: IngestHandle;
let erpPort: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: baseConfig.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 0)
    await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  topics = await createPrivateRawTopics(kafka, baseConfig.schemaRegistryUrl, { label: 'simulate' });
  erpPort = await freePort();
  const config = loadConfig({
    ...process.env,
    ...secrets,
    ERP_API_URL: `http://127.0.0.1:${erpPort}/api/v1`,
    ERP_POLL_INTERVAL_MS: '200',
    DATABASE_URL: baseConfig.databaseUrl.replace(/\/[^/]*$/, `/${database}`),
  });
  ingest = await startIngest(config, logger, {
    port: 0,
    host: '127.0.0.1',
    registry: new Registry(),
    topicOf: topics.topicOf,
    erpConnector: `erp-sim-${randomBytes(3).toString('hex')}`,
    // The ERP API only comes up with the simulator: keep the poller's back-off short until then.
    erpMaxBackoffMs: 500,
  });
});

afterAll(async () => {
  await ingest?.close();
  await topics.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('syncline simulate against the ingest role', () => {
  it('gets every request acknowledged and puts every company of the ground truth on the raw topics', async () => {
    const truthFile = join(work, 'truth.jsonl');
    const { stdout } = await run(
      process.execPath,
      [
        'bin/syncline.js',
        'simulate',
        '--rate',
        '150',
        '--duration',
        '3',
        '--seed',
        'it-seed',
        '--target',
        ingest.webhook.url,
        '--truth',
        truthFile,
        '--erp-listen',
        String(erpPort),
        '--erp-linger',
        '4',
        '--json',
      ],
      { env: { ...process.env, ...secrets, LOG_LEVEL: 'warn' }, timeout: 120_000 },
    );
    const summary = JSON.parse(stdout) as {
      sent: number;
      byStatus: Record<string, number>;
      byOutcome: Record<string, number>;
      duplicatesSent: number;
      transportErrors: number;
    };
    expect(summary.sent).toBe(450);
    expect(summary.transportErrors).toBe(0);
    expect(summary.byStatus).toEqual({ '200': 450 });
    expect(summary.duplicatesSent).toBeGreaterThan(0);
    expect(summary.byOutcome.duplicate).toBeGreaterThan(0);

    const truth = readFileSync(truthFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TruthLine);
    expect(truth.length).toBeGreaterThan(20);
    const topicFor = {
      salesforce: 'raw.salesforce.account',
      stripe: 'raw.stripe.customer',
      zendesk: 'raw.zendesk.organization',
      erp: 'raw.erp.customer',
    } as const;
    const keys = new Map<string, Set<string>>();
    for (const topic of Object.values(topicFor))
      keys.set(topic, new Set((await readTopic(kafka, topics.topicOf(topic))).map((record) => record.key)));
    const missing = truth.flatMap((line) =>
      line.sources
        .filter((source) => !keys.get(topicFor[source.system])!.has(source.id))
        .map((source) => `${source.system}:${source.id}`),
    );
    expect(missing).toEqual([]);
    expect(truth.some((line) => line.sources.some((source) => source.system === 'erp'))).toBe(true);
  });
});
