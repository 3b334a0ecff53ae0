/**
 * Replay of a consumer group (real broker, a private copy of the erp-rest-sink group's topics):
 * the offsets a time resolves to are exactly the window's first records, the group then reads
 * exactly those records again, dry-run counts match what is read, a group with a live member is
 * never reset, and a bounded window is copied to the retry topic and nothing else. Every replay
 * leaves one audit record.
 */
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActor } from '../../../src/ops/audit/audit.ts';
import {
  followReplay,
  parseReplayPoint,
  replay,
  REPLAYED_FROM_HEADER,
} from '../../../src/ops/replay/replay.ts';
import { readTopicSnapshot } from '../../../src/runtime/bus/topic-reader.ts';
import { headerText } from '../../../src/runtime/bus/types.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { TopicNames } from '../../../src/topology/topics.ts';
import { createOpsTopology, GROUP, type OpsTopology } from './ops-topology.ts';

const config = loadConfig();
const logger = createLogger({ level: 'error' });
const kafka = createKafka(config, logger, 'it-ops-replay');
const actor = cliActor('it-operator');
let ops: OpsTopology;
let topic: string;
let groupId: string;

const BASE = Date.parse('2026-11-30T08:00:00Z');
const T1 = BASE + 10 * 60_000;
const T2 = BASE + 20 * 60_000;
/** Records per phase: before the window, in it, after it. */
const PHASES = [
  { name: 'before', at: BASE, count: 12 },
  { name: 'window', at: T1, count: 15 },
  { name: 'after', at: T2, count: 9 },
] as const;

/** Values by phase, in produce order. */
const produced: Record<string, string[]> = {};

/** Reads with the group itself until it has `count` records, committing as it goes; returns their values. */
async function consumeAsGroup(count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${values.length} of ${count}`)), 30_000);
      void consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async (payload) => {
          for (const message of payload.batch.messages) values.push(message.value!.toString());
          await payload.commitOffsetsIfNecessary();
          if (values.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    // Anything beyond `count` would show up in a short extra wait: there must be nothing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function committed(): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(entry!.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  ops = await createOpsTopology(kafka, config, logger, 'replay');
  topic = ops.topicOf(TopicNames.canonical.invoice);
  groupId = `${ops.prefix}${GROUP}`;
  for (const phase of PHASES) {
    produced[phase.name] = [];
    for (let index = 0; index < phase.count; index += 1) {
      const value = `${phase.name}-${index}`;
      produced[phase.name]!.push(value);
      await ops.producer.send({
        topic,
        acks: -1,
        messages: [{ key: `gold-${index % 5}`, value, timestamp: String(phase.at + index) }],
      });
    }
  }
  // The group has processed everything once.
  const total = PHASES.reduce((sum, phase) => sum + phase.count, 0);
  expect(await consumeAsGroup(total)).toHaveLength(total);
}, 120_000);

afterAll(async () => {
  await ops?.cleanup();
}, 60_000);

describe('replay from a time', () => {
  it('a dry run counts, per partition, exactly the records from the time on, all already processed', async () => {
    const result = await replay(
      ops.context,
      {
        group: GROUP,
        topic: TopicNames.canonical.invoice,
        from: parseReplayPoint(new Date(T1).toISOString(), '--from'),
      },
      { actor, dryRun: true },
    );
    const expected = produced.window!.length + produced.after!.length;
    expect(result.mode).toBe('reset');
    expect(result.records).toBe(expected);
    expect(result.reprocess).toBe(expected);
    expect(result.partitions.map((p) => p.partition)).toEqual([0, 1]);
    // Nothing changed: the group still sits at the end.
    for (const p of result.partitions) expect((await committed()).get(p.partition)).toBe(p.high);
  });

  it('refuses while the group has a live member, naming it, and leaves the offsets alone', async () => {
    const before = await committed();
    const member: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await member.connect();
    await member.subscribe({ topics: [topic] });
    let joined!: () => void;
    const hasJoined = new Promise<void>((resolve) => (joined = resolve));
    member.on(member.events.GROUP_JOIN, () => joined());
    await member.run({ eachMessage: () => Promise.resolve() });
    await hasJoined;
    try {
      await expect(
        replay(
          ops.context,
          { group: GROUP, topic: TopicNames.canonical.invoice, from: { kind: 'time', at: T1 } },
          { actor },
        ),
      ).rejects.toThrow(
        new RegExp(
          `refused: group ${groupId.replace(/\./g, '\\.')} is \\w+ with 1 active member \\(syncline-it-ops-replay@`,
        ),
      );
    } finally {
      await member.disconnect();
    }
    expect(await committed()).toEqual(before);
    const [refusal] = (await ops.auditEvents()).slice(-1);
    expect(refusal).toMatchObject({ action: 'REPLAY', outcome: 'FAILED', count: 0 });
    expect(refusal!.reason).toMatch(/active member/);
  });

  it('resets the offsets to the window’s first records; the group then reads exactly those records again', async () => {
    const auditsBefore = (await ops.auditEvents()).length;
    const result = await replay(
      ops.context,
      { group: GROUP, topic: TopicNames.canonical.invoice, from: { kind: 'time', at: T1 } },
      { actor },
    );
    // The first offset per partition whose timestamp is at or after T1, found independently.
    const all = (await readTopicSnapshot(kafka, topic)).records;
    const firstInWindow = new Map<number, string>();
    for (const record of all) {
      if (record.timestamp >= T1 && !firstInWindow.has(record.partition))
        firstInWindow.set(record.partition, record.offset);
    }
    expect(await committed()).toEqual(firstInWindow);

    // Watching the group work through the range ends when it has committed up to the end.
    const following = followReplay(ops.context, result, { pollMs: 200 });
    const again = await consumeAsGroup(result.records);
    expect(await following).toBe(result.records);
    expect(again.sort()).toEqual([...produced.window!, ...produced.after!].sort());

    const events = (await ops.auditEvents()).slice(auditsBefore);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'REPLAY',
      actor: 'it-operator',
      channel: 'CLI',
      group: GROUP,
      topic,
      count: result.records,
      outcome: 'SUCCEEDED',
      correlationId: result.correlationId,
    });
    expect(
      events[0]!.ranges.map((range) => [range.partition, String(range.fromOffset), range.fromTimestamp]),
    ).toEqual([...firstInWindow].map(([partition, offset]) => [partition, offset, T1]));
  });

  it('takes offsets per partition, and clamps an offset past the end to the end', async () => {
    const result = await replay(
      ops.context,
      { group: GROUP, topic: TopicNames.canonical.invoice, from: parseReplayPoint('0:2,1:99999', '--from') },
      { actor, dryRun: true },
    );
    const [p0, p1] = result.partitions;
    expect(p0).toMatchObject({ partition: 0, from: '2', records: Number(p0!.high) - 2 });
    expect(p1).toMatchObject({ partition: 1, from: p1!.high, records: 0 });
    expect(p1!.note).toMatch(/99999 is past the log end/);
  });

  it('refuses an offset without a topic, and a topic the group does not read', async () => {
    await expect(
      replay(ops.context, { group: GROUP, from: parseReplayPoint('5', '--from') }, { actor, dryRun: true }),
    ).rejects.toThrow(/an offset names a position in one topic: give --topic/);
    await expect(
      replay(
        ops.context,
        { group: GROUP, topic: 'canonical.renewal', from: { kind: 'time', at: T1 } },
        { actor },
      ),
    ).rejects.toThrow(/erp-rest-sink does not read canonical.renewal/);
  });
});

describe('replay of a bounded window', () => {
  it('copies exactly the window to the retry topic, in order, while the group keeps its offsets', async () => {
    const before = await committed();
    const result = await replay(
      ops.context,
      {
        group: GROUP,
        topic: TopicNames.canonical.invoice,
        from: { kind: 'time', at: T1 },
        to: { kind: 'time', at: T2 },
      },
      { actor },
    );
    expect(result.mode).toBe('bounded');
    expect(result.records).toBe(produced.window!.length);
    expect(result.done).toBe(produced.window!.length);
    expect(await committed()).toEqual(before);

    const copied = (await readTopicSnapshot(kafka, ops.retryTopic)).records.filter(
      (record) => headerText(record.headers, REPLAYED_FROM_HEADER) !== undefined,
    );
    expect(copied.map((record) => record.value!.toString()).sort()).toEqual([...produced.window!].sort());
    // Per key, the order of the source.
    for (const key of ['gold-0', 'gold-1', 'gold-2', 'gold-3', 'gold-4']) {
      const ofKey = copied.filter((record) => record.key?.toString() === key).map((r) => r.value!.toString());
      expect(ofKey).toEqual(
        produced.window!.filter((value) => Number(value.split('-')[1]) % 5 === Number(key.split('-')[1])),
      );
    }
    expect(headerText(copied[0]!.headers, REPLAYED_FROM_HEADER)).toMatch(
      new RegExp(`^${topic.replace(/\./g, '\\.')}/\\d/\\d+$`),
    );

    const [event] = (await ops.auditEvents()).filter((e) => e.correlationId === result.correlationId);
    expect(event).toMatchObject({ action: 'REPLAY', count: produced.window!.length, outcome: 'SUCCEEDED' });
    expect(event!.details).toMatchObject({ mode: 'bounded', retryTopic: ops.retryTopic });
  });

  it('a bounded dry run counts the window exactly and copies nothing', async () => {
    const retryBefore = (await readTopicSnapshot(kafka, ops.retryTopic)).records.length;
    const result = await replay(
      ops.context,
      {
        group: GROUP,
        topic: TopicNames.canonical.invoice,
        from: { kind: 'time', at: BASE },
        to: { kind: 'time', at: T1 },
      },
      { actor, dryRun: true },
    );
    expect(result.records).toBe(produced.before!.length);
    expect((await readTopicSnapshot(kafka, ops.retryTopic)).records.length).toBe(retryBefore);
  });
});
