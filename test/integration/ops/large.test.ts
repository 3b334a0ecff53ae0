/**
 * Ops moves larger than one fetch and one produce request: a DLQ of thousands of entries is read
 * whole, a redrive of all of them puts each on the retry topic exactly once and resolves each, and
 * a bounded replay copies every record of the window exactly once. (A reader that does not move
 * past its first fetched batch, or a producer call above the broker's request limit, fails here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActor } from '../../../src/ops/audit/audit.ts';
import { listDlq, redriveDlq } from '../../../src/ops/dlq/dlq-ops.ts';
import { replay, REPLAYED_FROM_HEADER } from '../../../src/ops/replay/replay.ts';
import { readTopicSnapshot } from '../../../src/runtime/bus/topic-reader.ts';
import { deadLetterOf, DlqHeaders } from '../../../src/processors/pipeline/dead-letter.ts';
import { headerText } from '../../../src/runtime/bus/types.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { TopicNames } from '../../../src/topology/topics.ts';
import { createOpsTopology, GROUP, type OpsTopology } from './ops-topology.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const kafka = createKafka(config, logger, 'it-ops-large');
const actor = cliActor('it-operator');
const COUNT = 6000;
/** 2 KiB values: 6000 of them are ~12 MiB, many fetches and many produce requests. */
const VALUE = Buffer.alloc(2048, 7);
let ops: OpsTopology;

beforeAll(async () => {
  ops = await createOpsTopology(kafka, config, logger, 'large');
}, 90_000);

afterAll(async () => {
  await ops?.cleanup();
}, 60_000);

function messages(topic: string) {
  return Array.from({ length: COUNT }, (_, index) => {
    const out = deadLetterOf(
      {
        topic,
        partition: 0,
        offset: String(index),
        key: Buffer.from(`key-${index % 700}`),
        value: VALUE,
        headers: { seq: Buffer.from(String(index)) },
        timestamp: Date.now(),
      },
      ops.dlqTopic,
      {
        group: GROUP,
        error: SynclineError.permanent(ErrorCodes.TARGET_REJECTED, 'rejected'),
        reason: 'target rejected',
        attempts: 1,
        firstFailureAt: Date.now(),
        lastFailureAt: Date.now(),
      },
    );
    return {
      key: out.key as Buffer,
      value: out.value,
      headers: out.headers as Record<string, Buffer | string>,
    };
  });
}

async function produce(topic: string, batch: ReturnType<typeof messages>): Promise<void> {
  for (let start = 0; start < batch.length; start += 300) {
    await ops.producer.send({ topic, acks: -1, messages: batch.slice(start, start + 300) });
  }
}

describe('large ops moves', () => {
  it('redrives thousands of entries, each exactly once, and resolves every one', async () => {
    await produce(ops.dlqTopic, messages(ops.topicOf(TopicNames.canonical.invoice)));
    const listing = await listDlq(ops.context, GROUP);
    expect(listing.openTotal).toBe(COUNT);

    const started = Date.now();
    const result = await redriveDlq(ops.context, GROUP, { all: true }, { actor });
    logger.info({ ms: Date.now() - started }, 'redrive');
    expect(result.moved).toBe(COUNT);
    expect(result.keys).toBe(700);

    const retried = (await readTopicSnapshot(kafka, ops.retryTopic)).records;
    expect(retried).toHaveLength(COUNT);
    expect(new Set(retried.map((record) => headerText(record.headers, DlqHeaders.redrivenFrom))).size).toBe(
      COUNT,
    );
    // Per key, the original order.
    const seqOf = (key: string) =>
      retried
        .filter((record) => record.key?.toString() === key)
        .map((record) => Number(headerText(record.headers, 'seq')));
    expect(seqOf('key-3')).toEqual(Array.from({ length: 9 }, (_, index) => 3 + index * 700));
    expect((await listDlq(ops.context, GROUP)).openTotal).toBe(0);
  });

  it('copies every record of a bounded window exactly once', async () => {
    const topic = ops.topicOf(TopicNames.canonical.invoice);
    await produce(topic, messages(topic));
    const result = await replay(
      ops.context,
      {
        group: GROUP,
        topic: TopicNames.canonical.invoice,
        from: { kind: 'offset', offset: '0' },
        to: { kind: 'offset', offset: String(COUNT * 2) },
      },
      { actor },
    );
    expect(result.done).toBe(COUNT);
    const copied = (await readTopicSnapshot(kafka, ops.retryTopic)).records.filter(
      (record) => headerText(record.headers, REPLAYED_FROM_HEADER) !== undefined,
    );
    expect(copied).toHaveLength(COUNT);
    expect(new Set(copied.map((record) => headerText(record.headers, REPLAYED_FROM_HEADER))).size).toBe(
      COUNT,
    );
  });
});
