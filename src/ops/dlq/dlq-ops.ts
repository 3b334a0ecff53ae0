/**
 * The DLQ actions of the CLI and the admin API (one implementation for both): list, show, redrive
 * and discard, on a declared consumer group's DLQ topic read as a folded log (dlq-log.ts).
 *
 * Redrive works per key. A key's open entries (its failure entry and the later records parked
 * behind it) move together, in DLQ order, because moving part of a key would apply its records out
 * of order; selecting any entry of a key selects the key. Each entry becomes one record on
 * `<group>.retry` (read by that group only): the DLQ record's key, value and headers (the original
 * ones and the failure context, so the stage counts attempts on, keeps the first failure time and
 * knows the original topic whose schema the value is written in), with `syncline-redriven-from`
 * (`<dlq partition>/<dlq offset>`), `syncline-redrive-count` (previous count + 1) and the action's
 * correlation id (`syncline-ops-correlation-id`). Then one
 * resolution marker per key resolves the moved entries.
 *
 * Records are written before their markers, a chunk of keys at a time: a failure half-way leaves at
 * most one chunk moved but not yet resolved, which a second redrive moves again (a duplicate on the
 * retry topic that idempotent effects absorb), never an entry resolved but not moved.
 *
 * Entries already redriven `maxRedrives` times (default 5) are refused, naming them: a record that
 * keeps failing needs its cause fixed or a discard, not another loop. The whole redrive is refused
 * unless `skipOverLimit` moves the other keys and reports the refused ones.
 *
 * Discard writes markers only, for exactly the selected entries.
 */
import { DlqHeaders } from '../../processors/pipeline/dead-letter.ts';
import type { OutgoingRecord } from '../../runtime/bus/types.ts';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { OffsetRange } from '../../schemas/generated/ops.ts';
import { audit, newCorrelationId, OPS_CORRELATION_HEADER, outcomeAfter, type Actor } from '../audit/audit.ts';
import { resolveGroup, type OpsGroup } from '../groups.ts';
import type { OpsContext } from '../ops-context.ts';
import { sendChunked } from '../send-chunked.ts';
import { describeFilter, isEmptyFilter, matchesFilter, type DlqFilter } from './dlq-filter.ts';
import { dlqOrder, entryId, readDlq, type DlqEntry, type DlqFold } from './dlq-log.ts';
import { displayHeaders, displayValue, headerValueText, type DisplayedValue } from './dlq-value.ts';

export const DEFAULT_MAX_REDRIVES = 5;
/** Records written per producer call (and keys resolved after each). */
const CHUNK_RECORDS = 500;

/** One entry as listed. */
export interface DlqEntrySummary {
  id: string;
  partition: number;
  offset: string;
  kind: DlqEntry['kind'];
  key: string | null;
  originalTopic: string;
  originalPartition: number | null;
  originalOffset: string | null;
  errorCode: string;
  errorClass: string;
  reason: string;
  message: string;
  attempts: number;
  firstFailureAt: string | null;
  lastFailureAt: string | null;
  parkedBehind: string | null;
  redriveCount: number;
  resolution: { resolution: string; resolvedBy: string; markerOffset: string; at: string } | null;
}

export interface DlqListing {
  group: string;
  topic: string;
  filter: string;
  /** Open entries in the whole DLQ, and resolved ones. */
  openTotal: number;
  resolvedTotal: number;
  /** Open entries matching the filter. */
  matching: number;
  /** Counts of the matching open entries. */
  byReason: Record<string, number>;
  byCode: Record<string, number>;
  byTopic: Record<string, number>;
  /** Keys with open entries (parked keys) in the whole DLQ. */
  parkedKeys: number;
  /** The first `limit` matching entries, in DLQ order; `truncated` when there are more. */
  entries: DlqEntrySummary[];
  truncated: boolean;
}

export interface ReadOptions {
  onProgress?: (read: number, total: number) => void;
  timeoutMs?: number;
}

export interface ListOptions extends ReadOptions {
  /** Most entries listed (the counts always cover every matching entry). Default: all. */
  limit?: number;
}

async function snapshotOf(
  context: OpsContext,
  group: OpsGroup,
  options: ReadOptions = {},
): Promise<{ topic: string; fold: DlqFold }> {
  return readDlq(context.kafka, group.name, {
    prefix: context.prefix,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** Counts by reason, error code and original topic, then the open entries matching the filter. */
export async function listDlq(
  context: OpsContext,
  groupName: string,
  filter: DlqFilter = {},
  options: ListOptions = {},
): Promise<DlqListing> {
  const group = resolveGroup(groupName, context.prefix);
  const { topic, fold } = await snapshotOf(context, group, options);
  const all = fold.entries();
  const open = all.filter((entry) => entry.resolved === null);
  const matching = open.filter((entry) => matchesFilter(entry, filter, context.prefix));
  const count = (pick: (entry: DlqEntry) => string) => {
    const counts: Record<string, number> = {};
    for (const entry of matching)
      counts[pick(entry) || '(none)'] = (counts[pick(entry) || '(none)'] ?? 0) + 1;
    return counts;
  };
  return {
    group: group.name,
    topic,
    filter: describeFilter(filter),
    openTotal: open.length,
    resolvedTotal: all.length - open.length,
    matching: matching.length,
    byReason: count((entry) => entry.context.reason),
    byCode: count((entry) => entry.context.errorCode),
    byTopic: count((entry) => contractTopic(entry.context.originalTopic, context.prefix)),
    parkedKeys: fold.openKeys().size,
    entries: matching.slice(0, options.limit ?? matching.length).map(summaryOf),
    truncated: options.limit !== undefined && matching.length > options.limit,
  };
}

export interface DlqEntryView extends DlqEntrySummary {
  group: string;
  topic: string;
  timestamp: string;
  /** The original key: text when UTF-8, else `base64:<...>`. */
  keyText: string | null;
  context: DlqEntry['context'];
  /** Every header of the DLQ record (failure context included). */
  headers: Record<string, string | string[]>;
  value: DisplayedValue;
}

/** One entry in full: context, headers, key, and the value decoded where it is Avro. */
export async function showDlqEntry(
  context: OpsContext,
  groupName: string,
  partition: number,
  offset: string,
): Promise<DlqEntryView> {
  const group = resolveGroup(groupName, context.prefix);
  const { topic, fold } = await snapshotOf(context, group);
  const entry = fold.entry(partition, offset);
  if (!entry) {
    throw SynclineError.permanent(
      ErrorCodes.TOPIC_NOT_FOUND,
      `no DLQ entry at ${partition}/${offset} in ${topic} (it is a resolution marker, or beyond the end)`,
      { topic, partition, offset },
    );
  }
  return {
    ...summaryOf(entry),
    group: group.name,
    topic,
    timestamp: new Date(entry.timestamp).toISOString(),
    keyText: entry.keyBytes === null ? null : headerValueText(entry.keyBytes),
    context: entry.context,
    headers: displayHeaders(entry.headers),
    value: await displayValue(context.registry, entry.value),
  };
}

/** What to act on: entries by id, or a filter; `all` must be said out loud. */
export interface DlqSelection {
  filter?: DlqFilter;
  /** `<partition>/<offset>` ids. */
  entries?: string[];
  /** Act on every open entry; required when neither a filter nor entries are given. */
  all?: boolean;
}

export interface RedriveOptions {
  actor: Actor;
  dryRun?: boolean;
  maxRedrives?: number;
  /** Move the keys within the limit and report the others, instead of refusing the whole redrive. */
  skipOverLimit?: boolean;
  onProgress?: (moved: number, total: number) => void;
}

export interface RefusedEntry {
  id: string;
  key: string | null;
  redriveCount: number;
}

export interface RedriveResult {
  group: string;
  dryRun: boolean;
  correlationId: string | null;
  retryTopic: string;
  /** Entries moved (or, in a dry run, that would be), in the order written. */
  entries: DlqEntrySummary[];
  moved: number;
  keys: number;
  /** Entries taken because they share a key with a selected one (not selected themselves). */
  takenWithKey: string[];
  refused: RefusedEntry[];
  maxRedrives: number;
}

/** Moves the selected keys' open entries to `<group>.retry` and resolves them. */
export function redriveDlq(
  context: OpsContext,
  groupName: string,
  selection: DlqSelection,
  options: RedriveOptions,
): Promise<RedriveResult> {
  return oneAtATime(`${context.prefix}${groupName}`, () => redrive(context, groupName, selection, options));
}

async function redrive(
  context: OpsContext,
  groupName: string,
  selection: DlqSelection,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const group = resolveGroup(groupName, context.prefix);
  const maxRedrives = options.maxRedrives ?? DEFAULT_MAX_REDRIVES;
  const { fold } = await snapshotOf(context, group);
  const selected = select(fold, selection, context.prefix);
  // Per key, every open entry, in DLQ order; null keys are no key: each such entry moves alone.
  const openByKey = new Map<string, DlqEntry[]>();
  for (const entry of fold.open()) {
    if (entry.key === null) continue;
    const list = openByKey.get(entry.key) ?? [];
    list.push(entry);
    openByKey.set(entry.key, list);
  }
  const units: DlqEntry[][] = [];
  const seenKeys = new Set<string>();
  for (const entry of selected) {
    if (entry.key === null) {
      units.push([entry]);
      continue;
    }
    if (seenKeys.has(entry.key)) continue;
    seenKeys.add(entry.key);
    units.push(openByKey.get(entry.key) ?? [entry]);
  }
  units.sort((a, b) => dlqOrder(a[0]!, b[0]!));
  const selectedIds = new Set(selected.map(entryId));
  const refused: RefusedEntry[] = [];
  const accepted = units.filter((unit) => {
    const over = unit.filter((entry) => entry.redriveCount >= maxRedrives);
    for (const entry of over)
      refused.push({ id: entryId(entry), key: entry.key, redriveCount: entry.redriveCount });
    return over.length === 0;
  });
  if (refused.length > 0 && !options.skipOverLimit) {
    const refusedError = refusal(
      `refused: ${refused.length} ${refused.length === 1 ? 'entry was' : 'entries were'} redriven ${maxRedrives} times ` +
        `already (limit ${maxRedrives}): ${refused
          .slice(0, 20)
          .map((entry) => `${entry.id} (key ${entry.key ?? 'null'}, ${entry.redriveCount}x)`)
          .join(
            ', ',
          )}${refused.length > 20 ? ', ...' : ''}; fix the cause and discard them, or redrive the others with --skip-over-limit`,
      group,
    );
    // A refused action is on the record too: who tried what, and why it did not happen.
    if (!options.dryRun) {
      await audit(context, {
        action: 'REDRIVE',
        actor: options.actor,
        group: group.name,
        topic: group.dlqTopic,
        ranges: rangesOf(refused.map((entry) => fold.entry(...splitId(entry.id))!)),
        count: 0,
        outcome: 'FAILED',
        reason: refusedError.message,
        correlationId: newCorrelationId(),
        details: { selection: describeSelection(selection), maxRedrives: String(maxRedrives) },
      });
    }
    throw refusedError;
  }
  const moving = accepted.flat();
  const result: RedriveResult = {
    group: group.name,
    dryRun: options.dryRun === true,
    correlationId: null,
    retryTopic: group.retryTopic,
    entries: moving.map(summaryOf),
    moved: 0,
    keys: accepted.length,
    takenWithKey: moving.filter((entry) => !selectedIds.has(entryId(entry))).map(entryId),
    refused,
    maxRedrives,
  };
  if (options.dryRun || moving.length === 0) return result;

  const correlationId = newCorrelationId();
  result.correlationId = correlationId;
  const resolvedBy = options.actor.name;
  let failure: SynclineError | undefined;
  try {
    for (const chunk of chunksOf(accepted)) {
      const records = chunk.flat().map((entry) => retryRecordOf(entry, group, correlationId));
      await sendChunked(context.producer, records);
      await sendChunked(
        context.producer,
        markersOf(chunk.flat(), group, 'redriven', resolvedBy, correlationId),
      );
      result.moved += records.length;
      options.onProgress?.(result.moved, moving.length);
    }
  } catch (error) {
    failure = classify(error, { group: group.groupId, part: 'dlq redrive' });
  }
  await audit(context, {
    action: 'REDRIVE',
    actor: options.actor,
    group: group.name,
    topic: group.dlqTopic,
    ranges: rangesOf(moving),
    count: result.moved,
    outcome: outcomeAfter(failure, result.moved),
    reason: failure?.message ?? null,
    correlationId,
    details: {
      selection: describeSelection(selection),
      keys: String(accepted.length),
      retryTopic: group.retryTopic,
      maxRedrives: String(maxRedrives),
      ...(refused.length > 0 ? { refused: refused.map((entry) => entry.id).join(',') } : {}),
      entries: truncate(moving.map(entryId).join(',')),
    },
  });
  if (failure) {
    throw new SynclineError(
      failure.code,
      `redrive stopped after ${result.moved} of ${moving.length} entries: ${failure.message}`,
      { retriable: failure.retriable, context: failure.context, cause: failure },
    );
  }
  return result;
}

export interface DiscardOptions {
  actor: Actor;
  /** Why: required, goes to the audit record. */
  reason: string;
  dryRun?: boolean;
}

export interface DiscardResult {
  group: string;
  dryRun: boolean;
  correlationId: string | null;
  entries: DlqEntrySummary[];
  discarded: number;
}

/** Resolves exactly the selected open entries as discarded (markers only; nothing is moved). */
export function discardDlq(
  context: OpsContext,
  groupName: string,
  selection: DlqSelection,
  options: DiscardOptions,
): Promise<DiscardResult> {
  return oneAtATime(`${context.prefix}${groupName}`, () => discard(context, groupName, selection, options));
}

async function discard(
  context: OpsContext,
  groupName: string,
  selection: DlqSelection,
  options: DiscardOptions,
): Promise<DiscardResult> {
  const group = resolveGroup(groupName, context.prefix);
  if (options.reason.trim() === '') {
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, 'a discard needs a reason', {
      group: group.name,
    });
  }
  const { fold } = await snapshotOf(context, group);
  const selected = select(fold, selection, context.prefix);
  const result: DiscardResult = {
    group: group.name,
    dryRun: options.dryRun === true,
    correlationId: null,
    entries: selected.map(summaryOf),
    discarded: 0,
  };
  if (options.dryRun || selected.length === 0) return result;
  const correlationId = newCorrelationId();
  result.correlationId = correlationId;
  let failure: SynclineError | undefined;
  try {
    for (let start = 0; start < selected.length; start += CHUNK_RECORDS) {
      const chunk = selected.slice(start, start + CHUNK_RECORDS);
      await sendChunked(
        context.producer,
        markersOf(chunk, group, 'discarded', options.actor.name, correlationId),
      );
      result.discarded += chunk.length;
    }
  } catch (error) {
    failure = classify(error, { group: group.groupId, part: 'dlq discard' });
  }
  await audit(context, {
    action: 'DISCARD',
    actor: options.actor,
    group: group.name,
    topic: group.dlqTopic,
    ranges: rangesOf(selected),
    count: result.discarded,
    outcome: outcomeAfter(failure, result.discarded),
    reason: options.reason,
    correlationId,
    details: {
      selection: describeSelection(selection),
      entries: truncate(selected.map(entryId).join(',')),
      ...(failure ? { failure: failure.message } : {}),
    },
  });
  if (failure) throw failure;
  return result;
}

/**
 * Redrives and discards of one group run one at a time in this process (the admin server may get
 * two at once): each reads the DLQ after the previous one's markers are acknowledged, so the same
 * entry is never moved twice by two overlapping calls. Two processes (a CLI and a server) are not
 * coordinated; an overlap there can move an entry twice, which idempotent effects absorb.
 */
const groupQueues = new Map<string, Promise<unknown>>();

function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = groupQueues.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(work);
  groupQueues.set(key, next);
  void next
    .catch(() => undefined)
    .finally(() => {
      if (groupQueues.get(key) === next) groupQueues.delete(key);
    });
  return next;
}

/** The open entries a selection names, in DLQ order; names of entries that are not open are refused. */
function select(fold: DlqFold, selection: DlqSelection, prefix: string): DlqEntry[] {
  const hasFilter = selection.filter !== undefined && !isEmptyFilter(selection.filter);
  const hasEntries = selection.entries !== undefined && selection.entries.length > 0;
  if (hasFilter && hasEntries) {
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, 'give entries or a filter, not both');
  }
  if (hasEntries) {
    const picked: DlqEntry[] = [];
    for (const id of new Set(selection.entries)) {
      const { partition, offset } = parseEntryId(id);
      const entry = fold.entry(partition, offset);
      if (!entry) {
        throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `no DLQ entry ${id}`, { partition, offset });
      }
      if (entry.resolved) {
        throw SynclineError.permanent(
          ErrorCodes.INPUT_INVALID,
          `entry ${id} is already ${entry.resolved.resolution} (by ${entry.resolved.resolvedBy || 'unknown'})`,
          { partition, offset },
        );
      }
      picked.push(entry);
    }
    return picked.sort(dlqOrder);
  }
  if (!hasFilter && !selection.all) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      'name entries or give a filter; to act on every open entry say so (--all / "all": true)',
    );
  }
  return fold.open().filter((entry) => matchesFilter(entry, selection.filter ?? {}, prefix));
}

/** `<partition>/<offset>` → numbers; INPUT_INVALID otherwise. */
export function parseEntryId(id: string): { partition: number; offset: string } {
  const match = /^(\d{1,9})\/(\d{1,19})$/.exec(id.trim());
  if (!match) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      `entry ${JSON.stringify(id)} is not <partition>/<offset> (e.g. 0/42)`,
    );
  }
  return { partition: Number(match[1]), offset: BigInt(match[2] as string).toString() };
}

function retryRecordOf(entry: DlqEntry, group: OpsGroup, correlationId: string): OutgoingRecord {
  // The DLQ record as it is (original headers and failure context: the stage counts attempts on,
  // keeps the first failure time and reads the value with the original topic's schema), with
  // where it was redriven from and how often, instead of any previous redrive's.
  const headers: Record<string, Buffer | string | readonly Buffer[]> = { ...entry.headers };
  headers[DlqHeaders.redrivenFrom] = entryId(entry);
  headers[DlqHeaders.redriveCount] = String(entry.redriveCount + 1);
  headers[OPS_CORRELATION_HEADER] = correlationId;
  return { topic: group.retryTopic, key: entry.keyBytes, value: entry.value, headers };
}

/** One marker per (DLQ partition, key), in the entries' own partition, after them. */
function markersOf(
  entries: readonly DlqEntry[],
  group: OpsGroup,
  resolution: 'redriven' | 'discarded',
  resolvedBy: string,
  correlationId: string,
): OutgoingRecord[] {
  const byMarker = new Map<string, DlqEntry[]>();
  for (const entry of entries) {
    const id = `${entry.partition}\u0000${entry.key === null ? '\u0001' : `k${entry.key}`}`;
    const list = byMarker.get(id) ?? [];
    list.push(entry);
    byMarker.set(id, list);
  }
  return [...byMarker.values()].map((list) => {
    const first = list[0]!;
    return {
      topic: group.dlqTopic,
      key: first.keyBytes,
      value: null,
      partition: first.partition,
      headers: {
        [DlqHeaders.resolution]: resolution,
        [DlqHeaders.resolves]: list.map((entry) => entry.offset).join(','),
        [DlqHeaders.resolvedBy]: resolvedBy,
        [OPS_CORRELATION_HEADER]: correlationId,
      },
    };
  });
}

/** Groups of whole keys of up to about CHUNK_RECORDS records (a key is never split). */
function* chunksOf(units: readonly DlqEntry[][]): Generator<DlqEntry[][]> {
  let chunk: DlqEntry[][] = [];
  let size = 0;
  for (const unit of units) {
    if (size > 0 && size + unit.length > CHUNK_RECORDS) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(unit);
    size += unit.length;
  }
  if (chunk.length > 0) yield chunk;
}

/** Per DLQ partition, the lowest and highest offset acted on. */
function rangesOf(entries: readonly DlqEntry[]): OffsetRange[] {
  const byPartition = new Map<number, { from: bigint; to: bigint }>();
  for (const entry of entries) {
    const offset = BigInt(entry.offset);
    const range = byPartition.get(entry.partition);
    if (!range) byPartition.set(entry.partition, { from: offset, to: offset });
    else {
      if (offset < range.from) range.from = offset;
      if (offset > range.to) range.to = offset;
    }
  }
  return [...byPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, range]) => ({
      partition,
      fromOffset: Number(range.from),
      toOffset: Number(range.to),
      fromTimestamp: null,
    }));
}

function splitId(id: string): [number, string] {
  const { partition, offset } = parseEntryId(id);
  return [partition, offset];
}

function describeSelection(selection: DlqSelection): string {
  if (selection.entries && selection.entries.length > 0)
    return truncate(`entries ${selection.entries.join(',')}`);
  if (selection.filter && !isEmptyFilter(selection.filter))
    return `filter ${describeFilter(selection.filter)}`;
  return 'all open entries';
}

function truncate(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function refusal(message: string, group: OpsGroup): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { group: group.name, refused: true });
}

function contractTopic(topic: string, prefix: string): string {
  return prefix && topic.startsWith(prefix) ? topic.slice(prefix.length) : topic;
}

export function summaryOf(entry: DlqEntry): DlqEntrySummary {
  const c = entry.context;
  return {
    id: entryId(entry),
    partition: entry.partition,
    offset: entry.offset,
    kind: entry.kind,
    key: entry.key,
    originalTopic: c.originalTopic,
    originalPartition: c.originalPartition,
    originalOffset: c.originalOffset,
    errorCode: c.errorCode,
    errorClass: c.errorClass,
    reason: c.reason,
    message: c.errorMessage,
    attempts: c.attempts,
    firstFailureAt: c.firstFailureAt === null ? null : new Date(c.firstFailureAt).toISOString(),
    lastFailureAt: c.lastFailureAt === null ? null : new Date(c.lastFailureAt).toISOString(),
    parkedBehind: c.parkedBehind,
    redriveCount: entry.redriveCount,
    resolution: entry.resolved
      ? {
          resolution: entry.resolved.resolution,
          resolvedBy: entry.resolved.resolvedBy,
          markerOffset: entry.resolved.markerOffset,
          at: new Date(entry.resolved.at).toISOString(),
        }
      : null,
  };
}
