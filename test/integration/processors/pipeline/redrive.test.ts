/**
 * A DLQ redrive reaches the processor again: the processor reads its own retry topic
 * (`syncline-processor.retry`), which only its group reads. A record dead-lettered because its
 * customer was unknown, put back on the retry topic after the customer arrived, yields its canonical
 * output keyed by the golden id; one that fails again goes back to the DLQ naming its raw topic,
 * with its attempts counted on from the headers it carried and its first failure time kept.
 */
import type { IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqHeaders } from '../../../../src/processors/pipeline/dead-letter.ts';
import type { Processor } from '../../../../src/processors/pipeline/processor.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { dlqTopicOf, GroupIds, retryTopicOf, TopicNames } from '../../../../src/topology/topics.ts';
import { customerEvent, subscriptionEvent } from '../../../support/pipeline.ts';
import { createPipelineHarness, type PipelineHarness } from '../../../support/pipeline-harness.ts';
import type { ReadRecord } from '../../../support/raw-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const DLQ = dlqTopicOf(GroupIds.processor);
const RETRY = retryTopicOf(GroupIds.processor);
let harness: PipelineHarness;
let processor: Processor;

/** What the redrive tool writes: the DLQ record's key, value and headers, plus where it came from. */
async function redrive(entry: ReadRecord, redriveCount: number): Promise<void> {
  const headers: IHeaders = {
    ...entry.headers,
    [DlqHeaders.redrivenFrom]: `${entry.partition}/${entry.offset}`,
    [DlqHeaders.redriveCount]: String(redriveCount),
  };
  await harness.producer.send({
    topic: harness.topology.topicOf(RETRY),
    messages: [{ key: entry.key, value: entry.value, headers }],
  });
}

const forKey = (key: string) => (records: ReadRecord[]) => records.filter((record) => record.key === key);

beforeAll(async () => {
  harness = await createPipelineHarness(config, logger, 'redrive');
  processor = harness.processor({ unknownCustomerWindowMs: 1500 });
  await processor.start();
}, 60_000);

afterAll(async () => {
  await harness?.close();
}, 60_000);

describe('processor retry topic (DLQ redrive)', () => {
  it('processes a redriven record once its cause is fixed: the customer now known', async () => {
    const orphan = subscriptionEvent(7, 1, 1); // customer cus_T7 not known yet
    await harness.publish([orphan]);
    const dead = forKey(orphan.key)(
      await harness.until(DLQ, (records) => forKey(orphan.key)(records).length >= 1),
    );
    expect(dead).toHaveLength(1);
    const [entry] = dead;
    expect(entry?.headers[DlqHeaders.reason]).toBe('unknown customer');
    expect(entry?.headers[DlqHeaders.topic]).toBe(
      harness.topology.topicOf(TopicNames.raw.stripeSubscription),
    );
    expect(
      (await harness.read(TopicNames.canonical.contract)).filter((r) => r.value.length > 0),
    ).toHaveLength(0);

    // The cause is fixed: the customer arrives and gets its golden id.
    await harness.publish([customerEvent(7)]);
    const customers = await harness.until(TopicNames.canonical.customer, (records) => records.length >= 1);
    expect(customers).toHaveLength(1);
    const goldenId = customers[0]!.key;

    await redrive(entry!, 1);
    const contracts = await harness.until(TopicNames.canonical.contract, (records) => records.length >= 1);
    expect(contracts).toHaveLength(1);
    expect(contracts[0]?.key).toBe(goldenId);
    const contract = await harness.decode<{ contractId: string; envelope: { causationId: string } }>(
      TopicNames.canonical.contract,
      contracts[0]!,
    );
    expect(contract.contractId).toBe(orphan.key);
    expect(contract.envelope.causationId).toBe(orphan.envelope.eventId);
    // Nothing new in the DLQ for it.
    expect(forKey(orphan.key)(await harness.read(DLQ))).toHaveLength(1);
  });

  it('dead-letters a redriven record that fails again, attempts counted on from its headers', async () => {
    const orphan = subscriptionEvent(8, 1, 1); // customer cus_T8 never arrives
    await harness.publish([orphan]);
    const first = forKey(orphan.key)(
      await harness.until(DLQ, (records) => forKey(orphan.key)(records).length >= 1),
    )[0]!;
    const firstAttempts = Number(first.headers[DlqHeaders.attempts]);
    expect(firstAttempts).toBeGreaterThanOrEqual(1);

    await redrive(first, 1);
    const entries = forKey(orphan.key)(
      await harness.until(DLQ, (records) => forKey(orphan.key)(records).length >= 2),
    );
    expect(entries).toHaveLength(2);
    const second = entries.find((record) => record !== first && record.offset !== first.offset)!;
    expect(second.value.equals(first.value)).toBe(true);
    // It names the raw topic and position it came from, not the retry topic.
    expect(second.headers[DlqHeaders.topic]).toBe(first.headers[DlqHeaders.topic]);
    expect(second.headers[DlqHeaders.partition]).toBe(first.headers[DlqHeaders.partition]);
    expect(second.headers[DlqHeaders.offset]).toBe(first.headers[DlqHeaders.offset]);
    expect(Number(second.headers[DlqHeaders.attempts])).toBeGreaterThan(firstAttempts);
    expect(second.headers[DlqHeaders.firstFailure]).toBe(first.headers[DlqHeaders.firstFailure]);
    expect(second.headers[DlqHeaders.redriveCount]).toBe('1');
    expect(second.headers[DlqHeaders.reason]).toBe('unknown customer');
  });

  it('dead-letters a retry record that names no raw topic of the processor', async () => {
    await harness.producer.send({
      topic: harness.topology.topicOf(RETRY),
      messages: [{ key: 'stray', value: Buffer.from('x'), headers: { [DlqHeaders.redriveCount]: '2' } }],
    });
    const stray = forKey('stray')(
      await harness.until(DLQ, (records) => forKey('stray')(records).length >= 1),
    );
    expect(stray).toHaveLength(1);
    expect(stray[0]?.headers[DlqHeaders.code]).toBe('INPUT_INVALID');
    expect(stray[0]?.headers[DlqHeaders.attempts]).toBe('3');
  });
});
