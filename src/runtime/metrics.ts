/**
 * Prometheus metrics. Every process has one {@link Registry}, made by {@link createMetricsRegistry}
 * and served at `/metrics` by the admin server. Node's default metrics keep their usual names
 * (`process_*`, `nodejs_*`) so stock dashboards work; our own are named `syncline_*`.
 *
 * Labels describe where an event flowed (topic, consumer group, source system, target), plus a
 * few small, closed classifications (outcome, error code, ...). Never an id: a label per customer,
 * event or correlation id would create a time series per value and exhaust Prometheus. The helpers
 * below refuse any other label name, so that mistake fails at start-up rather than in production.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from 'prom-client';
import { ErrorCodes, SynclineError } from './errors.ts';

export type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The label names a Syncline metric may carry. The first four say where an event flowed; the rest
 * classify it and must only ever take values from a small fixed set (never free text, never ids).
 */
export const METRIC_LABELS = [
  'topic',
  'group',
  'source',
  'target',
  /** e.g. accepted / rejected / dlq / retried */
  'outcome',
  /** a SynclineError code or a signature rejection class */
  'code',
  'reason',
  /** a readiness check name */
  'check',
  /** an HTTP method and route template (never the raw URL) */
  'method',
  'route',
  /** an HTTP status class or code */
  'status',
  /** the role of the process (producer, processor, consumer) */
  'role',
  /** a canonical entity (customer, contract, ...) */
  'entity',
] as const;
export type MetricLabel = (typeof METRIC_LABELS)[number];

const ALLOWED_LABELS: ReadonlySet<string> = new Set(METRIC_LABELS);
const METRIC_NAME = /^syncline_[a-z][a-z0-9_]*$/;

export interface MetricsRegistryOptions {
  /** Collect Node's default process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels put on every series of this registry, e.g. `{ role: 'consumer' }`. */
  defaultLabels?: Partial<Record<MetricLabel, string>>;
}

/** A fresh registry with Node's default metrics (no prefix) registered on it. */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels) {
    assertLabels(Object.keys(options.defaultLabels), 'default labels');
    registry.setDefaultLabels(options.defaultLabels);
  }
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** What defines a metric of ours: a `syncline_*` name, help text and allowed label names. */
export interface MetricSpec<L extends MetricLabel> {
  name: `syncline_${string}`;
  help: string;
  labelNames?: readonly L[];
}

/**
 * A counter on `registry`. Counters end in `_total`. Asking twice for the same name returns the
 * metric already registered, so modules may declare their metrics where they use them.
 */
export function counter<L extends MetricLabel = never>(registry: Registry, spec: MetricSpec<L>): Counter<L> {
  if (!spec.name.endsWith('_total')) {
    throw invalid(`counter ${spec.name} must end in _total`);
  }
  return getOrCreate(registry, spec, Counter, () => {
    const configuration: CounterConfiguration<L> = {
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [registry],
    };
    return new Counter<L>(configuration);
  });
}

/** A histogram on `registry`; durations in seconds (`_seconds`), sizes in bytes or counts. */
export function histogram<L extends MetricLabel = never>(
  registry: Registry,
  spec: MetricSpec<L> & { buckets?: number[] },
): Histogram<L> {
  return getOrCreate(registry, spec, Histogram, () => {
    const configuration: HistogramConfiguration<L> = {
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [registry],
      ...(spec.buckets ? { buckets: spec.buckets } : {}),
    };
    return new Histogram<L>(configuration);
  });
}

/**
 * A gauge on `registry`. With `collect`, the value is read when Prometheus scrapes (e.g. a queue
 * length), instead of being set as things happen.
 */
export function gauge<L extends MetricLabel = never>(
  registry: Registry,
  spec: MetricSpec<L> & { collect?: (this: Gauge<L>) => void | Promise<void> },
): Gauge<L> {
  return getOrCreate(registry, spec, Gauge, () => {
    const configuration: GaugeConfiguration<L> = {
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [registry],
      ...(spec.collect ? { collect: spec.collect } : {}),
    };
    return new Gauge<L>(configuration);
  });
}

/** Buckets for the duration of a Kafka round trip or a target call, in seconds (1 ms to 30 s). */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Buckets for counts per batch (records per produce request, per fetched batch). */
export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

function getOrCreate<M extends Metric, L extends MetricLabel>(
  registry: Registry,
  spec: MetricSpec<L>,
  kind: abstract new (...args: never[]) => M,
  create: () => M,
): M {
  if (!METRIC_NAME.test(spec.name)) {
    throw invalid(`metric name ${spec.name} must match ${String(METRIC_NAME)}`);
  }
  assertLabels(spec.labelNames ?? [], spec.name);
  const existing = registry.getSingleMetric(spec.name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) {
    throw invalid(`metric ${spec.name} is already registered as another kind of metric`);
  }
  return existing;
}

function assertLabels(labelNames: readonly string[], owner: string): void {
  const refused = labelNames.filter((label) => !ALLOWED_LABELS.has(label));
  if (refused.length > 0) {
    throw invalid(
      `${owner}: label(s) ${refused.join(', ')} not allowed; use ${METRIC_LABELS.join(', ')} (never ids)`,
    );
  }
}

function invalid(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.UNEXPECTED, message, { part: 'metrics' });
}

/** The sum of a metric's values whose labels include `labels` (0 when the metric is absent). */
export async function counterSum(
  registry: Registry,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) =>
      Object.entries(labels).every(([label, wanted]) => String(value.labels[label] ?? '') === wanted),
    )
    .reduce((sum, value) => sum + value.value, 0);
}
