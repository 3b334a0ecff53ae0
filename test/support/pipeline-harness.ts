/**
 * One private pipeline for an integration test file: a topology under a random prefix (see
 * ./pipeline.ts), a raw-record publisher, readers of the output topics, and processors built on
 * the real bus, serde, match engine and Redis with the test's own key prefixes. `close()` stops the
 * processors and removes topics, subjects, the group and the Redis keys.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { MatchEngine } from '../../src/processors/match-merge/engine.ts';
import { RedisMatchStore } from '../../src/processors/match-merge/store.ts';
import {
  createProcessor,
  type Processor,
  type ProcessorOptions,
} from '../../src/processors/pipeline/processor.ts';
import type { RawEvent } from '../../src/producers/source.ts';
import { createKafkajsBus } from '../../src/runtime/bus/kafkajs.ts';
import type { Config } from '../../src/runtime/config.ts';
import { createKafka } from '../../src/runtime/kafka.ts';
import type { Logger } from '../../src/runtime/logger.ts';
import type { Registry } from '../../src/runtime/metrics.ts';
import { createPipelineTopology, testMapping, type PipelineTopology } from './pipeline.ts';
import { readTopic, type ReadRecord } from './raw-topics.ts';

export interface HarnessProcessorOptions extends Partial<Omit<ProcessorOptions, 'redis'>> {
  /** The processor's Redis client (e.g. one behind a proxy); default a client of the harness. */
  redis?: Redis;
  metrics?: Registry;
}

export interface PipelineHarness {
  kafka: Kafka;
  topology: PipelineTopology;
  producer: Producer;
  /** A client of the real Redis, for setting up and inspecting state. */
  redis: Redis;
  redisPrefix: string;
  matchPrefix: string;
  /** Publishes raw events to their (prefixed) raw topics, in order. */
  publish(events: readonly RawEvent[], headers?: IHeaders): Promise<void>;
  /** Everything a topic (contract name) holds now. */
  read(topic: string): Promise<ReadRecord[]>;
  /** Reads `topic` until `done` holds or `timeoutMs` passed; returns what it read last. */
  until(topic: string, done: (records: ReadRecord[]) => boolean, timeoutMs?: number): Promise<ReadRecord[]>;
  /** The Avro value of a record of `topic` (contract name). */
  decode<T = Record<string, unknown>>(topic: string, record: ReadRecord): Promise<T>;
  /** A processor of this pipeline (not started); closed by `close()`. */
  processor(options?: HarnessProcessorOptions): Processor;
  close(): Promise<void>;
}

export async function createPipelineHarness(
  config: Config,
  logger: Logger,
  label: string,
): Promise<PipelineHarness> {
  const kafka = createKafka(config, logger, `it-${label}`);
  const topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, label);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const redis = new Redis(config.redisUrl);
  const redisPrefix = `test:${label}:${randomBytes(4).toString('hex')}:`;
  const matchPrefix = `${redisPrefix}mdm:`;
  const processors: Processor[] = [];
  const clients: Redis[] = [];

  const harness: PipelineHarness = {
    kafka,
    topology,
    producer,
    redis,
    redisPrefix,
    matchPrefix,
    async publish(events, headers) {
      for (const event of events) {
        const topic = topology.topicOf(event.topic);
        await producer.send({
          topic,
          messages: [
            {
              key: event.key,
              value: await topology.serde.encode(topic, event.value),
              ...(headers ? { headers } : {}),
            },
          ],
        });
      }
    },
    read: (topic) => readTopic(kafka, topology.topicOf(topic)),
    async until(topic, done, timeoutMs = 40_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = await readTopic(kafka, topology.topicOf(topic));
        if (done(records) || Date.now() > deadline) return records;
        await sleep(500);
      }
    },
    async decode<T>(topic: string, record: ReadRecord): Promise<T> {
      return (await topology.serde.decode(topology.topicOf(topic), record.value)) as T;
    },
    processor(options = {}) {
      const { redis: processorRedis, metrics, ...rest } = options;
      const stateRedis = processorRedis ?? new Redis(config.redisUrl);
      if (!processorRedis) clients.push(stateRedis);
      const processor = createProcessor({
        bus: createKafkajsBus(config, logger, metrics ? { metrics } : {}),
        redis: stateRedis,
        serde: topology.serde,
        engine: new MatchEngine({ store: new RedisMatchStore({ redis: stateRedis, prefix: matchPrefix }) }),
        mapping: testMapping,
        logger,
        ...(metrics ? { metrics } : {}),
        topicPrefix: topology.prefix,
        redisPrefix,
        ...rest,
      });
      processors.push(processor);
      return processor;
    },
    async close() {
      await Promise.all(processors.map((processor) => processor.close().catch(() => undefined)));
      await producer.disconnect();
      await topology.cleanup();
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      for (const client of clients) client.disconnect();
    },
  };
  return harness;
}

/** The event ids of records of `topic` (contract name), in read order. */
export async function eventIdsOf(
  harness: PipelineHarness,
  topic: string,
  records: readonly ReadRecord[],
): Promise<string[]> {
  const values = await Promise.all(
    records.map((record) => harness.decode<{ envelope: { eventId: string } }>(topic, record)),
  );
  return values.map((value) => value.envelope.eventId);
}
