/**
 * Two processor instances in one consumer group on one topology (DESIGN.md, Match-merge:
 * concurrency). Each instance owns one partition of the Stripe customer topic; every company sends
 * one record to each partition in the same produce request, so both instances resolve the same
 * company at the same moment. Each company ends as one golden customer (both source ids cross-
 * referenced to it), and every input is processed exactly once (one canonical event per input).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisMatchStore } from '../../../../src/processors/match-merge/store.ts';
import { sourceKey } from '../../../../src/processors/match-merge/types.ts';
import type { Processor } from '../../../../src/processors/pipeline/processor.ts';
import { CONSUMER_LAG_METRIC } from '../../../../src/runtime/bus/consumer-lag.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { TopicNames } from '../../../../src/topology/topics.ts';
import { stripeCustomerEvent, testMappingWithEmail } from '../../../support/pipeline.ts';
import { createPipelineHarness, type PipelineHarness } from '../../../support/pipeline-harness.ts';

const COMPANIES = 15;
const BRANDS = [
  'Quarz',
  'Nordwind',
  'Bergkristall',
  'Sonnenhof',
  'Rheinblick',
  'Eisvogel',
  'Lindgruen',
  'Falkenstein',
];
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
let harness: PipelineHarness;
const registries = [new Registry(), new Registry()] as const;
const processors: Processor[] = [];

/** The partitions of `topic` an instance reports lag for, i.e. holds. */
async function partitionsHeld(registry: Registry, topic: string): Promise<string[]> {
  const metric = await registry.getSingleMetric(CONSUMER_LAG_METRIC)?.get();
  return (metric?.values ?? [])
    .filter((value) => value.labels.topic === topic)
    .map((value) => String(value.labels.partition))
    .sort();
}

async function consumed(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('syncline_processor_records_total')?.get();
  return (metric?.values ?? [])
    .filter((value) => value.labels.outcome === 'in')
    .reduce((sum, v) => sum + v.value, 0);
}

function company(n: number) {
  const brand = `${BRANDS[n % BRANDS.length]}${n}`;
  return [
    stripeCustomerEvent({
      eventId: `evt_a_${n}`,
      customerId: `cus_A${n}`,
      name: `${brand} Logistik GmbH`,
      email: `billing@${brand.toLowerCase()}.de`,
    }),
    stripeCustomerEvent({
      eventId: `evt_b_${n}`,
      customerId: `cus_B${n}`,
      name: `${brand.toUpperCase()} LOGISTIK`,
      email: `ops@${brand.toLowerCase()}.de`,
    }),
  ] as const;
}

beforeAll(async () => {
  harness = await createPipelineHarness(config, logger, 'two-instances');
  for (const registry of registries) {
    const processor = harness.processor({
      metrics: registry,
      mapping: testMappingWithEmail,
      lagRefreshMs: 500,
    });
    processors.push(processor);
  }
  await Promise.all(processors.map((processor) => processor.start()));
}, 60_000);

afterAll(async () => {
  await harness?.close();
}, 60_000);

describe('two processor instances in one group', () => {
  it('make one golden customer per company arriving at once on both, and process every input once', async () => {
    const topic = harness.topology.topicOf(TopicNames.raw.stripeCustomer);
    // Wait for the group to settle: each instance holds one of the two partitions.
    const deadline = Date.now() + 40_000;
    let held: string[][];
    for (;;) {
      held = await Promise.all(registries.map((registry) => partitionsHeld(registry, topic)));
      if (held[0]!.length === 1 && held[1]!.length === 1 && held[0]![0] !== held[1]![0]) break;
      if (Date.now() > deadline) throw new Error(`group did not settle: ${JSON.stringify(held)}`);
      await sleep(200);
    }

    const pairs = Array.from({ length: COMPANIES }, (_, n) => company(n));
    const inputs = pairs.flat();
    const messages = await Promise.all(
      pairs
        .flatMap(([a, b]) => [
          { event: a, partition: 0 },
          { event: b, partition: 1 },
        ])
        .map(async ({ event, partition }) => ({
          key: event.key,
          partition,
          value: await harness.topology.serde.encode(topic, event.value),
        })),
    );
    await harness.producer.send({ topic, messages }); // one request: both partitions at once

    const records = await harness.until(
      TopicNames.canonical.customer,
      (found) => found.length >= inputs.length,
    );
    // Both instances did part of the work.
    for (const registry of registries) expect(await consumed(registry)).toBeGreaterThan(0);

    // Every input once: one canonical customer event per input, caused by it, with its own id.
    const values = await Promise.all(
      records.map((record) =>
        harness.decode<{ envelope: { eventId: string; causationId: string } }>(
          TopicNames.canonical.customer,
          record,
        ),
      ),
    );
    const causes = values.map((value) => value.envelope.causationId);
    expect(new Set(causes)).toEqual(new Set(inputs.map((input) => input.envelope.eventId)));
    expect(new Set(values.map((value) => value.envelope.eventId)).size).toBe(inputs.length);

    // One golden customer per company: both source ids point at it, and companies stay apart.
    const store = new RedisMatchStore({ redis: harness.redis, prefix: harness.matchPrefix });
    const goldens = new Set<string>();
    for (const [n, [a, b]] of pairs.entries()) {
      const goldenA = await store.xrefOf(sourceKey({ system: 'stripe', id: a.key }));
      const goldenB = await store.xrefOf(sourceKey({ system: 'stripe', id: b.key }));
      expect(goldenA, `company ${n}`).toBeTruthy();
      expect(goldenB, `company ${n}`).toBe(goldenA);
      goldens.add(goldenA!);
    }
    expect(goldens.size).toBe(COMPANIES);
  });
});
