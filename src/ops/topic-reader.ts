/**
 * Reading everything a topic holds at one moment: every partition from its low watermark up to its
 * end offset at the time of the call, in offset order per partition. Ops tools (DLQ listing,
 * redrive, replay counts) need a consistent snapshot, not a subscription: records written after the
 * call are not waited for, so the read always ends.
 *
 * kafkajs only reads through a consumer group, so the read uses a throwaway group that never
 * commits and is deleted afterwards; its name says what it was, should a crash leave it behind.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { IncomingRecord } from '../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../runtime/errors.ts';

export interface TopicSnapshot {
  topic: string;
  /** Per partition: the end offset the read stopped at (exclusive), as Kafka's decimal string. */
  ends: Map<number, string>;
  /** Every record below the end offsets, partitions in ascending order, offsets ascending within each. */
  records: IncomingRecord[];
}

export interface ReadTopicOptions {
  /** Give up when the read has not reached the end offsets by then. Default 60 s. */
  timeoutMs?: number;
  /** Called now and then with the records read so far and the total to read, for progress. */
  onProgress?: (read: number, total: number) => void;
  /** An admin client already connected (reused, left connected); otherwise one is made and closed. */
  admin?: Admin;
}

/** Reads the whole topic up to its end offsets at call time. TOPIC_NOT_FOUND when it does not exist. */
export async function readTopicSnapshot(
  kafka: Kafka,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<TopicSnapshot> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const offsets = await withAdmin(kafka, options.admin, (admin) => topicOffsets(admin, topic));
  const ends = new Map(offsets.map((partition) => [partition.partition, partition.high]));
  // Partitions still to read, with the offset the read is done at.
  const remaining = new Map<number, bigint>();
  let total = 0;
  for (const partition of offsets) {
    const size = BigInt(partition.high) - BigInt(partition.low);
    if (size > 0n) {
      remaining.set(partition.partition, BigInt(partition.high));
      total += Number(size);
    }
  }
  const byPartition = new Map<number, IncomingRecord[]>();
  if (remaining.size > 0) {
    await consumeUntil(kafka, topic, remaining, timeoutMs, (record) => {
      const list = byPartition.get(record.partition) ?? [];
      list.push(record);
      byPartition.set(record.partition, list);
      if (options.onProgress) {
        let read = 0;
        for (const records of byPartition.values()) read += records.length;
        options.onProgress(read, total);
      }
    });
  }
  const records = [...byPartition.keys()]
    .sort((a, b) => a - b)
    .flatMap((partition) => byPartition.get(partition) ?? []);
  return { topic, ends, records };
}

/** Low and high watermarks per partition; TOPIC_NOT_FOUND for a topic the cluster does not have. */
export async function topicOffsets(
  admin: Admin,
  topic: string,
): Promise<Array<{ partition: number; low: string; high: string }>> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    throw SynclineError.permanent(ErrorCodes.TOPIC_NOT_FOUND, `topic ${topic} does not exist`, { topic });
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((partition) => ({ partition: partition.partition, low: partition.low, high: partition.high }))
    .sort((a, b) => a.partition - b.partition);
}

/** Runs `work` with the given admin client, or with a fresh one that is closed afterwards. */
export async function withAdmin<T>(
  kafka: Kafka,
  admin: Admin | undefined,
  work: (admin: Admin) => Promise<T>,
): Promise<T> {
  if (admin) return work(admin);
  const own = kafka.admin();
  await own.connect();
  try {
    return await work(own);
  } finally {
    await own.disconnect().catch(() => undefined);
  }
}

async function consumeUntil(
  kafka: Kafka,
  topic: string,
  remaining: Map<number, bigint>,
  timeoutMs: number,
  onRecord: (record: IncomingRecord) => void,
): Promise<void> {
  const groupId = `syncline-ops-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          SynclineError.retriable(
            ErrorCodes.TIMEOUT,
            `reading ${topic} did not reach its end offsets within ${Math.round(timeoutMs / 1000)}s`,
            { topic },
          ),
        );
      }, timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const end = remaining.get(batch.partition);
            if (end === undefined) return;
            for (const message of batch.messages) {
              if (BigInt(message.offset) >= end) break;
              onRecord(toIncoming(topic, batch.partition, message));
            }
            // Compacted or transactional topics may have gaps up to the end: the batch's last
            // offset says how far the log goes.
            const last = BigInt(batch.lastOffset());
            if (last + 1n >= end) remaining.delete(batch.partition);
            await payload.heartbeat();
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(classify(error, { topic }));
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(kafka, undefined, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}

/** A kafkajs message as the bus's {@link IncomingRecord}: header values as bytes. */
export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(toBuffer) : toBuffer(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
    timestamp: Number(message.timestamp),
  };
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}
