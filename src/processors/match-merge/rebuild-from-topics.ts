/**
 * `syncline mdm rebuild`: the match-merge state in Redis restored from the `mdm.customer.*` topics
 * after Redis lost it. Reads `mdm.customer.golden` and `mdm.customer.xref` (compacted) and
 * `mdm.customer.review` from their beginning up to their end offsets at the start (records written
 * later are not waited for, so the read ends), keeps the latest value per key as compaction would
 * (memory grows with the number of keys, not of records; nothing but decoded values is held), and
 * hands them to {@link MatchEngine.rebuild}, which writes the state and a new epoch that running
 * engines adopt. Run it with the processors stopped.
 */
import { performance } from 'node:perf_hooks';
import type { Admin, Kafka } from 'kafkajs';
import { readTopicRanges } from '../../runtime/bus/topic-reader.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { MatchEngine, RebuildReport } from './engine.ts';
import { MdmTopics, type MdmEvent } from './types.ts';

export interface RebuildFromTopicsOptions {
  kafka: Kafka;
  serde: Serde;
  engine: MatchEngine;
  /** Prepended to the topic names (isolated test topologies). Default none. */
  topicPrefix?: string;
  /** Discard whatever match state is under the engine's prefix first; otherwise it must be empty. */
  replace?: boolean;
  /** Give up when the read makes no progress towards the end offsets for this long. Default 60 s. */
  timeoutMs?: number;
  /** Called now and then with the records read so far and the number to read. */
  onProgress?: (read: number, total: number) => void;
}

export interface RebuildFromTopicsReport extends RebuildReport {
  /** Records read per topic (contract names), tombstones included. */
  read: Record<string, number>;
  /** Distinct keys kept per topic after folding (the latest value of each). */
  keys: Record<string, number>;
  seconds: number;
}

const TOPICS = [MdmTopics.golden, MdmTopics.xref, MdmTopics.review] as const;

export async function rebuildFromTopics(options: RebuildFromTopicsOptions): Promise<RebuildFromTopicsReport> {
  const started = performance.now();
  const prefix = options.topicPrefix ?? '';
  const store = options.engine.store;
  if (!options.replace && (await store.hasState())) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      `Redis already holds match-merge state under ${store.prefix}: stop the processors and run again with --replace to discard it`,
      { part: 'mdm rebuild' },
    );
  }
  const admin = options.kafka.admin();
  await admin.connect();
  let bounds: Map<string, Map<number, { from: bigint; to: bigint }>>;
  try {
    bounds = await endOffsets(admin, prefix);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const latest = new Map<string, Map<string, MdmEvent>>(TOPICS.map((topic) => [topic, new Map()]));
  const read: Record<string, number> = Object.fromEntries(TOPICS.map((topic) => [topic, 0]));
  let total = 0;
  for (const partitions of bounds.values())
    for (const bound of partitions.values()) total += Number(bound.to - bound.from);
  let done = 0;
  options.onProgress?.(0, total);

  const onRecord = async (topic: string, key: string, value: Buffer | null): Promise<void> => {
    const contract = topic.slice(prefix.length) as (typeof TOPICS)[number];
    read[contract] = (read[contract] ?? 0) + 1;
    done += 1;
    if (done % 500 === 0) options.onProgress?.(done, total);
    const keyed = latest.get(contract)!;
    if (value === null) {
      keyed.delete(key); // a tombstone: the key is gone
      return;
    }
    const decoded = await options.serde.decode(topic, value);
    if (contract === MdmTopics.golden) {
      const golden = decoded as Extract<MdmEvent, { topic: 'mdm.customer.golden' }>['value'];
      const known = keyed.get(key);
      if (known && (known.value as typeof golden).version > golden.version) return;
      keyed.set(key, { topic: contract, key, value: golden });
    } else {
      keyed.set(key, { topic: contract, key, value: decoded } as MdmEvent);
    }
  };
  // Topic by topic: the fold keeps the latest value per key within a topic, so the order between
  // topics does not matter.
  for (const [topic, partitions] of bounds) {
    const ranges = [...partitions].map(([partition, bound]) => ({
      partition,
      from: bound.from.toString(),
      to: bound.to.toString(),
    }));
    await readTopicRanges(
      options.kafka,
      topic,
      ranges,
      async (records) => {
        for (const record of records) await onRecord(topic, record.key?.toString('utf8') ?? '', record.value);
      },
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
  }
  options.onProgress?.(done, total);

  function* events(): Generator<MdmEvent> {
    for (const topic of TOPICS) yield* latest.get(topic)!.values();
  }
  const report = await options.engine.rebuild(events(), { replace: options.replace === true });
  return {
    ...report,
    read,
    keys: Object.fromEntries(TOPICS.map((topic) => [topic, latest.get(topic)!.size])),
    seconds: (performance.now() - started) / 1000,
  };
}

/** Per topic and partition, the offsets to read: from the low watermark up to the end offset now. */
async function endOffsets(
  admin: Admin,
  prefix: string,
): Promise<Map<string, Map<number, { from: bigint; to: bigint }>>> {
  const existing = new Set(await admin.listTopics());
  const missing = TOPICS.map((topic) => `${prefix}${topic}`).filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    throw SynclineError.permanent(
      ErrorCodes.TOPIC_NOT_FOUND,
      `cannot rebuild: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist (run syncline topology apply)`,
      { part: 'mdm rebuild' },
    );
  }
  const out = new Map<string, Map<number, { from: bigint; to: bigint }>>();
  for (const contract of TOPICS) {
    const topic = `${prefix}${contract}`;
    const partitions = new Map<number, { from: bigint; to: bigint }>();
    for (const offsets of await admin.fetchTopicOffsets(topic)) {
      const from = BigInt(offsets.low);
      const to = BigInt(offsets.high);
      if (to > from) partitions.set(offsets.partition, { from, to });
    }
    out.set(topic, partitions);
  }
  return out;
}
