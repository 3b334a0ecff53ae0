/**
 * What `syncline mdm export|review|unmerge|rebuild` do, through the functions the CLI calls, on the
 * real broker, registry and Redis (a private topology and key prefix):
 * - export writes one line per active golden customer, in DESIGN.md's format, with the source of
 *   every surviving value;
 * - a steward's approve, reject and unmerge publish the engine's mdm events and a canonical
 *   customer for every golden record they changed, keyed by golden id, with the ids the outcome
 *   reports; a result committed but not published (the command died) is published by the next one;
 * - bad input is refused with a one-line reason, and nothing is published;
 * - rebuild refuses when its topics are missing or Redis still holds a state.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditSteward } from '../../../../src/cli/commands/mdm.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from '../../../../src/ops/ops-context.ts';
import type { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { exportGoldenLines } from '../../../../src/processors/match-merge/golden-export.ts';
import {
  goldenEvent,
  goldenRecordOf,
  originOfRecord,
} from '../../../../src/processors/match-merge/events.ts';
import { rebuildFromTopics } from '../../../../src/processors/match-merge/rebuild-from-topics.ts';
import { StewardService } from '../../../../src/processors/match-merge/steward-service.ts';
import { parseSourceRecord, type GoldenState } from '../../../../src/processors/match-merge/types.ts';
import type { EventProducer } from '../../../../src/runtime/bus/types.ts';
import { createKafkajsBus } from '../../../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createKafka } from '../../../../src/runtime/kafka.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';
import type { AuditEvent } from '../../../../src/schemas/generated/ops.ts';
import { RegistryClient } from '../../../../src/schemas/registry-client.ts';
import { createTopicsReady } from '../../../../src/topology/create-topics.ts';
import { TopicNames } from '../../../../src/topology/topics.ts';
import {
  matchHarness,
  nordwindBilling,
  nordwindCrm,
  nordwindErp,
  type MatchHarness,
} from '../../../support/match-merge.ts';
import { createPipelineTopology, type PipelineTopology } from '../../../support/pipeline.ts';
import { readTopic } from '../../../support/raw-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'error' });
const kafka = createKafka(config, logger, 'it-mdm-operations');
const NOW = Date.UTC(2025, 3, 1);

/** The CRM account carries the tax id too, in another spelling than the ERP's. */
const crm = { ...nordwindCrm, taxId: 'DE123456789' };
const billing = nordwindBilling;
const erp = nordwindErp;
/** A support organisation with a typo and nothing else: close to the CRM account, not enough to merge. */
const doubtfulOrg = { system: 'zendesk' as const, id: '9001', name: 'Nordwnid Logistik', updatedAt: 1 };

let topology: PipelineTopology;
let producer: EventProducer;
let admin: Admin;
let ops: OpsContext;

interface Published {
  topic: string;
  key: string;
  value: {
    envelope: { eventId: string; eventType: string; correlationId: string };
    [field: string]: unknown;
  };
}

/** The records of the mdm and canonical customer topics that carry `correlationId`. */
async function publishedWith(correlationId: string): Promise<Published[]> {
  const out: Published[] = [];
  for (const contract of [...Object.values(TopicNames.mdm), TopicNames.canonical.customer]) {
    const topic = topology.topicOf(contract);
    for (const record of await readTopic(kafka, topic)) {
      const value = (await topology.serde.decode(topic, record.value)) as Published['value'];
      if (value.envelope.correlationId === correlationId)
        out.push({ topic: contract, key: record.key, value });
    }
  }
  return out;
}

async function recordsOnTopics(): Promise<number> {
  let total = 0;
  for (const contract of [...Object.values(TopicNames.mdm), TopicNames.canonical.customer]) {
    for (const partition of await admin.fetchTopicOffsets(topology.topicOf(contract)))
      total += Number(partition.high);
  }
  return total;
}

beforeAll(async () => {
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'mdm-ops');
  producer = createKafkajsBus(config, logger).producer();
  await producer.connect();
  admin = kafka.admin();
  await admin.connect();
  // The audit topic of the private topology, with its subject, as `topology apply` and
  // `schemas register` would make it.
  const auditTopic = topology.topicOf(TopicNames.ops.audit);
  await createTopicsReady(admin, [{ topic: auditTopic, numPartitions: 1, replicationFactor: 1 }]);
  const entry = loadCatalog({ prefix: topology.prefix }).topic(auditTopic);
  await new RegistryClient({ url: config.schemaRegistryUrl }).register(entry.subject, entry.text);
  ops = createOpsContext(config, logger, { prefix: topology.prefix, kafka });
}, 60_000);

afterAll(async () => {
  await producer?.close();
  if (ops) await closeOpsContext(ops);
  const auditTopic = topology?.topicOf(TopicNames.ops.audit);
  if (auditTopic) {
    await admin.deleteTopics({ topics: [auditTopic] }).catch(() => undefined);
    const registry = new RegistryClient({ url: config.schemaRegistryUrl });
    await registry.deleteSubject(`${auditTopic}-value`).catch(() => undefined);
    await registry.deleteSubject(`${auditTopic}-value`, true).catch(() => undefined);
  }
  await admin?.disconnect();
  await topology?.cleanup();
}, 60_000);

describe('mdm operations', () => {
  let harness: MatchHarness;
  let engine: MatchEngine;
  let service: StewardService;
  beforeEach(() => {
    harness = matchHarness('mdm-ops');
    engine = harness.engine();
    service = new StewardService({
      engine,
      producer,
      serde: topology.serde,
      logger,
      topicPrefix: topology.prefix,
    });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('exports one line per active golden customer with its sources and the source of every value', async () => {
    const first = await engine.resolve(crm, { now: NOW });
    await engine.resolve(billing, { now: NOW });
    await engine.resolve(erp, { now: NOW });
    const other = await engine.resolve(
      { system: 'stripe', id: 'cus_X', name: 'Kestrel Maschinenbau', country: 'AT', updatedAt: 1 },
      { now: NOW },
    );
    const lines = [];
    for await (const line of exportGoldenLines(engine)) lines.push(line);
    expect(lines.map((line) => line.goldenId).sort()).toEqual([first.goldenId, other.goldenId].sort());
    const nordwind = lines.find((line) => line.goldenId === first.goldenId)!;
    expect(nordwind.sources.map((source) => `${source.system}:${source.id}`).sort()).toEqual([
      'erp:C-1001',
      'salesforce:001NW',
      'stripe:cus_NW',
    ]);
    expect(nordwind.attributes.legalName?.source.system).toMatch(/^(erp|salesforce|stripe)$/);
    expect(nordwind.attributes.email).toMatchObject({
      value: 'billing@nordwind.de',
      source: { system: 'stripe', id: 'cus_NW' },
    });
    expect(nordwind.attributes.taxId?.source.system).toMatch(/^(erp|salesforce)$/);
    // Valid JSON line by line, as `--json` writes it.
    expect(JSON.parse(JSON.stringify(nordwind))).toEqual(nordwind);
  });

  it('approves a review by its id into a chosen candidate and publishes mdm and canonical events', async () => {
    const established = await engine.resolve(crm, { now: NOW });
    const doubtful = await engine.resolve(doubtfulOrg, { now: NOW });
    expect(doubtful.outcome).toBe('review');
    const [view] = await service.reviews();
    expect(view).toMatchObject({
      source: 'zendesk:9001',
      goldenId: doubtful.goldenId,
      candidates: [{ goldenId: established.goldenId, legalName: 'Nordwind Logistik GmbH', status: 'ACTIVE' }],
    });

    const outcome = await service.decide(
      view!.reviewId,
      { approve: true, into: established.goldenId },
      'bob',
    );
    expect(outcome).toMatchObject({
      action: 'approve',
      actor: 'bob',
      golden: { goldenId: established.goldenId, sources: ['salesforce:001NW', 'zendesk:9001'] },
      other: { goldenId: doubtful.goldenId, status: 'MERGED', mergedInto: established.goldenId },
      published: { mdm: 4, canonical: 2 },
    });
    const published = await publishedWith(outcome.correlationId);
    const mdm = published.filter((record) => record.topic.startsWith('mdm.'));
    expect(mdm.map((record) => record.value.envelope.eventId).sort()).toEqual([...outcome.eventIds].sort());
    expect(published.find((record) => record.topic === 'mdm.customer.xref')?.value).toMatchObject({
      decision: 'STEWARD_APPROVED',
      decidedBy: 'bob',
    });
    expect(published.find((record) => record.topic === 'mdm.customer.review')?.value).toMatchObject({
      status: 'APPROVED',
      chosenGoldenId: established.goldenId,
    });
    const customers = published.filter((record) => record.topic === 'canonical.customer');
    expect(customers.map((record) => [record.key, record.value.status]).sort()).toEqual(
      [
        [established.goldenId, 'ACTIVE'],
        [doubtful.goldenId, 'MERGED'],
      ].sort(),
    );
    const away = customers.find((record) => record.key === doubtful.goldenId)!.value;
    expect(away).toMatchObject({
      goldenId: doubtful.goldenId,
      mergedInto: established.goldenId,
      sources: [],
    });
    expect(await engine.openReviews()).toEqual([]);
    expect(await harness.store.pendingOutbox()).toEqual([]);
  });

  it('rejects a review named by its source record: kept apart, one canonical update', async () => {
    await engine.resolve(crm, { now: NOW });
    const doubtful = await engine.resolve(doubtfulOrg, { now: NOW });
    const outcome = await service.decide('zendesk:9001', { approve: false }, 'carol');
    expect(outcome).toMatchObject({
      action: 'reject',
      golden: { goldenId: doubtful.goldenId },
      published: { mdm: 3, canonical: 1 },
    });
    const published = await publishedWith(outcome.correlationId);
    expect(published.map((record) => record.topic).sort()).toEqual([
      'canonical.customer',
      'mdm.customer.golden',
      'mdm.customer.review',
      'mdm.customer.xref',
    ]);
    expect(published.find((record) => record.topic === 'canonical.customer')?.key).toBe(doubtful.goldenId);
    expect(published.find((record) => record.topic === 'mdm.customer.review')?.value).toMatchObject({
      status: 'REJECTED',
      decidedBy: 'carol',
    });
  });

  it('unmerges a source record: two golden records, each published with its canonical customer, audited', async () => {
    service = new StewardService({
      engine,
      producer,
      serde: topology.serde,
      logger,
      topicPrefix: topology.prefix,
      audit: (entry) => auditSteward(ops, entry),
    });
    const golden = await engine.resolve(crm, { now: NOW });
    await engine.resolve(billing, { now: NOW });
    expect((await engine.resolve(erp, { now: NOW })).goldenId).toBe(golden.goldenId);

    const outcome = await service.unmerge(golden.goldenId, 'stripe:cus_NW', 'erin');
    expect(outcome).toMatchObject({
      action: 'unmerge',
      golden: { sources: ['stripe:cus_NW'], status: 'ACTIVE' },
      other: { goldenId: golden.goldenId, sources: ['erp:C-1001', 'salesforce:001NW'] },
      published: { mdm: 3, canonical: 2 },
    });
    const customers = (await publishedWith(outcome.correlationId)).filter(
      (record) => record.topic === 'canonical.customer',
    );
    expect(customers.map((record) => [record.key, record.value.envelope.eventType]).sort()).toEqual(
      [
        [golden.goldenId, 'canonical.customer.updated'],
        [outcome.golden.goldenId, 'canonical.customer.created'],
      ].sort(),
    );
    expect((await engine.goldenOf({ system: 'stripe', id: 'cus_NW' }))?.goldenId).toBe(
      outcome.golden.goldenId,
    );
    // On the audit trail: who, what, on which golden records.
    const auditTopic = topology.topicOf(TopicNames.ops.audit);
    const audits = await Promise.all(
      (await readTopic(kafka, auditTopic)).map(
        async (record) => (await ops.serde.decode(auditTopic, record.value)) as AuditEvent,
      ),
    );
    expect(audits.filter((entry) => entry.correlationId === outcome.correlationId)).toEqual([
      expect.objectContaining({
        action: 'UNMERGE',
        actor: 'erin',
        channel: 'CLI',
        outcome: 'SUCCEEDED',
        count: 5,
        details: {
          goldenId: outcome.golden.goldenId,
          otherGoldenId: golden.goldenId,
          source: 'stripe:cus_NW',
        },
      }),
    ]);
  });

  it('refuses bad input with a one-line reason and publishes nothing', async () => {
    const golden = await engine.resolve(crm, { now: NOW });
    await engine.resolve(erp, { now: NOW });
    await engine.resolve(doubtfulOrg, { now: NOW });
    // Two legal entities (different valid tax ids) under review: never merged, not even by a steward.
    const place = { country: 'DE', address: { postalCode: '50667', country: 'DE' } };
    const kestrel = await engine.resolve(
      { ...erp, ...place, id: 'C-1', taxId: 'DE111111111', name: 'Kestrel Maschinenbau GmbH' },
      { now: NOW },
    );
    const doubtfulKestrel = await engine.resolve(
      { system: 'zendesk', id: '77', name: 'Kestrel Maschinenbua', domains: ['kestrel-mb.de'], updatedAt: 0 },
      { now: NOW },
    );
    expect(doubtfulKestrel.outcome).toBe('review');
    await engine.resolve(
      {
        ...erp,
        ...place,
        id: 'C-2',
        taxId: 'DE222222222',
        name: 'Kestrel Maschinenbau AG',
        email: 'ap@kestrel-mb.de',
      },
      { now: NOW },
    );
    const before = await recordsOnTopics();
    const refusals: [() => Promise<unknown>, RegExp][] = [
      [
        () => service.unmerge(randomUUID(), 'erp:C-1001', 'erin'),
        /golden record .* does not exist or is not active/,
      ],
      [
        () => service.unmerge(golden.goldenId, 'stripe:cus_nope', 'erin'),
        /stripe:cus_nope is not a member of golden/,
      ],
      [
        () => service.unmerge('abc', 'erp:C-1001', 'erin'),
        /^--golden must be a golden id \(a UUID\), got "abc"$/,
      ],
      [() => service.unmerge(golden.goldenId, 'C-1001', 'erin'), /^--source must be <system>:<id>/],
      [() => service.unmerge(golden.goldenId, 'erp:C-1001', ' '), /^--actor must be a user name/],
      [() => service.decide(randomUUID(), { approve: false }, 'bob'), /^no open review with id /],
      [() => service.decide('zendesk:404', { approve: false }, 'bob'), /^no open review for zendesk:404/],
      [
        () => service.decide('zendesk:9001', { approve: true, into: randomUUID() }, 'bob'),
        /is not a candidate of the review of zendesk:9001/,
      ],
      [
        () => service.decide('zendesk:77', { approve: true, into: kestrel.goldenId }, 'dave'),
        /different valid tax ids: they are different legal entities and never merge/,
      ],
    ];
    for (const [attempt, reason] of refusals) {
      const error = (await attempt().then(
        () => null,
        (failure: unknown) => failure,
      )) as Error | null;
      expect(error, String(reason)).toBeInstanceOf(Error);
      expect(error!.message).toMatch(reason);
      expect(error!.message).not.toContain('\n');
    }
    expect(await recordsOnTopics()).toBe(before);
    expect(await harness.store.pendingOutbox()).toEqual([]);
  });

  it('publishes a steward result that was committed but not published, with its event ids', async () => {
    const golden = await engine.resolve(crm, { now: NOW });
    await engine.resolve(billing, { now: NOW });
    // A steward command that died right after the commit: the result waits in the outbox.
    const result = await engine.unmerge(
      golden.goldenId,
      { system: 'stripe', id: 'cus_NW' },
      { steward: 'erin', outboxId: 'died-1', correlationId: randomUUID() },
    );
    expect(await service.publishPending()).toBe(1);
    const correlationId = result.events[0]!.value.envelope.correlationId;
    const published = await publishedWith(correlationId);
    expect(
      published
        .filter((record) => record.topic.startsWith('mdm.'))
        .map((record) => record.value.envelope.eventId)
        .sort(),
    ).toEqual(result.events.map((event) => event.value.envelope.eventId).sort());
    expect(published.filter((record) => record.topic === 'canonical.customer')).toHaveLength(2);
    expect(await harness.store.pendingOutbox()).toEqual([]);
    expect(await service.publishPending()).toBe(0);
  });

  it('rebuild reads every partition to its end, also one larger than a fetch (1 MiB)', async () => {
    // Golden records of one member each, written as the processor would write them.
    const count = 4000;
    const origin = { correlationId: randomUUID() };
    let batch: { topic: string; key: string; value: Buffer }[] = [];
    const topic = topology.topicOf(TopicNames.mdm.golden);
    for (let index = 0; index < count; index += 1) {
      const member = parseSourceRecord({
        system: 'erp',
        id: `C-${index}`,
        name: `Bulk Customer ${index} Handelsgesellschaft mbH`,
        country: 'DE',
        address: { line1: `Industriestraße ${index}`, city: 'Köln', postalCode: '50667', country: 'DE' },
        updatedAt: NOW,
      });
      const state: GoldenState = {
        goldenId: randomUUID(),
        version: 1,
        status: 'ACTIVE',
        mergedInto: null,
        createdAt: NOW,
        updatedAt: NOW,
        change: 'created',
        members: [member],
        links: {},
      };
      const event = goldenEvent(goldenRecordOf(state), 'created', originOfRecord(member, origin, NOW));
      batch.push({ topic, key: event.key, value: await topology.serde.encode(topic, event.value) });
      if (batch.length === 500) {
        await producer.send(batch);
        batch = [];
      }
    }
    const sizes = await admin.fetchTopicOffsets(topic);
    expect(Math.max(...sizes.map((partition) => Number(partition.high)))).toBeGreaterThan(1200);

    const report = await rebuildFromTopics({
      kafka,
      serde: topology.serde,
      engine,
      topicPrefix: topology.prefix,
    });
    // Earlier tests of this file published golden records too: at least these are all back.
    expect(report.goldens).toBeGreaterThanOrEqual(count);
    expect(report.restoredFromAttributes).toBe(0);
    const xrefs = await harness.store.xrefs();
    for (let index = 0; index < count; index += 1) expect(xrefs.has(`erp:C-${index}`)).toBe(true);
  }, 120_000);

  it('rebuild refuses when its topics are missing, or while Redis still holds a match state', async () => {
    await expect(
      rebuildFromTopics({ kafka, serde: topology.serde, engine, topicPrefix: `missing-${randomUUID()}.` }),
    ).rejects.toThrow(
      /^cannot rebuild: .*mdm\.customer\.golden, .* do not exist \(run syncline topology apply\)$/,
    );
    await engine.resolve(crm, { now: NOW });
    await expect(
      rebuildFromTopics({ kafka, serde: topology.serde, engine, topicPrefix: topology.prefix }),
    ).rejects.toThrow(
      /Redis already holds match-merge state under .*: stop the processors and run again with --replace/,
    );
  });
});
