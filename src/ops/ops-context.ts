/**
 * What every ops action (DLQ list/show/redrive/discard, replay) works with, made once per CLI run
 * or per admin server: a Kafka client (admin calls and snapshot reads), a producer on our bus (retry
 * records, resolution markers, audit records), the registry (audit records, decoding DLQ values for
 * `dlq show`), and the topic prefix of an isolated topology (tests; '' in production).
 */
import type { Kafka } from 'kafkajs';
import { KafkajsEventProducer } from '../runtime/bus/kafkajs-producer.ts';
import type { EventProducer } from '../runtime/bus/types.ts';
import type { Config } from '../runtime/config.ts';
import { createKafka } from '../runtime/kafka.ts';
import type { Logger } from '../runtime/logger.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../schemas/serde.ts';
import { TopicNames } from '../topology/topics.ts';

export interface OpsContext {
  kafka: Kafka;
  producer: EventProducer;
  registry: RegistryClient;
  /** Encodes audit records (binding of the audit topic only). */
  serde: Serde;
  logger: Logger;
  /** Prepended to every topic and group name; '' in production. */
  prefix: string;
  /** `<prefix>ops.audit`. */
  auditTopic: string;
}

export interface OpsContextOptions {
  prefix?: string;
  /** Reuse a Kafka client (tests); otherwise one is made from the config. */
  kafka?: Kafka;
}

/** Builds the context; call {@link closeOpsContext} when done. */
export function createOpsContext(
  config: Config,
  logger: Logger,
  options: OpsContextOptions = {},
): OpsContext {
  const prefix = options.prefix ?? '';
  const kafka = options.kafka ?? createKafka(config, logger, 'ops');
  const registry = new RegistryClient({ url: config.schemaRegistryUrl });
  const auditTopic = `${prefix}${TopicNames.ops.audit}`;
  const bindings = new Map(
    [...bindingsFromCatalog(loadCatalog({ prefix }))].filter(([topic]) => topic === auditTopic),
  );
  return {
    kafka,
    producer: new KafkajsEventProducer({ kafka, logger, lingerMs: 0 }),
    registry,
    serde: new Serde({ source: registry, bindings }),
    logger: logger.child({ component: 'ops' }),
    prefix,
    auditTopic,
  };
}

export async function closeOpsContext(context: OpsContext): Promise<void> {
  await context.producer.close();
}
