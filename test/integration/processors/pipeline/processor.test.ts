/**
 * The processing pipeline on the real broker, registry and Redis, on a private topology: raw records
 * of two raw topics become mdm and canonical events keyed by golden id; redelivery yields no new
 * event id; a poison record is dead-lettered with its context and its partition keeps flowing.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { RedisMatchStore } from '../../../../src/processors/match-merge/store.ts';
import { DlqHeaders } from '../../../../src/processors/pipeline/dead-letter.ts';
import { createProcessor, type Processor } from '../../../../src/processors/pipeline/processor.ts';
import type { RawEvent } from '../../../../src/producers/source.ts';
import { createKafkajsBus } from '../../../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createKafka } from '../../../../src/runtime/kafka.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../../../../src/topology/topics.ts';
import {
  createPipelineTopology,
  customerEvent,
  subscriptionEvent,
  testMapping,
  type PipelineTopology,
} from '../../../support/pipeline.ts';
import { readTopic, type ReadRecord } from '../../../support/raw-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(config, logger, 'it-pipeline');
const redisPrefix = `test:pipe:${randomBytes(4).toString('hex')}:`;
const matchPrefix = `${redisPrefix}mdm:`;
const redis = new Redis(config.redisUrl);
const metrics = new Registry();
let topology: PipelineTopology;
let producer: Producer;
let processor: Processor;

async function publish(events: readonly RawEvent[]): Promise<void> {
  for (const event of events) {
    const topic = topology.topicOf(event.topic);
    await producer.send({
      topic,
      messages: [{ key: event.key, value: await topology.serde.encode(topic, event.value) }],
    });
  }
}

async function eventIdsOf(records: readonly ReadRecord[], topic: string): Promise<string[]> {
  const ids: string[] = [];
  for (const record of records) {
    const value = (await topology.serde.decode(topic, record.value)) as { envelope: { eventId: string } };
    ids.push(value.envelope.eventId);
  }
  return ids;
}

/** Reads the topic until `done` holds for what it holds (the processor works asynchronously). */
async function until(topic: string, done: (records: ReadRecord[]) => boolean): Promise<ReadRecord[]> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const records = await readTopic(kafka, topology.topicOf(topic));
    if (done(records) || Date.now() > deadline) return records;
    await sleep(500);
  }
}

async function metricValue(outcome: string): Promise<number> {
  const metric = await metrics.getSingleMetric('syncline_processor_records_total')?.get();
  return (metric?.values ?? [])
    .filter((entry) => entry.labels.outcome === outcome)
    .reduce((sum, entry) => sum + entry.value, 0);
}

beforeAll(async () => {
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'pipeline');
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  processor = createProcessor({
    bus: createKafkajsBus(config, logger),
    redis,
    serde: topology.serde,
    engine: new MatchEngine({ store: new RedisMatchStore({ redis, prefix: matchPrefix }) }),
    mapping: testMapping,
    logger,
    metrics,
    topicPrefix: topology.prefix,
    redisPrefix,
    unknownCustomerWindowMs: 3000,
  });
  await processor.start();
}, 60_000);

afterAll(async () => {
  await processor?.close();
  await producer?.disconnect();
  await topology?.cleanup();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}, 60_000);

describe('processor', () => {
  const customers = [1, 2, 3].map((index) => customerEvent(index));
  // Customer c has subscriptions 1 and 2; subscription 1 changes three times (versions 1, 2, 3).
  const subscriptions = [1, 2, 3].flatMap((customer) => [
    subscriptionEvent(customer, 1, 1),
    subscriptionEvent(customer, 2, 1),
    subscriptionEvent(customer, 1, 2),
  ]);

  it('turns customer and subscription records into mdm and canonical events keyed by golden id, in source order per customer', async () => {
    // A subscription of a customer not yet known waits for it (bounded), then flows.
    await publish([subscriptionEvent(1, 0, 0), ...customers, ...subscriptions]);
    const contracts = await until(TopicNames.canonical.contract, (records) => records.length >= 10);
    const customerRecords = await until(TopicNames.canonical.customer, (records) => records.length >= 3);
    const xrefs = await until(TopicNames.mdm.xref, (records) => records.length >= 3);

    expect(customerRecords).toHaveLength(3);
    expect(xrefs).toHaveLength(3);
    expect(contracts).toHaveLength(10);
    const goldenIds = new Set(customerRecords.map((record) => record.key));
    expect(goldenIds.size).toBe(3);
    for (const contract of contracts) expect(goldenIds.has(contract.key)).toBe(true);

    // Per golden id, in one partition, the versions of one source entity appear in source order.
    const decoded = await Promise.all(
      contracts.map(async (record) => ({
        key: record.key,
        offset: BigInt(record.offset),
        value: (await topology.serde.decode(
          topology.topicOf(TopicNames.canonical.contract),
          record.value,
        )) as {
          contractId: string;
          envelope: { causationId: string; correlationId: string; sourceVersion: number };
        },
      })),
    );
    for (const goldenId of goldenIds) {
      const ofCustomer = decoded
        .filter((entry) => entry.key === goldenId)
        .sort((a, b) => Number(a.offset - b.offset));
      const versions = ofCustomer
        .filter((entry) => entry.value.contractId.endsWith('_1'))
        .map((entry) => entry.value.envelope.sourceVersion);
      expect(versions.length).toBeGreaterThanOrEqual(2);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    // The canonical envelope carries the source's correlation id and names the source event as cause.
    const first = decoded.find((entry) => entry.value.contractId === 'sub_T2_2');
    const source = subscriptions.find((event) => event.key === 'sub_T2_2');
    expect(first?.value.envelope.correlationId).toBe(source?.envelope.correlationId);
    expect(first?.value.envelope.causationId).toBe(source?.envelope.eventId);
  });

  it('emits no second event id when the same inputs are delivered again', async () => {
    const contractTopic = topology.topicOf(TopicNames.canonical.contract);
    const before = await eventIdsOf(await readTopic(kafka, contractTopic), contractTopic);
    const duplicatesBefore = await metricValue('duplicate');
    await publish([...customers, ...subscriptions]); // redelivery of 12 inputs
    for (let waited = 0; (await metricValue('duplicate')) < duplicatesBefore + 12 && waited < 40; waited += 1)
      await sleep(500);
    expect(await metricValue('duplicate')).toBeGreaterThanOrEqual(duplicatesBefore + 12);
    const after = await eventIdsOf(await readTopic(kafka, contractTopic), contractTopic);
    expect(after).toHaveLength(before.length);
    expect(new Set(after)).toEqual(new Set(before));
    expect(new Set(after).size).toBe(10);
  });

  it('dead-letters a poison record with its context and keeps its partition flowing', async () => {
    const rawTopic = topology.topicOf(TopicNames.raw.stripeCustomer);
    const poisonKey = 'cus_T9';
    await producer.send({
      topic: rawTopic,
      messages: [{ key: poisonKey, value: Buffer.from('not avro at all'), headers: { origin: 'fuzz' } }],
    });
    await publish([customerEvent(9)]); // same key, so same partition, after the poison record
    const dlq = await until(dlqTopicOf(GroupIds.processor), (records) => records.length >= 1);
    const customerRecords = await until(TopicNames.canonical.customer, (records) => records.length >= 4);

    expect(dlq).toHaveLength(1);
    const [dead] = dlq;
    expect(dead?.key).toBe(poisonKey);
    expect(dead?.value.toString()).toBe('not avro at all');
    expect(dead?.headers.origin).toBe('fuzz');
    expect(dead?.headers[DlqHeaders.topic]).toBe(rawTopic);
    expect(dead?.headers[DlqHeaders.code]).toBe('DESERIALIZATION_FAILED');
    expect(dead?.headers[DlqHeaders.errorClass]).toBe('permanent');
    expect(dead?.headers[DlqHeaders.offset]).toMatch(/^\d+$/);
    expect(dead?.headers[DlqHeaders.attempts]).toBe('1');
    expect(dead?.headers[DlqHeaders.firstFailure]).toMatch(/^\d{4}-/);
    expect(customerRecords).toHaveLength(4);
  });

  it('records an older source version as stale instead of emitting it', async () => {
    const staleBefore = await metricValue('stale');
    const contractTopic = topology.topicOf(TopicNames.canonical.contract);
    const countBefore = (await readTopic(kafka, contractTopic)).length;
    // sub_T3_1 was applied at version 2; a new event about it from before that is stale.
    const older = subscriptionEvent(3, 1, 9, 1_767_600_000);
    await publish([older]);
    for (let waited = 0; (await metricValue('stale')) <= staleBefore && waited < 40; waited += 1)
      await sleep(500);
    expect(await metricValue('stale')).toBe(staleBefore + 1);
    expect((await readTopic(kafka, contractTopic)).length).toBe(countBefore);
  });
});
