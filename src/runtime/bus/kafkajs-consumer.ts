/**
 * {@link EventConsumer} on kafkajs 2.2.4, set up against its known pitfalls (DESIGN.md):
 * - `eachBatch` with `eachBatchAutoResolve: false`: an offset is resolved only for a record the
 *   handler marked done, so a failure never marks the rest of the batch done.
 * - the handler gets `heartbeat()`, `isRunning()` and `isStale()` to keep its membership during slow
 *   work and to stop at the right record (tulios/kafkajs#447, #1083);
 * - resolved offsets are committed after every batch, whether the handler resolved or threw
 *   (a committed offset is the next one to read: last processed + 1);
 * - a crash (tulios/kafkajs#1271, #1513) is reported to `onCrash` listeners; retriable crashes
 *   restart at most `maxRestarts` times per window (without a broker 2.2.4 can otherwise restart
 *   forever, #1721), after which the consumer stops and reports `restarting: false`;
 * - with a metrics registry, the member's lag per assigned partition (./consumer-lag.ts).
 */
import type { Consumer, EachBatchPayload, Kafka, RetryOptions } from 'kafkajs';
import { classify, ErrorCodes, SynclineError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  counter,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Histogram,
  type Registry,
} from '../metrics.ts';
import { ConsumerLag } from './consumer-lag.ts';
import { mapKafkaError } from './kafkajs-errors.ts';
import { toIncoming } from './kafkajs-message.ts';
import type {
  BatchHandler,
  ConsumerCrash,
  ConsumerOptions,
  EventConsumer,
  IncomingBatch,
  TopicPartitions,
} from './types.ts';

export interface KafkajsConsumerOptions extends ConsumerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics?: Registry;
  /**
   * Back-off before a failed batch is fetched again (kafkajs retries the unresolved records this
   * many times, then crashes with a retriable error and restarts within `maxRestarts`).
   */
  retry?: RetryOptions;
  /** Called with the kafkajs consumer: instrumentation hooks, tests. */
  instrument?: (consumer: Consumer) => void;
}

const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 300, retries: 5, maxRetryTime: 10_000 };

interface ConsumerMetrics {
  records: Counter<'topic' | 'group'>;
  failures: Counter<'topic' | 'group'>;
  crashes: Counter<'group' | 'outcome'>;
  duration: Histogram<'topic' | 'group'>;
}

export class KafkajsEventConsumer implements EventConsumer {
  readonly #consumer: Consumer;
  readonly #logger: Logger;
  readonly #groupId: string;
  readonly #topics: readonly string[];
  readonly #fromBeginning: boolean;
  readonly #partitionsConsumedConcurrently: number;
  readonly #maxRestarts: number;
  readonly #restartWindowMs: number;
  readonly #metrics: ConsumerMetrics | undefined;
  readonly #lag: ConsumerLag | undefined;
  readonly #crashListeners = new Set<(crash: ConsumerCrash) => void>();
  readonly #restarts: number[] = [];
  #connecting: Promise<void> | undefined;
  #running = false;
  #closing: Promise<void> | undefined;

  constructor(options: KafkajsConsumerOptions) {
    if (options.topics.length === 0) {
      throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, 'a consumer needs at least one topic', {
        group: options.groupId,
      });
    }
    this.#groupId = options.groupId;
    this.#topics = [...options.topics];
    this.#fromBeginning = options.fromBeginning ?? true;
    this.#partitionsConsumedConcurrently = options.partitionsConsumedConcurrently ?? 1;
    this.#maxRestarts = options.maxRestarts ?? 5;
    this.#restartWindowMs = options.restartWindowMs ?? 5 * 60_000;
    this.#logger = options.logger.child({ component: 'event-consumer', group: options.groupId });
    this.#metrics = options.metrics ? createMetrics(options.metrics) : undefined;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1000,
      allowAutoTopicCreation: false,
      retry: { ...(options.retry ?? DEFAULT_RETRY), restartOnFailure: (error) => this.#mayRestart(error) },
    });
    this.#consumer.on(this.#consumer.events.CRASH, (event) => this.#reportCrash(event.payload));
    this.#lag = options.metrics
      ? new ConsumerLag({
          kafka: options.kafka,
          groupId: options.groupId,
          registry: options.metrics,
          logger: this.#logger,
          fromBeginning: this.#fromBeginning,
          refreshMs: options.lagRefreshMs ?? 10_000,
        })
      : undefined;
    const lag = this.#lag;
    if (lag) {
      this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) =>
        lag.assigned(event.payload.memberAssignment),
      );
    }
    options.instrument?.(this.#consumer);
  }

  async connect(): Promise<void> {
    if (this.#closing) throw shuttingDown(this.#groupId);
    this.#connecting ??= this.#consumer.connect().catch((error: unknown) => {
      this.#connecting = undefined;
      throw mapKafkaError(error, { group: this.#groupId });
    });
    await this.#connecting;
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.#running) {
      throw SynclineError.permanent(ErrorCodes.UNEXPECTED, 'consumer is already running', {
        group: this.#groupId,
      });
    }
    await this.connect();
    try {
      await this.#consumer.subscribe({ topics: [...this.#topics], fromBeginning: this.#fromBeginning });
      this.#running = true;
      await this.#consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        partitionsConsumedConcurrently: this.#partitionsConsumedConcurrently,
        eachBatch: (payload) => this.#handleBatch(handler, payload),
      });
      this.#lag?.start();
    } catch (error) {
      this.#running = false;
      throw mapKafkaError(error, { group: this.#groupId });
    }
  }

  pause(targets: readonly TopicPartitions[]): void {
    this.#whileRunning('pause', () => this.#consumer.pause(targets.map(copyTarget)));
  }

  resume(targets: readonly TopicPartitions[]): void {
    this.#whileRunning('resume', () => this.#consumer.resume(targets.map(copyTarget)));
  }

  seek(topic: string, partition: number, offset: string): void {
    this.#whileRunning('seek', () => {
      this.#consumer.seek({ topic, partition, offset });
      this.#lag?.moved(topic, partition);
    });
  }

  onCrash(listener: (crash: ConsumerCrash) => void): () => void {
    this.#crashListeners.add(listener);
    return () => this.#crashListeners.delete(listener);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#running = false;
      await this.#connecting?.catch(() => undefined);
      // Stops fetching, waits for the batch in hand (whose handler sees isRunning() turn false and
      // returns after its current record), then leaves the group.
      await this.#consumer.disconnect().catch((error: unknown) => {
        this.#logger.warn({ err: mapKafkaError(error).toJSON() }, 'consumer disconnect failed');
      });
      await this.#lag?.stop();
    })();
    return this.#closing;
  }

  async #handleBatch(handler: BatchHandler, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const records = batch.messages.map((message) => toIncoming(topic, partition, message));
    let done = 0;
    const incoming: IncomingBatch = {
      topic,
      partition,
      records,
      markDone: (record) => {
        payload.resolveOffset(record.offset);
        this.#lag?.processed(topic, partition, record.offset);
        done += 1;
      },
      heartbeat: () => payload.heartbeat(),
      isRunning: () => payload.isRunning() && !this.#closing,
      isStale: () => payload.isStale(),
      pause: () => payload.pause(),
    };
    const started = process.hrtime.bigint();
    const labels = { topic, group: this.#groupId };
    try {
      await handler(incoming);
    } catch (error) {
      this.#lag?.batchHandled(topic, partition, records[0]?.offset, batch.highWatermark);
      this.#metrics?.failures.inc(labels);
      this.#metrics?.records.inc(labels, done);
      const failure = classify(error, { topic, partition, group: this.#groupId });
      this.#logger.warn(
        { err: failure.toJSON(), topic, partition, processed: done, of: records.length },
        'batch handler failed; unprocessed records will be fetched again',
      );
      // kafkajs commits the resolved offsets and retries (or crashes) from here. It decides with
      // the error's `retriable` flag, which SynclineErrors carry; a non-error value is wrapped.
      throw error instanceof Error ? error : failure;
    }
    this.#lag?.batchHandled(topic, partition, records[0]?.offset, batch.highWatermark);
    this.#metrics?.records.inc(labels, done);
    this.#metrics?.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    const uncommitted = payload.uncommittedOffsets();
    if (uncommitted.topics.length > 0) await payload.commitOffsetsIfNecessary(uncommitted);
  }

  /** kafkajs asks before restarting after a retriable crash; we allow a bounded number. */
  #mayRestart(error: Error): Promise<boolean> {
    const now = Date.now();
    while (this.#restarts.length > 0 && now - this.#restarts[0]! > this.#restartWindowMs)
      this.#restarts.shift();
    const allowed = !this.#closing && this.#restarts.length < this.#maxRestarts;
    if (allowed) this.#restarts.push(now);
    this.#logger.warn(
      { err: mapKafkaError(error).toJSON(), restartsInWindow: this.#restarts.length, allowed },
      allowed ? 'consumer crashed; restarting' : 'consumer crashed; restart budget spent, stopping',
    );
    return Promise.resolve(allowed);
  }

  #reportCrash(payload: { error: Error; groupId: string; restart: boolean }): void {
    const crash: ConsumerCrash = {
      groupId: payload.groupId,
      error: mapKafkaError(payload.error, { group: payload.groupId }),
      restarting: payload.restart,
    };
    if (!crash.restarting) this.#running = false;
    this.#metrics?.crashes.inc({ group: this.#groupId, outcome: crash.restarting ? 'restart' : 'stop' });
    this.#logger.error({ err: crash.error.toJSON(), restarting: crash.restarting }, 'consumer crashed');
    for (const listener of this.#crashListeners) {
      try {
        listener(crash);
      } catch (error) {
        this.#logger.error({ err: classify(error).toJSON() }, 'crash listener threw');
      }
    }
  }

  #whileRunning(operation: string, action: () => void): void {
    if (!this.#running) {
      throw SynclineError.permanent(
        ErrorCodes.UNEXPECTED,
        `cannot ${operation}: the consumer is not running`,
        {
          group: this.#groupId,
        },
      );
    }
    action();
  }
}

function createMetrics(registry: Registry): ConsumerMetrics {
  return {
    records: counter(registry, {
      name: 'syncline_consumer_records_total',
      help: 'Records processed and marked done, by topic and consumer group.',
      labelNames: ['topic', 'group'],
    }),
    failures: counter(registry, {
      name: 'syncline_consumer_batch_failures_total',
      help: 'Batches whose handler threw (their unprocessed records are fetched again).',
      labelNames: ['topic', 'group'],
    }),
    crashes: counter(registry, {
      name: 'syncline_consumer_crashes_total',
      help: 'Consumer crashes, by group and whether the consumer restarted or stopped.',
      labelNames: ['group', 'outcome'],
    }),
    duration: histogram(registry, {
      name: 'syncline_consumer_batch_duration_seconds',
      help: 'Time the handler took per batch that completed.',
      labelNames: ['topic', 'group'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
  };
}

function copyTarget(target: TopicPartitions): { topic: string; partitions?: number[] } {
  return target.partitions
    ? { topic: target.topic, partitions: [...target.partitions] }
    : { topic: target.topic };
}

function shuttingDown(groupId: string): SynclineError {
  return SynclineError.retriable(ErrorCodes.SHUTTING_DOWN, 'the consumer is closing', { group: groupId });
}
