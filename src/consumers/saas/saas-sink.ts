/**
 * What the SaaS write-back sinks (CRM, support) do alike around their own read-check-write: records of
 * one call applied one by one, in order, stopping at the first failure and at the time budget (the
 * runner hands the rest over again); each record planned and carried out with its error context, its
 * outcome logged, anything thrown turned into a classified failure.
 */
import { classify, type ErrorContext } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { GROUPS } from '../../topology/topics.ts';
import type { SinkOutcome, SinkRecord } from '../sink.ts';

/** Tuning shared by the SaaS sinks. */
export interface SaasSinkOptions {
  /**
   * How long one `apply` call may go on starting new records (ms); at least one record is always
   * attempted. Well under the runner's bound of one call (60 s by default). Default 20 s.
   */
  applyBudgetMs?: number;
}

export const DEFAULT_APPLY_BUDGET_MS = 20_000;

/** What a sink's plan says of a record: nothing to do (and why), or a change (summed up for the log). */
export type SaasPlan = { kind: 'ignore'; reason: string } | { kind: string; summary: string; reason?: never };

export interface SaasRecordSteps<Plan extends SaasPlan> {
  /** The consumer group and target named in every error's context. */
  groupId: string;
  target: string;
  /** Already a child logger with the target; `message` is the debug line of each record's outcome. */
  logger: Logger;
  message: string;
  plan: (record: SinkRecord) => Plan;
  carryOut: (plan: Plan, context: ErrorContext) => Promise<SinkOutcome>;
}

/** The records in order, one at a time, until a failure or the budget; at least one is attempted. */
export async function applyWithinBudget(
  records: readonly SinkRecord[],
  budgetMs: number,
  applyOne: (record: SinkRecord) => Promise<SinkOutcome>,
): Promise<SinkOutcome[]> {
  const outcomes: SinkOutcome[] = [];
  const started = Date.now();
  for (const record of records) {
    // One HTTP record after the other can outlast the runner's bound of one call: past the budget
    // the rest is left unanswered, and the runner hands it over again.
    if (outcomes.length > 0 && Date.now() - started >= budgetMs) break;
    const outcome = await applyOne(record);
    outcomes.push(outcome);
    if (outcome.status === 'failed') break;
  }
  return outcomes;
}

/** One record planned and carried out; a throw becomes a classified failure with the record's context. */
export async function applySaasRecord<Plan extends SaasPlan>(
  record: SinkRecord,
  steps: SaasRecordSteps<Plan>,
): Promise<SinkOutcome> {
  const context: ErrorContext = {
    topic: record.topic,
    partition: record.position.partition,
    offset: record.position.offset,
    group: steps.groupId,
    target: steps.target,
  };
  try {
    const plan = steps.plan(record);
    const outcome = await steps.carryOut(plan, context);
    steps.logger.debug(
      {
        topic: record.topic,
        correlationId: record.correlationId,
        eventId: record.eventId,
        outcome: outcome.status,
        ...('reason' in plan ? { reason: plan.reason } : { change: plan.summary }),
      },
      steps.message,
    );
    return outcome;
  } catch (error) {
    return { status: 'failed', error: classify(error, context) };
  }
}

/** The topics a consumer group of the topology reads. */
export function readsOf(groupId: string): readonly string[] {
  const group = GROUPS.find((candidate) => candidate.id === groupId);
  if (!group) throw new Error(`no consumer group ${groupId} in the topology`);
  return group.reads;
}
