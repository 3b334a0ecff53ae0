/**
 * {@link EventProducer} on kafkajs 2.2.4: idempotent, acks=all, one request for many callers.
 *
 * kafkajs does not linger (tulios/kafkajs#1157, #1161): every `send()` is its own produce request.
 * Here concurrent calls are queued and go out together as one `sendBatch`: the first waiting call
 * waits at most `lingerMs` for company, and while a request is in flight the next one fills up.
 * One request is in flight at a time (with `maxInFlightRequests: 1`, as the idempotent producer
 * needs under concurrency, tulios/kafkajs#598), so calls reach each partition in the order they
 * were made. Each caller is answered on its own.
 *
 * After a failed request whose fate is unknown (a timeout, a dropped connection) the kafkajs
 * producer is dropped and a new one (a new producer id) made for the next request: kafkajs only
 * advances its sequence numbers on success, so reusing the producer could make the broker take the
 * next batch for a duplicate of a batch it did write, and drop it silently. Everything queued
 * behind such a request is refused with the same error, so that a later record of a key never
 * lands while an earlier one was refused. A caller naming a missing topic is failed alone.
 */
import type { Kafka, Message, Producer, RetryOptions, TopicMessages } from 'kafkajs';
import { ErrorCodes, SynclineError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  BATCH_SIZE_BUCKETS,
  counter,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Histogram,
  type Registry,
} from '../metrics.ts';
import { mapKafkaError } from './kafkajs-errors.ts';
import type { EventProducer, OutgoingRecord, ProducerOptions } from './types.ts';

export interface KafkajsProducerOptions extends ProducerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics?: Registry;
  /** How long the broker may take to replicate to all in-sync replicas. Default 30 s. */
  ackTimeoutMs?: number;
  /** kafkajs' retries inside one request (same sequence numbers, so without duplicates). */
  retry?: RetryOptions;
  /** Called with each kafkajs producer made (one per producer id): instrumentation hooks, tests. */
  instrument?: (producer: Producer) => void;
}

/** Short retries inside one request: a caller waiting on an acknowledgement should hear back soon. */
const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 };

interface PendingCall {
  records: readonly OutgoingRecord[];
  bytes: number;
  resolve: () => void;
  reject: (error: SynclineError) => void;
}

interface ProducerMetrics {
  requests: Counter<'outcome'>;
  records: Counter<'topic' | 'outcome'>;
  batchRecords: Histogram;
  duration: Histogram;
}

export class KafkajsEventProducer implements EventProducer {
  readonly #kafka: Kafka;
  readonly #logger: Logger;
  readonly #lingerMs: number;
  readonly #maxBatchRecords: number;
  readonly #maxBatchBytes: number;
  readonly #maxQueuedBytes: number;
  readonly #ackTimeoutMs: number;
  readonly #retry: RetryOptions;
  readonly #instrument: ((producer: Producer) => void) | undefined;
  readonly #metrics: ProducerMetrics | undefined;

  readonly #queue: PendingCall[] = [];
  #queuedRecords = 0;
  #queuedBytes = 0;
  #lingerTimer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #producer: Producer | undefined;
  #connecting: Promise<Producer> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: KafkajsProducerOptions) {
    this.#kafka = options.kafka;
    this.#logger = options.logger.child({ component: 'event-producer' });
    this.#lingerMs = nonNegative(options.lingerMs ?? 2, 'lingerMs');
    this.#maxBatchRecords = positive(options.maxBatchRecords ?? 1000, 'maxBatchRecords');
    this.#maxBatchBytes = positive(options.maxBatchBytes ?? 900 * 1024, 'maxBatchBytes');
    this.#maxQueuedBytes = positive(options.maxQueuedBytes ?? 64 * 1024 * 1024, 'maxQueuedBytes');
    this.#ackTimeoutMs = positive(options.ackTimeoutMs ?? 30_000, 'ackTimeoutMs');
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#instrument = options.instrument;
    this.#metrics = options.metrics ? createMetrics(options.metrics) : undefined;
  }

  async connect(): Promise<void> {
    if (this.#closing) throw shuttingDown();
    await this.#connected();
  }

  send(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#closing) return Promise.reject(shuttingDown());
    if (records.length === 0) return Promise.resolve();
    const bytes = records.reduce((sum, record) => sum + sizeOf(record), 0);
    if (this.#queuedBytes > 0 && this.#queuedBytes + bytes > this.#maxQueuedBytes) {
      return Promise.reject(
        SynclineError.retriable(
          ErrorCodes.BROKER_UNAVAILABLE,
          `producer queue full (${this.#queuedBytes} bytes waiting): Kafka is not keeping up`,
          { part: 'kafka' },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ records, bytes, resolve, reject });
      this.#queuedRecords += records.length;
      this.#queuedBytes += bytes;
      this.#schedule();
    });
  }

  async flush(): Promise<void> {
    for (;;) {
      if (!this.#inFlight && this.#queue.length > 0) this.#sendNext();
      const inFlight = this.#inFlight;
      if (!inFlight) return;
      await inFlight;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.flush();
      const producer = this.#producer ?? (await this.#connecting?.catch(() => undefined));
      this.#producer = undefined;
      await producer?.disconnect().catch((error: unknown) => {
        this.#logger.warn({ err: mapKafkaError(error).toJSON() }, 'producer disconnect failed');
      });
    })();
    return this.#closing;
  }

  /** Sends now if a full request is waiting, otherwise lets the first waiting call linger. */
  #schedule(): void {
    if (this.#inFlight) return; // the request in flight sends the next one when it settles
    if (this.#queuedRecords >= this.#maxBatchRecords || this.#queuedBytes >= this.#maxBatchBytes) {
      this.#sendNext();
      return;
    }
    this.#lingerTimer ??= setTimeout(() => this.#sendNext(), this.#lingerMs);
  }

  #sendNext(): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#takeBatch();
    this.#inFlight = this.#sendBatch(batch).finally(() => {
      this.#inFlight = undefined;
      // Calls that arrived meanwhile have waited long enough: send them at once.
      if (this.#queue.length > 0) this.#sendNext();
    });
  }

  /** The oldest calls, whole, within the record and byte bounds (a lone oversize call goes alone). */
  #takeBatch(): PendingCall[] {
    const batch: PendingCall[] = [];
    let records = 0;
    let bytes = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      const full =
        records + next.records.length > this.#maxBatchRecords || bytes + next.bytes > this.#maxBatchBytes;
      if (batch.length > 0 && full) break;
      this.#queue.shift();
      this.#queuedRecords -= next.records.length;
      this.#queuedBytes -= next.bytes;
      batch.push(next);
      records += next.records.length;
      bytes += next.bytes;
    }
    return batch;
  }

  /** Sends one request for `batch` and answers each caller; never rejects. */
  async #sendBatch(batch: PendingCall[]): Promise<void> {
    let producer: Producer;
    try {
      producer = await this.#connected();
    } catch (error) {
      // No producer: what waits behind would fail the same way, one connection attempt at a time.
      this.#refuse([...batch, ...this.#takeQueue()], mapKafkaError(error));
      return;
    }
    const error = await this.#produce(producer, batch);
    if (!error) {
      for (const call of batch) call.resolve();
      return;
    }
    if (error.code === ErrorCodes.TOPIC_NOT_FOUND && batch.length > 1) {
      // Metadata is looked up before anything is written, so nothing of this request reached the
      // log: send each call alone, and only the callers naming a missing topic get the error.
      for (const [index, call] of batch.entries()) {
        const own = await this.#produce(producer, [call]);
        if (!own) call.resolve();
        else if (own.code === ErrorCodes.TOPIC_NOT_FOUND) call.reject(own);
        else return this.#fail(producer, batch.slice(index), own);
      }
      return;
    }
    this.#fail(producer, batch, error);
  }

  /** One sendBatch with acks=all; returns the error instead of throwing. */
  async #produce(producer: Producer, batch: PendingCall[]): Promise<SynclineError | undefined> {
    const started = process.hrtime.bigint();
    const topicMessages = toTopicMessages(batch);
    const recordCount = batch.reduce((sum, call) => sum + call.records.length, 0);
    try {
      await producer.sendBatch({ topicMessages, acks: -1, timeout: this.#ackTimeoutMs });
      this.#observe(topicMessages, recordCount, started, 'ok');
      return undefined;
    } catch (error) {
      this.#observe(topicMessages, recordCount, started, 'failed');
      const topics = topicMessages.map((entry) => entry.topic);
      return mapKafkaError(error, topics.length === 1 ? { topic: topics[0] } : {});
    }
  }

  /**
   * Refuses `batch`. When the outcome is unknown (the broker may have written it), also refuses
   * what is queued behind, so no later record of a key lands before its caller hears of the
   * failure, and drops the producer. A determinate refusal (missing topic, oversize record) only
   * concerns its own calls.
   */
  #fail(producer: Producer, batch: PendingCall[], error: SynclineError): void {
    const unknown = outcomeUnknown(error);
    this.#logger.error(
      { err: error.toJSON(), calls: batch.length, queued: this.#queue.length, outcomeUnknown: unknown },
      'produce request failed',
    );
    this.#refuse(unknown ? [...batch, ...this.#takeQueue()] : batch, error);
    if (unknown && this.#producer === producer) {
      this.#producer = undefined;
      producer.disconnect().catch(() => undefined);
    }
  }

  #takeQueue(): PendingCall[] {
    this.#queuedRecords = 0;
    this.#queuedBytes = 0;
    return this.#queue.splice(0);
  }

  #refuse(calls: PendingCall[], error: SynclineError): void {
    for (const call of calls) call.reject(error);
  }

  #connected(): Promise<Producer> {
    if (this.#producer) return Promise.resolve(this.#producer);
    this.#connecting ??= (async () => {
      const producer = this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: this.#retry,
      });
      this.#instrument?.(producer);
      try {
        await producer.connect();
      } catch (error) {
        await producer.disconnect().catch(() => undefined);
        throw error;
      }
      this.#producer = producer;
      return producer;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #observe(topicMessages: TopicMessages[], records: number, started: bigint, outcome: 'ok' | 'failed'): void {
    const metrics = this.#metrics;
    if (!metrics) return;
    metrics.requests.inc({ outcome });
    metrics.batchRecords.observe(records);
    metrics.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    for (const { topic, messages } of topicMessages) metrics.records.inc({ topic, outcome }, messages.length);
  }
}

function createMetrics(registry: Registry): ProducerMetrics {
  return {
    requests: counter(registry, {
      name: 'syncline_producer_requests_total',
      help: 'Produce requests (one sendBatch of gathered calls), by outcome.',
      labelNames: ['outcome'],
    }),
    records: counter(registry, {
      name: 'syncline_producer_records_total',
      help: 'Records sent with acks=all, by topic and outcome.',
      labelNames: ['topic', 'outcome'],
    }),
    batchRecords: histogram(registry, {
      name: 'syncline_producer_request_records',
      help: 'Records per produce request.',
      buckets: BATCH_SIZE_BUCKETS,
    }),
    duration: histogram(registry, {
      name: 'syncline_producer_request_duration_seconds',
      help: 'Time from sending a produce request to its acknowledgement by all in-sync replicas.',
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
  };
}

/** Calls in order, records in order, grouped by topic (order across topics does not matter). */
function toTopicMessages(batch: readonly PendingCall[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const call of batch) {
    for (const record of call.records) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      messages.push(toMessage(record));
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

function toMessage(record: OutgoingRecord): Message {
  const message: Message = { key: record.key, value: record.value };
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.headers) {
    const headers: NonNullable<Message['headers']> = {};
    for (const [name, value] of Object.entries(record.headers)) {
      headers[name] = typeof value === 'string' || Buffer.isBuffer(value) ? value : [...value];
    }
    message.headers = headers;
  }
  return message;
}

function sizeOf(record: OutgoingRecord): number {
  let bytes = byteLength(record.key) + byteLength(record.value) + 70; // + per-record overhead
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const values = typeof value === 'string' || Buffer.isBuffer(value) ? [value] : value;
    for (const one of values) bytes += name.length + byteLength(one);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** Errors after which we cannot know whether the broker wrote the request. */
function outcomeUnknown(error: SynclineError): boolean {
  return (
    error.code !== ErrorCodes.TOPIC_NOT_FOUND &&
    error.code !== ErrorCodes.PAYLOAD_TOO_LARGE &&
    error.code !== ErrorCodes.INPUT_INVALID &&
    error.code !== ErrorCodes.BROKER_AUTH_FAILED
  );
}

function shuttingDown(): SynclineError {
  return SynclineError.retriable(
    ErrorCodes.SHUTTING_DOWN,
    'the producer is closing and takes no more records',
    {
      part: 'kafka',
    },
  );
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, `producer ${name} must be a positive number`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, `producer ${name} must be zero or more`);
  }
  return value;
}
