/**
 * Which event ids reached a topic after given offsets: what a polling connector reads after a crash
 * between publishing a page and committing its cursor, so that it publishes only what is missing.
 * Reads a snapshot of the ranges (runtime/bus/topic-reader.ts).
 */
import type { Kafka } from 'kafkajs';
import { readTopicRanges } from '../../runtime/bus/topic-reader.ts';
import { headerText } from '../../runtime/bus/types.ts';
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
  const ranges = Object.entries(now).map(([partition, high]) => ({
    partition: Number(partition),
    from: from[partition] ?? '0',
    to: high,
  }));
  const found = new Set<string>();
  await readTopicRanges(
    kafka,
    topic,
    ranges,
    (records) => {
      for (const record of records) {
        const eventId = headerText(record.headers, ENVELOPE_HEADERS.eventId);
        if (eventId !== undefined) found.add(eventId);
      }
    },
    { timeoutMs },
  );
  logger.info({ topic, found: found.size }, 'read back what reached Kafka after the last committed cursor');
  return found;
}
