/**
 * The event bus as Syncline's stages see it: a producer that answers once the cluster has the
 * records (acks=all), a consumer that hands over batches and commits only what the handler marked
 * done, and a broker reachability probe. It is our own thin interface over the Kafka client, so
 * that another client (e.g. @platformatic/kafka) can be measured against kafkajs, and swapped in,
 * without touching a stage. The kafkajs implementation is in ./kafkajs.ts.
 */
import type { SynclineError } from '../errors.ts';

/** A header value; a header repeated on the wire arrives as an array. */
export type HeaderValue = string | Buffer;

/** One record to write. */
export interface OutgoingRecord {
  topic: string;
  /** Decides the partition (same key, same partition, same order); null spreads records. */
  key: Buffer | string | null;
  /** null is a tombstone on compacted topics. */
  value: Buffer | null;
  headers?: Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>;
  /** Only when the partition is decided by the caller rather than by the key. */
  partition?: number;
}

/**
 * Writes records. `send` resolves once every record of the call is acknowledged by all in-sync
 * replicas, and rejects with a {@link SynclineError} otherwise; a rejected call may have been
 * partly written (at-least-once), which the envelope's idempotency key makes harmless downstream.
 * Records of one call, and calls made one after another, keep their order per partition.
 */
export interface EventProducer {
  /** Connects; `send` also connects on first use. */
  connect(): Promise<void>;
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Sends what is waiting now and resolves when everything sent before the call has settled. */
  flush(): Promise<void>;
  /** Refuses new sends, flushes what is pending, disconnects. Safe to call twice. */
  close(): Promise<void>;
}

/** One record as read, with where it was read from. */
export interface IncomingRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit: kept as the decimal string the client gives. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as bytes; a header repeated on the wire is an array in wire order. */
  headers: Readonly<Record<string, Buffer | readonly Buffer[]>>;
  /** Record timestamp (create or log-append time), ms since the epoch. */
  timestamp: number;
}

/** A batch of records from one partition, in offset order, with the controls to process it safely. */
export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly IncomingRecord[];
  /**
   * Marks `record` processed: its offset + 1 becomes the position committed for the partition.
   * Mark in order; a record not marked (nor any record after it) is delivered again.
   */
  markDone(record: IncomingRecord): void;
  /** Keeps the group membership alive during long work; cheap, throttled by the client. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping: finish the record at hand, take no next one. */
  isRunning(): boolean;
  /** True when the position of this partition was moved (seek, rebalance): drop the rest. */
  isStale(): boolean;
  /** Pauses this partition (e.g. while a dependency is down); call the returned function to resume. */
  pause(): () => void;
}

/**
 * Processes one batch. Resolving commits every record marked done. Throwing also commits what was
 * marked done, then the unmarked records are fetched again after a back-off (retriable errors), or
 * the consumer crashes (non-retriable errors: see {@link ConsumerCrash}).
 */
export type BatchHandler = (batch: IncomingBatch) => Promise<void>;

/** A topic and, optionally, some of its partitions (all when omitted). */
export interface TopicPartitions {
  topic: string;
  partitions?: number[];
}

/** What a consumer crash looked like, and whether the consumer is restarting by itself. */
export interface ConsumerCrash {
  groupId: string;
  error: SynclineError;
  /** false: the consumer has stopped for good; the process should exit so its supervisor restarts it. */
  restarting: boolean;
}

/** Reads records of a consumer group. */
export interface EventConsumer {
  connect(): Promise<void>;
  /** Subscribes (topics given at creation) and starts the fetch loop; resolves once it runs. */
  run(handler: BatchHandler): Promise<void>;
  pause(targets: readonly TopicPartitions[]): void;
  resume(targets: readonly TopicPartitions[]): void;
  /** Moves the position of a partition; the batch in hand becomes stale. Only while running. */
  seek(topic: string, partition: number, offset: string): void;
  /** Registers a crash listener; returns a function that removes it. */
  onCrash(listener: (crash: ConsumerCrash) => void): () => void;
  /** Stops fetching, lets the batch in hand finish, commits, leaves the group. Safe to call twice. */
  close(): Promise<void>;
}

/** Whether the brokers can be reached and answer a metadata request. */
export interface KafkaHealth {
  /** Resolves when a broker answered within `timeoutMs`; rejects with BROKER_UNAVAILABLE otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** How a producer gathers concurrent sends into one request. */
export interface ProducerOptions {
  /** How long the first waiting record may wait for others to join its request. Default 2 ms. */
  lingerMs?: number;
  /** Upper bound of records per request; one call's records are never split. Default 1000. */
  maxBatchRecords?: number;
  /**
   * Upper bound of key + value + header bytes per request, kept under the broker's default
   * `message.max.bytes` (1 MiB) since all records may land in one partition. Default 900 KiB.
   */
  maxBatchBytes?: number;
  /**
   * Bytes waiting to be sent beyond which `send` is refused at once (retriable) instead of
   * queueing without bound while the broker is slow or away. Default 64 MiB.
   */
  maxQueuedBytes?: number;
}

/** A consumer group member. */
export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /**
   * Where a group with no committed offset starts. Default true: a new sink group reads what was
   * published before it first ran instead of silently skipping it.
   */
  fromBeginning?: boolean;
  /** The broker evicts a member silent for this long. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s; must be well under `sessionTimeoutMs`. */
  heartbeatIntervalMs?: number;
  /** Partitions handled at once (each in order). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /**
   * How long a fetch waits on the broker for new records. Default 1 s: short enough that closing
   * does not wait long on an idle fetch, long enough not to poll an idle topic in a loop.
   */
  maxWaitTimeMs?: number;
  /**
   * Restarts after a retriable crash allowed within `restartWindowMs` before the consumer stops
   * for good (and reports a crash with `restarting: false`). Default 5 per 5 minutes.
   */
  maxRestarts?: number;
  restartWindowMs?: number;
  /**
   * With metrics: how often the lag of the member's partitions is read from the broker, which keeps
   * `syncline_consumer_lag` current for idle or held partitions (batches update it too). Default 10 s.
   */
  lagRefreshMs?: number;
}

/** The entry point a stage gets: producers, consumers and a reachability probe on one cluster. */
export interface EventBus {
  producer(options?: ProducerOptions): EventProducer;
  consumer(options: ConsumerOptions): EventConsumer;
  health(): KafkaHealth;
}

/** Reads a header as UTF-8 text (the last value when the header is repeated). */
export function headerText(headers: IncomingRecord['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const last = Buffer.isBuffer(value) ? value : value[value.length - 1];
  return last?.toString('utf8');
}
