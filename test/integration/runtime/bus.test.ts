/**
 * The event bus on the real broker: the producer gathers concurrent sends into few produce requests
 * and answers every caller, keeps per-key order, flushes on close and isolates a caller naming a
 * missing topic; the consumer commits only what its handler finished (last processed + 1),
 * resumes a paused partition that has no committed offset (tulios/kafkajs#1599) and reports a crash.
 */
import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachRecord } from '../../../src/runtime/bus/each-record.ts';
import { createKafkajsBus, type KafkajsBus } from '../../../src/runtime/bus/kafkajs.ts';
import { headerText, type ConsumerCrash, type IncomingRecord } from '../../../src/runtime/bus/types.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const bus: KafkajsBus = createKafkajsBus(config, logger, { clientSuffix: 'bus-test' });
let admin: Admin;
const topics: string[] = [];
const groups: string[] = [];

const id = (): string => randomBytes(4).toString('hex');

async function scratchTopic(partitions = 1): Promise<string> {
  const topic = `it.runtime.bus.${id()}`;
  await createTopicsReady(admin, [{ topic, numPartitions: partitions, replicationFactor: 1 }]);
  topics.push(topic);
  return topic;
}

function scratchGroup(): string {
  const group = `it-runtime-bus-${id()}`;
  groups.push(group);
  return group;
}

async function recordsIn(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
}

async function committedOffsets(groupId: string, topic: string): Promise<Record<number, string>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

/** Resolves once `condition` holds, polling; fails with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A record handler that keeps every record it is given. */
function collectInto(received: IncomingRecord[]) {
  return (record: IncomingRecord): Promise<void> => {
    received.push(record);
    return Promise.resolve();
  };
}

beforeAll(async () => {
  admin = createKafka(config, logger, 'bus-test-admin').admin();
  await admin.connect();
});

afterAll(async () => {
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

describe('KafkajsEventProducer', () => {
  it('gathers concurrent sends into few produce requests and answers every caller', async () => {
    const topic = await scratchTopic(3);
    let produceRequests = 0;
    const producer = bus.producer({
      lingerMs: 5,
      instrument: (kafkaProducer) => {
        kafkaProducer.on(kafkaProducer.events.REQUEST, (event) => {
          if (event.payload.apiName === 'Produce') produceRequests += 1;
        });
      },
    });
    try {
      await producer.connect();
      const calls = 200;
      const sends = Array.from({ length: calls }, (_, i) =>
        producer.send([{ topic, key: `key-${i % 10}`, value: Buffer.from(String(i)) }]),
      );
      await expect(Promise.all(sends)).resolves.toHaveLength(calls);
      expect(produceRequests).toBeGreaterThanOrEqual(1);
      expect(produceRequests).toBeLessThanOrEqual(calls / 20);
      expect(await recordsIn(topic)).toBe(calls);
    } finally {
      await producer.close();
    }
  });

  it('keeps per-key order across many requests, and the consumer reads it back in order', async () => {
    const topic = await scratchTopic(3);
    // Small requests, so that the sends span many of them.
    const producer = bus.producer({ lingerMs: 1, maxBatchRecords: 7 });
    const keys = ['acme', 'globex', 'initech', 'umbrella'];
    const perKey = 40;
    try {
      const sends: Promise<void>[] = [];
      for (let sequence = 0; sequence < perKey; sequence += 1) {
        for (const key of keys) {
          sends.push(
            producer.send([
              { topic, key, value: Buffer.from(`${key}:${sequence}`), headers: { seq: String(sequence) } },
            ]),
          );
        }
        if (sequence % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(sends);
    } finally {
      await producer.close();
    }

    const received: IncomingRecord[] = [];
    const consumer = bus.consumer({ groupId: scratchGroup(), topics: [topic], maxWaitTimeMs: 200 });
    try {
      await consumer.run(eachRecord(collectInto(received)));
      await until(() => received.length >= keys.length * perKey, 'all records to be consumed');
    } finally {
      await consumer.close();
    }
    for (const key of keys) {
      const sequences = received
        .filter((record) => record.key?.toString() === key)
        .map((record) => Number(headerText(record.headers, 'seq')));
      expect(sequences).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }
  });

  it('flushes pending sends on close, then refuses new ones', async () => {
    const topic = await scratchTopic(1);
    // A long linger: without the flush on close, these would still be waiting.
    const producer = bus.producer({ lingerMs: 60_000 });
    await producer.connect();
    const sends = Array.from({ length: 50 }, (_, i) =>
      producer.send([{ topic, key: null, value: Buffer.from(String(i)) }]),
    );
    await producer.close();
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(await recordsIn(topic)).toBe(50);
    await expect(producer.send([{ topic, key: null, value: Buffer.from('late') }])).rejects.toMatchObject({
      code: ErrorCodes.SHUTTING_DOWN,
      retriable: true,
    });
  });

  it('refuses a send at once when too much is already waiting, and still delivers what waits', async () => {
    const topic = await scratchTopic(1);
    const producer = bus.producer({ lingerMs: 60_000, maxQueuedBytes: 1000 });
    await producer.connect();
    const waiting = producer.send([{ topic, key: null, value: Buffer.alloc(600) }]);
    await expect(producer.send([{ topic, key: null, value: Buffer.alloc(600) }])).rejects.toMatchObject({
      code: ErrorCodes.BROKER_UNAVAILABLE,
      retriable: true,
    });
    await producer.close();
    await expect(waiting).resolves.toBeUndefined();
    expect(await recordsIn(topic)).toBe(1);
  });

  it('fails only the caller that names a missing topic when calls share a request', async () => {
    const topic = await scratchTopic(1);
    const producer = bus.producer({
      lingerMs: 5,
      retry: { initialRetryTime: 50, retries: 1, maxRetryTime: 100 },
    });
    try {
      await producer.connect();
      const good = producer.send([{ topic, key: 'a', value: Buffer.from('ok') }]);
      const bad = producer.send([
        { topic: `it.runtime.bus.missing.${id()}`, key: 'a', value: Buffer.from('x') },
      ]);
      const alsoGood = producer.send([{ topic, key: 'b', value: Buffer.from('ok') }]);
      await expect(bad).rejects.toMatchObject({ code: ErrorCodes.TOPIC_NOT_FOUND });
      await expect(Promise.all([good, alsoGood])).resolves.toBeDefined();
      expect(await recordsIn(topic)).toBe(2);
    } finally {
      await producer.close();
    }
  });
});

describe('KafkajsEventConsumer', () => {
  it('commits only what the handler finished: a failing record holds back the rest of its batch', async () => {
    const topic = await scratchTopic(1);
    const producer = bus.producer();
    await producer.send(
      Array.from({ length: 10 }, (_, i) => ({ topic, key: 'k', value: Buffer.from(String(i)) })),
    );
    await producer.close();

    const groupId = scratchGroup();
    const handled: string[] = [];
    let failures = 0;
    const consumer = bus.consumer({
      groupId,
      topics: [topic],
      maxWaitTimeMs: 200,
      retry: { initialRetryTime: 100, retries: 10, maxRetryTime: 200 },
    });
    try {
      await consumer.run(
        eachRecord((record) => {
          handled.push(record.offset);
          if (record.offset !== '5') return Promise.resolve();
          failures += 1;
          return Promise.reject(new Error('target refused record 5'));
        }),
      );
      // Delivered again after the failure: the retry starts at the failed record.
      await until(() => failures >= 2, 'record 5 to be retried');
    } finally {
      await consumer.close();
    }
    expect(handled.slice(0, 6)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(handled.slice(6).every((offset) => offset === '5')).toBe(true);
    // The committed offset is the next one to read: last processed (4) + 1.
    expect(await committedOffsets(groupId, topic)).toEqual({ 0: '5' });
  });

  it('resumes a paused partition that has no committed offset yet (tulios/kafkajs#1599)', async () => {
    const topic = await scratchTopic(2);
    const received: IncomingRecord[] = [];
    const consumer = bus.consumer({ groupId: scratchGroup(), topics: [topic], maxWaitTimeMs: 200 });
    const producer = bus.producer();
    try {
      await consumer.run(eachRecord(collectInto(received)));
      consumer.pause([{ topic, partitions: [1] }]);
      await producer.send([
        { topic, partition: 0, key: null, value: Buffer.from('p0-a') },
        { topic, partition: 1, key: null, value: Buffer.from('p1-a') },
      ]);
      await until(() => received.some((record) => record.partition === 0), 'partition 0 to be consumed');
      expect(received.some((record) => record.partition === 1)).toBe(false);

      consumer.resume([{ topic, partitions: [1] }]);
      await until(
        () => received.some((record) => record.partition === 1),
        'partition 1 to be consumed after resume',
      );
      expect(received.map((record) => record.value?.toString()).sort()).toEqual(['p0-a', 'p1-a']);
    } finally {
      await producer.close();
      await consumer.close();
    }
  });

  it('reports a crash that will not restart when the handler fails with a programmer error', async () => {
    const topic = await scratchTopic(1);
    const producer = bus.producer();
    await producer.send([{ topic, key: 'k', value: Buffer.from('x') }]);
    await producer.close();

    const crashes: ConsumerCrash[] = [];
    const consumer = bus.consumer({ groupId: scratchGroup(), topics: [topic], maxWaitTimeMs: 200 });
    consumer.onCrash((crash) => crashes.push(crash));
    try {
      await consumer.run(
        eachRecord(() => {
          throw new TypeError('cannot read properties of undefined');
        }),
      );
      await until(() => crashes.length > 0, 'the crash to be reported');
    } finally {
      await consumer.close();
    }
    expect(crashes[0]).toMatchObject({ restarting: false, error: { retriable: false } });
    expect(crashes[0]?.error.message).toContain('cannot read properties of undefined');
  });
});

describe('KafkajsHealth', () => {
  it('answers when the broker is up', async () => {
    const health = bus.health();
    try {
      await expect(health.ping(5000)).resolves.toBeUndefined();
    } finally {
      await health.close();
    }
  });

  it('rejects with BROKER_UNAVAILABLE naming the brokers when none can be reached', async () => {
    const unreachable = createKafkajsBus(loadConfig({ KAFKA_BROKERS: '127.0.0.1:1' }), logger);
    const health = unreachable.health();
    try {
      await expect(health.ping(2000)).rejects.toMatchObject({
        code: ErrorCodes.BROKER_UNAVAILABLE,
        retriable: true,
        message: expect.stringContaining('127.0.0.1:1') as unknown,
      });
    } finally {
      await health.close();
    }
  });
});
