/**
 * The processor's Prometheus series. Labels are topics, outcomes, codes and entities, never ids.
 */
import {
  counter,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Histogram,
  type Registry,
} from '../../runtime/metrics.ts';

/** How one input record ended (the `outcome` label of `syncline_processor_records_total`). */
export const RecordOutcomes = {
  IN: 'in',
  OUT: 'out',
  DLQ: 'dlq',
  DUPLICATE: 'duplicate',
  STALE: 'stale',
  /** Left for later: another instance holds the key, or the customer is not known yet. */
  DEFERRED: 'deferred',
} as const;
export type RecordOutcome = (typeof RecordOutcomes)[keyof typeof RecordOutcomes];

export interface PipelineMetrics {
  records: Counter<'topic' | 'outcome'>;
  errors: Counter<'topic' | 'code'>;
  matches: Counter<'outcome'>;
  latency: Histogram<'topic'>;
}

export function createPipelineMetrics(registry: Registry): PipelineMetrics {
  return {
    records: counter(registry, {
      name: 'syncline_processor_records_total',
      help: 'Processor records by topic and outcome: in (consumed), out (produced), dlq, duplicate (suppressed by idempotency key), stale (older source version), deferred.',
      labelNames: ['topic', 'outcome'],
    }),
    errors: counter(registry, {
      name: 'syncline_processor_errors_total',
      help: 'Processor failures by topic and error code (dead-lettered or retried).',
      labelNames: ['topic', 'code'],
    }),
    matches: counter(registry, {
      name: 'syncline_processor_match_outcomes_total',
      help: 'Match-merge outcomes of identity records: auto-merge, review, new, update.',
      labelNames: ['outcome'],
    }),
    latency: histogram(registry, {
      name: 'syncline_processor_record_duration_seconds',
      help: 'Time from taking a record to its output being acknowledged (or its skip), by input topic.',
      labelNames: ['topic'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
  };
}
