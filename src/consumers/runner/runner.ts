/**
 * The sink runner: everything around a {@link Sink} that is the same for every target.
 *
 * One consumer group per sink reads the sink's canonical topics and its `<group>.retry`. Per
 * partition, in order, each record is decoded (Serde) → checked against the parked keys → claimed
 * in Redis (SET NX with a lease) → handed to the sink in runs of consecutive claimed records → its
 * claim marked done after the target committed → its offset marked done. Only what is done is
 * committed.
 *
 * Failures, by kind:
 * - transient (timeout, 429, 5xx, connection refused): retried with exponential back-off and jitter,
 *   never sooner than Retry-After. Short waits happen in the handler (with heartbeats); longer ones
 *   pause the partition and resume it by timer, so the rest of the group keeps flowing.
 * - the target down (a probe fails after a transient failure): the circuit opens, every partition
 *   that reaches the sink is paused, one prober calls `sink.probe()` with back-off, and when it
 *   answers every paused partition is resumed at its first unprocessed record (a seek, which also
 *   commits that position, so a partition without a committed offset resumes too: kafkajs #1599).
 *   No record is dead-lettered for an outage.
 * - still failing transiently after `maxAttempts` while the probe says the target is up: that
 *   record, not the target, is the problem; it goes to the DLQ as `retriable-exhausted`.
 * - permanent (validation, 4xx, mapping, schema): to `<group>.dlq` at once with the original key,
 *   value and headers and the failure context; the key is parked.
 * - a record whose key has an open DLQ entry: written to the DLQ as a parked entry, in order, not
 *   applied, until the entries are redriven or discarded. The runner folds its DLQ topic from the
 *   beginning at start and follows it (resolution markers), see parking.ts.
 * - Redis unreachable: fail closed. The handler stops, marks nothing, reports not ready, pings
 *   until Redis answers, then the unmarked records are fetched again.
 *
 * Effectively once: a crash after the target committed and before the claim is marked done leaves a
 * claim that expires; the redelivery is applied again and the target's own key (Idempotency-Key,
 * unique key in the SQL transaction) answers `duplicate`. Losing Redis altogether is the same.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { deadLetterOf, DlqHeaders, PARKED_REASON } from '../../processors/pipeline/dead-letter.ts';
import { IdempotencyStore, type Claim } from '../../processors/pipeline/idempotency.ts';
import {
  headerText,
  type EventBus,
  type EventConsumer,
  type EventProducer,
  type IncomingBatch,
  type IncomingRecord,
} from '../../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { Registry } from '../../runtime/metrics.ts';
import { waitUntilRedisAnswers } from '../../runtime/redis.ts';
import type { Serde } from '../../schemas/serde.ts';
import { dlqTopicOf, retryTopicOf } from '../../topology/topics.ts';
import type { Sink, SinkOutcome, SinkRecord } from '../sink.ts';
import { DEFAULT_RETRY_POLICY, probeDelayMs, retryDelayMs, type RetryPolicy } from './backoff.ts';
import { DlqTail } from './dlq-tail.ts';
import { ParkingLot, positionOf } from './parking.ts';
import { withTimeout } from '../../runtime/timeout.ts';
import { createSinkMetrics, WriteOutcomes, type SinkMetrics } from './sink-metrics.ts';
import { decodeSinkRecord, entityOf, SINK_TOPIC_HEADER } from './sink-record.ts';

export interface SinkRunnerOptions {
  sink: Sink;
  bus: EventBus;
  /** For the DLQ tail (kafkajs reads a topic from the beginning only through a throwaway group). */
  kafka: Kafka;
  redis: Redis;
  serde: Serde;
  logger: Logger;
  metrics?: Registry;
  /** Prepended to every topic and to the group id (isolated test topologies). Default none. */
  topicPrefix?: string;
  /** Key prefix of the idempotency claims. Default `syncline:sink:<group>:`. */
  redisPrefix?: string;
  /** Lease of a claim (ms); longer than one sink call takes. Default 30 s. */
  leaseMs?: number;
  /** Most records handed to the sink in one call. Default 500. */
  maxBatchRecords?: number;
  /** Partitions handled at once. Default 8, so that one partition waiting does not hold the others. */
  partitionsConsumedConcurrently?: number;
  retry?: Partial<RetryPolicy>;
  /** Upper bound of one sink call (the sink's own calls have tighter timeouts). Default 60 s. */
  applyTimeoutMs?: number;
  /** Upper bound of one probe. Default 5 s. */
  probeTimeoutMs?: number;
  /** Waits up to this long happen in the handler; longer ones pause the partition (ms). Default 1 s. */
  inlineWaitMs?: number;
  sessionTimeoutMs?: number;
  /**
   * Called when the consumer has stopped for good (a non-retriable crash, or the restart budget
   * spent: kafkajs #1271, #1513): the process should exit so that its supervisor restarts it.
   */
  onFatal?: (error: SynclineError) => void;
}

export interface SinkRunner {
  readonly groupId: string;
  /** Reads the DLQ to its end (parked keys), joins the group and starts; resolves once running. */
  start(): Promise<void>;
  /** False while Redis is unreachable (failing closed) or while closing. */
  isReady(): boolean;
  /** Whether the target's circuit is open (partitions paused, probing). */
  isCircuitOpen(): boolean;
  /** Finishes the record at hand, commits, leaves the group. */
  close(): Promise<void>;
}

type Prepared =
  | { kind: 'apply'; incoming: IncomingRecord; record: SinkRecord; claim: Claim }
  | { kind: 'duplicate'; incoming: IncomingRecord; record: SinkRecord }
  | { kind: 'dlq'; incoming: IncomingRecord; error: SynclineError; reason: string }
  | { kind: 'park'; incoming: IncomingRecord; record: SinkRecord; behind: string }
  | { kind: 'held'; incoming: IncomingRecord; waitMs: number };

interface Attempts {
  count: number;
  firstAt: number;
}

interface Hold {
  topic: string;
  partition: number;
  /** The first record not done: where the partition resumes. */
  offset: string;
  timer: NodeJS.Timeout | undefined;
}

/** The signal that a batch must stop here (its partition is held or the consumer is stopping). */
const STOP = Symbol('stop');

export function createSinkRunner(options: SinkRunnerOptions): SinkRunner {
  const { sink, serde } = options;
  const prefix = options.topicPrefix ?? '';
  const groupId = `${prefix}${sink.groupId}`;
  const retryTopic = `${prefix}${retryTopicOf(sink.groupId)}`;
  const dlqTopic = `${prefix}${dlqTopicOf(sink.groupId)}`;
  const topics = [...sink.topics.map((topic) => `${prefix}${topic}`), retryTopic];
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const maxBatch = options.maxBatchRecords ?? 500;
  const applyTimeoutMs = options.applyTimeoutMs ?? 60_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5000;
  const inlineWaitMs = options.inlineWaitMs ?? 1000;
  const target = sink.target;
  const logger = options.logger.child({ component: 'sink-runner', target, group: groupId });
  const metrics: SinkMetrics | undefined = options.metrics ? createSinkMetrics(options.metrics) : undefined;
  const idempotency = new IdempotencyStore({
    redis: options.redis,
    prefix: options.redisPrefix ?? `syncline:sink:${sink.groupId}:`,
    leaseMs: options.leaseMs ?? 30_000,
  });
  const parking = new ParkingLot();
  const tail = new DlqTail({
    kafka: options.kafka,
    topic: dlqTopic,
    logger,
    onRecord: (record) => parking.addDlqRecord(record),
  });
  const producer: EventProducer = options.bus.producer();
  const consumer: EventConsumer = options.bus.consumer({
    groupId,
    topics,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 8,
    ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
  });
  const attempts = new Map<string, Attempts>();
  const holds = new Map<string, Hold>();
  let circuit: 'closed' | 'open' = 'closed';
  let prober: Promise<void> | undefined;
  let redisDown = false;
  let closing = false;
  let gaugeTimer: NodeJS.Timeout | undefined;

  metrics?.circuitOpen.set({ target }, 0);
  consumer.onCrash((crash) => {
    if (!crash.restarting && !closing) options.onFatal?.(crash.error);
  });

  function updateParkingGauges(): void {
    if (!metrics) return;
    metrics.parkedKeys.set({ target }, parking.parkedKeyCount());
    metrics.dlqOpen.set({ target }, parking.openEntryCount());
  }

  function count(record: SinkRecord | undefined, outcome: string): void {
    metrics?.writes.inc({ target, entity: record ? entityOf(record.topic) : 'unknown', outcome });
  }

  // ---- holding partitions (back-off and circuit breaking) -----------------------------------

  function hold(topic: string, partition: number, offset: string, delayMs: number | 'circuit'): void {
    const id = `${topic}/${partition}`;
    if (holds.has(id)) return;
    const entry: Hold = { topic, partition, offset, timer: undefined };
    holds.set(id, entry);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (delayMs !== 'circuit') {
      entry.timer = setTimeout(() => {
        // A partition whose timer ran out while the circuit opened waits for the circuit instead.
        entry.timer = undefined;
        if (circuit === 'closed') release(id);
      }, delayMs);
    }
  }

  function release(id: string): void {
    const entry = holds.get(id);
    if (!entry || closing) return;
    holds.delete(id);
    clearTimeout(entry.timer);
    try {
      // Seek first: it commits the first unprocessed offset, so the partition resumes exactly
      // there even when it had no committed offset before (kafkajs #1599).
      consumer.seek(entry.topic, entry.partition, entry.offset);
      consumer.resume([{ topic: entry.topic, partitions: [entry.partition] }]);
    } catch (error) {
      logger.warn({ err: classify(error).toJSON(), topic: entry.topic }, 'could not resume a partition');
    }
  }

  function openCircuit(reason: SynclineError): void {
    if (circuit === 'open') return;
    circuit = 'open';
    metrics?.circuitOpen.set({ target }, 1);
    logger.warn({ err: reason.toJSON() }, 'target unreachable: circuit open, partitions paused, probing');
    prober = probeUntilUp();
  }

  async function probeUntilUp(): Promise<void> {
    for (let probes = 1; !closing; probes += 1) {
      await sleep(probeDelayMs(probes));
      if (closing) return;
      try {
        await deadline(sink.probe(), probeTimeoutMs, 'probe');
        break;
      } catch (error) {
        logger.debug({ err: classify(error).toJSON(), probes }, 'probe failed; circuit stays open');
      }
    }
    if (closing) return;
    circuit = 'closed';
    metrics?.circuitOpen.set({ target }, 0);
    consumer.onCrash((crash) => {
      if (!crash.restarting && !closing) options.onFatal?.(crash.error);
    });
    // Back-off budgets spent against a target that was down say nothing about the records.
    attempts.clear();
    logger.info({ partitions: holds.size }, 'target answers again: circuit closed, partitions resumed');
    for (const id of [...holds.keys()]) release(id);
  }

  async function targetAnswers(): Promise<boolean> {
    try {
      await deadline(sink.probe(), probeTimeoutMs, 'probe');
      return true;
    } catch {
      return false;
    }
  }

  // ---- dead letters ------------------------------------------------------------------------

  async function deadLetter(
    incoming: IncomingRecord,
    record: SinkRecord | undefined,
    error: SynclineError,
    reason: string,
    attempted: Attempts | undefined,
  ): Promise<void> {
    const now = Date.now();
    const headers = withSinkTopic(incoming);
    const original = positionOf(incoming);
    const key = incoming.key?.toString('utf8');
    await sendNoted(key, original, original, true, [
      deadLetterOf({ ...incoming, headers }, dlqTopic, {
        group: sink.groupId,
        error,
        reason,
        attempts: attempted?.count ?? 1,
        firstFailureAt: attempted?.firstAt ?? now,
        lastFailureAt: now,
      }),
    ]);
    attempts.delete(original);
    count(record, WriteOutcomes.DLQ);
    metrics?.dlq.inc({ target, reason });
    logger.warn(
      {
        err: error.toJSON(),
        topic: incoming.topic,
        partition: incoming.partition,
        offset: incoming.offset,
        reason,
        correlationId: record?.correlationId,
      },
      'record dead-lettered; its key is parked',
    );
  }

  /** Sends a DLQ entry, noted in the parking lot first (see ParkingLot.noteWriting). */
  async function sendNoted(
    key: string | undefined,
    original: string,
    behind: string,
    failure: boolean,
    records: Parameters<typeof producer.send>[0],
  ): Promise<void> {
    if (key !== undefined) parking.noteWriting(key, original, behind, failure);
    try {
      await producer.send(records);
    } catch (error) {
      if (key !== undefined) parking.withdraw(key, original);
      throw error;
    }
  }

  async function park(incoming: IncomingRecord, record: SinkRecord, behind: string): Promise<void> {
    const now = Date.now();
    const dead = deadLetterOf({ ...incoming, headers: withSinkTopic(incoming) }, dlqTopic, {
      group: sink.groupId,
      error: SynclineError.permanent(
        ErrorCodes.TARGET_REJECTED,
        `held back behind ${behind}: an earlier record of this key is in the DLQ`,
        { target },
      ),
      reason: PARKED_REASON,
      attempts: 0,
      firstFailureAt: now,
      lastFailureAt: now,
    });
    await sendNoted(record.key, positionOf(incoming), behind, false, [
      { ...dead, headers: { ...dead.headers, [DlqHeaders.parkedBehind]: behind } },
    ]);
    count(record, WriteOutcomes.PARKED);
    logger.info(
      { topic: incoming.topic, partition: incoming.partition, offset: incoming.offset, behind },
      'record parked behind a dead-lettered record of its key',
    );
  }

  // ---- one record, before the sink ---------------------------------------------------------

  async function prepare(incoming: IncomingRecord): Promise<Prepared> {
    const decoded = await decodeSinkRecord(serde, incoming, retryTopic, prefix);
    if (!decoded.ok) {
      if (decoded.error.retriable) throw decoded.error; // the registry is away: back off, never DLQ
      return { kind: 'dlq', incoming, error: decoded.error, reason: 'decode' };
    }
    const record = decoded.record;
    let redrivenFrom: { partition: number; offset: bigint } | undefined;
    if (incoming.topic === retryTopic) {
      const from = headerText(incoming.headers, DlqHeaders.redrivenFrom)?.trim();
      const match = from === undefined ? null : /^(\d+)\/(\d+)$/.exec(from);
      if (match) {
        parking.resolveLocally(`${Number(match[1])}/${BigInt(match[2]!).toString()}`);
        redrivenFrom = { partition: Number(match[1]), offset: BigInt(match[2]!) };
      }
    }
    const parked = parking.parkedBehind(record.key, redrivenFrom);
    if (parked) return { kind: 'park', incoming, record, behind: parked.behind };
    const claimed = await idempotency.claim(record.idempotencyKey);
    if (claimed.status === 'done') return { kind: 'duplicate', incoming, record };
    if (claimed.status === 'held')
      return { kind: 'held', incoming, waitMs: Math.max(250, claimed.leaseLeftMs) };
    return { kind: 'apply', incoming, record, claim: claimed.claim };
  }

  // ---- a batch -------------------------------------------------------------------------------

  async function handleBatch(batch: IncomingBatch): Promise<void> {
    try {
      await processBatch(batch);
    } catch (error) {
      const failure = classify(error, { topic: batch.topic, partition: batch.partition, target });
      if (failure.code === ErrorCodes.REDIS_UNAVAILABLE) {
        await waitForRedis(batch, failure);
        return; // nothing more marked: the rest is fetched again
      }
      throw failure; // retriable (broker, registry): the bus backs off and fetches again
    }
  }

  async function processBatch(batch: IncomingBatch): Promise<void> {
    // A batch fetched before its partition was paused: leave it; the partition resumes at the
    // first unprocessed record when its hold ends.
    if (holds.has(`${batch.topic}/${batch.partition}`)) return;
    const records = batch.records;
    let index = 0;
    while (index < records.length) {
      if (!batch.isRunning() || batch.isStale()) return;
      const first = records[index]!;
      if (circuit === 'open') {
        hold(batch.topic, batch.partition, first.offset, 'circuit');
        return;
      }
      // A run: consecutive records that need the sink (or are known duplicates), up to maxBatch.
      const run: Prepared[] = [];
      let next = index;
      while (next < records.length && run.length < maxBatch) {
        const prepared = await prepare(records[next]!);
        if (prepared.kind === 'apply' || prepared.kind === 'duplicate') {
          run.push(prepared);
          next += 1;
          continue;
        }
        if (run.length > 0) break; // settle the run first; this record is prepared again after it
        if (prepared.kind === 'held') {
          hold(batch.topic, batch.partition, prepared.incoming.offset, prepared.waitMs);
          return;
        }
        if (prepared.kind === 'dlq') {
          await deadLetter(prepared.incoming, undefined, prepared.error, prepared.reason, undefined);
        } else {
          await park(prepared.incoming, prepared.record, prepared.behind);
        }
        batch.markDone(prepared.incoming);
        next += 1;
        index = next;
      }
      if (run.length === 0) continue;
      const settled = await settleRun(batch, run);
      if (settled === STOP) return;
      index += settled;
      await batch.heartbeat();
    }
  }

  /**
   * Hands the run's claimed records to the sink (retrying transient failures) and marks done, in
   * order, what is settled. Returns how many records of the run were settled, or STOP when the
   * partition is held (back-off, circuit) and the handler must return.
   */
  async function settleRun(batch: IncomingBatch, run: Prepared[]): Promise<number | typeof STOP> {
    const toApply = run.filter((entry) => entry.kind === 'apply');
    let outcomes: SinkOutcome[] = [];
    if (toApply.length > 0) {
      const started = process.hrtime.bigint();
      // A long sink call (many records one by one against a slow target) must not get the member
      // evicted: keep heartbeating while it runs (kafkajs #447, #1083).
      const ticker = setInterval(() => void batch.heartbeat().catch(() => undefined), 2000);
      try {
        outcomes = await deadline(
          sink.apply(toApply.map((entry) => entry.record)),
          applyTimeoutMs,
          'sink apply',
        );
      } catch (error) {
        outcomes = [{ status: 'failed', error: classify(error, { target }) }];
      } finally {
        clearInterval(ticker);
      }
      metrics?.latency.observe({ target }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    let answered = 0;
    for (let position = 0; position < run.length; position += 1) {
      const entry = run[position]!;
      if (entry.kind === 'duplicate') {
        count(entry.record, WriteOutcomes.DUPLICATE);
        batch.markDone(entry.incoming);
        continue;
      }
      if (entry.kind !== 'apply') continue;
      const outcome = outcomes[answered];
      answered += 1;
      if (outcome === undefined || outcome.status === 'failed') {
        // Release this claim and every later one: those records are prepared again.
        await Promise.all(
          run
            .slice(position)
            .map((later) => (later.kind === 'apply' ? idempotency.release(later.claim) : Promise.resolve())),
        );
        if (outcome === undefined) return position; // left unattempted: hand them over again
        return onFailure(batch, entry, outcome.error, position);
      }
      await idempotency.markDone(entry.claim, []);
      attempts.delete(positionOf(entry.incoming));
      count(entry.record, outcome.status);
      if (outcome.status === 'applied') {
        metrics?.endToEnd.observe(
          { target, entity: entityOf(entry.record.topic) },
          Math.max(0, Date.now() - entry.record.occurredAt) / 1000,
        );
      }
      batch.markDone(entry.incoming);
    }
    return run.length;
  }

  async function onFailure(
    batch: IncomingBatch,
    entry: Extract<Prepared, { kind: 'apply' }>,
    error: SynclineError,
    position: number,
  ): Promise<number | typeof STOP> {
    const { incoming, record } = entry;
    const id = positionOf(incoming);
    const attempted = attempts.get(id) ?? { count: 0, firstAt: Date.now() };
    attempted.count += 1;
    attempts.set(id, attempted);
    if (!error.retriable) {
      await deadLetter(incoming, record, error, reasonOf(error), attempted);
      batch.markDone(incoming);
      return position + 1;
    }
    metrics?.retries.inc({ target, code: error.code });
    const looksDown = error.code === ErrorCodes.TARGET_UNAVAILABLE || error.code === ErrorCodes.TIMEOUT;
    if (looksDown || attempted.count >= policy.maxAttempts) {
      if (!(await targetAnswers())) {
        openCircuit(error);
        hold(batch.topic, batch.partition, incoming.offset, 'circuit');
        return STOP;
      }
      if (attempted.count >= policy.maxAttempts) {
        await deadLetter(incoming, record, error, 'retries exhausted', attempted);
        batch.markDone(incoming);
        return position + 1;
      }
    }
    const delay = retryDelayMs(attempted.count, policy, error.retryAfterMs);
    logger.debug(
      { err: error.toJSON(), attempt: attempted.count, delayMs: delay, offset: incoming.offset },
      'transient failure; retrying after back-off',
    );
    if (delay > inlineWaitMs) {
      hold(batch.topic, batch.partition, incoming.offset, delay);
      return STOP;
    }
    await sleep(delay);
    await batch.heartbeat();
    return position; // the failed record is prepared (claimed) again and retried
  }

  /** Fail closed: hold the partition, nothing marked, until Redis answers again. */
  async function waitForRedis(batch: IncomingBatch, error: SynclineError): Promise<void> {
    if (!redisDown) logger.warn({ err: error.toJSON() }, 'Redis unreachable: sink paused (fail closed)');
    redisDown = true;
    await waitUntilRedisAnswers(options.redis, batch);
    if (redisDown) logger.info('Redis reachable again: sink resumes');
    redisDown = false;
  }

  return {
    groupId,
    async start() {
      await tail.start();
      updateParkingGauges();
      gaugeTimer = setInterval(updateParkingGauges, 2000);
      gaugeTimer.unref();
      await producer.connect();
      await consumer.run(handleBatch);
      logger.info({ topics }, 'sink running');
    },
    isReady: () => !redisDown && !closing,
    isCircuitOpen: () => circuit === 'open',
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(gaugeTimer);
      for (const entry of holds.values()) clearTimeout(entry.timer);
      await consumer.close();
      await prober?.catch(() => undefined);
      await producer.close();
      await tail.close();
      await sink.close();
    },
  };
}

/** A short, stable DLQ reason for operators. */
function reasonOf(error: SynclineError): string {
  switch (error.code) {
    case ErrorCodes.TARGET_REJECTED:
      return 'rejected by target';
    case ErrorCodes.MAPPING_FAILED:
      return 'mapping';
    case ErrorCodes.DESERIALIZATION_FAILED:
    case ErrorCodes.SCHEMA_NOT_FOUND:
      return 'decode';
    default:
      return 'failed';
  }
}

/** The record's headers with the canonical topic it is read with, for a later redrive. */
function withSinkTopic(incoming: IncomingRecord): IncomingRecord['headers'] {
  if (headerText(incoming.headers, SINK_TOPIC_HEADER) !== undefined) return incoming.headers;
  return { ...incoming.headers, [SINK_TOPIC_HEADER]: Buffer.from(incoming.topic) };
}

/** A sink call or probe that may not take longer than `timeoutMs`: retriable TIMEOUT after that. */
function deadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return withTimeout(work, timeoutMs, () =>
    SynclineError.retriable(ErrorCodes.TIMEOUT, `${what} took longer than ${timeoutMs} ms`),
  );
}
