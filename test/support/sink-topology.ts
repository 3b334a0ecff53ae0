/**
 * A private topology for sink runner tests: the canonical topics a sink reads, the retry and DLQ
 * topics of the sink groups, and ops.audit (redrive and replay audit what they do), all under a
 * random prefix, value subjects registered under it; a Serde for them; a publisher of canonical
 * values; and the pieces to start a runner on it. Everything is removed again by `cleanup`.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import {
  createSinkRunner,
  type SinkRunner,
  type SinkRunnerOptions,
} from '../../src/consumers/runner/runner.ts';
import type { Sink } from '../../src/consumers/sink.ts';
import { createKafkajsBus } from '../../src/runtime/bus/kafkajs.ts';
import type { Config } from '../../src/runtime/config.ts';
import type { Logger } from '../../src/runtime/logger.ts';
import { createMetricsRegistry, type Registry } from '../../src/runtime/metrics.ts';
import { loadCatalog } from '../../src/schemas/catalog.ts';
import { RegistryClient } from '../../src/schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../src/schemas/serde.ts';
import { createTopicsReady } from '../../src/topology/create-topics.ts';
import { dlqTopicOf, retryTopicOf, TopicNames } from '../../src/topology/topics.ts';

export interface SinkTopology {
  prefix: string;
  serde: Serde;
  topicOf(topic: string): string;
  /** Publishes canonical values (keyed by their goldenId), in order, acks=all. */
  publish(topic: string, values: readonly Record<string, unknown>[]): Promise<void>;
  /** A runner for `sink` on this topology, with its own metrics registry. */
  runner(
    sink: Sink,
    redis: Redis,
    redisPrefix: string,
    extra?: Partial<SinkRunnerOptions>,
  ): { runner: SinkRunner; metrics: Registry };
  cleanup(): Promise<void>;
}

export async function createSinkTopology(
  kafka: Kafka,
  config: Config,
  logger: Logger,
  label: string,
  groupIds: readonly string[],
): Promise<SinkTopology> {
  const prefix = `it-${label}-${randomBytes(4).toString('hex')}.`;
  const canonical = Object.values(TopicNames.canonical).map((topic) => `${prefix}${topic}`);
  const audit = `${prefix}${TopicNames.ops.audit}`;
  const groupTopics = groupIds.flatMap((group) => [
    `${prefix}${retryTopicOf(group)}`,
    `${prefix}${dlqTopicOf(group)}`,
  ]);
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [
    ...canonical.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    ...[audit, ...groupTopics].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  ]);
  await admin.disconnect();
  const registry = new RegistryClient({ url: config.schemaRegistryUrl });
  const wanted = new Set([...canonical, audit]);
  const bindings = new Map(
    [...bindingsFromCatalog(loadCatalog({ prefix }))].filter(([topic]) => wanted.has(topic)),
  );
  for (const binding of bindings.values()) await registry.register(binding.subject, binding.writer.text);
  const serde = new Serde({ source: registry, bindings });
  let producer: Producer | undefined;
  const bus = createKafkajsBus(config, logger);

  return {
    prefix,
    serde,
    topicOf: (topic) => `${prefix}${topic}`,
    async publish(topic, values) {
      if (!producer) {
        producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 });
        await producer.connect();
      }
      const actual = `${prefix}${topic}`;
      const messages = [];
      for (const value of values) {
        messages.push({ key: String(value.goldenId), value: await serde.encode(actual, value) });
      }
      await producer.send({ topic: actual, acks: -1, messages });
    },
    runner(sink, redis, redisPrefix, extra = {}) {
      const metrics = createMetricsRegistry({ defaultMetrics: false });
      const runner = createSinkRunner({
        sink,
        bus,
        kafka,
        redis,
        serde,
        logger,
        metrics,
        topicPrefix: prefix,
        redisPrefix,
        ...extra,
      });
      return { runner, metrics };
    },
    async cleanup() {
      await producer?.disconnect().catch(() => undefined);
      const cleaner = kafka.admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: [...canonical, audit, ...groupTopics] }).catch(() => undefined);
      await cleaner.deleteGroups(groupIds.map((group) => `${prefix}${group}`)).catch(() => undefined);
      await cleaner.disconnect();
      for (const binding of bindings.values()) {
        await registry.deleteSubject(binding.subject).catch(() => undefined);
        await registry.deleteSubject(binding.subject, true).catch(() => undefined);
      }
    },
  };
}

/** Polls `check` until it returns true (or a value), failing after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | false | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const result = await check();
      if (result !== false && result !== undefined) return result;
    } catch (error) {
      last = error instanceof Error ? error.message : JSON.stringify(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The value of a metric series (first matching labels), 0 when absent. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  // A histogram's `_count` and `_sum` series belong to the histogram's own name.
  const base = name.replace(/_(count|sum)$/, '');
  const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
  if (!metric) return 0;
  const data = await metric.get();
  let total = 0;
  for (const value of data.values) {
    const valueLabels = value.labels as Record<string, string | number>;
    const series = (value as { metricName?: string }).metricName ?? data.name;
    if (series !== name) continue;
    if (Object.entries(labels).every(([key, wanted]) => String(valueLabels[key]) === wanted))
      total += value.value;
  }
  return total;
}
