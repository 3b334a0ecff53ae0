/**
 * The audit trail of operator actions (DESIGN.md, Guarantees): every replay, redrive and discard
 * writes one `syncline.ops.AuditEvent` to `ops.audit` (Avro through the registry, keyed by the
 * group acted on) and one log line with the same facts. A refused action (loop limit, live group
 * members) is audited as FAILED with the reason: who tried what matters too. Dry runs and invalid
 * requests change nothing and are not audited.
 *
 * The audit record is written after the action, with its outcome. An action that fails half-way
 * is audited as PARTIAL or FAILED with what it did; if the audit write itself fails, the action
 * has happened and the error says so (the log line is written first, so the fact is never lost).
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { classify, SynclineError } from '../../runtime/errors.ts';
import type {
  AuditAction,
  AuditChannel,
  AuditEvent,
  AuditOutcome,
  OffsetRange,
} from '../../schemas/generated/ops.ts';
import type { OpsContext } from '../ops-context.ts';

/** Who acts, and through what. */
export interface Actor {
  name: string;
  channel: AuditChannel;
}

/** The actor of a CLI run: `--actor`, else the OS user. */
export function cliActor(explicit?: string): Actor {
  const name = explicit?.trim() || osUser();
  return { name, channel: 'CLI' };
}

function osUser(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export interface AuditInput {
  action: AuditAction;
  actor: Actor;
  /** The declared group name (not the prefixed id). */
  group: string;
  topic?: string | null;
  ranges?: OffsetRange[];
  count: number;
  outcome: AuditOutcome;
  reason?: string | null;
  /** Carried by the records the action wrote (header `syncline-ops-correlation-id`). */
  correlationId: string;
  details?: Record<string, string>;
}

/**
 * The outcome of an action that moves records and stops at its first failure: done without one,
 * partly done when some records went before it, failed when none did.
 */
export function outcomeAfter(failure: unknown, done: number): AuditOutcome {
  if (!failure) return 'SUCCEEDED';
  return done > 0 ? 'PARTIAL' : 'FAILED';
}

/** Writes the audit record and its log line; returns the record written. */
export async function audit(context: OpsContext, input: AuditInput): Promise<AuditEvent> {
  const event: AuditEvent = {
    auditId: randomUUID(),
    action: input.action,
    actor: input.actor.name,
    channel: input.actor.channel,
    at: Date.now(),
    group: input.group,
    topic: input.topic ?? null,
    ranges: input.ranges ?? [],
    count: input.count,
    outcome: input.outcome,
    reason: input.reason ?? null,
    correlationId: input.correlationId,
    details: input.details ?? {},
  };
  context.logger.info(
    {
      audit: {
        ...event,
        at: new Date(event.at).toISOString(),
        ranges: event.ranges.map(describeRange),
      },
      correlationId: event.correlationId,
    },
    `audit: ${event.action} of ${event.group} by ${event.actor} (${event.channel}): ${event.outcome}, ${event.count} records`,
  );
  try {
    const value = await context.serde.encode(context.auditTopic, event);
    await context.producer.send([{ topic: context.auditTopic, key: input.group, value }]);
  } catch (error) {
    const failure = classify(error, { topic: context.auditTopic, part: 'audit' });
    throw new SynclineError(
      failure.code,
      `${event.action} ${event.outcome === 'SUCCEEDED' ? 'done' : event.outcome.toLowerCase()} (${event.count} records, correlation id ${event.correlationId}), but its audit record could not be written to ${context.auditTopic} (the log has it): ${failure.message}`,
      { retriable: failure.retriable, context: failure.context, cause: failure },
    );
  }
  return event;
}

function describeRange(range: OffsetRange): string {
  const from =
    range.fromOffset ?? (range.fromTimestamp === null ? '?' : new Date(range.fromTimestamp).toISOString());
  return `${range.partition}:${from}..${range.toOffset ?? ''}`;
}

/** A fresh correlation id for one action. */
export function newCorrelationId(): string {
  return randomUUID();
}

/** The header a record written by an ops action carries: the action's correlation id. */
export const OPS_CORRELATION_HEADER = 'syncline-ops-correlation-id';
