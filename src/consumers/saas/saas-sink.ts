/**
 * What the SaaS write-back sinks (CRM, support) do alike around their own read-check-write: records of
 * one call applied one by one, in order, stopping at the first failure and at the time budget (the
 * runner hands the rest over again); each record planned and carried out with its error context, its
 * outcome logged, anything thrown turned into a classified failure. A sink says how a plan is
 * carried out at its target, and how the target is probed.
 */
import { classify, type ErrorContext } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { GROUPS } from '../../topology/topics.ts';
import type { Sink, SinkOutcome, SinkRecord } from '../sink.ts';
import { KeyedLock } from './keyed-lock.ts';

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

export interface SaasSinkIdentity {
  /** The target label of metrics, logs and error contexts. */
  target: string;
  /** The consumer group; the sink reads the topics the topology gives it. */
  groupId: string;
  /** The debug line of each record's outcome. */
  logMessage: string;
}

export abstract class SaasSink<Plan extends SaasPlan> implements Sink {
  readonly target: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** A child logger with the target. */
  protected readonly logger: Logger;
  /** One read-check-write at a time per target record (see keyed-lock.ts). */
  protected readonly lock = new KeyedLock();
  readonly #applyBudgetMs: number;
  readonly #logMessage: string;

  protected constructor(identity: SaasSinkIdentity, logger: Logger, options: SaasSinkOptions) {
    this.target = identity.target;
    this.groupId = identity.groupId;
    this.topics = readsOf(identity.groupId);
    this.logger = logger.child({ target: identity.target });
    this.#logMessage = identity.logMessage;
    this.#applyBudgetMs = options.applyBudgetMs ?? DEFAULT_APPLY_BUDGET_MS;
  }

  async apply(records: readonly SinkRecord[]): Promise<SinkOutcome[]> {
    const outcomes: SinkOutcome[] = [];
    const started = Date.now();
    for (const record of records) {
      // One HTTP record after the other can outlast the runner's bound of one call: past the budget
      // the rest is left unanswered, and the runner hands it over again.
      if (outcomes.length > 0 && Date.now() - started >= this.#applyBudgetMs) break;
      const outcome = await this.#applyOne(record);
      outcomes.push(outcome);
      if (outcome.status === 'failed') break;
    }
    return outcomes;
  }

  abstract probe(): Promise<void>;

  close(): Promise<void> {
    // fetch keeps no connection we own; nothing to release.
    return Promise.resolve();
  }

  /** What the record asks of the target; throws for a record it cannot read. */
  protected abstract plan(record: SinkRecord): Plan;

  protected abstract carryOut(plan: Plan, context: ErrorContext): Promise<SinkOutcome>;

  async #applyOne(record: SinkRecord): Promise<SinkOutcome> {
    const context: ErrorContext = {
      topic: record.topic,
      partition: record.position.partition,
      offset: record.position.offset,
      group: this.groupId,
      target: this.target,
    };
    try {
      const plan = this.plan(record);
      const outcome = await this.carryOut(plan, context);
      this.logger.debug(
        {
          topic: record.topic,
          correlationId: record.correlationId,
          eventId: record.eventId,
          outcome: outcome.status,
          ...('reason' in plan ? { reason: plan.reason } : { change: plan.summary }),
        },
        this.#logMessage,
      );
      return outcome;
    } catch (error) {
      return { status: 'failed', error: classify(error, context) };
    }
  }
}

/** The topics a consumer group of the topology reads. */
export function readsOf(groupId: string): readonly string[] {
  const group = GROUPS.find((candidate) => candidate.id === groupId);
  if (!group) throw new Error(`no consumer group ${groupId} in the topology`);
  return group.reads;
}
