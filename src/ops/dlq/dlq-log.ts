/**
 * A consumer group's DLQ topic read as what it is: a folded log (format in
 * src/processors/pipeline/dead-letter.ts). Failure and parked entries open; resolution markers
 * (same key, so the same partition, after the entries) close the DLQ offsets they list. What is
 * left open is what an operator still has to act on, and the keys of open entries are the keys a
 * sink must keep parked.
 *
 * The fold is pure and incremental ({@link DlqFold}): a sink may feed it records as it reads its
 * DLQ, an ops command folds a snapshot read by {@link readDlq}. It never throws on a record: a
 * record without the failure context (written by hand, or by an older version) is still an open
 * failure entry, with the context fields it lacks left empty, so it can be seen and acted on.
 */
import type { Admin, Kafka } from 'kafkajs';
import { DlqHeaders, PARKED_REASON } from '../../processors/pipeline/dead-letter.ts';
import type { IncomingRecord } from '../../runtime/bus/types.ts';
import { headerText } from '../../runtime/bus/types.ts';
import { dlqTopicOf } from '../../topology/topics.ts';
import { readTopicSnapshot } from '../../runtime/bus/topic-reader.ts';

/** Headers as read: a header repeated on the wire is an array in wire order. */
export type RecordHeaders = Readonly<Record<string, Buffer | readonly Buffer[]>>;

export type DlqEntryKind = 'failure' | 'parked';
export type DlqResolutionKind = 'redriven' | 'discarded';

/** The failure context of a DLQ entry, parsed from its `syncline-dlq-*` headers. */
export interface DlqContext {
  /** Where the original record was read: topic, partition, offset (empty/null when missing). */
  originalTopic: string;
  originalPartition: number | null;
  originalOffset: string | null;
  group: string;
  /** An ErrorCodes value as written by the stage (kept as text: an older writer may know others). */
  errorCode: string;
  /** `permanent` or `retriable-exhausted`. */
  errorClass: string;
  errorMessage: string;
  /** A short, stable reason (`decode`, `mapping`, ..., or `parked`). */
  reason: string;
  attempts: number;
  /** Epoch ms, null when missing or unreadable. */
  firstFailureAt: number | null;
  lastFailureAt: number | null;
  /** Parked entries: `<topic>/<partition>/<offset>` of the failed record the key waits behind. */
  parkedBehind: string | null;
}

/** How a resolved entry was resolved. */
export interface DlqResolution {
  resolution: DlqResolutionKind;
  resolvedBy: string;
  /** The DLQ offset (same partition) of the marker. */
  markerOffset: string;
  /** Epoch ms of the marker record. */
  at: number;
}

/** One failure or parked entry of the DLQ. */
export interface DlqEntry {
  /** Position in the DLQ topic. */
  partition: number;
  offset: string;
  /** DLQ record timestamp, epoch ms. */
  timestamp: number;
  kind: DlqEntryKind;
  /** The original key as UTF-8 text (null for a null key); `keyBytes` is the exact original. */
  key: string | null;
  keyBytes: Buffer | null;
  /** The original value, unchanged. */
  value: Buffer | null;
  /** The original headers: everything but the failure context and the previous redrive's headers. */
  originalHeaders: RecordHeaders;
  /** Every header of the DLQ record. */
  headers: RecordHeaders;
  context: DlqContext;
  /** How often the original was redriven before it landed here (0 for a first failure). */
  redriveCount: number;
  /** `<dlq partition>/<dlq offset>` of the entry the original was last redriven from, if any. */
  redrivenFrom: string | null;
  /** Set once a marker resolved the entry. */
  resolved: DlqResolution | null;
}

/** A resolution marker as read. */
export interface DlqMarker {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  resolution: DlqResolutionKind;
  resolvedBy: string;
  /** DLQ offsets of the marker's partition it resolves. */
  resolves: string[];
}

/** `<partition>/<offset>`: how entries are named to operators and in the API. */
export function entryId(entry: { partition: number; offset: string }): string {
  return `${entry.partition}/${entry.offset}`;
}

/** Header names that are not part of the original record (stripped before a redrive). */
const CONTEXT_HEADER_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(DlqHeaders).filter((name) => name.startsWith('syncline-dlq-')),
  DlqHeaders.redrivenFrom,
  DlqHeaders.redriveCount,
]);

/** True for a resolution marker (by its `resolution` header), whatever else it carries. */
export function isResolutionMarker(record: Pick<IncomingRecord, 'headers'>): boolean {
  return headerText(record.headers, DlqHeaders.resolution) !== undefined;
}

/**
 * The fold of one DLQ topic. Feed records in offset order per partition (partitions may
 * interleave). Markers resolve entries of their own partition only.
 */
export class DlqFold {
  /** Every entry seen, by `<partition>/<offset>`. */
  readonly #entries = new Map<string, DlqEntry>();
  readonly #markers: DlqMarker[] = [];
  readonly #markerIds = new Set<string>();
  /** Resolutions by `<partition>/<offset>`, also for offsets not (yet) seen as entries. */
  readonly #resolutions = new Map<string, DlqResolution>();
  /** Open entry count per non-null key. */
  readonly #openPerKey = new Map<string, number>();
  #records = 0;

  /** Folds one DLQ record in. */
  add(record: IncomingRecord): void {
    if (isResolutionMarker(record)) {
      this.#addMarker(record);
      return;
    }
    const entry = entryOf(record);
    const id = entryId(entry);
    if (this.#entries.has(id)) return; // the same record read twice (a re-read snapshot)
    this.#records += 1;
    entry.resolved = this.#resolutions.get(id) ?? null;
    this.#entries.set(id, entry);
    if (!entry.resolved) this.#countOpen(entry.key, 1);
  }

  /** Folds many records in. */
  addAll(records: Iterable<IncomingRecord>): this {
    for (const record of records) this.add(record);
    return this;
  }

  /** Records folded (entries and markers), counting a record read twice once. */
  get recordCount(): number {
    return this.#records;
  }

  /** The entry at a DLQ position, open or resolved. */
  entry(partition: number, offset: string): DlqEntry | undefined {
    return this.#entries.get(entryId({ partition, offset }));
  }

  /** Every entry, open or resolved, in DLQ order (partition, then offset). */
  entries(): DlqEntry[] {
    return [...this.#entries.values()].sort(dlqOrder);
  }

  /** The open entries in DLQ order (partition, then offset): per key, the order to redrive in. */
  open(): DlqEntry[] {
    return this.entries().filter((entry) => entry.resolved === null);
  }

  /** The keys with at least one open entry: the keys a sink keeps parked. */
  openKeys(): Set<string> {
    return new Set(this.#openPerKey.keys());
  }

  /** Whether a key has an open entry (is parked). */
  isKeyOpen(key: string): boolean {
    return this.#openPerKey.has(key);
  }

  markers(): DlqMarker[] {
    return [...this.#markers];
  }

  #addMarker(record: IncomingRecord): void {
    const marker = markerOf(record);
    const id = entryId(marker);
    if (this.#markerIds.has(id)) return; // the same marker read twice
    this.#markerIds.add(id);
    this.#records += 1;
    this.#markers.push(marker);
    for (const offset of marker.resolves) {
      const id = entryId({ partition: marker.partition, offset });
      if (this.#resolutions.has(id)) continue; // the first marker wins; later ones change nothing
      const resolution: DlqResolution = {
        resolution: marker.resolution,
        resolvedBy: marker.resolvedBy,
        markerOffset: marker.offset,
        at: marker.timestamp,
      };
      this.#resolutions.set(id, resolution);
      const entry = this.#entries.get(id);
      if (entry && !entry.resolved) {
        entry.resolved = resolution;
        this.#countOpen(entry.key, -1);
      }
    }
  }

  #countOpen(key: string | null, delta: number): void {
    if (key === null) return;
    const count = (this.#openPerKey.get(key) ?? 0) + delta;
    if (count > 0) this.#openPerKey.set(key, count);
    else this.#openPerKey.delete(key);
  }
}

/** The fold of a whole list of DLQ records. */
export function foldDlq(records: Iterable<IncomingRecord>): DlqFold {
  return new DlqFold().addAll(records);
}

/** DLQ order: partition, then offset (offsets compared as 64-bit integers). */
export function dlqOrder(
  a: { partition: number; offset: string },
  b: { partition: number; offset: string },
): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  const difference = BigInt(a.offset) - BigInt(b.offset);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** A failure or parked entry from its DLQ record. */
export function entryOf(record: IncomingRecord): DlqEntry {
  const text = (name: string) => headerText(record.headers, name);
  const reason = text(DlqHeaders.reason) ?? '';
  const context: DlqContext = {
    originalTopic: text(DlqHeaders.topic) ?? '',
    originalPartition: integerOrNull(text(DlqHeaders.partition)),
    originalOffset: offsetOrNull(text(DlqHeaders.offset)),
    group: text(DlqHeaders.group) ?? '',
    errorCode: text(DlqHeaders.code) ?? '',
    errorClass: text(DlqHeaders.errorClass) ?? '',
    errorMessage: text(DlqHeaders.message) ?? '',
    reason,
    attempts: integerOrNull(text(DlqHeaders.attempts)) ?? 0,
    firstFailureAt: timeOrNull(text(DlqHeaders.firstFailure)),
    lastFailureAt: timeOrNull(text(DlqHeaders.lastFailure)),
    parkedBehind: text(DlqHeaders.parkedBehind) ?? null,
  };
  const originalHeaders: Record<string, Buffer | readonly Buffer[]> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!CONTEXT_HEADER_NAMES.has(name)) originalHeaders[name] = value;
  }
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    kind: reason === PARKED_REASON ? 'parked' : 'failure',
    key: record.key === null ? null : record.key.toString('utf8'),
    keyBytes: record.key,
    value: record.value,
    originalHeaders,
    headers: record.headers,
    context,
    redriveCount: integerOrNull(text(DlqHeaders.redriveCount)) ?? 0,
    redrivenFrom: text(DlqHeaders.redrivenFrom) ?? null,
    resolved: null,
  };
}

function markerOf(record: IncomingRecord): DlqMarker {
  const resolution = headerText(record.headers, DlqHeaders.resolution);
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.toString('utf8'),
    // Anything but `redriven` closes the entries without moving them: treat it as a discard.
    resolution: resolution === 'redriven' ? 'redriven' : 'discarded',
    resolvedBy: headerText(record.headers, DlqHeaders.resolvedBy) ?? '',
    resolves: (headerText(record.headers, DlqHeaders.resolves) ?? '')
      .split(',')
      .map((offset) => offset.trim())
      .filter((offset) => /^\d+$/.test(offset))
      .map((offset) => BigInt(offset).toString()),
  };
}

function integerOrNull(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value.trim())) return null;
  const parsed = Number(value.trim());
  return Number.isSafeInteger(parsed) ? parsed : null;
}

function offsetOrNull(value: string | undefined): string | null {
  return value !== undefined && /^\d+$/.test(value.trim()) ? BigInt(value.trim()).toString() : null;
}

function timeOrNull(value: string | undefined): number | null {
  if (value === undefined) return null;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

/** The DLQ topic of a group, under a test prefix if any. */
export function dlqTopicName(groupId: string, prefix = ''): string {
  return `${prefix}${dlqTopicOf(groupId)}`;
}

export interface ReadDlqOptions {
  /** Topic prefix of an isolated topology (tests); '' in production. */
  prefix?: string;
  timeoutMs?: number;
  onProgress?: (read: number, total: number) => void;
  admin?: Admin;
}

export interface DlqSnapshot {
  topic: string;
  /** End offsets per DLQ partition at read time (exclusive). */
  ends: Map<number, string>;
  fold: DlqFold;
}

/**
 * Reads a group's DLQ topic from the beginning to its end offsets at call time (admin client and a
 * throwaway consumer group, deleted afterwards) and folds it.
 */
export async function readDlq(
  kafka: Kafka,
  groupId: string,
  options: ReadDlqOptions = {},
): Promise<DlqSnapshot> {
  const topic = dlqTopicName(groupId, options.prefix);
  const snapshot = await readTopicSnapshot(kafka, topic, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.admin ? { admin: options.admin } : {}),
  });
  return { topic, ends: snapshot.ends, fold: foldDlq(snapshot.records) };
}
