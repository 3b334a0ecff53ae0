/**
 * A role's sink in the shared sink runner on the real broker, registry and Redis, on a private
 * (prefixed) pipeline topology with the group's retry and DLQ topics: what the `sink-*` role tests
 * share. The test brings the sink (usually its role's factory against a SaaS double); `close`
 * removes everything the harness made (topics, subjects, group, Redis keys).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { createSinkRunner, type SinkRunner } from '../../src/consumers/runner/runner.ts';
import type { SinkFactory } from '../../src/consumers/sink-service.ts';
import type { Sink, SinkRecord } from '../../src/consumers/sink.ts';
import { createKafkajsBus } from '../../src/runtime/bus/kafkajs.ts';
import type { Config } from '../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../src/runtime/errors.ts';
import { createKafka } from '../../src/runtime/kafka.ts';
import type { Logger } from '../../src/runtime/logger.ts';
import { createTopicsReady } from '../../src/topology/create-topics.ts';
import { dlqTopicOf, retryTopicOf } from '../../src/topology/topics.ts';
import { createPipelineTopology, type PipelineTopology } from './pipeline.ts';

export interface SinkRoleHarness {
  kafka: Kafka;
  topology: PipelineTopology;
  runner: SinkRunner;
  /** Produces a canonical record to its (prefixed) topic, acks=all. */
  produce(record: SinkRecord): Promise<void>;
  /** How many records the group's DLQ holds. */
  dlqDepth(): Promise<number>;
  close(): Promise<void>;
}

export async function startSinkRole(options: {
  /** Names the topology, Kafka client and Redis prefix, e.g. `crm-role`. */
  label: string;
  group: string;
  config: Config;
  logger: Logger;
  sink: Sink;
}): Promise<SinkRoleHarness> {
  const { label, group, config, logger, sink } = options;
  const kafka = createKafka(config, logger, `${label}-test`);
  const topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, label);
  const groupTopics = [retryTopicOf(group), dlqTopicOf(group)].map((topic) => topology.topicOf(topic));
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(
    admin,
    groupTopics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  );
  await admin.disconnect();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const redisPrefix = `test:${label}:${randomBytes(4).toString('hex')}:`;
  const runner = createSinkRunner({
    sink,
    bus: createKafkajsBus(config, logger, { clientSuffix: `${label}-test` }),
    kafka,
    redis,
    serde: topology.serde,
    logger,
    topicPrefix: topology.prefix,
    redisPrefix,
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
  });
  await runner.start();

  return {
    kafka,
    topology,
    runner,
    async produce(record) {
      const topic = topology.topicOf(record.topic);
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: record.key,
            value: await topology.serde.encode(topic, record.value as Record<string, unknown>),
          },
        ],
      });
    },
    async dlqDepth() {
      const reader = kafka.admin();
      await reader.connect();
      try {
        const offsets = await reader.fetchTopicOffsets(topology.topicOf(dlqTopicOf(group)));
        return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
      } finally {
        await reader.disconnect();
      }
    },
    async close() {
      await runner.close();
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await producer.disconnect();
      const cleaner = kafka.admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: groupTopics }).catch(() => undefined);
      await cleaner.deleteGroups([`${topology.prefix}${group}`]).catch(() => undefined);
      await cleaner.disconnect();
      await topology.cleanup();
    },
  };
}

/**
 * The message a role's sink factory refuses its configuration with, after checking it is refused
 * the way configuration is (permanent CONFIG_INVALID, before anything connects).
 */
export async function configRefusal(factory: SinkFactory, config: Config, logger: Logger): Promise<string> {
  const error = await factory(config, logger).then(
    () => undefined,
    (problem: unknown) => problem,
  );
  expect(error).toBeInstanceOf(SynclineError);
  expect(error).toMatchObject({ code: ErrorCodes.CONFIG_INVALID, retriable: false });
  return (error as SynclineError).message;
}
