/**
 * The processing pipeline (`syncline run --role process`): reads every raw topic, and its own retry
 * topic `syncline-processor.retry` (DLQ redrives), in the group `syncline-processor`, and per
 * record: decode → map → idempotency claim → source-order check → match-merge (customer records) or
 * golden-id lookup (other records) → encode → produce `mdm.customer.*` and `canonical.<entity>`
 * keyed by golden id → raise the source version → mark the idempotency key done → mark the offset
 * done. Scale out by starting more processes in the group.
 *
 * Work is done per chunk of a fetched batch (up to `chunkRecords` records of one partition), not
 * per record, because a record's own work is small next to its round trips: decoding and mapping
 * run for the whole chunk at once; idempotency claims, source versions and golden-id look-ups go to
 * Redis together (ioredis pipelines concurrent commands on one connection); match-merge resolves
 * start together where order allows (see startResolves: records sharing a lookup key, which may
 * change what each other matches, still resolve one after the other in offset order), so that
 * their round trips share writes too; the chunk's outputs and dead letters go to Kafka in one produce call; keys are marked done
 * together after Kafka acknowledged them; then the offsets are marked in order. Per-entity source
 * order within a chunk is kept in memory, so two versions of one entity in one chunk behave as if
 * processed one after the other.
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
import { headerText } from '../../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Registry } from '../../runtime/metrics.ts';
import { waitUntilRedisAnswers } from '../../runtime/redis.ts';
import type { Envelope } from '../../schemas/generated/common.ts';
import type { Serde } from '../../schemas/serde.ts';
import { dlqTopicOf, GroupIds, retryTopicOf, TopicNames } from '../../topology/topics.ts';
import {
  MAPPING_VERSION,
  type BuildContext,
  type MappingResult,
  type RawMapper,
} from '../canonical-mapping/types.ts';
import type { MatchEngine } from '../match-merge/engine.ts';
import { sourceKey, type GoldenRecord, type ResolveResult } from '../match-merge/types.ts';
import { deadLetterOf, DlqHeaders } from './dead-letter.ts';
import { IdempotencyStore, type Claim, type ClaimResult } from './idempotency.ts';
import { isStale, SourceOrder, type SourceEntity } from './ordering.ts';
import { createPipelineMetrics, RecordOutcomes, type PipelineMetrics } from './pipeline-metrics.ts';

/** Namespace of the canonical events' ids (UUIDv5). Never change it: ids would change with it. */
const CANONICAL_EVENT_NAMESPACE = '5f0c7a4e-2b1d-5c3e-9f8a-7b6c5d4e3f21';

/** Partitions a processor handles at once unless told otherwise. */
export const DEFAULT_PARTITIONS_CONCURRENTLY = 2;

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
  /**
   * Partitions processed at once. Default 2. More did not help in `syncline bench process` on the
   * local stack (4 gave the same records/s as 2, with twice the time per match-merge resolve: the
   * process was short of CPU, not waiting on Redis), and each one more adds lock contention.
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Records of one partition processed together (one produce call, one round of Redis calls).
   * Default 100: their outputs (up to three per customer record) stay well inside one produce
   * request (900 KiB), and a failure redoes at most this many records.
   */
  chunkRecords?: number;
  /** How often the consumer lag of idle partitions is read from the broker (ms). Default the bus's. */
  lagRefreshMs?: number;
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

interface Deferral {
  firstAt: number;
  attempts: number;
}

/** One record as the pipeline takes it: where it was read, and the raw record it stands for. */
interface Input {
  /** Where it was read (a raw topic or the retry topic): its offset is marked done. */
  read: IncomingRecord;
  /**
   * The record as first read from its raw topic. For a redriven record (retry topic) its topic,
   * partition and offset come from the DLQ headers it carries, so that decoding, mapping, metrics
   * and a second dead-lettering all speak of the raw topic.
   */
  origin: IncomingRecord;
  /** Failed attempts before this read (a redriven record), and when the first one was. */
  priorAttempts: number;
  firstFailureAt: number | undefined;
}

/** A record decoded and mapped, ready for its idempotency claim. */
interface Ready {
  kind: 'ready';
  input: Input;
  contract: string;
  envelope: Envelope;
  mapped: MappingResult;
  entity: SourceEntity;
}

/** A record that failed before any side effect: dead-letter it. */
interface Dead {
  kind: 'dead';
  input: Input;
  error: SynclineError;
  reason: string;
}

/** How a record of a chunk ended. */
type Settled =
  | { kind: 'dead-lettered' }
  | { kind: 'duplicate' }
  | { kind: 'stale'; claim: Claim }
  | { kind: 'produced'; claim: Claim; outputs: OutgoingRecord[]; eventIds: string[]; entity: SourceEntity };

/**
 * Builds the processor. Records whose customer is not known yet (the CRM account of an opportunity
 * has not been processed, perhaps because it sits on another raw topic) are retried: the record is
 * left unmarked, so it and the rest of its partition are fetched again after a short pause, while
 * other partitions keep flowing. This keeps the customer's order. It is bounded: after
 * `unknownCustomerWindowMs` the record is dead-lettered with reason `unknown customer` (a redrive
 * after the customer arrived brings it back), so an orphan never blocks its partition for good.
 *
 * A redriven record (on the retry topic, which only this group reads) is processed like the raw
 * record it carries; if it fails again it goes back to the DLQ with its attempts counted on from
 * the `syncline-dlq-attempts` header it carries (or, without one, its `syncline-redrive-count`) and
 * its first failure time kept.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const prefix = options.topicPrefix ?? '';
  const redisPrefix = options.redisPrefix ?? 'syncline:pipeline:';
  const groupId = `${prefix}${GroupIds.processor}`;
  const dlqTopic = `${prefix}${dlqTopicOf(GroupIds.processor)}`;
  const retryTopic = `${prefix}${retryTopicOf(GroupIds.processor)}`;
  const rawTopics = Object.values(TopicNames.raw).map((topic) => `${prefix}${topic}`);
  const rawTopicSet = new Set(rawTopics);
  const unknownWindowMs = options.unknownCustomerWindowMs ?? 60_000;
  const chunkRecords = Math.max(1, options.chunkRecords ?? 100);
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
    topics: [...rawTopics, retryTopic],
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? DEFAULT_PARTITIONS_CONCURRENTLY,
    ...(options.lagRefreshMs !== undefined ? { lagRefreshMs: options.lagRefreshMs } : {}),
  });
  const deferrals = new Map<string, Deferral>();
  /**
   * Claims of ours that could not be given back (Redis went away mid-chunk), by Redis key: the next
   * read of their record takes them over at once instead of waiting for the lease to run out.
   */
  const orphans = new Map<string, { token: string; until: number }>();
  const leaseMs = options.leaseMs ?? 15_000;
  let redisDown = false;
  let closing = false;

  const contractOf = (topic: string): string => topic.slice(prefix.length);
  const count = (input: Input, outcome: string, by = 1): void =>
    metrics?.records.inc({ topic: contractOf(input.origin.topic), outcome }, by);
  const positionOf = (record: IncomingRecord): string =>
    `${record.topic}/${record.partition}/${record.offset}`;

  /** The input a read record stands for; a retry-topic record names its raw topic in its headers. */
  function inputOf(record: IncomingRecord): Input | Dead {
    if (record.topic !== retryTopic) {
      return { read: record, origin: record, priorAttempts: 0, firstFailureAt: undefined };
    }
    const attempts = Number(headerText(record.headers, DlqHeaders.attempts));
    const redriven = Number(headerText(record.headers, DlqHeaders.redriveCount));
    const firstFailure = Date.parse(headerText(record.headers, DlqHeaders.firstFailure) ?? '');
    const input: Input = {
      read: record,
      origin: record,
      priorAttempts:
        Number.isInteger(attempts) && attempts > 0
          ? attempts
          : Number.isInteger(redriven) && redriven > 0
            ? redriven
            : 0,
      firstFailureAt: Number.isFinite(firstFailure) ? firstFailure : undefined,
    };
    const topic = headerText(record.headers, DlqHeaders.topic);
    if (topic === undefined || !rawTopicSet.has(topic)) {
      const error = SynclineError.permanent(
        ErrorCodes.INPUT_INVALID,
        `redriven record names no raw topic of this processor (${DlqHeaders.topic}: ${JSON.stringify(topic ?? null)})`,
        { topic: record.topic, partition: record.partition, offset: record.offset },
      );
      return { kind: 'dead', input, error, reason: 'redrive' };
    }
    const partition = Number(headerText(record.headers, DlqHeaders.partition));
    const offset = headerText(record.headers, DlqHeaders.offset);
    input.origin = {
      ...record,
      topic,
      partition: Number.isInteger(partition) && partition >= 0 ? partition : record.partition,
      offset: offset !== undefined && /^\d+$/.test(offset) ? offset : record.offset,
    };
    return input;
  }

  /** The DLQ record of a failed input, with its attempts (earlier reads and waits counted in). */
  function deadLetterRecord(input: Input, error: SynclineError, reason: string): OutgoingRecord {
    const position = positionOf(input.read);
    const deferral = deferrals.get(position);
    deferrals.delete(position);
    const now = Date.now();
    count(input, RecordOutcomes.DLQ);
    metrics?.errors.inc({ topic: contractOf(input.origin.topic), code: error.code });
    logger.warn(
      {
        err: error.toJSON(),
        topic: input.origin.topic,
        partition: input.origin.partition,
        offset: input.origin.offset,
        readFrom: input.read === input.origin ? undefined : input.read.topic,
        reason,
      },
      'record dead-lettered',
    );
    return deadLetterOf(input.origin, dlqTopic, {
      group: GroupIds.processor,
      error,
      reason,
      attempts: input.priorAttempts + (deferral?.attempts ?? 0) + 1,
      firstFailureAt: input.firstFailureAt ?? deferral?.firstAt ?? now,
      lastFailureAt: now,
    });
  }

  /** Remembers a retry of a record; true while it may still wait, false once its window is spent. */
  function mayWait(input: Input): boolean {
    const position = positionOf(input.read);
    const now = Date.now();
    const deferral = deferrals.get(position) ?? { firstAt: now, attempts: 0 };
    deferral.attempts += 1;
    deferrals.set(position, deferral);
    return now - deferral.firstAt < unknownWindowMs;
  }

  /** Decode and map: no side effects, so a whole chunk at once. Throws only retriable errors. */
  async function prepare(record: IncomingRecord): Promise<Ready | Dead> {
    const input = inputOf(record);
    if ('kind' in input) return input;
    const { origin } = input;
    const contract = contractOf(origin.topic);
    const decoded = await options.serde.tryDecode(origin.topic, origin.value, {
      partition: origin.partition,
      offset: origin.offset,
    });
    if (!decoded.ok) {
      if (decoded.error.retriable) throw decoded.error; // registry away: back off, do not dead-letter
      return { kind: 'dead', input, error: decoded.error, reason: 'decode' };
    }
    const value = decoded.value as Record<string, unknown>;
    const envelope = value.envelope as Envelope;
    const mapper = options.mapping.mapperFor(contract);
    if (!mapper) {
      const error = SynclineError.permanent(ErrorCodes.MAPPING_FAILED, `no mapper for topic ${contract}`, {
        topic: origin.topic,
      });
      return { kind: 'dead', input, error, reason: 'mapping' };
    }
    try {
      const mapped = mapper(value);
      const entity: SourceEntity = {
        system: envelope.source.system,
        entity: contract.split('.').at(-1) ?? contract,
        id: envelope.sourceEntityId,
      };
      return { kind: 'ready', input, contract, envelope, mapped, entity };
    } catch (error) {
      const failure = classify(error, {
        topic: origin.topic,
        partition: origin.partition,
        offset: origin.offset,
      });
      return { kind: 'dead', input, error: failure, reason: 'mapping' };
    }
  }

  /**
   * Everything a chunk needs from Redis before match-merge, in one round: the idempotency claims
   * (one per distinct key), the highest applied source versions, and the golden ids of the drafts'
   * customers as they are now. A failure releases the claims taken and rethrows.
   */
  async function lookUp(ready: readonly Ready[]): Promise<{
    claims: Map<string, ClaimResult>;
    versions: Map<string, number | null>;
    goldenIds: Map<string, string | null>;
  }> {
    const keys = [...new Set(ready.map((entry) => entry.envelope.idempotencyKey))];
    const entities = new Map(ready.map((entry) => [order.keyOf(entry.entity), entry.entity]));
    const customers = [
      ...new Set(ready.flatMap((entry) => entry.mapped.drafts.map((draft) => sourceKey(draft.customer)))),
    ];
    const now = Date.now();
    for (const [key, orphan] of orphans) if (orphan.until < now) orphans.delete(key);
    const requests = keys.map((key) => ({
      idempotencyKey: key,
      reclaim: orphans.get(idempotency.keyOf(key))?.token,
    }));
    // Three commands for the whole chunk (plus one HGET per customer), sent in one write.
    const [claimed, versions, goldenIds] = await Promise.allSettled([
      idempotency.claimMany(requests),
      order.highestAppliedMany([...entities.values()]),
      Promise.all(customers.map((customer) => options.engine.store.xrefOf(customer))),
    ]);
    const claims = new Map<string, ClaimResult>();
    if (claimed.status === 'fulfilled') {
      claimed.value.forEach((result, index) => {
        claims.set(keys[index]!, result);
        if (result.status === 'claimed') orphans.delete(result.claim.key);
      });
    }
    if (claimed.status === 'rejected' || versions.status === 'rejected' || goldenIds.status === 'rejected') {
      await releaseAll([...claims.values()]);
      const failed = [claimed, versions, goldenIds].find((result) => result.status === 'rejected');
      throw (failed as PromiseRejectedResult).reason;
    }
    return {
      claims,
      versions: new Map([...entities.keys()].map((key, index) => [key, versions.value[index] ?? null])),
      goldenIds: new Map(customers.map((customer, index) => [customer, goldenIds.value[index] ?? null])),
    };
  }

  /** Gives back the claims among `results`; one that cannot be given back is remembered as an orphan. */
  async function releaseAll(results: readonly ClaimResult[]): Promise<void> {
    const claims = results.flatMap((result) => (result.status === 'claimed' ? [result.claim] : []));
    try {
      await idempotency.releaseMany(claims);
    } catch {
      for (const claim of claims) orphans.set(claim.key, { token: claim.token, until: Date.now() + leaseMs });
    }
  }

  async function release(claim: Claim): Promise<void> {
    await releaseAll([{ status: 'claimed', claim }]);
  }

  /**
   * The outputs of one claimed record: match-merge for its identity, golden ids for its drafts,
   * encoded. `later` when a draft's customer is not known yet and it may still wait.
   */
  function resolveIdentity(entry: Ready, identity: unknown): Promise<ResolveResult> {
    const { envelope } = entry;
    return options.engine.resolve(identity, {
      correlationId: envelope.correlationId,
      causationId: envelope.eventId,
      idempotencyKey: envelope.idempotencyKey,
      ingestedAt: envelope.ingestedAt,
    });
  }

  /**
   * Starts the match-merge resolves of a chunk's customer records at once where their order allows
   * it, so that their Redis round trips share writes (auto-pipelining) instead of following one
   * another. Records that share a lookup key (hence a lock: the same company, or the same source
   * record) still resolve one after the other in offset order, chained here; records that share
   * none never look each other up, and anything else they both touch is guarded by the engine's
   * version checks at commit, exactly as between two partitions or two instances. Only records
   * the sequential pass would resolve are started: from the chunk's start, claimed by us, and not
   * stale (counting the versions of the same entity earlier in the chunk; a later version of one
   * source record shares its lock name, so it waits for the earlier); the first record that is
   * not so ends the run, and it and the rest resolve in the pass as before. A resolve started for a record the pass does not reach
   * (it stopped earlier) has committed state that the record's next read finds: the engine then
   * answers with the same events (a redelivery), as after a crash between commit and produce.
   */
  function startResolves(
    ready: readonly Ready[],
    claims: ReadonlyMap<string, ClaimResult>,
    versions: ReadonlyMap<string, number | null>,
  ): Map<Ready, Promise<ResolveResult>> {
    const started = new Map<Ready, Promise<ResolveResult>>();
    const keys = new Set<string>();
    /** The highest source version of each entity among the records before, in the chunk. */
    const entities = new Map<string, number>();
    const tails = new Map<string, Promise<unknown>>();
    const limit = concurrencyLimit(RESOLVES_IN_FLIGHT);
    for (const entry of ready) {
      const key = entry.envelope.idempotencyKey;
      if (keys.has(key)) continue; // a duplicate in the chunk: never resolved
      keys.add(key);
      if (claims.get(key)?.status !== 'claimed') break;
      const entityKey = order.keyOf(entry.entity);
      const stored = versions.get(entityKey) ?? null;
      const earlier = entities.get(entityKey);
      // Never below what the pass will see: it counts only the earlier versions that were produced.
      const highest = earlier === undefined ? stored : Math.max(stored ?? -1, earlier);
      if (isStale(entry.envelope.sourceVersion, highest)) break;
      entities.set(entityKey, Math.max(earlier ?? -1, entry.envelope.sourceVersion));
      const identity = entry.mapped.identity;
      if (!identity) continue;
      let names: string[];
      try {
        names = options.engine.lockNamesOf(identity);
      } catch {
        break; // invalid: the pass dead-letters it
      }
      const before = names.flatMap((name) => {
        const tail = tails.get(name);
        return tail ? [tail] : [];
      });
      const resolved = Promise.all(before).then(() => limit(() => resolveIdentity(entry, identity)));
      const done = resolved.catch(() => undefined);
      for (const name of names) tails.set(name, done);
      resolved.catch(() => undefined); // awaited by the pass, or waited for once it stopped
      started.set(entry, resolved);
    }
    return started;
  }

  async function settle(
    entry: Ready,
    claim: Claim,
    highestApplied: number | null,
    knownGoldenIds: ReadonlyMap<string, string | null> | undefined,
    started: Promise<ResolveResult> | undefined,
  ): Promise<Settled | 'later' | Dead> {
    const { envelope, mapped, input } = entry;
    if (isStale(envelope.sourceVersion, highestApplied)) return stale(entry, claim);
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
      const resolved = await (started ?? resolveIdentity(entry, mapped.identity));
      metrics?.matches.inc({ outcome: resolved.outcome });
      if (resolved.change === 'stale') return stale(entry, claim);
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
      const customer = sourceKey(draft.customer);
      const goldenId = knownGoldenIds?.get(customer) ?? (await options.engine.store.xrefOf(customer));
      if (!goldenId) {
        if (mayWait(input)) return 'later';
        const error = SynclineError.permanent(
          ErrorCodes.MAPPING_FAILED,
          `unknown customer ${customer}: no golden id within ${unknownWindowMs} ms`,
          { topic: input.origin.topic, partition: input.origin.partition, offset: input.origin.offset },
        );
        return { kind: 'dead', input, error, reason: 'unknown customer' };
      }
      const draftEnvelope = derived(draft.entity, draft.recordId, draft.eventType, draft.sourceVersion);
      await add(`canonical.${draft.entity}`, goldenId, draft.build({ goldenId, envelope: draftEnvelope }));
    }
    return { kind: 'produced', claim, outputs, eventIds, entity: entry.entity };
  }

  function stale(entry: Ready, claim: Claim): Settled {
    logger.info(
      {
        topic: entry.input.origin.topic,
        sourceEntityId: entry.envelope.sourceEntityId,
        sourceVersion: entry.envelope.sourceVersion,
        correlationId: entry.envelope.correlationId,
      },
      'stale source version: recorded, not emitted',
    );
    return { kind: 'stale', claim };
  }

  /**
   * Processes the records of one chunk (one partition, offset order) and marks done the leading
   * ones that finished. Returns `later` when a record must wait (a key held by another instance, a
   * customer not known yet): it and the rest of the partition are fetched again. Throws a retriable
   * error after marking what finished before it.
   */
  async function processChunk(
    batch: IncomingBatch,
    records: readonly IncomingRecord[],
  ): Promise<'all' | 'later'> {
    const started = process.hrtime.bigint();
    const prepared = await Promise.all(records.map(prepare));
    const ready = prepared.filter((entry): entry is Ready => entry.kind === 'ready');
    const { claims, versions, goldenIds } = await lookUp(ready);
    const resolves = startResolves(ready, claims, versions);

    const settled: Settled[] = [];
    const appliedInChunk = new Map<string, number>();
    const settledKeys = new Set<string>();
    let identitySeen = false;
    let stopAt = records.length;
    let failure: SynclineError | undefined;
    for (const [index, entry] of prepared.entries()) {
      if (entry.kind === 'dead') {
        settled.push({ kind: 'dead-lettered' });
        continue;
      }
      const key = entry.envelope.idempotencyKey;
      if (settledKeys.has(key)) {
        settled.push({ kind: 'duplicate' }); // the same input twice in one chunk
        continue;
      }
      const claimed = claims.get(key);
      if (claimed?.status === 'done') {
        settledKeys.add(key);
        settled.push({ kind: 'duplicate' });
        continue;
      }
      if (claimed?.status !== 'claimed') {
        count(entry.input, RecordOutcomes.DEFERRED); // another instance holds the key: never skip it
        stopAt = index;
        break;
      }
      const entityKey = order.keyOf(entry.entity);
      const stored = versions.get(entityKey) ?? null;
      const inChunk = appliedInChunk.get(entityKey);
      const highest = inChunk === undefined ? stored : Math.max(stored ?? -1, inChunk);
      let result: Settled | 'later' | Dead;
      try {
        // Look-ups made before this chunk's match-merge ran are only good until an identity of the
        // chunk may have moved a source to another golden record.
        result = await settle(
          entry,
          claimed.claim,
          highest,
          identitySeen ? undefined : goldenIds,
          resolves.get(entry),
        );
      } catch (error) {
        const classified = classify(error, {
          topic: entry.input.origin.topic,
          partition: entry.input.origin.partition,
          offset: entry.input.origin.offset,
        });
        if (classified.retriable) {
          failure = classified;
          stopAt = index;
          break;
        }
        result = { kind: 'dead', input: entry.input, error: classified, reason: 'processing' };
      }
      if (entry.mapped.identity) identitySeen = true;
      if (result === 'later') {
        count(entry.input, RecordOutcomes.DEFERRED);
        stopAt = index;
        break;
      }
      if (result.kind === 'dead') {
        await release(claimed.claim);
        prepared[index] = result;
        settled.push({ kind: 'dead-lettered' });
        settledKeys.add(key);
        continue;
      }
      if (result.kind === 'produced') {
        appliedInChunk.set(entityKey, Math.max(inChunk ?? -1, entry.envelope.sourceVersion));
      }
      settled.push(result);
      settledKeys.add(key);
    }

    // Resolves started for records after a stop finish before their claims are given back.
    await Promise.allSettled(resolves.values());

    // Records after the stop give their claims back, so that their next read need not wait.
    const finished = new Set(
      settled.flatMap((entry) =>
        entry.kind === 'produced' || entry.kind === 'stale' ? [entry.claim.key] : [],
      ),
    );
    await releaseAll(
      [...claims.values()].filter((result) => result.status !== 'claimed' || !finished.has(result.claim.key)),
    );

    // The chunk's outputs and dead letters in offset order, in as few produce calls as fit a request.
    const outgoing: OutgoingRecord[] = [];
    settled.forEach((entry, index) => {
      const source = prepared[index]!;
      if (entry.kind === 'dead-lettered' && source.kind === 'dead')
        outgoing.push(deadLetterRecord(source.input, source.error, source.reason));
      if (entry.kind === 'produced') outgoing.push(...entry.outputs);
    });
    try {
      // Calls made one after another keep their order per partition, so they may all be in flight.
      await Promise.all(slicesOf(outgoing).map((slice) => producer.send(slice)));
    } catch (error) {
      await releaseAll([...claims.values()]);
      throw error;
    }

    // Acknowledged: raise the source versions and mark the keys done, together.
    const raised = new Map<string, { entity: SourceEntity; version: number }>();
    for (const [index, entry] of settled.entries()) {
      const source = prepared[index] as Ready;
      if (entry.kind !== 'produced') continue;
      const key = order.keyOf(entry.entity);
      const version = Math.max(raised.get(key)?.version ?? -1, source.envelope.sourceVersion);
      raised.set(key, { entity: entry.entity, version });
    }
    const done = settled.flatMap((entry) =>
      entry.kind === 'produced'
        ? [{ claim: entry.claim, eventIds: entry.eventIds }]
        : entry.kind === 'stale'
          ? [{ claim: entry.claim, eventIds: [] }]
          : [],
    );
    try {
      await Promise.all([order.appliedMany([...raised.values()]), idempotency.markDoneMany(done)]);
    } catch (error) {
      // Not marked: the records come again and produce the same event ids. Their claims are ours.
      await releaseAll([...claims.values()]);
      throw error;
    }

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const [index, entry] of settled.entries()) {
      const input = prepared[index]!.input;
      if (entry.kind === 'duplicate') count(input, RecordOutcomes.DUPLICATE);
      if (entry.kind === 'stale') count(input, RecordOutcomes.STALE);
      if (entry.kind === 'produced') count(input, RecordOutcomes.OUT, entry.outputs.length);
      if (entry.kind !== 'dead-lettered') deferrals.delete(positionOf(input.read));
      count(input, RecordOutcomes.IN);
      metrics?.latency.observe({ topic: contractOf(input.origin.topic) }, seconds);
      batch.markDone(input.read);
    }
    if (failure) throw failure;
    return stopAt < records.length ? 'later' : 'all';
  }

  /** Fail closed: hold the partition (nothing marked, nothing committed) until Redis answers again. */
  async function waitForRedis(batch: IncomingBatch, error: SynclineError): Promise<void> {
    if (!redisDown) logger.warn({ err: error.toJSON() }, 'Redis unreachable: pausing the pipeline');
    redisDown = true;
    await waitUntilRedisAnswers(options.redis, batch);
    if (redisDown) logger.info('Redis reachable again: resuming the pipeline');
    redisDown = false;
  }

  async function handleBatch(batch: IncomingBatch): Promise<void> {
    for (let from = 0; from < batch.records.length; from += chunkRecords) {
      if (!batch.isRunning() || batch.isStale()) return;
      let result: 'all' | 'later';
      try {
        result = await processChunk(batch, batch.records.slice(from, from + chunkRecords));
      } catch (error) {
        const failure = classify(error, { topic: batch.topic, partition: batch.partition });
        metrics?.errors.inc({ topic: contractOf(batch.topic), code: failure.code });
        if (failure.code === ErrorCodes.REDIS_UNAVAILABLE) {
          await waitForRedis(batch, failure);
          return; // the unmarked records are fetched again
        }
        throw failure; // retriable: the bus backs off and fetches the unmarked records again
      }
      if (result === 'later') {
        // Leave the waiting record and the rest of the partition for the next fetch, after a pause.
        await sleep(250);
        return;
      }
      await batch.heartbeat();
    }
  }

  return {
    async start() {
      await producer.connect();
      await consumer.run(handleBatch);
      logger.info({ topics: rawTopics.length + 1 }, 'processor running');
    },
    isReady: () => !redisDown && !closing,
    async close() {
      closing = true;
      await consumer.close();
      await producer.close();
    },
  };
}

/**
 * Match-merge resolves of one chunk in flight at once (see startResolves): enough for their round
 * trips to share writes, few enough that a chunk does not hold many locks at a time.
 */
const RESOLVES_IN_FLIGHT = 16;

/** Runs at most `max` of the calls given to it at once, the others in the order given. */
function concurrencyLimit(max: number): <T>(call: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await call();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/** Bytes of outputs per produce call: well inside the producer's request bound (900 KiB). */
const MAX_SEND_BYTES = 512 * 1024;

/** Consecutive slices of `records` of at most {@link MAX_SEND_BYTES} each (one record may exceed it alone). */
function slicesOf(records: readonly OutgoingRecord[]): OutgoingRecord[][] {
  const slices: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = (record.value?.length ?? 0) + (record.key?.length ?? 0) + 64;
    if (current.length > 0 && bytes + size > MAX_SEND_BYTES) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
