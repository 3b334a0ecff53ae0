/**
 * Replay: reprocess a declared consumer group's records from a time or offset (DESIGN.md,
 * Guarantees). Effects are idempotent, so reprocessing is safe; what replay must get right is the
 * range, and never moving offsets under a live member.
 *
 * Two forms, chosen by whether `to` is given:
 * - open-ended (`from` only): the group's committed offsets are reset, per topic/partition, to the
 *   first record at or after `from`; when the group's members start again they reprocess
 *   everything from there. Kafka only lets an empty group's offsets be set, and a reset under a
 *   live member would be undone by its next commit anyway, so the group must be stopped first:
 *   with any member in the group the replay is refused, naming the members. (The broker refuses
 *   an offset commit from outside a non-empty group, so a member that joins between the check and
 *   the reset makes the reset fail rather than happen under it.)
 * - bounded (`from` and `to`): the group's offsets are left alone. The records of the window are
 *   copied, in offset order per partition, onto `<group>.retry`, which only that group reads, with
 *   `syncline-replayed-from` (`<topic>/<partition>/<offset>`), the original position
 *   (`syncline-dlq-original-topic|partition|offset`, as redriven records carry it, so the sink
 *   decodes them with the source topic's schema) and the action's correlation id. The running
 *   group reprocesses exactly the window; nothing needs to be stopped, and records after the
 *   window are not reprocessed. Records keep their per-key order (same key, same retry partition).
 *
 * `from` and `to` are ISO times or offsets. A time means the first record whose timestamp is at or
 * after it (Kafka's offsets-by-timestamp lookup); `to` as a time is exclusive (records before it),
 * `to` as an offset is inclusive (the last offset replayed). Offsets are `<n>` (every partition) or
 * `<partition>:<n>,...` (those partitions only), and need a single topic. Offsets outside a
 * partition's log are clamped to it, and the plan says so.
 */
import type { Admin } from 'kafkajs';
import type { OutgoingRecord } from '../../runtime/bus/types.ts';
import { DlqHeaders } from '../../processors/pipeline/dead-letter.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { OffsetRange } from '../../schemas/generated/ops.ts';
import { audit, newCorrelationId, OPS_CORRELATION_HEADER, outcomeAfter, type Actor } from '../audit/audit.ts';
import { resolveGroup, type OpsGroup } from '../groups.ts';
import type { OpsContext } from '../ops-context.ts';
import { sendChunked } from '../send-chunked.ts';
import { readTopicRanges, topicOffsets, withAdmin } from '../../runtime/bus/topic-reader.ts';

/** On records a bounded replay copies to `<group>.retry`: where the record was read. */
export const REPLAYED_FROM_HEADER = 'syncline-replayed-from';

export type ReplayPoint =
  | { kind: 'time'; at: number }
  /** `partitions` undefined: the same offset on every partition. */
  | { kind: 'offset'; offset: string; partitions?: undefined }
  | { kind: 'offset'; offset?: undefined; partitions: Map<number, string> };

/** Parses `--from`/`--to`: an ISO time, `<n>`, or `<partition>:<n>[,...]`. */
export function parseReplayPoint(text: string, flag: string): ReplayPoint {
  const value = text.trim();
  if (/^\d{1,19}$/.test(value)) return { kind: 'offset', offset: BigInt(value).toString() };
  if (/^\d{1,9}:\d{1,19}(,\d{1,9}:\d{1,19})*$/.test(value)) {
    const partitions = new Map<number, string>();
    for (const pair of value.split(',')) {
      const [partition, offset] = pair.split(':') as [string, string];
      if (partitions.has(Number(partition))) {
        throw invalid(`${flag} names partition ${partition} twice`);
      }
      partitions.set(Number(partition), BigInt(offset).toString());
    }
    return { kind: 'offset', partitions };
  }
  // Only full ISO 8601 date-times: a bare number or a loose date string is not a time.
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return { kind: 'time', at };
  }
  throw invalid(
    `${flag} ${JSON.stringify(text)}: expected an ISO time (2026-12-01T08:00:00Z), an offset (1200) or partition:offset pairs (0:1200,1:980)`,
  );
}

export function describePoint(point: ReplayPoint): string {
  if (point.kind === 'time') return new Date(point.at).toISOString();
  if (point.offset !== undefined) return point.offset;
  return [...point.partitions].map(([partition, offset]) => `${partition}:${offset}`).join(',');
}

export interface ReplayRequest {
  group: string;
  /** One of the group's topics (contract name); all of them when omitted. */
  topic?: string;
  from: ReplayPoint;
  to?: ReplayPoint;
}

/** One partition of the plan. Offsets are Kafka's decimal strings. */
export interface PartitionPlan {
  topic: string;
  partition: number;
  low: string;
  high: string;
  /** The group's committed offset (next to read), null when it has none. */
  committed: string | null;
  /** First offset replayed. */
  from: string;
  /** End of the replay, exclusive: the log end now (open-ended) or the bound. */
  end: string;
  /** Records from `from` to `end`: what the group reads again. */
  records: number;
  /** Of those, records the group had already processed (below its committed offset). */
  reprocess: number;
  /** Set when an offset had to be clamped into the log. */
  note?: string;
}

export interface ReplayPlan {
  group: string;
  groupId: string;
  mode: 'reset' | 'bounded';
  from: string;
  to: string | null;
  topics: string[];
  partitions: PartitionPlan[];
  records: number;
  reprocess: number;
}

export interface ReplayOptions {
  actor: Actor;
  dryRun?: boolean;
  /** Progress of the work: partitions reset, or records copied. */
  onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult extends ReplayPlan {
  dryRun: boolean;
  correlationId: string | null;
  /** Records copied (bounded) or partitions reset (open-ended). */
  done: number;
}

/** Plans and, unless a dry run, performs the replay; audited unless a dry run. */
export async function replay(
  context: OpsContext,
  request: ReplayRequest,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const group = resolveGroup(request.group, context.prefix);
  return withAdmin(context.kafka, undefined, async (admin) => {
    const plan = await planReplay(admin, group, request, context.prefix);
    const result: ReplayResult = { ...plan, dryRun: options.dryRun === true, correlationId: null, done: 0 };
    if (options.dryRun) return result;
    // What the audit record says the replay was, whether it was refused or done.
    const replayed = {
      action: 'REPLAY' as const,
      actor: options.actor,
      group: group.name,
      topic: plan.topics.length === 1 ? (plan.topics[0] ?? null) : null,
      ranges: rangesOf(plan, request.from),
    };
    if (plan.mode === 'reset') {
      try {
        await refuseWhileActive(admin, group);
      } catch (error) {
        // A refused replay is on the record too: who tried what, and why it did not happen.
        await audit(context, {
          ...replayed,
          count: 0,
          outcome: 'FAILED',
          reason: error instanceof Error ? error.message : String(error),
          correlationId: newCorrelationId(),
          details: { mode: plan.mode, from: plan.from, topics: plan.topics.join(',') },
        });
        throw error;
      }
    }
    const correlationId = newCorrelationId();
    result.correlationId = correlationId;
    let failure: SynclineError | undefined;
    try {
      if (plan.mode === 'reset') await resetOffsets(admin, group, plan, result, options);
      else await copyWindow(context, group, plan, result, correlationId, options);
    } catch (error) {
      failure = classify(error, { group: group.groupId, part: 'replay' });
    }
    const total = plan.mode === 'reset' ? plan.partitions.length : plan.records;
    await audit(context, {
      ...replayed,
      count: plan.mode === 'reset' ? plan.records : result.done,
      outcome: outcomeAfter(failure, result.done),
      reason: failure?.message ?? null,
      correlationId,
      details: {
        mode: plan.mode,
        from: plan.from,
        ...(plan.to === null ? {} : { to: plan.to }),
        topics: plan.topics.join(','),
        reprocess: String(plan.reprocess),
        partitions: truncate(
          plan.partitions.map((p) => `${p.topic}:${p.partition}:${p.from}..${p.end}`).join(','),
        ),
        ...(plan.mode === 'bounded' ? { retryTopic: group.retryTopic } : {}),
      },
    });
    if (failure) {
      throw new SynclineError(
        failure.code,
        `replay stopped after ${result.done} of ${total} ${plan.mode === 'reset' ? 'partitions' : 'records'}: ${failure.message}`,
        { retriable: failure.retriable, context: failure.context, cause: failure },
      );
    }
    return result;
  });
}

/** Per topic/partition: where the replay starts and ends, and how many records that is. */
export async function planReplay(
  admin: Admin,
  group: OpsGroup,
  request: ReplayRequest,
  prefix: string,
): Promise<ReplayPlan> {
  const topics = topicsOf(group, request.topic, prefix);
  if ((isOffset(request.from) || (request.to && isOffset(request.to))) && topics.length > 1) {
    throw invalid(
      `an offset names a position in one topic: give --topic (${group.name} reads ${group.reads.map((t) => t.slice(prefix.length)).join(', ')})`,
    );
  }
  const partitions: PartitionPlan[] = [];
  for (const topic of topics) {
    const offsets = await topicOffsets(admin, topic);
    const committed = await committedOffsets(admin, group.groupId, topic);
    const starts = await resolvePoint(admin, topic, request.from, offsets, 'start');
    const ends = request.to ? await resolvePoint(admin, topic, request.to, offsets, 'end') : undefined;
    for (const { partition, low, high } of offsets) {
      const start = starts.get(partition);
      if (start === undefined) continue; // not named by a partition:offset list
      let end = ends ? ends.get(partition) : { offset: high };
      if (end === undefined) continue;
      if (BigInt(end.offset) < BigInt(start.offset)) end = { offset: start.offset, note: end.note };
      const records = Number(BigInt(end.offset) - BigInt(start.offset));
      const done = committed.get(partition);
      const reprocessed =
        done === undefined ? 0n : minBig(BigInt(done), BigInt(end.offset)) - BigInt(start.offset);
      const note = [start.note, end.note].filter(Boolean).join('; ');
      partitions.push({
        topic,
        partition,
        low,
        high,
        committed: done ?? null,
        from: start.offset,
        end: end.offset,
        records,
        reprocess: reprocessed > 0n ? Number(reprocessed) : 0,
        ...(note ? { note } : {}),
      });
    }
  }
  if (request.from.kind === 'offset' && request.from.partitions) {
    const known = new Set(partitions.map((p) => p.partition));
    const unknown = [...request.from.partitions.keys()].filter((partition) => !known.has(partition));
    if (unknown.length > 0) throw invalid(`${topics[0]} has no partition ${unknown.join(', ')}`);
  }
  return {
    group: group.name,
    groupId: group.groupId,
    mode: request.to ? 'bounded' : 'reset',
    from: describePoint(request.from),
    to: request.to ? describePoint(request.to) : null,
    topics,
    partitions,
    records: partitions.reduce((sum, p) => sum + p.records, 0),
    reprocess: partitions.reduce((sum, p) => sum + p.reprocess, 0),
  };
}

/** Refuses, naming the members, when the group has any. */
export async function refuseWhileActive(admin: Admin, group: OpsGroup): Promise<void> {
  const { groups } = await admin.describeGroups([group.groupId]);
  const described = groups[0];
  if (!described) return;
  const members = described.members;
  if (members.length === 0 && (described.state === 'Empty' || described.state === 'Dead')) {
    return;
  }
  const named = members
    .slice(0, 10)
    .map((member) => `${member.clientId}@${member.clientHost.replace(/^\//, '')}`)
    .join(', ');
  throw SynclineError.permanent(
    ErrorCodes.INPUT_INVALID,
    `refused: group ${group.groupId} is ${described.state} with ${members.length} active member${members.length === 1 ? '' : 's'}` +
      `${named ? ` (${named}${members.length > 10 ? ', ...' : ''})` : ''}; stop them before resetting its offsets, ` +
      'or replay a bounded window (--to), which needs no stop',
    { group: group.groupId, refused: true },
  );
}

async function resetOffsets(
  admin: Admin,
  group: OpsGroup,
  plan: ReplayPlan,
  result: ReplayResult,
  options: ReplayOptions,
): Promise<void> {
  for (const topic of plan.topics) {
    const partitions = plan.partitions.filter((p) => p.topic === topic);
    if (partitions.length === 0) continue;
    try {
      await admin.setOffsets({
        groupId: group.groupId,
        topic,
        partitions: partitions.map((p) => ({ partition: p.partition, offset: p.from })),
      });
    } catch (error) {
      const failure = classify(error, { group: group.groupId, topic });
      if (/no running instances/i.test(failure.message)) {
        await refuseWhileActive(admin, group); // names the members that joined meanwhile
      }
      throw failure;
    }
    result.done += partitions.length;
    options.onProgress?.(result.done, plan.partitions.length);
  }
  // What Kafka now holds must be what was planned: a reset that did not take is an error.
  for (const topic of plan.topics) {
    const committed = await committedOffsets(admin, group.groupId, topic);
    for (const p of plan.partitions.filter((candidate) => candidate.topic === topic)) {
      if (committed.get(p.partition) !== p.from) {
        throw SynclineError.retriable(
          ErrorCodes.UNEXPECTED,
          `offset of ${topic}/${p.partition} is ${committed.get(p.partition) ?? 'none'} after the reset, not ${p.from}`,
          { group: group.groupId, topic, partition: p.partition },
        );
      }
    }
  }
}

async function copyWindow(
  context: OpsContext,
  group: OpsGroup,
  plan: ReplayPlan,
  result: ReplayResult,
  correlationId: string,
  options: ReplayOptions,
): Promise<void> {
  for (const topic of plan.topics) {
    const ranges = plan.partitions
      .filter((p) => p.topic === topic && p.records > 0)
      .map((p) => ({ partition: p.partition, from: p.from, to: p.end }));
    await readTopicRanges(context.kafka, topic, ranges, async (records) => {
      const out: OutgoingRecord[] = records.map((record) => {
        const headers: Record<string, Buffer | string | readonly Buffer[]> = { ...record.headers };
        headers[REPLAYED_FROM_HEADER] = `${record.topic}/${record.partition}/${record.offset}`;
        headers[DlqHeaders.topic] = record.topic;
        headers[DlqHeaders.partition] = String(record.partition);
        headers[DlqHeaders.offset] = record.offset;
        headers[OPS_CORRELATION_HEADER] = correlationId;
        return { topic: group.retryTopic, key: record.key, value: record.value, headers };
      });
      await sendChunked(context.producer, out);
      result.done += out.length;
      options.onProgress?.(result.done, plan.records);
    });
  }
}

export interface FollowOptions {
  onProgress?: (reprocessed: number, total: number) => void;
  /** Stops watching (not the replay). */
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * After an offset reset, watches the group work through the replayed range: resolves with the
 * records reprocessed (by committed offsets) once every partition's committed offset has reached
 * the log end of the plan, or when `signal` aborts. It only watches; the group's members do the
 * work once they are started again.
 */
export async function followReplay(
  context: OpsContext,
  plan: ReplayPlan,
  options: FollowOptions = {},
): Promise<number> {
  const pollMs = options.pollMs ?? 1000;
  return withAdmin(context.kafka, undefined, async (admin) => {
    for (;;) {
      let done = 0;
      let caughtUp = true;
      for (const topic of plan.topics) {
        const committed = await committedOffsets(admin, plan.groupId, topic);
        for (const p of plan.partitions.filter((candidate) => candidate.topic === topic)) {
          const at = BigInt(committed.get(p.partition) ?? p.from);
          const end = BigInt(p.end);
          const reached = at < end ? at : end;
          done += Number(reached - BigInt(p.from) > 0n ? reached - BigInt(p.from) : 0n);
          if (at < end) caughtUp = false;
        }
      }
      options.onProgress?.(done, plan.records);
      if (caughtUp || options.signal?.aborted) return done;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  });
}

/** The prefixed topics to replay: one named topic (which the group must read), or all it reads. */
function topicsOf(group: OpsGroup, topic: string | undefined, prefix: string): string[] {
  if (topic === undefined) return [...group.reads];
  const named = topic.startsWith(prefix) && prefix !== '' ? topic : `${prefix}${topic}`;
  if (!group.reads.includes(named)) {
    throw invalid(
      `${group.name} does not read ${topic}; it reads ${group.reads.map((t) => t.slice(prefix.length)).join(', ')}`,
    );
  }
  return [named];
}

interface ResolvedOffset {
  offset: string;
  note?: string;
}

/** Per partition, the offset a point means in this topic, clamped into [low, high]. */
async function resolvePoint(
  admin: Admin,
  topic: string,
  point: ReplayPoint,
  offsets: Array<{ partition: number; low: string; high: string }>,
  side: 'start' | 'end',
): Promise<Map<number, ResolvedOffset>> {
  const resolved = new Map<number, ResolvedOffset>();
  if (point.kind === 'time') {
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, point.at);
    for (const { partition, offset } of byTime) {
      const bounds = offsets.find((p) => p.partition === partition);
      if (bounds) resolved.set(partition, clamp(offset, bounds.low, bounds.high, topic, partition));
    }
    return resolved;
  }
  for (const { partition, low, high } of offsets) {
    const named = point.offset ?? point.partitions.get(partition);
    if (named === undefined) continue;
    // `to` as an offset is the last one replayed: the exclusive end is one past it.
    const offset = side === 'end' ? (BigInt(named) + 1n).toString() : named;
    resolved.set(partition, clamp(offset, low, high, topic, partition));
  }
  return resolved;
}

function clamp(offset: string, low: string, high: string, topic: string, partition: number): ResolvedOffset {
  const value = BigInt(offset);
  if (value < BigInt(low)) {
    return { offset: low, note: `${topic}/${partition}: ${offset} is before the log start, from ${low}` };
  }
  if (value > BigInt(high))
    return { offset: high, note: `${topic}/${partition}: ${offset} is past the log end ${high}` };
  return { offset: value.toString() };
}

/** The group's committed offsets of a topic (partitions without a commit are left out). */
async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, string>> {
  const fetched = await admin.fetchOffsets({ groupId, topics: [topic] });
  const out = new Map<number, string>();
  for (const { partition, offset } of fetched.find((entry) => entry.topic === topic)?.partitions ?? []) {
    if (BigInt(offset) >= 0n) out.set(partition, offset);
  }
  return out;
}

function rangesOf(plan: ReplayPlan, from: ReplayPoint): OffsetRange[] {
  return plan.partitions.map((p) => ({
    partition: p.partition,
    fromOffset: Number(p.from),
    toOffset: Number(p.end) - 1,
    fromTimestamp: from.kind === 'time' ? from.at : null,
  }));
}

function isOffset(point: ReplayPoint): boolean {
  return point.kind === 'offset';
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function truncate(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function invalid(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message);
}
