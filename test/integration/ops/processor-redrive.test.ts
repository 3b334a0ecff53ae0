/**
 * The redrive tool against a real stage: the processor (syncline-processor) dead-letters a record
 * whose customer is unknown; once the customer has arrived, `redriveDlq` puts it on the
 * processor's retry topic and the processor turns it into its canonical output; the DLQ shows
 * nothing open for it. A record whose cause is not fixed comes back to the DLQ as a new entry
 * carrying its redrive count, which is what the loop limit counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActor } from '../../../src/ops/audit/audit.ts';
import { listDlq, redriveDlq } from '../../../src/ops/dlq/dlq-ops.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from '../../../src/ops/ops-context.ts';
import type { Processor } from '../../../src/processors/pipeline/processor.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { RegistryClient } from '../../../src/schemas/registry-client.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { customerEvent, subscriptionEvent } from '../../support/pipeline.ts';
import { createPipelineHarness, type PipelineHarness } from '../../support/pipeline-harness.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const GROUP = GroupIds.processor;
const DLQ = dlqTopicOf(GROUP);
const actor = cliActor('it-operator');
let harness: PipelineHarness;
let processor: Processor;
let ops: OpsContext;
let auditTopic: string;
let auditSubject: string;

beforeAll(async () => {
  harness = await createPipelineHarness(config, logger, 'ops-redrive');
  const prefix = harness.topology.prefix;
  // The audit trail of this private topology: its own ops.audit and subject.
  auditTopic = `${prefix}${TopicNames.ops.audit}`;
  const admin = harness.kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [{ topic: auditTopic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
  const binding = loadCatalog({ prefix }).topic(auditTopic);
  auditSubject = binding.subject;
  await new RegistryClient({ url: config.schemaRegistryUrl }).register(auditSubject, binding.text);
  ops = createOpsContext(config, logger, { prefix, kafka: harness.kafka });
  processor = harness.processor({ unknownCustomerWindowMs: 1500 });
  await processor.start();
}, 90_000);

afterAll(async () => {
  await closeOpsContext(ops).catch(() => undefined);
  await harness?.close();
  const admin = harness.kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [auditTopic] }).catch(() => undefined);
  await admin.disconnect();
  const registry = new RegistryClient({ url: config.schemaRegistryUrl });
  await registry.deleteSubject(auditSubject).catch(() => undefined);
  await registry.deleteSubject(auditSubject, true).catch(() => undefined);
}, 60_000);

describe('redrive into the processor', () => {
  it('a dead-lettered record, redriven after its cause is fixed, is processed and leaves nothing open', async () => {
    const orphan = subscriptionEvent(17, 1, 1); // customer cus_T17 not known yet
    await harness.publish([orphan]);
    await harness.until(DLQ, (records) => records.some((record) => record.key === orphan.key));
    const before = await listDlq(ops, GROUP, { keys: [orphan.key] });
    expect(before.entries).toMatchObject([{ key: orphan.key, reason: 'unknown customer', redriveCount: 0 }]);

    await harness.publish([customerEvent(17)]);
    const customers = await harness.until(TopicNames.canonical.customer, (records) => records.length >= 1);
    const goldenId = customers[0]!.key;

    const result = await redriveDlq(ops, GROUP, { filter: { keys: [orphan.key] } }, { actor });
    expect(result.moved).toBe(1);
    const contracts = await harness.until(TopicNames.canonical.contract, (records) => records.length >= 1);
    expect(contracts.map((record) => record.key)).toEqual([goldenId]);
    expect((await listDlq(ops, GROUP, { keys: [orphan.key] })).matching).toBe(0);
  });

  it('a record that fails again comes back as a new open entry with its redrive count', async () => {
    const orphan = subscriptionEvent(18, 1, 1); // customer cus_T18 never arrives
    await harness.publish([orphan]);
    await harness.until(DLQ, (records) => records.some((record) => record.key === orphan.key));
    const first = await redriveDlq(ops, GROUP, { filter: { keys: [orphan.key] } }, { actor });
    expect(first.moved).toBe(1);

    // Entries (not the marker, which has no value) of the key: the first and its return.
    await harness.until(
      DLQ,
      (records) =>
        records.filter((record) => record.key === orphan.key && record.value.length > 0).length >= 2,
    );
    const again = await listDlq(ops, GROUP, { keys: [orphan.key] });
    expect(again.entries).toMatchObject([{ key: orphan.key, reason: 'unknown customer', redriveCount: 1 }]);
    expect(again.entries[0]!.id).not.toBe(first.entries[0]!.id);
    // With a limit of 1, the looping record is refused by name.
    await expect(
      redriveDlq(ops, GROUP, { filter: { keys: [orphan.key] } }, { actor, maxRedrives: 1 }),
    ).rejects.toThrow(`refused: 1 entry was redriven 1 times already (limit 1): ${again.entries[0]!.id}`);
  });
});
