/**
 * Which keys a sink must hold back (park), and behind which record. The truth is the group's DLQ
 * topic, folded (src/ops/dlq/dlq-log.ts): a key is parked while it has an open failure or parked
 * entry. Two things the fold cannot know yet are kept here beside it:
 * - entries this runner has just written but not yet read back from the DLQ (pending): the next
 *   record of that key may come in the same batch, long before the tail sees the entry;
 * - entries whose redriven record this runner has already taken from `<group>.retry`: the
 *   resolution marker may come after the record itself, and the redriven record must not wait
 *   behind the very entry it resolves.
 */
import { DlqHeaders } from '../../processors/pipeline/dead-letter.ts';
import { headerText, type IncomingRecord } from '../../runtime/bus/types.ts';
import { DlqFold, entryId, type DlqEntry } from '../../ops/dlq/dlq-log.ts';

/** `<topic>/<partition>/<offset>` of a record as read: how parked entries name what they wait behind. */
export function positionOf(record: { topic: string; partition: number; offset: string }): string {
  return `${record.topic}/${record.partition}/${record.offset}`;
}

interface PendingEntry {
  /** Original position of the record the entry holds. */
  original: string;
  /** For a failure entry, its own original position; for a parked one, what it waits behind. */
  behind: string;
  failure: boolean;
}

/** Why a record must wait: the original position of the first failed record of its key. */
export interface ParkedBehind {
  behind: string;
}

export class ParkingLot {
  readonly #fold = new DlqFold();
  readonly #pending = new Map<string, PendingEntry[]>();
  readonly #locallyResolved = new Set<string>();
  #openByKey: Map<string, DlqEntry[]> | undefined;
  #foldedAt = -1;

  /** Folds a record read from the DLQ topic (in offset order per partition). */
  addDlqRecord(record: IncomingRecord): void {
    this.#fold.add(record);
    const key = record.key?.toString('utf8');
    if (key === undefined) return;
    if (!this.#pending.has(key)) return;
    const topic = headerText(record.headers, DlqHeaders.topic);
    const partition = headerText(record.headers, DlqHeaders.partition);
    const offset = headerText(record.headers, DlqHeaders.offset);
    this.#forget(key, `${topic}/${partition}/${offset}`);
  }

  /**
   * Remembers an entry this runner is about to write, until the tail reads it back. Called before
   * the send, not after: the tail can read the entry back before the send's acknowledgement
   * arrives, and a note taken after that would hold the key forever.
   */
  noteWriting(key: string, original: string, behind: string, failure: boolean): void {
    const pending = this.#pending.get(key) ?? [];
    pending.push({ original, behind, failure });
    this.#pending.set(key, pending);
  }

  /** The send of a noted entry failed: the entry is not in the DLQ and holds nothing back. */
  withdraw(key: string, original: string): void {
    this.#forget(key, original);
  }

  /** Drops the pending notes of `key` for the record at `original`. */
  #forget(key: string, original: string): void {
    const left = (this.#pending.get(key) ?? []).filter((entry) => entry.original !== original);
    if (left.length > 0) this.#pending.set(key, left);
    else this.#pending.delete(key);
  }

  /** A redriven record of the DLQ entry `<partition>/<offset>` was taken from the retry topic. */
  resolveLocally(dlqEntry: string): void {
    this.#locallyResolved.add(dlqEntry);
  }

  /**
   * Whether `key` is parked, and behind what. For a redriven record, `redrivenFrom` is its DLQ
   * entry: it waits behind the key's open failures (other than those being redriven) and behind
   * parked entries written before its own (a redrive brings a key's entries back in their order),
   * not behind records parked after it.
   */
  parkedBehind(key: string, redrivenFrom?: { partition: number; offset: bigint }): ParkedBehind | undefined {
    const open = (this.#openEntries().get(key) ?? []).filter(
      (entry) =>
        !this.#locallyResolved.has(entryId(entry)) &&
        (redrivenFrom === undefined ||
          entry.kind === 'failure' ||
          (entry.partition === redrivenFrom.partition && BigInt(entry.offset) < redrivenFrom.offset)),
    );
    const first = open[0];
    if (first) return { behind: behindOf(first) };
    const pending = this.#pending.get(key)?.find((entry) => redrivenFrom === undefined || entry.failure);
    return pending ? { behind: pending.behind } : undefined;
  }

  /** Keys held back now. */
  parkedKeyCount(): number {
    const keys = new Set(this.#pending.keys());
    for (const [key, entries] of this.#openEntries()) {
      if (entries.some((entry) => !this.#locallyResolved.has(entryId(entry)))) keys.add(key);
    }
    return keys.size;
  }

  /** Open DLQ entries (failure and parked), as far as the tail has read. */
  openEntryCount(): number {
    let count = 0;
    for (const entries of this.#openEntries().values()) count += entries.length;
    return count;
  }

  #openEntries(): Map<string, DlqEntry[]> {
    if (this.#openByKey && this.#foldedAt === this.#fold.recordCount) return this.#openByKey;
    const byKey = new Map<string, DlqEntry[]>();
    for (const entry of this.#fold.open()) {
      if (entry.key === null) continue;
      const list = byKey.get(entry.key) ?? [];
      list.push(entry);
      byKey.set(entry.key, list);
    }
    this.#openByKey = byKey;
    this.#foldedAt = this.#fold.recordCount;
    return byKey;
  }
}

/** What an open entry holds its key behind: a failure names itself, a parked entry its blocker. */
function behindOf(entry: DlqEntry): string {
  if (entry.kind === 'parked' && entry.context.parkedBehind) return entry.context.parkedBehind;
  return `${entry.context.originalTopic}/${entry.context.originalPartition ?? ''}/${entry.context.originalOffset ?? ''}`;
}
