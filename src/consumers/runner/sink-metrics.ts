/**
 * The sink runner's Prometheus series, labelled by target (never by key or id): writes by outcome,
 * retries, DLQ records by reason and open DLQ entries, parked keys, circuit state, sink call
 * latency, and end-to-end latency from the source's `occurredAt` to the target's commit.
 */
import {
  counter,
  gauge,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Gauge,
  type Histogram,
  type Registry,
} from '../../runtime/metrics.ts';

/** The `outcome` label of `syncline_sink_writes_total`. */
export const WriteOutcomes = {
  APPLIED: 'applied',
  DUPLICATE: 'duplicate',
  STALE: 'stale',
  IGNORED: 'ignored',
  DLQ: 'dlq',
  PARKED: 'parked',
} as const;

export interface SinkMetrics {
  writes: Counter<'target' | 'entity' | 'outcome'>;
  retries: Counter<'target' | 'code'>;
  dlq: Counter<'target' | 'reason'>;
  dlqOpen: Gauge<'target'>;
  parkedKeys: Gauge<'target'>;
  circuitOpen: Gauge<'target'>;
  latency: Histogram<'target'>;
  endToEnd: Histogram<'target' | 'entity'>;
}

const END_TO_END_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

export function createSinkMetrics(registry: Registry): SinkMetrics {
  return {
    writes: counter(registry, {
      name: 'syncline_sink_writes_total',
      help: 'Records a sink settled, by target, entity and outcome (applied, duplicate, stale, ignored, dlq, parked).',
      labelNames: ['target', 'entity', 'outcome'],
    }),
    retries: counter(registry, {
      name: 'syncline_sink_retries_total',
      help: 'Transient failures retried with back-off, by target and error code.',
      labelNames: ['target', 'code'],
    }),
    dlq: counter(registry, {
      name: 'syncline_sink_dlq_records_total',
      help: 'Records written to the DLQ by a sink, by target and reason (rate: DLQ inflow).',
      labelNames: ['target', 'reason'],
    }),
    dlqOpen: gauge(registry, {
      name: 'syncline_sink_dlq_open_entries',
      help: 'Open (not redriven or discarded) DLQ entries of the sink group, as its DLQ tail read them (DLQ depth).',
      labelNames: ['target'],
    }),
    parkedKeys: gauge(registry, {
      name: 'syncline_sink_parked_keys',
      help: 'Keys held back behind a dead-lettered record.',
      labelNames: ['target'],
    }),
    circuitOpen: gauge(registry, {
      name: 'syncline_sink_circuit_open',
      help: 'Whether the circuit breaker of the target is open (1: partitions paused, probing) or closed (0).',
      labelNames: ['target'],
    }),
    latency: histogram(registry, {
      name: 'syncline_sink_apply_duration_seconds',
      help: 'Time of one sink call (a batch of records) at the target.',
      labelNames: ['target'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    endToEnd: histogram(registry, {
      name: 'syncline_sink_end_to_end_seconds',
      help: "From the source's occurredAt to the target's commit, per applied record.",
      labelNames: ['target', 'entity'],
      buckets: END_TO_END_BUCKETS,
    }),
  };
}
