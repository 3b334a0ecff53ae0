/**
 * Metrics are named `syncline_*` and carry only the allowed labels (where an event flowed and a few
 * closed classifications), never ids; Node's default metrics come with every registry.
 */
import { describe, expect, it } from 'vitest';
import { counter, createMetricsRegistry, gauge, histogram } from '../../../src/runtime/metrics.ts';

describe('metrics', () => {
  it('registers Node default metrics without a prefix', async () => {
    const text = await createMetricsRegistry().metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('can leave the default metrics out', async () => {
    const text = await createMetricsRegistry({ defaultMetrics: false }).metrics();
    expect(text).not.toContain('process_cpu_user_seconds_total');
  });

  it('refuses a label that is not on the allowed list, such as an id', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    expect(() =>
      counter(registry, {
        name: 'syncline_events_total',
        help: 'x',
        labelNames: ['topic', 'customerId'] as never[],
      }),
    ).toThrow(/customerId not allowed/);
  });

  it('refuses names outside syncline_* and counters not ending in _total', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    expect(() => counter(registry, { name: 'events_total' as `syncline_${string}`, help: 'x' })).toThrow(
      /must match/,
    );
    expect(() => counter(registry, { name: 'syncline_events', help: 'x' })).toThrow(/_total/);
    expect(() => histogram(registry, { name: 'syncline_Bad-Name', help: 'x' })).toThrow(/must match/);
  });

  it('returns the metric already registered under a name, so modules can declare where they use it', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const first = counter(registry, { name: 'syncline_events_total', help: 'x', labelNames: ['topic'] });
    const second = counter(registry, { name: 'syncline_events_total', help: 'x', labelNames: ['topic'] });
    expect(second).toBe(first);
    expect(() => gauge(registry, { name: 'syncline_events_total', help: 'x' })).toThrow(/another kind/);
  });

  it('exposes what was counted with its labels', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false, defaultLabels: { role: 'consumer' } });
    counter(registry, { name: 'syncline_events_total', help: 'x', labelNames: ['topic', 'group'] }).inc(
      { topic: 'canonical.order', group: 'erp-sink' },
      3,
    );
    expect(await registry.metrics()).toContain(
      'syncline_events_total{topic="canonical.order",group="erp-sink",role="consumer"} 3',
    );
  });
});
