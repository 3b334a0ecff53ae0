/**
 * `syncline_consumer_lag{group,topic,partition}` of a bus consumer on the real broker: the records
 * between the member's position and the high watermark. While the handler is held (as a paused
 * pipeline is), the lag follows the records arriving; an idle, empty partition shows 0; once the
 * handler processes everything, the lag falls to 0; after close the member's series are gone.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_LAG_METRIC } from '../../../src/runtime/bus/consumer-lag.ts';
import { createKafkajsBus } from '../../../src/runtime/bus/kafkajs.ts';
import type { IncomingBatch } from '../../../src/runtime/bus/types.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const kafka = createKafka(config, logger, 'bus-lag-test');
const topic = `it.runtime.bus-lag.${randomBytes(4).toString('hex')}`;
const groupId = `it-runtime-bus-lag-${randomBytes(4).toString('hex')}`;
let admin: Admin;
let producer: Producer;

async function lagOf(registry: Registry, partition: number): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(CONSUMER_LAG_METRIC)?.get();
  return metric?.values.find(
    (value) =>
      value.labels.group === groupId &&
      value.labels.topic === topic &&
      value.labels.partition === String(partition),
  )?.value;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function produce(count: number, partition: number): Promise<void> {
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, index) => ({
      key: `k${index}`,
      value: `v${index}`,
      partition,
    })),
  });
}

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }]);
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('consumer lag metric', () => {
  it('rises with unread records, shows 0 for an idle partition, falls to 0 once processed, and is removed on close', async () => {
    const registry = new Registry();
    const bus = createKafkajsBus(config, logger, { metrics: registry });
    const consumer = bus.consumer({ groupId, topics: [topic], lagRefreshMs: 200 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let batches = 0;
    await produce(10, 0);
    await consumer.run(async (batch: IncomingBatch) => {
      batches += 1;
      await held; // like a pipeline paused on Redis: nothing processed, nothing committed
      for (const record of batch.records) batch.markDone(record);
    });
    try {
      await until(async () => (await lagOf(registry, 0)) === 10, 'lag 10 on partition 0');
      expect(await lagOf(registry, 1)).toBe(0); // assigned, empty, idle: no batch ever, still reported

      await produce(7, 0); // more arrive while the handler is held
      await until(async () => (await lagOf(registry, 0)) === 17, 'lag 17 on partition 0');
      await produce(3, 1); // and on the idle partition, whose batch is then held too
      await until(async () => (await lagOf(registry, 1)) === 3, 'lag 3 on partition 1');

      release();
      await until(
        async () => (await lagOf(registry, 0)) === 0 && (await lagOf(registry, 1)) === 0,
        'lag 0 on both partitions',
      );
      expect(batches).toBeGreaterThanOrEqual(2);
      // The broker agrees: everything committed.
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offsets = Object.fromEntries(committed!.partitions.map((p) => [p.partition, p.offset]));
      expect(offsets).toEqual({ 0: '17', 1: '3' });
    } finally {
      release();
      await consumer.close();
    }
    expect(await lagOf(registry, 0)).toBeUndefined();
    expect(await lagOf(registry, 1)).toBeUndefined();
  });
});
