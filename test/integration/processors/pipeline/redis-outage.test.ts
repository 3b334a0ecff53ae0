/**
 * Redis unreachable (DESIGN.md, Guarantees): the processor fails closed. Its Redis client talks to
 * the shared Redis through a TCP proxy that the test cuts, so only this processor loses Redis.
 * While cut: the processor reports not ready, commits no offset and produces nothing, skipping no
 * record. Restored: it resumes by itself, and every input appears exactly once by event id in the
 * canonical output.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Processor } from '../../../../src/processors/pipeline/processor.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { closeRedis, createRedis } from '../../../../src/runtime/redis.ts';
import { GroupIds, TopicNames } from '../../../../src/topology/topics.ts';
import { customerEvent, subscriptionEvent } from '../../../support/pipeline.ts';
import { createPipelineHarness, type PipelineHarness } from '../../../support/pipeline-harness.ts';
import { startTcpProxy, type TcpProxy } from '../../../support/pipeline-redis-proxy.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
let harness: PipelineHarness;
let proxy: TcpProxy;
let proxied: Redis;
let processor: Processor;
const metrics = new Registry();

async function committed(topic: string): Promise<string[]> {
  const admin = harness.kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({
      groupId: `${harness.topology.prefix}${GroupIds.processor}`,
      topics: [harness.topology.topicOf(topic)],
    });
    return (entry?.partitions ?? []).map((partition) => `${partition.partition}:${partition.offset}`).sort();
  } finally {
    await admin.disconnect();
  }
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 40_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  harness = await createPipelineHarness(config, logger, 'redis-outage');
  const target = new URL(config.redisUrl);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  target.host = `127.0.0.1:${proxy.port}`;
  // The client the process role uses: commands fail fast while Redis is away, reconnects forever.
  proxied = createRedis({ ...config, redisUrl: target.toString() }, logger, { commandTimeoutMs: 2000 });
  processor = harness.processor({ redis: proxied, metrics, leaseMs: 5000 });
  await processor.start();
}, 60_000);

afterAll(async () => {
  proxy?.restore();
  await harness?.close();
  await closeRedis(proxied);
  await proxy?.close();
}, 60_000);

describe('processor without Redis', () => {
  it('pauses (not ready, nothing committed, nothing skipped) and resumes by itself; every input once', async () => {
    await harness.publish([customerEvent(1), customerEvent(2)]);
    await harness.until(TopicNames.canonical.customer, (records) => records.length >= 2);
    expect(processor.isReady()).toBe(true);
    expect(await committed(TopicNames.raw.stripeSubscription)).toEqual(['0:-1', '1:-1']);

    proxy.cut();
    const inputs = [1, 2].flatMap((customer) =>
      Array.from({ length: 30 }, (_, index) => subscriptionEvent(customer, index + 1, 1)),
    );
    await harness.publish(inputs);
    await until(() => !processor.isReady(), 'the processor to report not ready');

    // Held while Redis is away: a few seconds of fetch/back-off cycles change nothing.
    await sleep(3000);
    expect(processor.isReady()).toBe(false);
    expect(await committed(TopicNames.raw.stripeSubscription)).toEqual(['0:-1', '1:-1']);
    expect(await harness.read(TopicNames.canonical.contract)).toHaveLength(0);

    proxy.restore();
    await until(() => processor.isReady(), 'the processor to resume');
    const contracts = await harness.until(
      TopicNames.canonical.contract,
      (records) => records.length >= inputs.length,
    );
    const values = await Promise.all(
      contracts.map((record) =>
        harness.decode<{ contractId: string; envelope: { eventId: string } }>(
          TopicNames.canonical.contract,
          record,
        ),
      ),
    );
    const ids = values.map((value) => value.envelope.eventId);
    expect(new Set(ids).size).toBe(inputs.length);
    expect(new Set(values.map((value) => value.contractId))).toEqual(
      new Set(inputs.map((input) => input.key)),
    );
    // Any Kafka-level copy carries an id already seen: one event id per input.
    const idsPerContract = new Map<string, Set<string>>();
    for (const value of values)
      idsPerContract.set(
        value.contractId,
        (idsPerContract.get(value.contractId) ?? new Set()).add(value.envelope.eventId),
      );
    for (const set of idsPerContract.values()) expect(set.size).toBe(1);
    // Everything processed was committed, past every input.
    await until(
      async () =>
        (await committed(TopicNames.raw.stripeSubscription)).every((entry) => !entry.endsWith(':-1')),
      'offsets committed after the outage',
    );
    const errors = await metrics.getSingleMetric('syncline_processor_errors_total')?.get();
    expect(errors?.values.some((value) => value.labels.code === 'REDIS_UNAVAILABLE' && value.value > 0)).toBe(
      true,
    );
  });
});
