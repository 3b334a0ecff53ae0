/**
 * A private copy of one sink group's world for ops tests: under a random prefix, the group's DLQ
 * and retry topics, the canonical topics it reads, and `ops.audit`, with the invoice and audit
 * subjects registered under the same prefix; an {@link OpsContext} on that prefix; and helpers to
 * dead-letter records exactly as a stage does (deadLetterOf) and to read the audit trail back.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { closeOpsContext, createOpsContext, type OpsContext } from '../../../src/ops/ops-context.ts';
import { readTopicSnapshot } from '../../../src/runtime/bus/topic-reader.ts';
import { deadLetterOf, DlqHeaders, PARKED_REASON } from '../../../src/processors/pipeline/dead-letter.ts';
import type { IncomingRecord } from '../../../src/runtime/bus/types.ts';
import type { Config } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError, type ErrorCode } from '../../../src/runtime/errors.ts';
import type { Logger } from '../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import type { AuditEvent } from '../../../src/schemas/generated/ops.ts';
import { RegistryClient } from '../../../src/schemas/registry-client.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';
import { bindingsFromCatalog, Serde } from '../../../src/schemas/serde.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { dlqTopicOf, GroupIds, GROUPS, retryTopicOf, TopicNames } from '../../../src/topology/topics.ts';

export const GROUP = GroupIds.erpRestSink;

export interface OpsTopology {
  prefix: string;
  context: OpsContext;
  /** Serde of the invoice and audit topics under the prefix. */
  serde: Serde;
  producer: Producer;
  dlqTopic: string;
  retryTopic: string;
  auditTopic: string;
  topicOf(contractTopic: string): string;
  /** An Avro invoice value in the wire format (registered schema). */
  invoiceValue(seed: number): Promise<Buffer>;
  /**
   * Dead-letters a record of `canonical.invoice` as a sink does; resolves with its DLQ position.
   * `parkedBehind` makes it a parked entry instead.
   */
  deadLetter(input: DeadLetterInput): Promise<{ partition: number; offset: string }>;
  auditEvents(): Promise<AuditEvent[]>;
  cleanup(): Promise<void>;
}

export interface DeadLetterInput {
  key: string;
  originalOffset: number;
  value?: Buffer;
  code?: ErrorCode;
  reason?: string;
  failedAt?: number;
  parkedBehind?: string;
  /** Headers of the original record (e.g. a previous redrive's count). */
  headers?: Record<string, string>;
  /** DLQ partition (else by key). */
  partition?: number;
}

export async function createOpsTopology(
  kafka: Kafka,
  config: Config,
  logger: Logger,
  label: string,
): Promise<OpsTopology> {
  const prefix = `it-ops-${label}-${randomBytes(4).toString('hex')}.`;
  const declaration = GROUPS.find((group) => group.id === GROUP)!;
  const topicOf = (topic: string) => `${prefix}${topic}`;
  const dlqTopic = topicOf(dlqTopicOf(GROUP));
  const retryTopic = topicOf(retryTopicOf(GROUP));
  const auditTopic = topicOf(TopicNames.ops.audit);
  const topics = [dlqTopic, retryTopic, ...declaration.reads.map(topicOf)];
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [
    ...topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
    { topic: auditTopic, numPartitions: 1, replicationFactor: 1 },
  ]);
  await admin.disconnect();

  const registry = new RegistryClient({ url: config.schemaRegistryUrl });
  const invoiceTopic = topicOf(TopicNames.canonical.invoice);
  const bindings = new Map(
    [...bindingsFromCatalog(loadCatalog({ prefix }))].filter(
      ([topic]) => topic === invoiceTopic || topic === auditTopic,
    ),
  );
  for (const binding of bindings.values()) await registry.register(binding.subject, binding.writer.text);
  const serde = new Serde({ source: registry, bindings });
  const context = createOpsContext(config, logger, { prefix, kafka });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();

  const invoiceSchema = bindings.get(invoiceTopic)!.writer.node;

  return {
    prefix,
    context,
    serde,
    producer,
    dlqTopic,
    retryTopic,
    auditTopic,
    topicOf,
    invoiceValue: (seed) => serde.encode(invoiceTopic, sampleValues(invoiceSchema, 1, seed)[0]),
    async deadLetter(input) {
      const failedAt = input.failedAt ?? Date.now();
      const original: IncomingRecord = {
        topic: invoiceTopic,
        partition: 1,
        offset: String(input.originalOffset),
        key: Buffer.from(input.key),
        value: input.value ?? Buffer.from(`value-${input.key}-${input.originalOffset}`),
        headers: {
          'x-original': Buffer.from(`${input.key}/${input.originalOffset}`),
          ...Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
        },
        timestamp: failedAt - 1000,
      };
      const out = deadLetterOf(original, dlqTopic, {
        group: GROUP,
        error: SynclineError.permanent(input.code ?? ErrorCodes.TARGET_REJECTED, `rejected ${input.key}`),
        reason: input.parkedBehind ? PARKED_REASON : (input.reason ?? 'target rejected'),
        attempts: input.parkedBehind ? 0 : 1,
        firstFailureAt: failedAt,
        lastFailureAt: failedAt,
      });
      const headers: Record<string, Buffer | string> = {};
      for (const [name, value] of Object.entries(out.headers ?? {})) {
        headers[name] = Array.isArray(value)
          ? (value[value.length - 1] as Buffer)
          : (value as Buffer | string);
      }
      if (input.parkedBehind) headers[DlqHeaders.parkedBehind] = input.parkedBehind;
      const [written] = await producer.send({
        topic: dlqTopic,
        acks: -1,
        messages: [
          {
            key: out.key,
            value: out.value,
            headers,
            ...(input.partition === undefined ? {} : { partition: input.partition }),
          },
        ],
      });
      return { partition: written!.partition, offset: written!.baseOffset! };
    },
    async auditEvents() {
      const snapshot = await readTopicSnapshot(kafka, auditTopic);
      return Promise.all(
        snapshot.records.map((record) => serde.decode(auditTopic, record.value) as Promise<AuditEvent>),
      );
    },
    async cleanup() {
      await producer.disconnect().catch(() => undefined);
      await closeOpsContext(context).catch(() => undefined);
      const cleaner = kafka.admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: [...topics, auditTopic] }).catch(() => undefined);
      await cleaner.deleteGroups([`${prefix}${GROUP}`]).catch(() => undefined);
      await cleaner.disconnect();
      for (const binding of bindings.values()) {
        await registry.deleteSubject(binding.subject).catch(() => undefined);
        await registry.deleteSubject(binding.subject, true).catch(() => undefined);
      }
    },
  };
}
