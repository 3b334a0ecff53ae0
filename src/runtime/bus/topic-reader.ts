/**
 * Reading everything a topic holds at one moment: every partition from its low watermark up to its
 * end offset at the time of the call, in offset order per partition. Ops tools (DLQ listing,
 * redrive, replay counts) and `mdm rebuild` need a consistent snapshot, not a subscription: records
 * written after the call are not waited for, so the read always ends.
 *
 * kafkajs only reads through a consumer group, so the read uses a throwaway group that never
 * commits and is deleted afterwards; its name says what it was, should a crash leave it behind.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { toIncoming } from './kafkajs-message.ts';
import type { IncomingRecord } from './types.ts';
import { classify, ErrorCodes, SynclineError } from '../errors.ts';

export interface TopicSnapshot {
  topic: string;
  /** Per partition: the end offset the read stopped at (exclusive), as Kafka's decimal string. */
  ends: Map<number, string>;
  /** Every record below the end offsets, partitions in ascending order, offsets ascending within each. */
  records: IncomingRecord[];
}

export interface ReadTopicOptions {
  /** Give up when the read makes no progress for this long. Default 60 s. */
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
  let total = 0;
  for (const partition of offsets) total += Number(BigInt(partition.high) - BigInt(partition.low));
  let read = 0;
  const byPartition = new Map<number, IncomingRecord[]>();
  await readTopicRanges(
    kafka,
    topic,
    offsets.map((partition) => ({ partition: partition.partition, from: partition.low, to: partition.high })),
    (records) => {
      const first = records[0];
      if (!first) return;
      const list = byPartition.get(first.partition) ?? [];
      list.push(...records);
      byPartition.set(first.partition, list);
      read += records.length;
      options.onProgress?.(read, total);
    },
    { timeoutMs },
  );
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

/** A part of one partition to read: offsets `from` (inclusive) to `to` (exclusive). */
export interface PartitionRange {
  partition: number;
  from: string;
  to: string;
}

/**
 * Reads the given ranges of a topic, handing each fetched batch's records (in offset order, one
 * partition per call) to `onRecords`, which may take its time: the next batch waits for it.
 */
export async function readTopicRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  onRecords: (records: IncomingRecord[]) => Promise<void> | void,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const wanted = ranges.filter((range) => BigInt(range.to) > BigInt(range.from));
  if (wanted.length === 0) return;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const bounds = new Map(
    wanted.map((range) => [range.partition, { from: BigInt(range.from), to: BigInt(range.to) }]),
  );
  const remaining = new Set(bounds.keys());
  const groupId = `syncline-ops-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      // An idle timeout, not a total one: a long read that keeps making progress is not stuck.
      let lastProgress = Date.now();
      let failed = false;
      const timer = setInterval(
        () => {
          if (Date.now() - lastProgress < timeoutMs) return;
          clearInterval(timer);
          reject(
            SynclineError.retriable(
              ErrorCodes.TIMEOUT,
              `reading ${topic} made no progress towards its end offsets for ${Math.round(timeoutMs / 1000)}s`,
              { topic },
            ),
          );
        },
        Math.min(1000, timeoutMs),
      );
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const bound = bounds.get(batch.partition);
            if (failed || bound === undefined || !remaining.has(batch.partition)) return;
            const records: IncomingRecord[] = [];
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              // A fetch that started before the seek took effect may hold earlier records, and
              // the seek may then deliver again what that fetch already gave: skip both.
              if (offset < bound.from) continue;
              bound.from = offset + 1n;
              if (offset >= bound.to) break;
              records.push(toIncoming(topic, batch.partition, message));
            }
            if (records.length > 0) {
              try {
                await onRecords(records);
              } catch (error) {
                // The caller's failure ends the read at once (kafkajs would retry the batch).
                clearInterval(timer);
                failed = true;
                reject(classify(error, { topic, partition: batch.partition }));
                return;
              }
            }
            // The next fetch starts after the last resolved offset (nothing is committed: the
            // group is thrown away); without this the same batch would come again and again.
            payload.resolveOffset(batch.lastOffset());
            lastProgress = Date.now();
            // Compacted or transactional topics may have gaps up to the end: the batch's last
            // offset says how far the log goes.
            if (BigInt(batch.lastOffset()) + 1n >= bound.to) remaining.delete(batch.partition);
            await payload.heartbeat();
            if (remaining.size === 0) {
              clearInterval(timer);
              resolve();
            }
          },
        })
        .then(() => {
          // Seeks take effect once the partitions are assigned; kafkajs queues them until then.
          for (const [partition, bound] of bounds) {
            if (bound.from > 0n) consumer.seek({ topic, partition, offset: bound.from.toString() });
          }
        })
        .catch((error: unknown) => {
          clearInterval(timer);
          reject(classify(error, { topic }));
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(kafka, undefined, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}
