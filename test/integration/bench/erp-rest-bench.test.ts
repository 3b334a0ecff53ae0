/**
 * `syncline bench erp-rest` end to end on a small run, against private reference ERPs.
 *
 * Promised, and proven here (counts, not timings): the ERP REST sink sends its calls as `$batch`
 * requests, so it needs a small fraction of a request per record, where one request per call needs
 * two or more (read, then create); every record of both contenders is applied (the benchmark throws
 * otherwise); and the report carries the figures the README and the closing note quote.
 */
import { describe, expect, it } from 'vitest';
import { formatErpRestBench, runErpRestBench } from '../../../src/bench/erp-rest.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';

describe('bench erp-rest', () => {
  it('measures far fewer ERP requests per record with $batch than one request per call', async () => {
    const report = await runErpRestBench({
      databaseUrl: loadConfig().databaseUrl,
      logger: createLogger({ level: 'error' }),
      rows: 120,
      batch: 60,
      rounds: 1,
    });

    expect(report.single.requestsPerRecord).toBeGreaterThanOrEqual(2);
    expect(report.batched.requestsPerRecord).toBeLessThan(0.5);
    expect(report.requestRatio).toBeGreaterThan(4);
    expect(report.batched.recordsPerSecondWithinLimit).toBeGreaterThan(
      report.single.recordsPerSecondWithinLimit,
    );
    expect(formatErpRestBench(report)).toContain('requests per record');
  }, 60_000);
});
