/**
 * A private, throwaway copy of the raw topics: uniquely prefixed topics on the broker, their value
 * schemas registered under their own subjects, and the serde and codec that write them. For the
 * ingest benchmark and the integration tests, which must neither depend on nor disturb the real
 * raw topics; `cleanup()` removes topics and subjects again.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { loadCatalog, type Catalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { Serde, type TopicBinding } from '../schemas/serde.ts';
import { createTopicsReady } from '../topology/create-topics.ts';
import { TopicNames } from '../topology/topics.ts';
import { RawRecordCodec } from './raw-record-codec.ts';

export const RAW_TOPIC_NAMES: readonly string[] = Object.values(TopicNames.raw);

export interface ScratchRawTopics {
  prefix: string;
  catalog: Catalog;
  serde: Serde;
  codec: RawRecordCodec;
  /** Contract name → scratch topic. */
  topicOf: (topic: string) => string;
  /** Extra topics created beside the raw ones (scratch names as given). */
  extra: readonly string[];
  cleanup: () => Promise<void>;
}

export interface ScratchOptions {
  /** A label in the prefix, e.g. `bench`: `<label>-<random>.raw.stripe.customer`. */
  label: string;
  partitions?: number;
  /** More topics to create under the same prefix, without schemas (e.g. a baseline's topic). */
  extraTopics?: readonly string[];
}

/** The serde bindings of the scratch copies of the raw topics under `prefix`. */
export function scratchBindings(catalog: Catalog, prefix: string): Map<string, TopicBinding> {
  return new Map(
    RAW_TOPIC_NAMES.map((topic) => [
      `${prefix}${topic}`,
      { subject: `${prefix}${topic}-value`, writer: catalog.topic(topic) },
    ]),
  );
}

export async function createScratchRawTopics(
  kafka: Kafka,
  registryUrl: string,
  options: ScratchOptions,
): Promise<ScratchRawTopics> {
  const prefix = `${options.label}-${randomBytes(4).toString('hex')}.`;
  const topicOf = (topic: string): string => `${prefix}${topic}`;
  const catalog = loadCatalog();
  const registry = new RegistryClient({ url: registryUrl });
  const bindings = scratchBindings(catalog, prefix);
  const extra = (options.extraTopics ?? []).map(topicOf);
  const names = [...bindings.keys(), ...extra];
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsReady(
      admin,
      names.map((topic) => ({ topic, numPartitions: options.partitions ?? 3, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
  for (const [, binding] of bindings) await registry.register(binding.subject, binding.writer.text);
  const serde = new Serde({ source: registry, bindings });
  return {
    prefix,
    catalog,
    serde,
    codec: new RawRecordCodec(catalog, serde),
    topicOf,
    extra,
    async cleanup() {
      const cleaner = kafka.admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: names }).catch(() => undefined);
      await cleaner.disconnect();
      for (const [, binding] of bindings) {
        await registry.deleteSubject(binding.subject).catch(() => undefined);
        await registry.deleteSubject(binding.subject, true).catch(() => undefined);
      }
    },
  };
}
