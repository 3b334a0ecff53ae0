/**
 * The dead-letter record of a consumer group (DESIGN.md, Topics): the original key, value and
 * headers unchanged, plus the failure context as `syncline-dlq-*` headers, so that an operator sees
 * why and where, and a redrive can put the exact original back on `<group>.retry`.
 *
 * The DLQ topic is the whole durable state of a group's dead letters, folded in offset order:
 * - a failure entry: the original record with the failure context;
 * - a parked entry (sinks): a later record of a key whose earlier record is dead-lettered, kept
 *   here instead of being applied out of order: reason `parked`, and `parked-behind` naming the
 *   original position of the first failed record of that key;
 * - a resolution marker: written by redrive or discard, with the same key as the entries it
 *   resolves (so it lands in the same DLQ partition, after them), no value, `resolution` set to
 *   `redriven` or `discarded` and `resolves` listing the DLQ offsets (of that partition) it resolves.
 * An entry is open until a marker resolves it; a key is parked while it has an open entry.
 * A redriven record carries `redriven-from` (its DLQ partition/offset) and `redrive-count` on
 * `<group>.retry`, so that loops are refused beyond a limit.
 */
import type { IncomingRecord, OutgoingRecord } from '../../runtime/bus/types.ts';
import type { SynclineError } from '../../runtime/errors.ts';

/** The failure-context headers added to a dead-lettered record. */
export const DlqHeaders = {
  topic: 'syncline-dlq-original-topic',
  partition: 'syncline-dlq-original-partition',
  offset: 'syncline-dlq-original-offset',
  group: 'syncline-dlq-group',
  code: 'syncline-dlq-error-code',
  errorClass: 'syncline-dlq-error-class',
  message: 'syncline-dlq-error-message',
  reason: 'syncline-dlq-reason',
  attempts: 'syncline-dlq-attempts',
  firstFailure: 'syncline-dlq-first-failure',
  lastFailure: 'syncline-dlq-last-failure',
  /** On parked entries: `<topic>/<partition>/<offset>` of the failed record the key waits behind. */
  parkedBehind: 'syncline-dlq-parked-behind',
  /** On resolution markers: `redriven` or `discarded`. */
  resolution: 'syncline-dlq-resolution',
  /** On resolution markers: comma-separated DLQ offsets (of the marker's partition) it resolves. */
  resolves: 'syncline-dlq-resolves',
  /** On resolution markers: who resolved (operator or token name), for the audit trail. */
  resolvedBy: 'syncline-dlq-resolved-by',
  /** On redriven records (`<group>.retry`): `<dlq partition>/<dlq offset>` it came from. */
  redrivenFrom: 'syncline-redriven-from',
  /** On redriven records: how often this record has been redriven, counting this time. */
  redriveCount: 'syncline-redrive-count',
} as const;

/** Reasons of DLQ entries that are not failures of their own. */
export const PARKED_REASON = 'parked';

export interface FailureContext {
  group: string;
  error: SynclineError;
  /** A short, stable reason for operators (e.g. `decode`, `mapping`, `unknown customer`). */
  reason: string;
  attempts: number;
  /** Epoch ms. */
  firstFailureAt: number;
  lastFailureAt: number;
}

/** The DLQ record for `record`; the original headers come first, the failure context after them. */
export function deadLetterOf(
  record: IncomingRecord,
  dlqTopic: string,
  failure: FailureContext,
): OutgoingRecord {
  const headers: Record<string, Buffer | string | readonly Buffer[]> = { ...record.headers };
  headers[DlqHeaders.topic] = record.topic;
  headers[DlqHeaders.partition] = String(record.partition);
  headers[DlqHeaders.offset] = record.offset;
  headers[DlqHeaders.group] = failure.group;
  headers[DlqHeaders.code] = failure.error.code;
  headers[DlqHeaders.errorClass] = failure.error.retriable ? 'retriable-exhausted' : 'permanent';
  // Headers are bytes on the wire, but keep them readable in a console and bounded in size.
  headers[DlqHeaders.message] = failure.error.message.slice(0, 2000);
  headers[DlqHeaders.reason] = failure.reason;
  headers[DlqHeaders.attempts] = String(failure.attempts);
  headers[DlqHeaders.firstFailure] = new Date(failure.firstFailureAt).toISOString();
  headers[DlqHeaders.lastFailure] = new Date(failure.lastFailureAt).toISOString();
  return { topic: dlqTopic, key: record.key, value: record.value, headers };
}
