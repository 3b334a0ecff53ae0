/**
 * Creating topics so that they can be used at once.
 *
 * kafkajs' own `waitForLeaders` asks for metadata of the new topics and throws the first
 * "This server does not host this topic-partition" (UNKNOWN_TOPIC_OR_PARTITION) it gets while the
 * KRaft controller is still electing leaders, which on a busy broker, or with dozens of topics
 * created at once, is common. So we create without it, then wait until every new topic answers an
 * offsets request for all its partitions, which is what a producer or consumer needs.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

export interface CreateTopicsOptions {
  /** How long to wait, after the create request, for every partition to have a leader. */
  timeoutMs?: number;
}

/** Creates the topics (those that exist already are left alone) and waits until all are usable. */
export async function createTopicsReady(
  admin: Admin,
  topics: readonly ITopicConfig[],
  options: CreateTopicsOptions = {},
): Promise<void> {
  if (topics.length === 0) return;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await admin.createTopics({ waitForLeaders: false, timeout: timeoutMs, topics: [...topics] });
  await awaitTopicsReady(
    admin,
    topics.map((topic) => topic.topic),
    timeoutMs,
  );
}

/** Waits until every topic answers for the offsets of all its partitions. */
export async function awaitTopicsReady(
  admin: Admin,
  topicNames: readonly string[],
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const topic of topicNames) {
    for (;;) {
      try {
        await admin.fetchTopicOffsets(topic);
        break;
      } catch (error) {
        if (Date.now() >= deadline) {
          throw SynclineError.retriable(
            ErrorCodes.TIMEOUT,
            `topic ${topic} was created but has no leader for every partition after ${timeoutMs / 1000}s: ${
              error instanceof Error ? error.message : String(error)
            }`,
            { topic },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  }
}
