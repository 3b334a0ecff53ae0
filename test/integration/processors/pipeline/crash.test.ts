/**
 * kill -9 of a processor in the middle of its work, then a restart: every input appears in the
 * canonical output exactly once by event id. What this proves, precisely: the set of distinct event
 * ids on canonical.contract equals the inputs one to one (nothing lost, nothing derived twice with a
 * new id). A record produced before the kill but not yet marked done is produced again with the same
 * event id, so Kafka may hold a few copies; a consumer deduplicating by event id (the sinks do) sees
 * each input once, which the test checks by counting distinct ids against the inputs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/runtime/config.ts';
import { createKafka } from '../../../../src/runtime/kafka.ts';
import { createLogger } from '../../../../src/runtime/logger.ts';
import { TopicNames } from '../../../../src/topology/topics.ts';
import {
  createPipelineTopology,
  customerEvent,
  subscriptionEvent,
  type PipelineTopology,
} from '../../../support/pipeline.ts';
import { readTopic } from '../../../support/raw-topics.ts';

const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(config, logger, 'it-pipeline-crash');
const redisPrefix = `test:pipe-crash:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(config.redisUrl);
let topology: PipelineTopology;
let producer: Producer;
const children: ChildProcess[] = [];

function startChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['test/support/pipeline-child.ts'], {
    env: {
      ...process.env,
      PIPELINE_PREFIX: topology.prefix,
      PIPELINE_REDIS_PREFIX: redisPrefix,
      PIPELINE_MATCH_PREFIX: `${redisPrefix}mdm:`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('running')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`processor child exited with ${code}`)));
  });
}

beforeAll(async () => {
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'crash');
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
}, 60_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await producer?.disconnect();
  await topology?.cleanup();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}, 60_000);

describe('processor crash', () => {
  it('after kill -9 mid-batch and a restart, every input appears exactly once by event id', async () => {
    const inputs = [1, 2].flatMap((customer) =>
      Array.from({ length: 600 }, (_, index) => subscriptionEvent(customer, index + 1, 1)),
    );
    const contractTopic = topology.topicOf(TopicNames.canonical.contract);
    for (const events of [[customerEvent(1), customerEvent(2)], inputs]) {
      const topic = topology.topicOf(events[0]!.topic);
      await producer.send({
        topic,
        messages: await Promise.all(
          events.map(async (event) => ({
            key: event.key,
            value: await topology.serde.encode(topic, event.value),
          })),
        ),
      });
    }

    const admin = kafka.admin();
    await admin.connect();
    const produced = async (): Promise<number> =>
      (await admin.fetchTopicOffsets(contractTopic)).reduce((sum, p) => sum + Number(p.high), 0);
    const first = await startChild();
    // Kill as soon as some, but not all, of the output is there: the processor works in chunks of
    // 100 records, so the first acknowledged chunk is the earliest moment that is mid-work.
    for (let waited = 0; waited < 4000 && (await produced()) === 0; waited += 1) await sleep(5);
    first.kill('SIGKILL');
    const atKill = await produced();
    await admin.disconnect();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(inputs.length);

    await startChild();
    let ids: string[] = [];
    let contractIds: string[] = [];
    for (let waited = 0; waited < 80; waited += 1) {
      const records = await readTopic(kafka, contractTopic);
      const values = await Promise.all(
        records.map(
          async (record) =>
            (await topology.serde.decode(contractTopic, record.value)) as {
              contractId: string;
              envelope: { eventId: string };
            },
        ),
      );
      ids = values.map((value) => value.envelope.eventId);
      contractIds = values.map((value) => value.contractId);
      if (new Set(ids).size >= inputs.length) break;
      await sleep(1000);
    }
    const distinct = new Set(ids);
    expect(distinct.size).toBe(inputs.length);
    expect(new Set(contractIds)).toEqual(new Set(inputs.map((input) => input.key)));
    // Any Kafka-level copy carries an event id already seen: deduplication by id leaves one per input.
    const perContract = new Map<string, Set<string>>();
    ids.forEach((id, index) => {
      const contractId = contractIds[index]!;
      perContract.set(contractId, (perContract.get(contractId) ?? new Set()).add(id));
    });
    for (const set of perContract.values()) expect(set.size).toBe(1);
  }, 120_000);
});
