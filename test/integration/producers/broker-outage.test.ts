/**
 * Acknowledged means durable, through a broker outage: a private broker is stopped in the middle of
 * a burst of webhooks and started again. Every request answered 200 is on the topic afterwards; every
 * other request was answered 503 with Retry-After; nothing else was answered. Both sides are counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaServer } from '../../../src/infra/kafka-server.ts';
import { cacheDir } from '../../../src/infra/paths.ts';
import { kafkaPublisher, type AcknowledgedPublisher } from '../../../src/producers/acknowledged-publisher.ts';
import { ingestKafka } from '../../../src/producers/ingest-service.ts';
import { RawEventSink } from '../../../src/producers/raw-event-sink.ts';
import { signedHeaders } from '../../../src/producers/simulator/webhook-signers.ts';
import { StripeWebhookSource } from '../../../src/producers/stripe/stripe-webhook-source.ts';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/producers/webhook-server.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createPrivateRawTopics, readTopic, type PrivateRawTopics } from '../../support/raw-topics.ts';
import { stripeCustomerCreated } from '../../support/webhook-samples.ts';

const SECRET = 'whsec_outage';
const home = mkdtempSync(join(tmpdir(), 'syncline-outage-'));
const brokerOptions = { home, cache: cacheDir(), port: 19092, controllerPort: 19093, heapMb: 384 };
const config = loadConfig({ ...process.env, KAFKA_BROKERS: '127.0.0.1:19092' });
// The outage is the point: its connection errors are expected, so only fatal lines show.
const logger = createLogger({ level: 'fatal' });
const kafka = ingestKafka(config, logger);
let broker = new KafkaServer(brokerOptions);
let topics: PrivateRawTopics;
let publisher: AcknowledgedPublisher;
let server: RunningWebhookServer;

beforeAll(async () => {
  await broker.start();
  topics = await createPrivateRawTopics(kafka, config.schemaRegistryUrl, { label: 'outage' });
  publisher = kafkaPublisher(kafka, logger, { maxCoolDownMs: 1000 });
  await publisher.start();
  server = await startWebhookServer({
    sources: [new StripeWebhookSource({ secrets: [SECRET] })],
    sink: new RawEventSink({ publisher, encoder: topics.codec, topicOf: topics.topicOf }),
    logger,
    registry: new Registry(),
    port: 0,
    host: '127.0.0.1',
    publishTimeoutMs: 3000,
    retryAfterSeconds: 2,
    validate: (event) => topics.codec.problems(event),
  });
}, 180_000);

afterAll(async () => {
  await server?.close(2000);
  await publisher?.close();
  await topics?.cleanup().catch(() => undefined);
  await broker.stop();
  rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('a broker outage during a burst of webhooks', () => {
  it('leaves every 200 on the topic and answers everything else 503', async () => {
    const answers = new Map<string, { status: number; retryAfter: string | null }>();
    let sent = 0;
    let running = true;
    let phase: 'before' | 'down' | 'after' = 'before';
    const acceptedAfterRestart = { count: 0 };

    const client = async (lane: number): Promise<void> => {
      for (let n = 0; running; n += 1) {
        const id = `evt_outage${String(lane).padStart(2, '0')}x${String(n).padStart(14, '0')}`;
        const body = JSON.stringify(stripeCustomerCreated({ id, customerId: `cus_outage${lane}x${n}` }));
        sent += 1;
        const response = await fetch(`${server.url}/webhooks/stripe`, {
          method: 'POST',
          headers: signedHeaders('stripe', body, SECRET),
          body,
        });
        await response.text();
        answers.set(id, { status: response.status, retryAfter: response.headers.get('retry-after') });
        if (phase === 'after' && response.status === 200) acceptedAfterRestart.count += 1;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    };
    const lanes = Array.from({ length: 12 }, (_, lane) => client(lane));

    await until(() => [...answers.values()].filter((answer) => answer.status === 200).length >= 100);
    phase = 'down';
    await broker.stop();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    broker = new KafkaServer(brokerOptions);
    await broker.start();
    phase = 'after';
    await until(() => acceptedAfterRestart.count >= 100, 60_000);
    running = false;
    await Promise.all(lanes);

    const statuses = [...answers.values()].map((answer) => answer.status);
    const ok = statuses.filter((status) => status === 200).length;
    const unavailable = statuses.filter((status) => status === 503).length;
    expect(answers.size).toBe(sent);
    expect(ok + unavailable).toBe(sent);
    expect(unavailable).toBeGreaterThan(0);
    expect(
      [...answers.values()]
        .filter((answer) => answer.status === 503)
        .every((answer) => answer.retryAfter === '2'),
    ).toBe(true);

    const onTopic = new Set(
      (await readTopic(kafka, topics.topicOf('raw.stripe.customer'))).map(
        (record) => record.headers['syncline-idempotency-key']!,
      ),
    );
    const acknowledged = [...answers.entries()]
      .filter(([, answer]) => answer.status === 200)
      .map(([id]) => `stripe:${id}`);
    const lost = acknowledged.filter((key) => !onTopic.has(key));
    expect(lost).toEqual([]);
    process.stderr.write(`outage: sent ${sent}, 200 ${ok}, 503 ${unavailable}, on topic ${onTopic.size}\n`);
  });
});

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
