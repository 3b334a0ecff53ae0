/**
 * The ERP goes away under load. Promised, and proven here against the real broker, Redis and a
 * private reference ERP whose `down` switch really refuses connections:
 * - ERP down for 60 s while records keep coming: the circuit opens (partitions paused, probing),
 *   not one record goes to the DLQ, and when the ERP is back every record is delivered, each
 *   entity's versions applied in order (none skipped, none stale);
 * - a group that has never committed an offset, whose very first records meet a down ERP, resumes
 *   after the pause (kafkajs #1599: a paused partition without a committed offset may never resume).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDocumentNumber } from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import type { SinkRunner } from '../../../src/consumers/runner/runner.ts';
import { readDlq } from '../../../src/ops/dlq/dlq-log.ts';
import type { Registry } from '../../../src/runtime/metrics.ts';
import { GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { startPrivateErp, type PrivateErp } from '../../support/erp.ts';
import { erpRestSinkOf, salesOrderVersions, sinkTestBed } from '../../support/erp-sink-bed.ts';
import { customerValue, orderValue } from '../../support/erp-sink-records.ts';
import {
  createSinkTopology,
  eventually,
  metricValue,
  type SinkTopology,
} from '../../support/sink-topology.ts';

const { config, logger, kafka, redis, redisPrefix, closeRedis } = sinkTestBed('erp-outage');
const C = TopicNames.canonical;

let erp: PrivateErp;
const topologies: SinkTopology[] = [];
const runners: SinkRunner[] = [];

function orderVersions(
  orderIds: readonly string[],
): Promise<Map<string, { version: number; rowVersion: number }>> {
  return salesOrderVersions(
    erp,
    orderIds.map((id) => externalDocumentNumber('SO', id)),
  );
}

beforeAll(async () => {
  erp = await startPrivateErp();
}, 60_000);

afterAll(async () => {
  for (const runner of runners) await runner.close().catch(() => undefined);
  await erp?.erp.clearFaults().catch(() => undefined);
  for (const topology of topologies) await topology.cleanup();
  await erp?.drop();
  await closeRedis();
}, 120_000);

async function startOn(
  label: string,
): Promise<{ topology: SinkTopology; runner: SinkRunner; metrics: Registry }> {
  const topology = await createSinkTopology(kafka, config, logger, label, [GroupIds.erpRestSink]);
  topologies.push(topology);
  const { runner, metrics } = topology.runner(erpRestSinkOf(erp), redis, `${redisPrefix}${label}:`);
  runners.push(runner);
  return { topology, runner, metrics };
}

describe('ERP outage', () => {
  it('ERP down 60 s under load: circuit opens, no record dead-lettered, everything delivered in order afterwards', async () => {
    const { topology, runner, metrics } = await startOn('outage');
    await runner.start();
    const keys = Array.from({ length: 20 }, () => randomUUID());
    await topology.publish(
      C.customer,
      keys.map((key) => customerValue(key, 1)),
    );
    const versions = new Map<string, number>(keys.map((key) => [key, 0]));
    let published = keys.length;
    let stop = false;
    // Steady load: one new version of some order every 50 ms, before, during and after the outage.
    const load = (async () => {
      for (let round = 0; !stop; round += 1) {
        const key = keys[round % keys.length]!;
        const version = versions.get(key)! + 1;
        versions.set(key, version);
        await topology.publish(C.order, [orderValue(key, `ord-${key}`, version)]);
        published += 1;
        await sleep(50);
      }
    })();

    await sleep(5000);
    await erp.erp.setFaults({ down: true });
    await eventually(() => Promise.resolve(runner.isCircuitOpen()), 20_000, 'the circuit opens');
    expect(await metricValue(metrics, 'syncline_sink_circuit_open')).toBe(1);
    await sleep(60_000);
    expect(runner.isCircuitOpen()).toBe(true);
    await erp.erp.clearFaults();
    await sleep(5000);
    stop = true;
    await load;

    const orderIds = keys.map((key) => `ord-${key}`);
    await eventually(
      async () => {
        const held = await orderVersions(orderIds);
        return keys.every(
          (key) => held.get(externalDocumentNumber('SO', `ord-${key}`))?.version === versions.get(key),
        );
      },
      90_000,
      'every order at its last version',
    );
    const held = await orderVersions(orderIds);
    for (const key of keys) {
      // Created at v1 and updated once per later version: every version applied, in order.
      expect(held.get(externalDocumentNumber('SO', `ord-${key}`))).toEqual({
        version: versions.get(key),
        rowVersion: versions.get(key),
      });
    }
    expect(runner.isCircuitOpen()).toBe(false);
    expect(await metricValue(metrics, 'syncline_sink_circuit_open')).toBe(0);
    const dlq = await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix });
    expect(dlq.fold.entries()).toHaveLength(0);
    expect(await metricValue(metrics, 'syncline_sink_retries_total')).toBeGreaterThan(0);
    // Outcomes are counted once the sink call of a run returns and each record is marked done; the
    // ERP shows the last version of every order a moment before the last run's records are counted.
    const settled = async () =>
      (await metricValue(metrics, 'syncline_sink_writes_total', { outcome: 'applied' })) +
      (await metricValue(metrics, 'syncline_sink_writes_total', { outcome: 'duplicate' }));
    await eventually(async () => (await settled()) >= published, 30_000, 'every record counted');
    expect(await settled()).toBe(published);
  }, 240_000);

  it('a new group whose first records meet a down ERP resumes its paused partitions when the ERP is back (kafkajs #1599)', async () => {
    const { topology, runner } = await startOn('fresh');
    await erp.erp.setFaults({ down: true });
    const key = randomUUID();
    await topology.publish(C.customer, [customerValue(key, 1)]);
    await topology.publish(C.order, [orderValue(key, `ord-${key}`, 1)]);
    await runner.start();
    await eventually(() => Promise.resolve(runner.isCircuitOpen()), 20_000, 'the circuit opens');
    await sleep(3000);
    await erp.erp.clearFaults();

    await eventually(
      async () =>
        (await orderVersions([`ord-${key}`])).get(externalDocumentNumber('SO', `ord-${key}`))?.version === 1,
      60_000,
      'the order delivered after the pause',
    );
    expect(
      (await readDlq(kafka, GroupIds.erpRestSink, { prefix: topology.prefix })).fold.entries(),
    ).toHaveLength(0);
  }, 120_000);
});
