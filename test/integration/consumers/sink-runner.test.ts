/**
 * The sink runner against the real broker, registry, Redis, PostgreSQL and a private reference ERP,
 * with the ERP REST sink and the ERP SQL sink side by side on one private topology.
 *
 * Promised, and proven here:
 * - every record reaches the ERP once and in per-key order (each order's versions applied one after
 *   the other), nothing goes to the DLQ;
 * - a poison record (the ERP refuses an order of a blocked customer, 422) goes to `<group>.dlq` at
 *   once with the original key, value and failure context; later records of that key are parked
 *   in the DLQ in order, other keys keep flowing; after the cause is fixed at the ERP, an ops
 *   redrive brings the key's records back and the ERP ends with the right final state, reached in
 *   order; records of the key that come later are applied again;
 * - a replay of the window after Redis was flushed adds no row anywhere: the ERP's own keys
 *   (externalVersion + Idempotency-Key) and the interface tables' unique idempotency key hold.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDocumentNumber } from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import { ErpSqlSink } from '../../../src/consumers/erp-sql/erp-sql-sink.ts';
import type { SinkRunner } from '../../../src/consumers/runner/runner.ts';
import { redriveDlq } from '../../../src/ops/dlq/dlq-ops.ts';
import { readDlq } from '../../../src/ops/dlq/dlq-log.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from '../../../src/ops/ops-context.ts';
import { replay } from '../../../src/ops/replay/replay.ts';
import { DlqHeaders, PARKED_REASON } from '../../../src/processors/pipeline/dead-letter.ts';
import { headerText } from '../../../src/runtime/bus/types.ts';
import type { Registry } from '../../../src/runtime/metrics.ts';
import { GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { startPrivateErp, type PrivateErp } from '../../support/erp.ts';
import { erpRestSinkOf, sinkTestBed } from '../../support/erp-sink-bed.ts';
import { customerValue, invoiceValue, orderValue } from '../../support/erp-sink-records.ts';
import {
  createSinkTopology,
  eventually,
  metricValue,
  type SinkTopology,
} from '../../support/sink-topology.ts';

const { config, logger, kafka, redis, redisPrefix, closeRedis } = sinkTestBed('sink-runner', 'warn');
const sqlSchema = `erp_sql_r_${randomBytes(4).toString('hex')}`;
const C = TopicNames.canonical;
const actor = { name: 'sink-runner-test', channel: 'CLI' as const };

let erp: PrivateErp;
let topology: SinkTopology;
let ops: OpsContext;
let sqlPool: pg.Pool;
const running: SinkRunner[] = [];
let restMetrics: Registry;
let sqlMetrics: Registry;

async function startRunners(): Promise<void> {
  const rest = topology.runner(erpRestSinkOf(erp, 5000), redis, `${redisPrefix}rest:`, {
    retry: { maxAttempts: 4, baseDelayMs: 100 },
  });
  const sql = topology.runner(
    new ErpSqlSink({ pool: sqlPool, schema: sqlSchema }),
    redis,
    `${redisPrefix}sql:`,
  );
  restMetrics = rest.metrics;
  sqlMetrics = sql.metrics;
  await Promise.all([rest.runner.start(), sql.runner.start()]);
  running.push(rest.runner, sql.runner);
}

async function stopRunners(): Promise<void> {
  for (const runner of running.splice(0)) await runner.close();
}

async function erpOrder(orderId: string): Promise<{ version: number; rowVersion: number } | undefined> {
  const result = await erp.erp.pool.query<{ external_version: string; row_version: string }>(
    'SELECT external_version, row_version FROM sales_orders WHERE external_document_number = $1',
    [externalDocumentNumber('SO', orderId)],
  );
  const row = result.rows[0];
  return row ? { version: Number(row.external_version), rowVersion: Number(row.row_version) } : undefined;
}

async function erpTotals(): Promise<Record<string, number>> {
  const result = await erp.erp.pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT coalesce(sum(row_version), 0) FROM customers) AS customer_versions,
            (SELECT count(*) FROM sales_orders) AS orders, (SELECT coalesce(sum(row_version), 0) FROM sales_orders) AS order_versions,
            (SELECT count(*) FROM sales_invoices) AS invoices, (SELECT coalesce(sum(row_version), 0) FROM sales_invoices) AS invoice_versions,
            (SELECT count(*) FROM idempotency_keys) AS keys`,
  );
  return Object.fromEntries(Object.entries(result.rows[0]!).map(([name, value]) => [name, Number(value)]));
}

async function stagedRows(): Promise<number> {
  const result = await sqlPool.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM ${sqlSchema}.customer_interface) + (SELECT count(*) FROM ${sqlSchema}.order_interface)
          + (SELECT count(*) FROM ${sqlSchema}.invoice_interface) AS n`,
  );
  return Number(result.rows[0]!.n);
}

beforeAll(async () => {
  erp = await startPrivateErp();
  topology = await createSinkTopology(kafka, config, logger, 'sink-runner', [
    GroupIds.erpRestSink,
    GroupIds.erpSqlSink,
  ]);
  ops = createOpsContext(config, logger, { prefix: topology.prefix, kafka });
  sqlPool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  await new ErpSqlSink({ pool: sqlPool, schema: sqlSchema }).migrate();
  await startRunners();
}, 120_000);

afterAll(async () => {
  await stopRunners();
  await closeOpsContext(ops).catch(() => undefined);
  await topology?.cleanup();
  await sqlPool?.query(`DROP SCHEMA IF EXISTS ${sqlSchema} CASCADE`).catch(() => undefined);
  await sqlPool?.end();
  await erp?.drop();
  await closeRedis();
}, 120_000);

const windowStart = Date.now() - 1000;
const keys = Array.from({ length: 12 }, () => randomUUID());
let published = 0;

describe('sink runner', () => {
  it('delivers every record once and in per-key order; nothing goes to the DLQ', async () => {
    await topology.publish(
      C.customer,
      keys.map((key) => customerValue(key, 1)),
    );
    await topology.publish(
      C.order,
      keys.flatMap((key) => [1, 2, 3].map((version) => orderValue(key, `ord-${key}`, version))),
    );
    await topology.publish(
      C.invoice,
      keys.map((key) => invoiceValue(key, `inv-${key}`, 1)),
    );
    published += keys.length * 5;

    await eventually(
      async () => {
        for (const key of keys) {
          const order = await erpOrder(`ord-${key}`);
          if (order?.version !== 3) return false;
        }
        return (await erpTotals()).invoices === keys.length;
      },
      60_000,
      'every order at version 3 and every invoice in the ERP',
    );
    for (const key of keys) {
      // Created at v1, then updated to v2 and v3 in order: three row versions, none skipped or stale.
      expect(await erpOrder(`ord-${key}`)).toEqual({ version: 3, rowVersion: 3 });
    }
    await eventually(async () => (await stagedRows()) === keys.length * 5, 30_000, 'every record staged');
    const dlq = await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix });
    expect(dlq.fold.entries()).toHaveLength(0);
    // Outcomes are counted once a run's sink call returns: a moment after the ERP shows its rows.
    await eventually(
      async () =>
        (await metricValue(restMetrics, 'syncline_sink_writes_total', { outcome: 'applied' })) >=
        keys.length * 5,
      10_000,
      'every ERP write counted',
    );
    expect(await metricValue(restMetrics, 'syncline_sink_writes_total', { outcome: 'applied' })).toBe(
      keys.length * 5,
    );
    expect(await metricValue(restMetrics, 'syncline_sink_end_to_end_seconds_count')).toBe(keys.length * 5);
  });

  it('dead-letters a poison record with context, parks its key in order, lets other keys flow, and a redrive after the fix restores the final state in order', async () => {
    const poisoned = randomUUID();
    const healthy = randomUUID();
    // A merged golden customer is blocked in the ERP: the ERP refuses its orders (422).
    await topology.publish(C.customer, [
      customerValue(poisoned, 1, { status: 'MERGED' }),
      customerValue(healthy, 1),
    ]);
    await eventually(
      async () =>
        (await erp.erp.pool.query('SELECT 1 FROM customers WHERE external_id = $1', [poisoned])).rowCount ===
        1,
      30_000,
      'the blocked customer in the ERP',
    );
    await topology.publish(C.order, [
      orderValue(poisoned, `ord-${poisoned}`, 1),
      orderValue(poisoned, `ord-${poisoned}`, 2),
      orderValue(healthy, `ord-${healthy}`, 1),
      orderValue(poisoned, `ord-${poisoned}`, 3),
    ]);
    published += 6;

    await eventually(
      async () => (await erpOrder(`ord-${healthy}`))?.version === 1,
      30_000,
      'the healthy key flows',
    );
    const dlq = await eventually(
      async () => {
        const snapshot = await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix });
        return snapshot.fold.open().length === 3 ? snapshot : false;
      },
      30_000,
      'one failure and two parked entries',
    );
    const [failure, ...parked] = dlq.fold.open();
    expect(failure!.kind).toBe('failure');
    expect(failure!.key).toBe(poisoned);
    expect(failure!.context.originalTopic).toBe(topology.topicOf(C.order));
    expect(failure!.context.errorCode).toBe('TARGET_REJECTED');
    expect(failure!.context.errorClass).toBe('permanent');
    expect(failure!.context.errorMessage).toContain('422');
    expect(failure!.context.group).toBe(GroupIds.erpRestSink);
    const failedAt = `${failure!.context.originalTopic}/${failure!.context.originalPartition}/${failure!.context.originalOffset}`;
    expect(parked.map((entry) => entry.kind)).toEqual(['parked', 'parked']);
    expect(parked.map((entry) => entry.context.reason)).toEqual([PARKED_REASON, PARKED_REASON]);
    expect(parked.map((entry) => entry.context.parkedBehind)).toEqual([failedAt, failedAt]);
    expect(parked.map((entry) => headerText(entry.headers, DlqHeaders.offset))).toEqual(
      [...parked].map((entry) => entry.context.originalOffset).sort((a, b) => Number(a) - Number(b)),
    );
    const values = await Promise.all(
      dlq.fold.open().map(
        async (entry) =>
          (await topology.serde.decode(topology.topicOf(C.order), entry.value)) as {
            envelope: { sourceVersion: number };
          },
      ),
    );
    expect(values.map((value) => value.envelope.sourceVersion)).toEqual([1, 2, 3]);
    expect(await erpOrder(`ord-${poisoned}`)).toBeUndefined();
    await eventually(
      async () => (await metricValue(restMetrics, 'syncline_sink_parked_keys')) === 1,
      10_000,
      'one parked key reported',
    );

    // The cause is fixed at the ERP (the customer unblocked), then the key is redriven.
    await erp.erp.pool.query("UPDATE customers SET blocked = ' ' WHERE external_id = $1", [poisoned]);
    const redriven = await redriveDlq(ops, GroupIds.erpRestSink, { all: true }, { actor });
    expect(redriven.moved).toBe(3);

    await eventually(
      async () => (await erpOrder(`ord-${poisoned}`))?.version === 3,
      30_000,
      'the redriven order at v3',
    );
    expect(await erpOrder(`ord-${poisoned}`)).toEqual({ version: 3, rowVersion: 3 });

    // The key is no longer parked: a later record of it is applied.
    await topology.publish(C.order, [orderValue(poisoned, `ord-${poisoned}`, 4)]);
    published += 1;
    await eventually(
      async () => (await erpOrder(`ord-${poisoned}`))?.version === 4,
      30_000,
      'a later order applied',
    );
    expect(
      (await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix })).fold.open(),
    ).toHaveLength(0);
    await eventually(
      async () => (await metricValue(restMetrics, 'syncline_sink_parked_keys')) === 0,
      10_000,
      'no parked key reported',
    );
  });

  it('a replay of the window after Redis was flushed adds no row at the ERP nor in the interface tables', async () => {
    await eventually(async () => (await stagedRows()) === published, 30_000, 'every record staged');
    const before = await erpTotals();
    const stagedBefore = await stagedRows();
    await stopRunners();
    const stale = await redis.keys(`${redisPrefix}*`);
    expect(stale.length).toBeGreaterThan(0);
    await redis.del(...stale);

    for (const group of [GroupIds.erpRestSink, GroupIds.erpSqlSink]) {
      const result = await replay(ops, { group, from: { kind: 'time', at: windowStart } }, { actor });
      expect(result.reprocess).toBe(published);
    }
    await startRunners();

    const settled = async (registry: Registry) =>
      (await metricValue(registry, 'syncline_sink_writes_total')) >= published;
    await eventually(
      async () => (await settled(restMetrics)) && (await settled(sqlMetrics)),
      60_000,
      'the window reprocessed',
    );
    expect(await metricValue(restMetrics, 'syncline_sink_writes_total', { outcome: 'applied' })).toBe(0);
    expect(await metricValue(sqlMetrics, 'syncline_sink_writes_total', { outcome: 'applied' })).toBe(0);
    expect(await erpTotals()).toEqual(before);
    expect(await stagedRows()).toBe(stagedBefore);
  });
});
