/**
 * The dead-letter record of the processor group (DESIGN.md, Topics): the original key, value and
 * headers unchanged, plus the failure context as `syncline-dlq-*` headers, so that an operator sees
 * why and where, and a redrive can put the exact original back on `syncline-processor.retry`.
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
} as const;

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
