/**
 * "Has this stage caught up?" for the demo: a consumer group has caught up with its topics when its
 * committed offset of every partition has reached the partition's end offset as it was when asked.
 */
import type { Admin } from 'kafkajs';

export interface DrainResult {
  /** True when the group reached every end offset before the timeout. */
  caughtUp: boolean;
  /** Records between the group's position and the end offsets, when it stopped waiting. */
  behind: number;
}

/** The sum over partitions of each topic's end offset. */
export async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    result[topic] = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  }
  return result;
}

/** Waits until `groupId` has committed up to the end offsets (taken now) of `topics`. */
export async function waitUntilConsumed(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
  timeoutMs: number,
): Promise<DrainResult> {
  const targets = new Map<string, number>();
  for (const topic of topics) {
    for (const partition of await admin.fetchTopicOffsets(topic)) {
      targets.set(`${topic}/${partition.partition}`, Number(partition.high));
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    let behind = 0;
    for (const { topic, partitions } of committed) {
      for (const { partition, offset } of partitions) {
        const target = targets.get(`${topic}/${partition}`) ?? 0;
        const position = Number(offset) < 0 ? 0 : Number(offset);
        behind += Math.max(0, target - position);
      }
    }
    if (behind === 0) return { caughtUp: true, behind };
    if (Date.now() >= deadline) return { caughtUp: false, behind };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
