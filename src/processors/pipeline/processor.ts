/**
 * The processing pipeline (`syncline run --role process`): reads every raw topic in the group
 * `syncline-processor` and, per record: decode → map → idempotency claim → source-order check →
 * match-merge (customer records) or golden-id lookup (other records) → encode → produce
 * `mdm.customer.*` and `canonical.<entity>` keyed by golden id → raise the source version → mark the
 * idempotency key done → mark the offset done. Scale out by starting more processes in the group.
 *
 * Exactly-once effect without Kafka transactions. kafkajs transactions on our broker cost about
 * 210 ms per commit (the broker answers CONCURRENT_TRANSACTIONS after each commit and kafkajs backs
 * off), i.e. a few commits per second per instance. We use DESIGN.md's alternative instead: every
 * output event id is deterministic (UUIDv5 of the input's idempotency key, the entity, the record id
 * and MAPPING_VERSION; the engine's mdm events likewise), and the idempotency key is marked done only
 * after Kafka acknowledged the output. A crash anywhere before "done" makes the record come again
 * and yields the same event ids: Kafka may hold an event twice, with one id, and every consumer
 * deduplicates by event id (the sinks' idempotency keys). A crash after "done" and before the offset
 * commit makes the record come again and be skipped as a duplicate. The kill -9 test proves it.
 */
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { uuidV5 } from '../../producers/envelope.ts';
import type {
  EventBus,
  EventConsumer,
  EventProducer,
  IncomingBatch,
  IncomingRecord,
  OutgoingRecord,
} from '../../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Registry } from '../../runtime/metrics.ts';
import { pingRedis } from '../../runtime/redis.ts';
import type { Envelope } from '../../schemas/generated/common.ts';
import type { Serde } from '../../schemas/serde.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../../topology/topics.ts';
import { MAPPING_VERSION, type BuildContext, type RawMapper } from '../canonical-mapping/types.ts';
import type { MatchEngine } from '../match-merge/engine.ts';
import { sourceKey, type GoldenRecord } from '../match-merge/types.ts';
import { deadLetterOf } from './dead-letter.ts';
import { IdempotencyStore, type Claim } from './idempotency.ts';
import { isStale, SourceOrder, type SourceEntity } from './ordering.ts';
import { createPipelineMetrics, RecordOutcomes, type PipelineMetrics } from './pipeline-metrics.ts';

/** Namespace of the canonical events' ids (UUIDv5). Never change it: ids would change with it. */
const CANONICAL_EVENT_NAMESPACE = '5f0c7a4e-2b1d-5c3e-9f8a-7b6c5d4e3f21';

/** The mapping the pipeline needs: a mapper per raw topic, and the canonical customer of a golden record. */
export interface PipelineMapping {
  /** The mapper of a raw topic (contract name, e.g. `raw.stripe.customer`); undefined when none. */
  mapperFor(topic: string): RawMapper | undefined;
  /** The `canonical.customer` value of a golden record. */
  canonicalCustomerOf(golden: GoldenRecord, context: BuildContext): Record<string, unknown>;
}

export interface ProcessorOptions {
  bus: EventBus;
  /** The Redis client of idempotency keys and source versions (the engine has its own store). */
  redis: Redis;
  serde: Serde;
  engine: MatchEngine;
  mapping: PipelineMapping;
  logger: Logger;
  metrics?: Registry;
  /** Prepended to every topic and to the group id (isolated test topologies). Default none. */
  topicPrefix?: string;
  /** Key prefix of the pipeline's Redis state. Default `syncline:pipeline:`. */
  redisPrefix?: string;
  /** Lease of an idempotency claim (ms). Default 15 s. */
  leaseMs?: number;
  /**
   * How long a record whose customer is unknown is retried before it is dead-lettered (ms).
   * Default 60 s. See {@link Processor} for why this is bounded.
   */
  unknownCustomerWindowMs?: number;
  /** Partitions processed at once. Default 2. */
  partitionsConsumedConcurrently?: number;
}

/** The handle of a running processor. */
export interface Processor {
  /** Joins the group and starts processing; resolves once the consumer runs. */
  start(): Promise<void>;
  /** False while Redis is unreachable (the pipeline is paused, failing closed). */
  isReady(): boolean;
  /** Finishes the record at hand, commits, leaves the group, flushes the producer. */
  close(): Promise<void>;
}

type RecordResult = 'done' | 'later';

interface Deferral {
  firstAt: number;
  attempts: number;
}

/**
 * Builds the processor. Records whose customer is not known yet (the CRM account of an opportunity
 * has not been processed, perhaps because it sits on another raw topic) are retried: the record is
 * left unmarked, so it and the rest of its partition are fetched again after a short pause, while
 * other partitions keep flowing. This keeps the customer's order. It is bounded: after
 * `unknownCustomerWindowMs` the record is dead-lettered with reason `unknown customer` (a redrive
 * after the customer arrived brings it back), so an orphan never blocks its partition for good.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const prefix = options.topicPrefix ?? '';
  const redisPrefix = options.redisPrefix ?? 'syncline:pipeline:';
  const groupId = `${prefix}${GroupIds.processor}`;
  const dlqTopic = `${prefix}${dlqTopicOf(GroupIds.processor)}`;
  const rawTopics = Object.values(TopicNames.raw).map((topic) => `${prefix}${topic}`);
  const unknownWindowMs = options.unknownCustomerWindowMs ?? 60_000;
  const logger = options.logger.child({ component: 'processor', group: groupId });
  const idempotency = new IdempotencyStore({
    redis: options.redis,
    prefix: redisPrefix,
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
  });
  const order = new SourceOrder({ redis: options.redis, prefix: redisPrefix });
  const metrics: PipelineMetrics | undefined = options.metrics
    ? createPipelineMetrics(options.metrics)
    : undefined;
  const producer: EventProducer = options.bus.producer();
  const consumer: EventConsumer = options.bus.consumer({
    groupId,
    topics: rawTopics,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 2,
  });
  const deferrals = new Map<string, Deferral>();
  let redisDown = false;
  let closing = false;

  const contractOf = (topic: string): string => topic.slice(prefix.length);
  const count = (topic: string, outcome: string, by = 1): void =>
    metrics?.records.inc({ topic: contractOf(topic), outcome }, by);

  async function deadLetter(record: IncomingRecord, error: SynclineError, reason: string): Promise<void> {
    const position = `${record.topic}/${record.partition}/${record.offset}`;
    const deferral = deferrals.get(position);
    const now = Date.now();
    await producer.send([
      deadLetterOf(record, dlqTopic, {
        group: GroupIds.processor,
        error,
        reason,
        attempts: (deferral?.attempts ?? 0) + 1,
        firstFailureAt: deferral?.firstAt ?? now,
        lastFailureAt: now,
      }),
    ]);
    deferrals.delete(position);
    count(record.topic, RecordOutcomes.DLQ);
    metrics?.errors.inc({ topic: contractOf(record.topic), code: error.code });
    logger.warn(
      {
        err: error.toJSON(),
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        reason,
      },
      'record dead-lettered',
    );
  }

  /** Remembers a retry of a record; true while it may still wait, false once its window is spent. */
  function mayWait(record: IncomingRecord): boolean {
    const position = `${record.topic}/${record.partition}/${record.offset}`;
    const now = Date.now();
    const deferral = deferrals.get(position) ?? { firstAt: now, attempts: 0 };
    deferral.attempts += 1;
    deferrals.set(position, deferral);
    return now - deferral.firstAt < unknownWindowMs;
  }

  async function handleRecord(record: IncomingRecord): Promise<RecordResult> {
    const contract = contractOf(record.topic);
    const decoded = await options.serde.tryDecode(record.topic, record.value, {
      partition: record.partition,
      offset: record.offset,
    });
    if (!decoded.ok) {
      if (decoded.error.retriable) throw decoded.error; // registry away: back off, do not dead-letter
      await deadLetter(record, decoded.error, 'decode');
      return 'done';
    }
    const value = decoded.value as Record<string, unknown>;
    const envelope = value.envelope as Envelope;
    const mapper = options.mapping.mapperFor(contract);
    if (!mapper) {
      const error = SynclineError.permanent(ErrorCodes.MAPPING_FAILED, `no mapper for topic ${contract}`, {
        topic: record.topic,
      });
      await deadLetter(record, error, 'mapping');
      return 'done';
    }
    let mapped: ReturnType<RawMapper>;
    try {
      mapped = mapper(value);
    } catch (error) {
      const failure = classify(error, {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      });
      await deadLetter(record, failure, 'mapping');
      return 'done';
    }

    const claimed = await idempotency.claim(envelope.idempotencyKey);
    if (claimed.status === 'done') {
      count(record.topic, RecordOutcomes.DUPLICATE);
      return 'done';
    }
    if (claimed.status === 'held') {
      count(record.topic, RecordOutcomes.DEFERRED);
      return 'later';
    }
    const claim = claimed.claim;
    try {
      const result = await produceOutputs(record, contract, envelope, mapped, claim);
      if (result === 'later') await idempotency.release(claim);
      return result;
    } catch (error) {
      await idempotency.release(claim).catch(() => undefined);
      const failure = classify(error, {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      });
      if (failure.retriable) throw failure;
      await deadLetter(record, failure, 'processing');
      return 'done';
    }
  }

  async function produceOutputs(
    record: IncomingRecord,
    contract: string,
    envelope: Envelope,
    mapped: ReturnType<RawMapper>,
    claim: Claim,
  ): Promise<RecordResult> {
    const entity: SourceEntity = {
      system: envelope.source.system,
      entity: contract.split('.').at(-1) ?? contract,
      id: envelope.sourceEntityId,
    };
    if (isStale(envelope.sourceVersion, await order.highestApplied(entity))) {
      return stale(record, envelope, claim);
    }
    const outputs: OutgoingRecord[] = [];
    const eventIds: string[] = [];
    const derived = (entityName: string, recordId: string, eventType: string, sourceVersion: number) => ({
      eventId: uuidV5(
        `${envelope.idempotencyKey}|${entityName}|${recordId}|v${MAPPING_VERSION}`,
        CANONICAL_EVENT_NAMESPACE,
      ),
      eventType,
      source: envelope.source,
      sourceEntityId: envelope.sourceEntityId,
      sourceVersion,
      occurredAt: envelope.occurredAt,
      ingestedAt: envelope.ingestedAt,
      idempotencyKey: `${envelope.idempotencyKey}|${entityName}`,
      correlationId: envelope.correlationId,
      causationId: envelope.eventId,
    });
    const add = async (topic: string, key: string, value: Record<string, unknown>): Promise<void> => {
      const actual = `${prefix}${topic}`;
      outputs.push({ topic: actual, key, value: await options.serde.encode(actual, value) });
      const id = (value.envelope as { eventId?: unknown } | undefined)?.eventId;
      if (typeof id === 'string') eventIds.push(id);
    };

    if (mapped.identity) {
      const resolved = await options.engine.resolve(mapped.identity, {
        correlationId: envelope.correlationId,
        causationId: envelope.eventId,
        idempotencyKey: envelope.idempotencyKey,
        ingestedAt: envelope.ingestedAt,
      });
      metrics?.matches.inc({ outcome: resolved.outcome });
      if (resolved.change === 'stale') return stale(record, envelope, claim);
      for (const event of resolved.events)
        await add(event.topic, event.key, event.value as unknown as Record<string, unknown>);
      const customerEnvelope = derived(
        'customer',
        resolved.goldenId,
        `canonical.customer.${resolved.outcome === 'new' ? 'created' : 'updated'}`,
        resolved.golden.version,
      );
      await add(
        TopicNames.canonical.customer,
        resolved.goldenId,
        options.mapping.canonicalCustomerOf(resolved.golden, {
          goldenId: resolved.goldenId,
          envelope: customerEnvelope,
        }),
      );
    }

    for (const draft of mapped.drafts) {
      const goldenId = await options.engine.store.xrefOf(sourceKey(draft.customer));
      if (!goldenId) {
        if (mayWait(record)) {
          count(record.topic, RecordOutcomes.DEFERRED);
          return 'later';
        }
        const error = SynclineError.permanent(
          ErrorCodes.MAPPING_FAILED,
          `unknown customer ${sourceKey(draft.customer)}: no golden id within ${unknownWindowMs} ms`,
          { topic: record.topic, partition: record.partition, offset: record.offset },
        );
        await idempotency.release(claim);
        await deadLetter(record, error, 'unknown customer');
        return 'done';
      }
      const draftEnvelope = derived(draft.entity, draft.recordId, draft.eventType, draft.sourceVersion);
      await add(`canonical.${draft.entity}`, goldenId, draft.build({ goldenId, envelope: draftEnvelope }));
    }

    if (outputs.length > 0) await producer.send(outputs);
    await order.applied(entity, envelope.sourceVersion);
    await idempotency.markDone(claim, eventIds);
    deferrals.delete(`${record.topic}/${record.partition}/${record.offset}`);
    count(record.topic, RecordOutcomes.OUT, outputs.length);
    return 'done';
  }

  async function stale(record: IncomingRecord, envelope: Envelope, claim: Claim): Promise<RecordResult> {
    count(record.topic, RecordOutcomes.STALE);
    logger.info(
      {
        topic: record.topic,
        sourceEntityId: envelope.sourceEntityId,
        sourceVersion: envelope.sourceVersion,
        correlationId: envelope.correlationId,
      },
      'stale source version: recorded, not emitted',
    );
    await idempotency.markDone(claim, []);
    return 'done';
  }

  /** Fail closed: hold the partition (nothing marked, nothing committed) until Redis answers again. */
  async function waitForRedis(batch: IncomingBatch, error: SynclineError): Promise<void> {
    if (!redisDown) logger.warn({ err: error.toJSON() }, 'Redis unreachable: pausing the pipeline');
    redisDown = true;
    while (batch.isRunning() && !batch.isStale()) {
      await sleep(500);
      await batch.heartbeat().catch(() => undefined);
      try {
        await pingRedis(options.redis, 1000);
        break;
      } catch {
        // still down
      }
    }
    if (redisDown) logger.info('Redis reachable again: resuming the pipeline');
    redisDown = false;
  }

  async function handleBatch(batch: IncomingBatch): Promise<void> {
    for (const record of batch.records) {
      if (!batch.isRunning() || batch.isStale()) return;
      const started = process.hrtime.bigint();
      let result: RecordResult;
      try {
        result = await handleRecord(record);
      } catch (error) {
        const failure = classify(error, { topic: record.topic, partition: record.partition });
        metrics?.errors.inc({ topic: contractOf(record.topic), code: failure.code });
        if (failure.code === ErrorCodes.REDIS_UNAVAILABLE) {
          await waitForRedis(batch, failure);
          return; // the record, unmarked, is fetched again
        }
        throw failure; // retriable: the bus backs off and fetches the unmarked records again
      }
      if (result === 'later') {
        // Leave it and the rest of the partition for the next fetch, after a short pause.
        await sleep(250);
        return;
      }
      count(record.topic, RecordOutcomes.IN);
      metrics?.latency.observe(
        { topic: contractOf(record.topic) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      batch.markDone(record);
      await batch.heartbeat();
    }
  }

  return {
    async start() {
      await producer.connect();
      await consumer.run(handleBatch);
      logger.info({ topics: rawTopics.length }, 'processor running');
    },
    isReady: () => !redisDown && !closing,
    async close() {
      closing = true;
      await consumer.close();
      await producer.close();
    },
  };
}
