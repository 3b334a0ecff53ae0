/**
 * A private copy of the raw topics for one integration test (see src/producers/scratch-raw-topics.ts),
 * and a reader that takes everything a topic holds.
 */
import { randomBytes } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import {
  createScratchRawTopics,
  RAW_TOPIC_NAMES,
  type ScratchRawTopics,
} from '../../src/producers/scratch-raw-topics.ts';

export { RAW_TOPIC_NAMES };
export type PrivateRawTopics = ScratchRawTopics;

export function createPrivateRawTopics(
  kafka: Kafka,
  registryUrl: string,
  options: { partitions?: number; label?: string } = {},
): Promise<PrivateRawTopics> {
  return createScratchRawTopics(kafka, registryUrl, {
    label: `it-${options.label ?? 'ingest'}`,
    partitions: options.partitions ?? 3,
  });
}

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Everything the topic holds now: reads every partition up to its end offset at the time of the
 * call, with a throwaway consumer group.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((end) => BigInt(end.high) > BigInt(end.low)).map((end) => [end.partition, BigInt(end.high)]),
  );
  const records: ReadRecord[] = [];
  if (remaining.size === 0) return records;
  const groupId = `it-reader-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read of ${topic} did not finish in ${timeoutMs}ms`)),
        timeoutMs,
      );
      void consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            for (const message of batch.messages) {
              const end = remaining.get(batch.partition);
              if (end !== undefined && BigInt(message.offset) < end) {
                records.push({
                  topic,
                  partition: batch.partition,
                  offset: message.offset,
                  key: message.key?.toString() ?? '',
                  value: message.value ?? Buffer.alloc(0),
                  headers: headersOf(message.headers),
                });
              }
              if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(batch.partition);
              payload.resolveOffset(message.offset);
            }
            await payload.heartbeat();
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const cleaner = kafka.admin();
    await cleaner.connect();
    await cleaner.deleteGroups([groupId]).catch(() => undefined);
    await cleaner.disconnect();
  }
  return records;
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {}))
    if (value !== undefined) out[name] = value.toString();
  return out;
}
