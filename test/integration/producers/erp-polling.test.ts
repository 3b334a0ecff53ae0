/**
 * The ERP polling connector against a sandbox ERP API, the real broker and PostgreSQL. It is killed
 * with SIGKILL (once exactly between publishing a page and committing its cursor, once at an
 * arbitrary moment) and restarted, while the ERP keeps changing: afterwards every record version it
 * saw is on the topic once, none twice, and every customer's latest version is there. Throttling and
 * server errors of the API are waited out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaPublisher } from '../../../src/producers/acknowledged-publisher.ts';
import { compareCursors, type PollCursor } from '../../../src/producers/erp-polling/erp-customer.ts';
import { ErpClient } from '../../../src/producers/erp-polling/erp-client.ts';
import { ErpPoller } from '../../../src/producers/erp-polling/erp-poller.ts';
import { PgCursorStore } from '../../../src/producers/erp-polling/cursor-store.ts';
import { ErpSandbox, type ErpCustomerInput } from '../../../src/producers/erp-polling/erp-sandbox.ts';
import { RawEventSink } from '../../../src/producers/raw-event-sink.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createPrivateRawTopics, readTopic, type PrivateRawTopics } from '../../support/raw-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(config, logger, 'it-erp');
const database = 'syncline_ingest_test';
const databaseUrl = withDatabase(config.databaseUrl, database);
let topics: PrivateRawTopics;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function customer(n: number): ErpCustomerInput {
  const number = `C-${String(n).padStart(6, '0')}`;
  return {
    customerNumber: number,
    name: `Customer ${n} GmbH`,
    legalForm: 'GmbH',
    vatId: `DE${String(100_000_000 + n)}`,
    address: {
      line1: `Hauptstraße ${n}`,
      line2: null,
      city: 'Köln',
      region: 'NW',
      postalCode: '50667',
      countryCode: 'DE',
    },
    currency: 'EUR',
    paymentTermsCode: 'NET30',
    creditLimit: '25000.00',
    creditExposure: '1200.50',
    creditStatus: 'CLEAR',
  };
}

async function cursorOf(connector: string): Promise<{ cursor: PollCursor | undefined; pending: unknown }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{
      updated_since: string | null;
      after_id: string | null;
      pending: unknown;
    }>('SELECT updated_since, after_id, pending FROM syncline_poll_cursors WHERE connector = $1', [
      connector,
    ]);
    const row = result.rows[0];
    return {
      cursor:
        row?.updated_since && row.after_id
          ? { updatedSince: row.updated_since, afterId: row.after_id }
          : undefined,
      pending: row?.pending ?? null,
    };
  } finally {
    await client.end();
  }
}

/** Removes a test connector's cursor row. */
async function forget(connector: string): Promise<void> {
  const store = await PgCursorStore.connect(databaseUrl);
  await store.reset(connector);
  await store.close();
}

interface Child {
  process: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['test/support/erp-poller-child.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { process: child, output, exited };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: withDatabase(config.databaseUrl, 'postgres') });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  topics = await createPrivateRawTopics(kafka, config.schemaRegistryUrl, { label: 'erp', partitions: 3 });
});

afterAll(async () => {
  await topics.cleanup();
});

describe('ERP polling connector', () => {
  it('resumes after kill -9 without a gap or a duplicate', async () => {
    const connector = `erp-it-${randomBytes(3).toString('hex')}`;
    const erp = new ErpSandbox();
    const url = await erp.listen();
    // Three mass updates: 75 customers each share one change time, so pages of 50 cut through
    // groups of equal timestamps and the customer-number tie-breaker has to hold.
    for (let batch = 0; batch < 3; batch += 1)
      erp.update(Array.from({ length: 75 }, (_, i) => customer(batch * 75 + i + 1)));
    const env = {
      ERP_API_URL: url,
      CHILD_CONNECTOR: connector,
      CHILD_TOPIC_PREFIX: topics.prefix,
      CHILD_PAGE_SIZE: '50',
    };
    const polled = new Set<string>();
    const snapshot = async (): Promise<void> => {
      const { cursor } = await cursorOf(connector);
      if (!cursor) return;
      for (const record of erp.all()) {
        if (compareCursors({ updatedSince: record.updatedAt, afterId: record.customerNumber }, cursor) <= 0) {
          polled.add(`erp:${record.companyCode}/${record.customerNumber}@${record.rowVersion}`);
        }
      }
    };

    try {
      // Run 1 dies by its own hand right after page 2 is on Kafka, before its cursor is committed.
      const first = startChild({ ...env, CHILD_CRASH_AFTER: '2' });
      expect((await first.exited).signal).toBe('SIGKILL');
      const afterCrash = await cursorOf(connector);
      expect(afterCrash.pending).not.toBeNull();
      await snapshot();

      // The ERP changes while the connector is down: polled customers change again, new ones appear.
      erp.update(
        [1, 2, 3, 60, 61].map((n) => ({
          customerNumber: customer(n).customerNumber,
          creditStatus: 'HOLD' as const,
        })),
      );
      erp.update(Array.from({ length: 20 }, (_, i) => customer(300 + i)));

      // Run 2 is killed from outside once it has moved on.
      const second = startChild(env);
      await until(async () => {
        const { cursor } = await cursorOf(connector);
        return (
          cursor !== undefined &&
          afterCrash.cursor !== undefined &&
          compareCursors(cursor, afterCrash.cursor) > 0 &&
          second.output.join('').includes('published 2')
        );
      });
      second.process.kill('SIGKILL');
      expect((await second.exited).signal).toBe('SIGKILL');
      await snapshot();
      erp.update(
        [10, 100, 150].map((n) => ({
          customerNumber: customer(n).customerNumber,
          creditStatus: 'WATCH' as const,
          creditExposure: '20000.00',
        })),
      );

      // Run 3 catches up and is stopped gracefully.
      const third = startChild(env);
      const last = erp.all().at(-1)!;
      await until(async () => {
        const { cursor } = await cursorOf(connector);
        return (
          cursor !== undefined &&
          compareCursors(cursor, { updatedSince: last.updatedAt, afterId: last.customerNumber }) === 0
        );
      });
      third.process.kill('SIGTERM');
      expect((await third.exited).code).toBe(0);

      const onTopic = (await readTopic(kafka, topics.topicOf('raw.erp.customer'))).map(
        (record) => record.headers['syncline-idempotency-key']!,
      );
      const duplicates = onTopic.filter((key, index) => onTopic.indexOf(key) !== index);
      expect(duplicates).toEqual([]);
      const expected = new Set([
        ...polled,
        ...erp
          .all()
          .map((record) => `erp:${record.companyCode}/${record.customerNumber}@${record.rowVersion}`),
      ]);
      const missing = [...expected].filter((key) => !onTopic.includes(key));
      expect(missing).toEqual([]);
      expect(onTopic.length).toBeGreaterThanOrEqual(erp.all().length);
      // The restart after the crash between publish and commit did go through the read-back.
      expect(second.output.join('')).toContain('reading back what reached Kafka');
    } finally {
      await erp.close();
      await forget(connector);
    }
  });

  it('waits out 429 (after Retry-After) and 503 answers and then publishes everything', async () => {
    const connector = `erp-it-${randomBytes(3).toString('hex')}`;
    const erp = new ErpSandbox({ token: 'erp-api-token' });
    const url = await erp.listen();
    erp.update(Array.from({ length: 30 }, (_, i) => customer(i + 1)));
    erp.throttleNext(2, 1);
    erp.failNext(2, 503);
    const publisher = kafkaPublisher(kafka, logger);
    await publisher.start();
    const poller = new ErpPoller({
      name: connector,
      client: new ErpClient({ baseUrl: url, token: 'erp-api-token' }),
      openStore: () => PgCursorStore.connect(databaseUrl),
      sink: new RawEventSink({ publisher, encoder: topics.codec, topicOf: topics.topicOf }),
      kafka,
      logger,
      topicOf: topics.topicOf,
      pageSize: 10,
      intervalMs: 100,
      maxBackoffMs: 500,
      validate: (event) => topics.codec.problems(event),
    });
    try {
      poller.start();
      await until(() => poller.snapshot().recordsPublished >= 30);
      const statuses = erp.requests.map((request) => request.status);
      expect(statuses.slice(0, 4)).toEqual([429, 429, 503, 503]);
      expect(statuses.slice(4).every((status) => status === 200)).toBe(true);
    } finally {
      await poller.stop();
      await publisher.close();
      await erp.close();
      await forget(connector);
    }
    const keys = (await readTopic(kafka, topics.topicOf('raw.erp.customer')))
      .filter((record) => record.headers['syncline-idempotency-key']!.includes('/C-0000'))
      .map((record) => record.key);
    expect(keys.length).toBeGreaterThanOrEqual(30);
  });
});
