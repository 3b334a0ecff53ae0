import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { RegistryClient } from '../../../src/schemas/registry-client.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';
import type { DecodeResult } from '../../../src/schemas/serde.ts';
import { Serde } from '../../../src/schemas/serde.ts';

const config = loadConfig();
const registry = new RegistryClient({ url: config.schemaRegistryUrl });
const entry = loadCatalog().topic('canonical.order');
const id = randomUUID().slice(0, 8);
const topic = `it-poison-${id}.canonical.order`;
const subject = `${topic}-value`;
const groupId = `it-poison-${id}`;
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka(config, createLogger({ level: 'silent' }), 'it-poison');
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  await registry.deleteSubject(subject, true);
});

describe('bad bytes in a topic', () => {
  it('each bad record is a classed, permanent error with its offset; the consumer loop goes on to the next record', async () => {
    const serde = new Serde({
      source: registry,
      bindings: new Map([[topic, { subject, writer: entry }]]),
      autoRegister: true,
    });
    const [first, last] = sampleValues(entry.node, 2, 99);
    const good1 = await serde.encode(topic, first);
    const good2 = await serde.encode(topic, last);
    const values = [
      good1,
      Buffer.from('{"orderId":"o-1"}'), // a JSON producer on the wrong topic
      good1.subarray(0, 3), // truncated inside the header
      Buffer.concat([Buffer.from([0, 0x77, 0x35, 0x94, 0x00]), good1.subarray(5)]), // a schema id no registry has
      good1.subarray(0, good1.length - 7), // truncated body
      good2,
    ];
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((value, index) => ({ key: `k${index}`, value })),
    });
    await producer.disconnect();

    const outcomes: Array<{ offset: string; result: DecodeResult<unknown> }> = [];
    let crashed = false;
    const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    consumer.on(consumer.events.CRASH, () => {
      crashed = true;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          for (const message of batch.messages) {
            if (!payload.isRunning() || payload.isStale()) return;
            const result = await serde.tryDecode(topic, message.value, {
              partition: batch.partition,
              offset: message.offset,
            });
            outcomes.push({ offset: message.offset, result });
            payload.resolveOffset(message.offset);
            await payload.heartbeat();
          }
          if (outcomes.length >= values.length) resolve();
        },
      });
    });
    await done;
    await consumer.commitOffsets([{ topic, partition: 0, offset: String(values.length) }]);
    await consumer.disconnect();

    expect(crashed).toBe(false);
    expect(outcomes.map((outcome) => outcome.offset)).toEqual(['0', '1', '2', '3', '4', '5']);
    const summary = outcomes.map(({ result }) =>
      result.ok ? 'ok' : `${result.error.code}${result.error.retriable ? ' retriable' : ''}`,
    );
    expect(summary).toEqual([
      'ok',
      ErrorCodes.DESERIALIZATION_FAILED,
      ErrorCodes.DESERIALIZATION_FAILED,
      ErrorCodes.SCHEMA_NOT_FOUND,
      ErrorCodes.DESERIALIZATION_FAILED,
      'ok',
    ]);
    for (const { offset, result } of outcomes) {
      if (!result.ok) expect(result.error.context).toMatchObject({ topic, partition: 0, offset });
    }
    const unknown = outcomes[3]!.result;
    expect(!unknown.ok && unknown.error.context.schemaId).toBe(0x77359400);
    expect(!unknown.ok && unknown.error.message).toContain('unknown schema id 2000000000');
    const last2 = outcomes[5]!.result;
    expect(last2.ok && JSON.parse(JSON.stringify(last2.value))).toEqual(JSON.parse(JSON.stringify(last)));
  });
});
