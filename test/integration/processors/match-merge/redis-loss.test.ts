/**
 * Redis flushed mid-run, then `mdm rebuild`: same golden ids, no duplicates downstream. The real
 * pipeline (createProcessor with the real mappers and match engine) processes simulator traffic on
 * a private topology. While it works, every Redis key of the test's prefixes is deleted (the
 * pipeline's idempotency and source-order keys and the whole match state). The running engine
 * notices at its next commit (the state's epoch is gone) and refuses to write, so the processor
 * holds its records instead of founding new golden records for companies it knew. The processor is
 * stopped, the state is rebuilt from the mdm topics with the function `syncline mdm rebuild` calls,
 * and a new processor takes over. Promised, and checked:
 * - every source record linked before the loss is linked to the same golden id after it;
 * - later records of known companies join their old golden ids (updates of known records always,
 *   new records of known companies as matching decides: the share is printed);
 * - the canonical topics hold one event id per input and topic. Kafka may hold the same event id
 *   twice (a record produced again after the restart): downstream consumers deduplicate by event
 *   id, so that is not a duplicate; two different ids for one input would be.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMapper } from '../../../../src/processors/canonical-mapping/index.ts';
import { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { rebuildFromTopics } from '../../../../src/processors/match-merge/rebuild-from-topics.ts';
import { RedisMatchStore } from '../../../../src/processors/match-merge/store.ts';
import { createProcessor, type Processor } from '../../../../src/processors/pipeline/processor.ts';
import { canonicalMapping } from '../../../../src/processors/process-service.ts';
import { generatePopulation } from '../../../../src/producers/simulator/population.ts';
import type { RawEvent } from '../../../../src/producers/source.ts';
import { createKafkajsBus } from '../../../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createKafka } from '../../../../src/runtime/kafka.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../../../../src/topology/topics.ts';
import { createPipelineTopology, type PipelineTopology } from '../../../support/pipeline.ts';
import { readTopic } from '../../../support/raw-topics.ts';
import { simulatedRecords } from '../../../unit/processors/canonical-mapping/raw-records.ts';

const COMPANIES = 40;
const SEED = 'redis-loss-1';

const config = loadConfig();
const logger = createLogger({ level: 'error' });
const kafka = createKafka(config, logger, 'it-mdm-redis-loss');
const redisPrefix = `test:mdm-loss:${randomBytes(4).toString('hex')}:`;
const matchPrefix = `${redisPrefix}mdm:`;
const redis = new Redis(config.redisUrl);
const store = new RedisMatchStore({ redis, prefix: matchPrefix });
let topology: PipelineTopology;
let producer: Producer;
let admin: Admin;
const running: Processor[] = [];

interface Traffic {
  record: RawEvent;
  /** `<system>:<id>` of the customer the record is about, when it maps to one. */
  ref: string | null;
  /** True for a customer record (an identity for match-merge). */
  identity: boolean;
}

/**
 * The simulator's raw records in two waves. Wave 1: everything of the CRM and the ERP, and the
 * first record of every billing customer and support organisation of odd companies. Wave 2: the
 * later records of those (updates of known source records) and every billing and support record
 * of even companies (new source records of companies known through the CRM or the ERP).
 */
function waves(): { first: Traffic[]; second: Traffic[]; companyOf: Map<string, string> } {
  const population = generatePopulation({ companies: COMPANIES, seed: SEED });
  const companyOf = new Map<string, string>();
  for (const line of population.truth)
    for (const source of line.sources) companyOf.set(`${source.system}:${source.id}`, line.companyId);
  const first: Traffic[] = [];
  const second: Traffic[] = [];
  const seen = new Set<string>();
  for (const [topic, records] of simulatedRecords(COMPANIES, SEED)) {
    const mapper = findMapper(topic);
    for (const record of records) {
      const mapped = mapper?.(record.value);
      const customer = mapped?.identity ?? mapped?.drafts[0]?.customer ?? null;
      const ref = customer ? `${customer.system}:${customer.id}` : null;
      const traffic: Traffic = { record, ref, identity: mapped?.identity !== undefined };
      const company = ref ? companyOf.get(ref) : undefined;
      const later = topic.startsWith('raw.stripe.') || topic.startsWith('raw.zendesk.');
      if (!later || !ref || !company) {
        first.push(traffic);
        continue;
      }
      const odd = Number(company.replace(/\D/g, '')) % 2 === 1;
      const firstOfRef = traffic.identity && !seen.has(ref);
      if (traffic.identity) seen.add(ref);
      if (odd && (firstOfRef || (!traffic.identity && seen.has(ref)))) first.push(traffic);
      else second.push(traffic);
    }
  }
  return { first, second, companyOf };
}

async function publish(traffic: readonly Traffic[]): Promise<void> {
  const byTopic = new Map<string, { key: string; value: Buffer }[]>();
  for (const { record } of traffic) {
    const topic = topology.topicOf(record.topic);
    const messages = byTopic.get(topic) ?? [];
    messages.push({ key: record.key, value: await topology.serde.encode(topic, record.value) });
    byTopic.set(topic, messages);
  }
  for (const [topic, messages] of byTopic) await producer.send({ topic, messages });
}

async function startProcessor(): Promise<Processor> {
  const processor = createProcessor({
    bus: createKafkajsBus(config, logger),
    redis,
    serde: topology.serde,
    // A new engine, as a restarted process has.
    engine: new MatchEngine({ store: new RedisMatchStore({ redis, prefix: matchPrefix }) }),
    mapping: canonicalMapping,
    logger,
    topicPrefix: topology.prefix,
    redisPrefix,
    unknownCustomerWindowMs: 20_000,
  });
  await processor.start();
  running.push(processor);
  return processor;
}

/** Waits until the processor group has committed every raw record published so far. */
async function untilProcessed(timeoutMs = 120_000): Promise<void> {
  const topics = Object.values(TopicNames.raw).map((topic) => topology.topicOf(topic));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = await admin.fetchOffsets({
      groupId: `${topology.prefix}${GroupIds.processor}`,
      topics,
    });
    let behind = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const positions = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const at = positions.find((position) => position.partition === end.partition)?.offset ?? '-1';
        const position = BigInt(at) < 0n ? BigInt(end.low) : BigInt(at);
        behind += Number(BigInt(end.high) - position);
      }
    }
    if (behind === 0) return;
    if (Date.now() > deadline) throw new Error(`the processor is still ${behind} records behind`);
    await sleep(500);
  }
}

/**
 * Deletes every key under the test's Redis prefixes at once, as a Redis restart without persistence
 * would. All keys go in one DEL: deleting them scan page by scan page let the running engine write
 * into the cross-reference after it was deleted but before the epoch was, which a real loss never
 * allows. Keys written between the scan and the DEL go in the next pass.
 */
async function flushRedis(): Promise<number> {
  let deleted = 0;
  for (let pass = 0; pass < 5; pass += 1) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...page);
    } while (cursor !== '0');
    if (keys.length === 0) break;
    deleted += await redis.del(...keys);
  }
  return deleted;
}

/** The golden id a link points at now, following merges (a golden record may be merged later). */
async function survivorOf(goldenId: string): Promise<string> {
  let current = goldenId;
  for (let hop = 0; hop < 20; hop += 1) {
    const read = await store.golden(current);
    if (!read || read.state.status !== 'MERGED' || !read.state.mergedInto) return current;
    current = read.state.mergedInto;
  }
  return current;
}

beforeAll(async () => {
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'mdm-loss');
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  admin = kafka.admin();
  await admin.connect();
}, 60_000);

afterAll(async () => {
  for (const processor of running) await processor.close().catch(() => undefined);
  await producer?.disconnect();
  await admin?.disconnect();
  await topology?.cleanup();
  await flushRedis();
  redis.disconnect();
}, 60_000);

describe('Redis lost mid-run, then mdm rebuild', () => {
  it('keeps every golden id, joins later records to them, and emits one event id per input', async () => {
    const { first, second, companyOf } = waves();
    const firstRefs = new Set(first.filter((t) => t.identity).map((t) => t.ref!));
    expect(firstRefs.size).toBeGreaterThan(COMPANIES);
    expect(second.filter((t) => t.identity).length).toBeGreaterThan(10);

    // Wave 1 flows; Redis loses everything while the processor is at work.
    const processor = await startProcessor();
    await publish(first);
    const deadline = Date.now() + 60_000;
    while ((await redis.hlen(store.xrefKey)) < firstRefs.size * 0.4 && Date.now() < deadline) await sleep(20);
    const linkedBefore = await store.xrefs();
    expect(linkedBefore.size).toBeGreaterThan(0);
    expect(linkedBefore.size).toBeLessThan(firstRefs.size); // the flush comes mid-run
    expect(await flushRedis()).toBeGreaterThan(0);

    // The running engine refuses to write into the emptied state: nothing is founded anew.
    await sleep(2000);
    expect(await redis.hlen(store.xrefKey)).toBe(0);
    await processor.close();

    // mdm rebuild, with the processor stopped.
    const report = await rebuildFromTopics({
      kafka,
      serde: topology.serde,
      engine: new MatchEngine({ store }),
      topicPrefix: topology.prefix,
    });
    expect(report.restoredFromAttributes).toBe(0);
    const rebuilt = await store.xrefs();
    for (const [ref, goldenId] of linkedBefore) {
      expect(rebuilt.has(ref), ref).toBe(true);
      expect(await survivorOf(goldenId), ref).toBe(await survivorOf(rebuilt.get(ref)!));
    }

    // A new processor finishes wave 1 on the rebuilt state.
    await startProcessor();
    await untilProcessed();
    const afterFirst = await store.xrefs();
    for (const [ref, goldenId] of linkedBefore) {
      expect(await survivorOf(afterFirst.get(ref)!), ref).toBe(await survivorOf(goldenId));
    }
    for (const ref of firstRefs) expect(afterFirst.has(ref), ref).toBe(true);
    const goldensOfCompany = new Map<string, Set<string>>();
    for (const [ref, goldenId] of afterFirst) {
      const company = companyOf.get(ref)!;
      const set = goldensOfCompany.get(company) ?? new Set<string>();
      set.add(await survivorOf(goldenId));
      goldensOfCompany.set(company, set);
    }

    // Wave 2: later records of known companies.
    await publish(second);
    await untilProcessed();
    const afterSecond = await store.xrefs();
    let updates = 0;
    let newRecords = 0;
    let joined = 0;
    for (const ref of new Set(second.filter((t) => t.identity).map((t) => t.ref!))) {
      const now = await survivorOf(afterSecond.get(ref)!);
      if (afterFirst.has(ref)) {
        updates += 1;
        expect(now, `update of ${ref}`).toBe(await survivorOf(afterFirst.get(ref)!));
        continue;
      }
      const company = companyOf.get(ref)!;
      if (!goldensOfCompany.has(company)) continue;
      newRecords += 1;
      if (goldensOfCompany.get(company)!.has(now)) joined += 1;
    }
    process.stdout.write(
      `[redis loss] ${linkedBefore.size} links before the flush kept; wave 2: ${updates} updates of known records kept their golden ids, ` +
        `${joined}/${newRecords} new records of known companies joined their golden records\n`,
    );
    expect(updates).toBeGreaterThan(0);
    expect(newRecords).toBeGreaterThan(0);
    // Matching decides for new records (20-22 of 27 join with this seed, depending on the order the
    // partitions are processed in); without the epoch guard, 10 of 21 joined when last measured.
    expect(joined / newRecords).toBeGreaterThanOrEqual(0.65);

    // Downstream: one event id per input and canonical topic, across the loss and the restart.
    let records = 0;
    const ids = new Set<string>();
    const idsOfInput = new Map<string, Set<string>>();
    for (const contract of Object.values(TopicNames.canonical)) {
      const topic = topology.topicOf(contract);
      for (const record of await readTopic(kafka, topic)) {
        const value = (await topology.serde.decode(topic, record.value)) as {
          envelope: { eventId: string; causationId: string | null };
        };
        records += 1;
        ids.add(value.envelope.eventId);
        const input = `${contract}|${value.envelope.causationId}`;
        const set = idsOfInput.get(input) ?? new Set<string>();
        set.add(value.envelope.eventId);
        idsOfInput.set(input, set);
      }
    }
    const split = [...idsOfInput].filter(([, set]) => set.size > 1);
    process.stdout.write(
      `[redis loss] canonical topics: ${records} records, ${ids.size} distinct event ids, ${idsOfInput.size} (input, topic) pairs, ` +
        `${records - ids.size} repeated ids (same id again: deduplicated downstream)\n`,
    );
    expect(split).toEqual([]);
    expect(ids.size).toBe(idsOfInput.size);
    expect(ids.size).toBeGreaterThan(COMPANIES);
    expect(await readTopic(kafka, topology.topicOf(dlqTopicOf(GroupIds.processor)))).toEqual([]);
  }, 300_000);
});
