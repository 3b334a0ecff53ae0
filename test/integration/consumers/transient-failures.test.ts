/**
 * Transient failures of a target that is up: 5xx answers drawn at random (seeded) and a tight rate
 * limit answering 429 with Retry-After. Promised, and proven here: every record is retried with
 * back-off until it is delivered, in per-key order, and none goes to the DLQ.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDocumentNumber } from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import type { SinkRunner } from '../../../src/consumers/runner/runner.ts';
import { readDlq } from '../../../src/ops/dlq/dlq-log.ts';
import type { Registry } from '../../../src/runtime/metrics.ts';
import { GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { startPrivateErp, type PrivateErp } from '../../support/erp.ts';
import { erpRestSinkOf, sinkTestBed } from '../../support/erp-sink-bed.ts';
import { customerValue, orderValue } from '../../support/erp-sink-records.ts';
import {
  createSinkTopology,
  eventually,
  metricValue,
  type SinkTopology,
} from '../../support/sink-topology.ts';

const { config, logger, kafka, redis, redisPrefix, closeRedis } = sinkTestBed('sink-transient');
const C = TopicNames.canonical;
let erp: PrivateErp;
let topology: SinkTopology;
let runner: SinkRunner;
let metrics: Registry;

beforeAll(async () => {
  erp = await startPrivateErp();
  topology = await createSinkTopology(kafka, config, logger, 'sink-transient', [GroupIds.erpRestSink]);
  ({ runner, metrics } = topology.runner(erpRestSinkOf(erp), redis, redisPrefix));
  await runner.start();
}, 60_000);

afterAll(async () => {
  await runner?.close();
  await erp?.erp.clearFaults().catch(() => undefined);
  await topology?.cleanup();
  await erp?.drop();
  await closeRedis();
}, 60_000);

describe('transient failures', () => {
  it('retries 5xx and 429 (after Retry-After) until delivered, in order, with nothing in the DLQ', async () => {
    // A quarter of all requests fail with 500 (seeded), and at most 10 requests per second pass.
    await erp.erp.setFaults({
      errorRate: 0.25,
      seed: 7,
      errorStatus: 500,
      rateLimit: { limit: 10, windowMs: 1000 },
    });
    const keys = Array.from({ length: 6 }, () => randomUUID());
    await topology.publish(
      C.customer,
      keys.map((key) => customerValue(key, 1)),
    );
    await topology.publish(
      C.order,
      keys.flatMap((key) => [1, 2, 3].map((version) => orderValue(key, `ord-${key}`, version))),
    );

    await eventually(
      async () => {
        const result = await erp.erp.pool.query<{ n: string }>(
          'SELECT count(*) AS n FROM sales_orders WHERE external_document_number = ANY($1) AND external_version = 3',
          [keys.map((key) => externalDocumentNumber('SO', `ord-${key}`))],
        );
        return Number(result.rows[0]!.n) === keys.length;
      },
      120_000,
      'every order at version 3',
    );
    const rows = await erp.erp.pool.query<{ row_version: string }>(
      'SELECT row_version FROM sales_orders WHERE external_document_number = ANY($1)',
      [keys.map((key) => externalDocumentNumber('SO', `ord-${key}`))],
    );
    // v1 created, v2 and v3 applied over it in order: three row versions each, none skipped.
    expect(rows.rows.map((row) => Number(row.row_version))).toEqual(keys.map(() => 3));
    expect(
      await metricValue(metrics, 'syncline_sink_retries_total', { code: 'TARGET_UNAVAILABLE' }),
    ).toBeGreaterThan(0);
    expect(
      await metricValue(metrics, 'syncline_sink_retries_total', { code: 'TARGET_RATE_LIMITED' }),
    ).toBeGreaterThan(0);
    expect(
      (await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix })).fold.entries(),
    ).toHaveLength(0);
  }, 180_000);
});
