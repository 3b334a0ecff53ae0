/**
 * An idempotency key claimed by another instance (a live claim with a lease, as after a rebalance
 * while the previous owner is still finishing): this instance neither processes the record a second
 * time nor drops it. It defers the record (its offset stays uncommitted) and processes it once the
 * other's lease ran out, or skips it as a duplicate once the other marked the key done.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../../../src/processors/pipeline/idempotency.ts';
import type { Processor } from '../../../../src/processors/pipeline/processor.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../../../../src/topology/topics.ts';
import { customerEvent } from '../../../support/pipeline.ts';
import { createPipelineHarness, type PipelineHarness } from '../../../support/pipeline-harness.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const metrics = new Registry();
let harness: PipelineHarness;
let processor: Processor;
/** The other instance: the same key space, its own claims. */
let other: IdempotencyStore;

async function outcomes(outcome: string): Promise<number> {
  const metric = await metrics.getSingleMetric('syncline_processor_records_total')?.get();
  return (metric?.values ?? [])
    .filter((value) => value.labels.outcome === outcome)
    .reduce((sum, value) => sum + value.value, 0);
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function committedOffsetOf(partition: number): Promise<string> {
  const admin = harness.kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({
      groupId: `${harness.topology.prefix}${GroupIds.processor}`,
      topics: [harness.topology.topicOf(TopicNames.raw.stripeCustomer)],
    });
    return entry?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
  } finally {
    await admin.disconnect();
  }
}

async function canonicalCausedBy(eventId: string): Promise<number> {
  const records = await harness.read(TopicNames.canonical.customer);
  const values = await Promise.all(
    records.map((record) =>
      harness.decode<{ envelope: { causationId: string } }>(TopicNames.canonical.customer, record),
    ),
  );
  return values.filter((value) => value.envelope.causationId === eventId).length;
}

beforeAll(async () => {
  harness = await createPipelineHarness(config, logger, 'held-key');
  other = new IdempotencyStore({ redis: harness.redis, prefix: harness.redisPrefix, leaseMs: 6000 });
  processor = harness.processor({ metrics });
  await processor.start();
}, 60_000);

afterAll(async () => {
  await harness?.close();
}, 60_000);

describe('a key held by another instance', () => {
  it('is deferred while the lease lives, then processed once', async () => {
    const event = customerEvent(4);
    const claimed = await other.claim(event.envelope.idempotencyKey);
    expect(claimed.status).toBe('claimed');
    const deferredBefore = await outcomes('deferred');
    await harness.publish([event]);

    await until(async () => (await outcomes('deferred')) > deferredBefore, 'the record to be deferred');
    const partition = (await harness.read(TopicNames.raw.stripeCustomer)).find((r) => r.key === event.key)!;
    expect(await canonicalCausedBy(event.envelope.eventId)).toBe(0);
    expect(await committedOffsetOf(partition.partition)).not.toBe(String(BigInt(partition.offset) + 1n));
    // Still the other's while we looked: the absence above was the deferral, not slowness.
    expect(await harness.redis.pttl(other.keyOf(event.envelope.idempotencyKey))).toBeGreaterThan(0);

    await until(
      async () => (await canonicalCausedBy(event.envelope.eventId)) === 1,
      'the output after the lease',
    );
    await until(
      async () => (await committedOffsetOf(partition.partition)) === String(BigInt(partition.offset) + 1n),
      'the offset committed',
    );
    expect(await canonicalCausedBy(event.envelope.eventId)).toBe(1);
    expect(await harness.read(dlqTopicOf(GroupIds.processor))).toHaveLength(0);
  });

  it('is skipped as a duplicate once the other marks it done', async () => {
    const event = customerEvent(5);
    const claimed = await other.claim(event.envelope.idempotencyKey);
    if (claimed.status !== 'claimed') throw new Error('expected to claim');
    const deferredBefore = await outcomes('deferred');
    const duplicatesBefore = await outcomes('duplicate');
    await harness.publish([event]);
    await until(async () => (await outcomes('deferred')) > deferredBefore, 'the record to be deferred');

    await other.markDone(claimed.claim, ['the-other-instances-event-id']);
    await until(async () => (await outcomes('duplicate')) > duplicatesBefore, 'the record to be skipped');
    const record = (await harness.read(TopicNames.raw.stripeCustomer)).find((r) => r.key === event.key)!;
    await until(
      async () => (await committedOffsetOf(record.partition)) === String(BigInt(record.offset) + 1n),
      'the offset committed',
    );
    expect(await canonicalCausedBy(event.envelope.eventId)).toBe(0); // the other instance produced it
    expect(await harness.read(dlqTopicOf(GroupIds.processor))).toHaveLength(0);
  });
});
