/**
 * `syncline run --role process` as operators run it: a child process of the real CLI on the real
 * (unprefixed) topics. It becomes ready on its admin port, turns a raw Stripe customer record with
 * unique ids into `canonical.customer` and `mdm.customer.*` records, shows its syncline_* metrics
 * (consumer lag included) on /metrics, and on SIGTERM finishes, commits its offsets and exits 0.
 *
 * The topology and schemas are applied first (idempotent, as `syncline topology apply` and
 * `syncline schemas register` always are); the real topics are left in place afterwards, since
 * they are the system's own and other runs may use them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createKafka } from '../../../../src/runtime/kafka.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';
import { RegistryClient } from '../../../../src/schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../../../src/schemas/serde.ts';
import { GroupIds, TopicNames } from '../../../../src/topology/topics.ts';
import { stripeCustomerEvent } from '../../../support/pipeline.ts';
import { readTopic } from '../../../support/raw-topics.ts';

const run = promisify(execFile);
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const kafka: Kafka = createKafka(config, logger, 'it-run-process');
const serde = new Serde({
  source: new RegistryClient({ url: config.schemaRegistryUrl }),
  bindings: bindingsFromCatalog(loadCatalog()),
});
let child: ChildProcess | undefined;
let adminPort: number;
let stderr = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${adminPort}${path}`, { signal: AbortSignal.timeout(3000) });
  return { status: response.status, body: await response.text() };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; child stderr:\n${stderr.slice(-2000)}`);
    await sleep(500);
  }
}

beforeAll(async () => {
  const cli = ['bin/syncline.js'];
  await run(process.execPath, [...cli, 'topology', 'apply', '--profile', 'local', '--json'], {
    timeout: 120_000,
  });
  await run(process.execPath, [...cli, 'schemas', 'register', '--json'], { timeout: 120_000 });
  adminPort = await freePort();
  child = spawn(process.execPath, [...cli, 'run', '--role', 'process'], {
    env: { ...process.env, ADMIN_PORT: String(adminPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
}, 180_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('syncline run --role process', () => {
  it('becomes ready, processes a raw record into canonical and mdm topics, shows metrics, and stops cleanly on SIGTERM', async () => {
    await until(async () => ((await get('/readyz')).status === 200 ? true : undefined), '/readyz 200');

    const unique = randomBytes(5).toString('hex');
    const event = stripeCustomerEvent({
      eventId: `evt_run_${unique}`,
      customerId: `cus_run_${unique}`,
      name: `Probelauf ${unique} Werkzeuge GmbH`,
      email: `billing@probelauf-${unique}.de`,
    });
    const rawTopic = TopicNames.raw.stripeCustomer;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const [written] = await producer.send({
      topic: rawTopic,
      messages: [{ key: event.key, value: await serde.encode(rawTopic, event.value) }],
    });
    await producer.disconnect();

    const canonical = await until(async () => {
      for (const record of await readTopic(kafka, TopicNames.canonical.customer)) {
        const value = (await serde.decode(TopicNames.canonical.customer, record.value)) as {
          goldenId: string;
          envelope: { causationId: string };
          sources: { system: string; id: string }[];
        };
        if (value.envelope.causationId === event.envelope.eventId) return value;
      }
      return undefined;
    }, 'the canonical customer');
    expect(canonical.sources).toContainEqual(expect.objectContaining({ system: 'stripe', id: event.key }));
    const xref = (await readTopic(kafka, TopicNames.mdm.xref)).filter((record) =>
      record.key.includes(event.key),
    );
    expect(xref.length).toBeGreaterThanOrEqual(1);
    const golden = (await readTopic(kafka, TopicNames.mdm.golden)).filter(
      (record) => record.key === canonical.goldenId,
    );
    expect(golden.length).toBeGreaterThanOrEqual(1);

    const metrics = await until(async () => {
      const { body } = await get('/metrics');
      return /syncline_consumer_lag\{[^}]*group="syncline-processor"[^}]*\} \d+/.test(body)
        ? body
        : undefined;
    }, 'the consumer lag on /metrics');
    expect(metrics).toMatch(
      /syncline_processor_records_total\{[^}]*topic="raw\.stripe\.customer"[^}]*outcome="in"/,
    );
    expect(metrics).toMatch(/syncline_consumer_lag\{[^}]*topic="raw\.stripe\.customer"/);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);

    // Committed on the way out: the group's position is past the record.
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: GroupIds.processor, topics: [rawTopic] });
    await admin.disconnect();
    const position = offsets?.partitions.find((p) => p.partition === written!.partition)?.offset ?? '-1';
    expect(BigInt(position)).toBeGreaterThan(BigInt(written!.baseOffset!));
  }, 180_000);
});
