/**
 * The `sink-crm` role's sink end to end on the real broker, registry and Redis: canonical records
 * produced to (prefixed) canonical topics reach the Salesforce double through the shared sink runner
 * and the sink the role's factory makes; a record Salesforce refuses for good lands in the group's
 * DLQ; the role's configuration is validated before anything connects. (The role itself is
 * `startSink` of src/consumers/sink-service.ts with this factory, which reads the unprefixed topics.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crmWritebackSinkFactory } from '../../../src/consumers/crm-writeback/start-crm-writeback.ts';
import { createSinkRunner, type SinkRunner } from '../../../src/consumers/runner/runner.ts';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { createKafkajsBus } from '../../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import {
  startSalesforceSim,
  type SalesforceSim,
} from '../../../src/targets-sim/salesforce/salesforce-sim.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { dlqTopicOf, GroupIds, retryTopicOf } from '../../../src/topology/topics.ts';
import { createPipelineTopology, type PipelineTopology } from '../../support/pipeline.ts';
import { contractRecord, customerRecord } from '../../support/canonical-records.ts';

const APP = { clientId: 'syncline-crm-role', clientSecret: 'crm-role-secret-0123456789' };
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const GROUP = GroupIds.crmWritebackSink;

let kafka: Kafka;
let topology: PipelineTopology;
let producer: Producer;
let sf: SalesforceSim;
let redis: Redis;
let redisPrefix: string;
let runner: SinkRunner;
let groupTopics: string[];

async function produce(record: SinkRecord): Promise<void> {
  const topic = topology.topicOf(record.topic);
  await producer.send({
    topic,
    acks: -1,
    messages: [
      { key: record.key, value: await topology.serde.encode(topic, record.value as Record<string, unknown>) },
    ],
  });
}

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  kafka = createKafka(config, logger, 'crm-role-test');
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'crm-role');
  groupTopics = [retryTopicOf(GROUP), dlqTopicOf(GROUP)].map((topic) => topology.topicOf(topic));
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(
    admin,
    groupTopics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  );
  await admin.disconnect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  sf = await startSalesforceSim({ tokens: ['sf-admin-token-role'], oauth: APP, logger });
  // The role's own sink factory, in the shared runner, on an isolated topology.
  const sink = await crmWritebackSinkFactory({
    SALESFORCE_LOGIN_URL: sf.url,
    SALESFORCE_CLIENT_ID: APP.clientId,
    SALESFORCE_CLIENT_SECRET: APP.clientSecret,
    SALESFORCE_TIMEOUT_MS: '3000',
  })(config, logger);
  redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  redisPrefix = `test:crm-role:${randomBytes(4).toString('hex')}:`;
  runner = createSinkRunner({
    sink,
    bus: createKafkajsBus(config, logger, { clientSuffix: 'crm-role-test' }),
    kafka,
    redis,
    serde: topology.serde,
    logger,
    topicPrefix: topology.prefix,
    redisPrefix,
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
  });
  await runner.start();
}, 120_000);

afterAll(async () => {
  await runner?.close();
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis?.quit();
  await producer?.disconnect();
  await sf?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: groupTopics }).catch(() => undefined);
  await admin.deleteGroups([`${topology.prefix}${GROUP}`]).catch(() => undefined);
  await admin.disconnect();
  await topology?.cleanup();
}, 120_000);

describe('syncline run --role sink-crm', () => {
  it('joins its group and carries canonical records from Kafka to the CRM', async () => {
    expect(runner.groupId).toBe(`${topology.prefix}${GROUP}`);
    const accountId = sf.seed('Account', { Name: 'Role Test Account' });
    const opportunityId = sf.seed('Opportunity', {
      Name: 'Role Test Deal',
      StageName: 'Closed Won',
      CloseDate: '2026-01-01',
      AccountId: accountId,
    });
    const goldenId = randomUUID();

    await produce(
      customerRecord(
        {
          goldenId,
          sources: [
            { system: 'salesforce', instance: null, entity: 'account', id: accountId },
            { system: 'erp', instance: null, entity: 'customer', id: 'C-77' },
          ],
        },
        { version: 1 },
      ),
    );
    await produce(
      contractRecord(
        {
          goldenId,
          contractId: `salesforce:${opportunityId}`,
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
        },
        { version: 1 },
      ),
    );

    const account = await eventually(
      () => sf.record('Account', accountId)?.fields.ERP_Customer_Number__c ?? undefined,
      'the Account to learn its ERP number',
    );
    const contract = await eventually(
      () => sf.record('Opportunity', opportunityId)?.fields.ERP_Contract_Status__c ?? undefined,
      'the Opportunity to learn its contract status',
    );
    expect(account).toBe('C-77');
    expect(contract).toBe('ACTIVE');
    expect(sf.record('Account', accountId)?.fields.ExternalId__c).toBe(goldenId);
  });

  it('a record the CRM refuses for good goes to the group DLQ', async () => {
    const accountId = sf.seed('Account', { Name: 'Role Test Refused' });
    await produce(
      customerRecord(
        {
          goldenId: randomUUID(),
          sources: [
            { system: 'salesforce', instance: null, entity: 'account', id: accountId },
            { system: 'erp', instance: null, entity: 'customer', id: 'C-'.padEnd(30, '7') },
          ],
        },
        { version: 1 },
      ),
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      const dlq = topology.topicOf(dlqTopicOf(GROUP));
      const depth = await eventually(async () => {
        const offsets = await admin.fetchTopicOffsets(dlq);
        const total = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
        return total > 0 ? total : undefined;
      }, 'the DLQ entry');
      expect(depth).toBe(1);
    } finally {
      await admin.disconnect();
    }
    expect(sf.record('Account', accountId)?.fields.ERP_Customer_Number__c).toBeNull();
  });

  it('refuses to start without its target configuration, one line per variable, secrets never shown', async () => {
    const error = await crmWritebackSinkFactory({
      SALESFORCE_LOGIN_URL: 'not a url',
      SALESFORCE_CLIENT_SECRET: 'shh-very-secret',
    })(config, logger).then(
      () => undefined,
      (problem: unknown) => problem,
    );
    expect(error).toBeInstanceOf(SynclineError);
    expect(error).toMatchObject({ code: ErrorCodes.CONFIG_INVALID, retriable: false });
    const message = (error as SynclineError).message;
    expect(message).toContain('SALESFORCE_LOGIN_URL: must be a URL');
    expect(message).toContain('SALESFORCE_CLIENT_ID: required');
    expect(message).not.toContain('shh-very-secret');
  });
});
