/**
 * Follows a group's DLQ topic for as long as its sink runs, so the runner knows which keys are
 * parked: from the beginning at start (`start()` resolves once the end offsets of that moment are
 * read, so the parked-key set is whole before the first canonical record is taken), then every new
 * entry and resolution marker as redrive and discard write them.
 *
 * kafkajs reads only through a consumer group: the tail uses a throwaway group of its own that
 * never commits (it always reads from the beginning) and is deleted on close.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { toIncoming } from '../../runtime/bus/kafkajs-message.ts';
import type { IncomingRecord } from '../../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { withTimeout } from '../../runtime/timeout.ts';

export interface DlqTailOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  onRecord: (record: IncomingRecord) => void;
  /** How long the initial read may take before start fails. Default 60 s. */
  catchUpTimeoutMs?: number;
}

export class DlqTail {
  readonly #options: DlqTailOptions;
  readonly #groupId: string;
  #consumer: Consumer | undefined;
  #closed = false;

  constructor(options: DlqTailOptions) {
    this.#options = options;
    this.#groupId = `syncline-dlq-tail-${options.topic}-${randomBytes(5).toString('hex')}`;
  }

  /** Subscribes and resolves once the topic is read up to its end offsets at call time. */
  async start(): Promise<void> {
    const { kafka, topic, logger } = this.#options;
    const admin = kafka.admin();
    await admin.connect();
    let remaining: Map<number, bigint>;
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      remaining = new Map(
        offsets
          .filter((partition) => BigInt(partition.high) > BigInt(partition.low))
          .map((partition) => [partition.partition, BigInt(partition.high)]),
      );
    } catch (error) {
      throw classify(error, { topic, part: 'dlq-tail' });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const consumer = kafka.consumer({
      groupId: this.#groupId,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (remaining.size === 0) caughtUp();
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        for (const message of batch.messages) {
          this.#options.onRecord(toIncoming(topic, batch.partition, message));
        }
        // Without resolving, kafkajs fetches the same batch again and again (auto-resolve is off):
        // a DLQ larger than one fetch would never be read to its end.
        if (batch.messages.length > 0) payload.resolveOffset(batch.lastOffset());
        const end = remaining.get(batch.partition);
        if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) caughtUp();
        }
        await payload.heartbeat();
      },
    });
    const timeoutMs = this.#options.catchUpTimeoutMs ?? 60_000;
    await withTimeout(ready, timeoutMs, () =>
      SynclineError.retriable(
        ErrorCodes.TIMEOUT,
        `the DLQ ${topic} was not read to its end within ${timeoutMs} ms`,
        { topic },
      ),
    );
    logger.debug({ topic }, 'DLQ read to its end; following it');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#consumer?.disconnect().catch(() => undefined);
    const admin = this.#options.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.#groupId]);
    } catch {
      // The group has no offsets and expires by itself.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
