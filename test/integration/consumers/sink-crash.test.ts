/**
 * kill -9 of a sink process in the middle of its work, then a restart: exactly one effect per
 * record at the ERP. Records whose ERP write committed before the kill, but whose claim and offset
 * were not yet marked, come again after the restart; the ERP's own state (externalVersion, and the
 * Idempotency-Key of a write whose answer was lost) answers them as duplicates. Proven by the ERP's
 * rows: one sales order per order id, each with one row version per published version, and one
 * stored idempotency key per record (a record written twice under two keys would show two).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDocumentNumber } from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import { GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { ERP_TOKEN, startPrivateErp, type PrivateErp } from '../../support/erp.ts';
import { salesOrderVersions, sinkTestBed } from '../../support/erp-sink-bed.ts';
import { customerValue, orderValue } from '../../support/erp-sink-records.ts';
import { createSinkTopology, eventually, type SinkTopology } from '../../support/sink-topology.ts';

const { config, logger, kafka, redisPrefix, closeRedis } = sinkTestBed('sink-crash');
const C = TopicNames.canonical;
let erp: PrivateErp;
let topology: SinkTopology;
const children: ChildProcess[] = [];

function startChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['test/support/sink-child.ts'], {
    env: {
      ...process.env,
      SINK_PREFIX: topology.prefix,
      SINK_REDIS_PREFIX: redisPrefix,
      SINK_ERP_API_URL: erp.erp.apiUrl,
      SINK_ERP_TOKEN: ERP_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('running')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`sink child exited with ${code}`)));
  });
}

async function erpCounts(): Promise<{ orders: number; versions: number; keys: number }> {
  const result = await erp.erp.pool.query<{ orders: string; versions: string; keys: string }>(
    `SELECT (SELECT count(*) FROM sales_orders) AS orders, (SELECT coalesce(sum(row_version), 0) FROM sales_orders) AS versions,
            (SELECT count(*) FROM idempotency_keys WHERE path LIKE '%salesOrders%') AS keys`,
  );
  const row = result.rows[0]!;
  return { orders: Number(row.orders), versions: Number(row.versions), keys: Number(row.keys) };
}

beforeAll(async () => {
  // Every request takes a little while, so the kill lands in the middle of the work.
  erp = await startPrivateErp();
  topology = await createSinkTopology(kafka, config, logger, 'sink-crash', [GroupIds.erpRestSink]);
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await topology?.cleanup();
  await erp?.drop();
  await closeRedis();
}, 60_000);

describe('sink crash', () => {
  it('after kill -9 mid-batch and a restart, every record has exactly one effect at the ERP', async () => {
    const keys = Array.from({ length: 10 }, () => randomUUID());
    await topology.publish(
      C.customer,
      keys.map((key) => customerValue(key, 1)),
    );
    // Per key: 8 orders created (v1), 4 of them updated twice (v2, v3).
    const orders = keys.flatMap((key) =>
      Array.from({ length: 8 }, (_, index) => ({
        key,
        id: `ord-${key}-${index}`,
        versions: index < 4 ? 3 : 1,
      })),
    );
    const values = orders.flatMap((order) =>
      Array.from({ length: order.versions }, (_, version) => orderValue(order.key, order.id, version + 1)),
    );
    await topology.publish(C.order, values);
    await erp.erp.setFaults({ latencyMs: 15 });

    const first = await startChild();
    await eventually(
      async () => (await erpCounts()).versions >= values.length / 3,
      60_000,
      'a third of the work done',
    );
    first.kill('SIGKILL');
    const atKill = await erpCounts();
    expect(atKill.versions).toBeLessThan(values.length);
    await sleep(500);

    await startChild();
    await eventually(async () => (await erpCounts()).versions >= values.length, 90_000, 'all work done');
    await sleep(2000); // anything still coming would show now
    const byNumber = await salesOrderVersions(erp);
    expect(byNumber.size).toBe(orders.length);
    for (const order of orders) {
      expect(byNumber.get(externalDocumentNumber('SO', order.id))).toEqual({
        version: order.versions,
        rowVersion: order.versions,
      });
    }
    expect(await erpCounts()).toEqual({
      orders: orders.length,
      versions: values.length,
      keys: values.length,
    });
  }, 180_000);
});
