/**
 * Readiness runs every registered check at once, each within its timeout; it is ready only when
 * all pass and the process is not draining, and a failing check says why.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createMetricsRegistry } from '../../../src/runtime/metrics.ts';
import { Readiness } from '../../../src/runtime/readiness.ts';

const logger = createLogger({ level: 'silent' });

describe('Readiness', () => {
  it('is ready with no checks and with passing checks', async () => {
    const readiness = new Readiness({ logger });
    expect((await readiness.evaluate()).ready).toBe(true);
    readiness.add({ name: 'kafka', check: () => Promise.resolve() });
    expect(await readiness.evaluate()).toMatchObject({
      ready: true,
      checks: [{ name: 'kafka', state: 'up' }],
    });
  });

  it('reports each failing check with its reason, and a check over its timeout as timed out', async () => {
    const readiness = new Readiness({ logger, defaultTimeoutMs: 50 });
    readiness.add({ name: 'kafka', check: () => Promise.resolve() });
    readiness.add({
      name: 'redis',
      check: () =>
        Promise.reject(SynclineError.retriable(ErrorCodes.REDIS_UNAVAILABLE, 'Redis not reachable')),
    });
    readiness.add({ name: 'registry', check: () => new Promise(() => undefined) });
    readiness.add({
      name: 'sync-throw',
      check: () => {
        throw new Error('thrown before any promise');
      },
    });
    const report = await readiness.evaluate();
    expect(report.ready).toBe(false);
    expect(report.checks).toMatchObject([
      { name: 'kafka', state: 'up' },
      { name: 'redis', state: 'down', reason: 'Redis not reachable' },
      { name: 'registry', state: 'timeout', reason: 'no answer within 50ms' },
      { name: 'sync-throw', state: 'down', reason: 'thrown before any promise' },
    ]);
  });

  it('is not ready once draining, even with every check passing', async () => {
    const readiness = new Readiness({ logger });
    readiness.add({ name: 'kafka', check: () => Promise.resolve() });
    readiness.drain('received SIGTERM');
    expect(await readiness.evaluate()).toMatchObject({ ready: false, draining: 'received SIGTERM' });
  });

  it('refuses two checks of the same name, and forgets a removed one', async () => {
    const readiness = new Readiness({ logger });
    const remove = readiness.add({ name: 'redis', check: () => Promise.reject(new Error('down')) });
    expect(() => readiness.add({ name: 'redis', check: () => Promise.resolve() })).toThrow(/twice/);
    remove();
    expect((await readiness.evaluate()).ready).toBe(true);
  });

  it('exports each check as syncline_readiness_check_up', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const readiness = new Readiness({ logger, metrics });
    readiness.add({ name: 'kafka', check: () => Promise.resolve() });
    readiness.add({ name: 'redis', check: () => Promise.reject(new Error('down')) });
    await readiness.evaluate();
    const text = await metrics.metrics();
    expect(text).toContain('syncline_readiness_check_up{check="kafka"} 1');
    expect(text).toContain('syncline_readiness_check_up{check="redis"} 0');
  });
});
