/**
 * Which event ids reached a topic after given offsets: what a polling connector reads after a crash
 * between publishing a page and committing its cursor, so that it publishes only what is missing.
 * Reads with a throwaway consumer group that commits nothing and is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { ENVELOPE_HEADERS } from '../raw-event-sink.ts';

/** Snapshot of the end offset of every partition of a topic, as strings keyed by partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Record<string, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(offsets.map((partition) => [String(partition.partition), partition.high]));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The `syncline-event-id` headers of every record written to `topic` at or after `from`. */
export async function eventIdsSince(
  kafka: Kafka,
  topic: string,
  from: Record<string, string>,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<Set<string>> {
  const now = await endOffsets(kafka, topic);
  const ranges = new Map<number, { from: bigint; to: bigint }>();
  for (const [partition, high] of Object.entries(now)) {
    const start = BigInt(from[partition] ?? '0');
    const end = BigInt(high);
    if (start < end) ranges.set(Number(partition), { from: start, to: end });
  }
  const found = new Set<string>();
  if (ranges.size === 0) return found;

  const groupId = `syncline-poll-recovery-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  const remaining = new Set(ranges.keys());
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            SynclineError.retriable(
              ErrorCodes.TIMEOUT,
              `could not read back ${topic} within ${timeoutMs}ms`,
              { topic },
            ),
          ),
        timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const range = ranges.get(batch.partition);
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (range && offset >= range.from && offset < range.to) {
                const eventId = message.headers?.[ENVELOPE_HEADERS.eventId];
                if (eventId !== undefined) found.add(eventId.toString());
              }
              if (!range || offset + 1n >= range.to) remaining.delete(batch.partition);
              payload.resolveOffset(message.offset);
            }
            await payload.heartbeat();
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .then(() => {
          for (const [partition, range] of ranges)
            consumer.seek({ topic, partition, offset: range.from.toString() });
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(classify(error, { topic }));
        });
    });
    logger.info({ topic, found: found.size }, 'read back what reached Kafka after the last committed cursor');
    return found;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect().catch(() => undefined));
  }
}
