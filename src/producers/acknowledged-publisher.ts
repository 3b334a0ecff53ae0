/**
 * The connectors' side of the event bus producer: a call resolves once all its records are
 * acknowledged with acks=all (the bus gathers concurrent calls into one produce request and never
 * splits a call), or rejects with a retriable error in bounded time, which a webhook turns into a
 * 503 and a poller into a back-off.
 *
 * Two bounds the bus leaves to its callers are added here. A caller waits at most `timeoutMs`; the
 * request goes on without it, and if it lands after all the sender's retry is a duplicate with the
 * same event id, which downstream idempotency absorbs. And once Kafka has failed a call, calls are
 * refused at once for a short, growing cool-down (one call at a time probes whether Kafka is back),
 * so that an outage is answered with quick 503s rather than a pile of requests waiting to time out.
 */
import { ErrorCodes, SynclineError, classify } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Kafka } from 'kafkajs';
import { KafkajsEventProducer } from '../runtime/bus/kafkajs-producer.ts';
import type { EventProducer, OutgoingRecord } from '../runtime/bus/types.ts';
import type { Registry } from '../runtime/metrics.ts';

export type { OutgoingRecord } from '../runtime/bus/types.ts';

export interface PublishOptions {
  /** How long the caller waits for the acknowledgement before it gets a retriable error. */
  timeoutMs?: number;
}

/** Where connectors put records. One call is one unit: its records travel in one request. */
export interface Publisher {
  publish(records: readonly OutgoingRecord[], options?: PublishOptions): Promise<void>;
  /** False while Kafka is known to be failing (for readiness). */
  isReady(): boolean;
  /**
   * Resolves once every call made so far has settled at the broker, including calls whose callers
   * stopped waiting: after that, nothing sent earlier can still land.
   */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AcknowledgedPublisherOptions {
  producer: EventProducer;
  logger: Logger;
  /** Default wait for an acknowledgement. Default 10 s. */
  defaultTimeoutMs?: number;
  /** First cool-down after a failure; doubles with each failed probe. Default 250 ms. */
  coolDownMs?: number;
  maxCoolDownMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class AcknowledgedPublisher implements Publisher {
  private readonly producer: EventProducer;
  private readonly logger: Logger;
  private readonly defaultTimeoutMs: number;
  private readonly coolDownMs: number;
  private readonly maxCoolDownMs: number;
  private readonly now: () => number;
  /** While Kafka is failing: refuse calls until then, except one probe at a time. */
  private failingUntil: number | undefined;
  private failures = 0;
  private probing = false;
  private closed = false;

  constructor(options: AcknowledgedPublisherOptions) {
    this.producer = options.producer;
    this.logger = options.logger.child({ component: 'acknowledged-publisher' });
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    this.coolDownMs = options.coolDownMs ?? 250;
    this.maxCoolDownMs = options.maxCoolDownMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Connects the producer; a broker that cannot be reached fails the start-up with the reason. */
  async start(): Promise<void> {
    await this.producer.connect();
  }

  isReady(): boolean {
    return !this.closed && this.failingUntil === undefined;
  }

  async publish(records: readonly OutgoingRecord[], options: PublishOptions = {}): Promise<void> {
    if (records.length === 0) return;
    if (this.closed)
      throw SynclineError.retriable(ErrorCodes.SHUTTING_DOWN, 'shutting down; not taking records', {
        part: 'kafka',
      });
    let probe = false;
    if (this.failingUntil !== undefined) {
      if (this.probing || this.now() < this.failingUntil) {
        throw SynclineError.retriable(
          ErrorCodes.BROKER_UNAVAILABLE,
          'Kafka is failing; not trying again yet',
          { part: 'kafka' },
        );
      }
      probe = true;
      this.probing = true;
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const sending = this.producer.send(records);
    // The caller may stop waiting; the request's own outcome still decides whether Kafka is back.
    sending.then(
      () => this.succeeded(),
      (error: unknown) => this.failed(error),
    );
    try {
      await Promise.race([
        sending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const timeout = SynclineError.retriable(
              ErrorCodes.BROKER_UNAVAILABLE,
              `Kafka did not acknowledge within ${timeoutMs}ms`,
              { part: 'kafka' },
            );
            this.failed(timeout);
            reject(timeout);
          }, timeoutMs);
        }),
      ]);
    } catch (error) {
      throw classify(error, { part: 'kafka' });
    } finally {
      clearTimeout(timer);
      if (probe) this.probing = false;
    }
  }

  flush(): Promise<void> {
    return this.producer.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.close();
  }

  private succeeded(): void {
    if (this.failingUntil !== undefined)
      this.logger.info({ failures: this.failures }, 'Kafka takes records again');
    this.failingUntil = undefined;
    this.failures = 0;
  }

  private failed(error: unknown): void {
    const failure = classify(error, { part: 'kafka' });
    if (!failure.retriable) return; // a refused record, not a failing Kafka
    this.failures += 1;
    const coolDown = Math.min(this.maxCoolDownMs, this.coolDownMs * 2 ** Math.min(this.failures - 1, 10));
    if (this.failingUntil === undefined)
      this.logger.warn({ err: failure.toJSON() }, 'Kafka is failing; refusing records for a while');
    this.failingUntil = this.now() + coolDown;
  }
}

/** A publisher on the event bus's idempotent, batching kafkajs producer. */
export function kafkaPublisher(
  kafka: Kafka,
  logger: Logger,
  options: { registry?: Registry } & Omit<AcknowledgedPublisherOptions, 'producer' | 'logger'> = {},
): AcknowledgedPublisher {
  const { registry, ...rest } = options;
  const producer = new KafkajsEventProducer({ kafka, logger, ...(registry ? { metrics: registry } : {}) });
  return new AcknowledgedPublisher({ producer, logger, ...rest });
}
