/**
 * The `sink-support` role's sink end to end on the real broker, registry and Redis: canonical
 * customer and entitlement records produced to (prefixed) canonical topics reach the Zendesk double
 * through the shared sink runner and the sink the role's factory makes; the entitlement may arrive before its
 * organization exists (another topic) and is applied once it does; the role's configuration is
 * validated before anything connects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSinkRunner, type SinkRunner } from '../../../src/consumers/runner/runner.ts';
import { supportEntitlementSinkFactory } from '../../../src/consumers/support-entitlement/start-support-entitlement.ts';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { createKafkajsBus } from '../../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Organization } from '../../../src/targets-sim/zendesk/organizations.ts';
import { startZendeskSim, type ZendeskSim } from '../../../src/targets-sim/zendesk/zendesk-sim.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { dlqTopicOf, GroupIds, retryTopicOf } from '../../../src/topology/topics.ts';
import { createPipelineTopology, type PipelineTopology } from '../../support/pipeline.ts';
import { customerRecord, entitlementRecord } from '../../support/canonical-records.ts';

const TOKEN = 'zendesk-token-role-test';
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const GROUP = GroupIds.supportEntitlementSink;

let kafka: Kafka;
let topology: PipelineTopology;
let producer: Producer;
let zd: ZendeskSim;
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
  kafka = createKafka(config, logger, 'support-role-test');
  topology = await createPipelineTopology(kafka, config.schemaRegistryUrl, 'support-role');
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
  zd = await startZendeskSim({ tokens: [TOKEN], logger });
  // The role's own sink factory, in the shared runner, on an isolated topology.
  const sink = await supportEntitlementSinkFactory({
    ZENDESK_URL: zd.url,
    ZENDESK_OAUTH_TOKEN: TOKEN,
    ZENDESK_TIMEOUT_MS: '3000',
  })(config, logger);
  redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  redisPrefix = `test:support-role:${randomBytes(4).toString('hex')}:`;
  runner = createSinkRunner({
    sink,
    bus: createKafkajsBus(config, logger, { clientSuffix: 'support-role-test' }),
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
  await zd?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: groupTopics }).catch(() => undefined);
  await admin.deleteGroups([`${topology.prefix}${GROUP}`]).catch(() => undefined);
  await admin.disconnect();
  await topology?.cleanup();
}, 120_000);

async function organizationOf(goldenId: string): Promise<Organization | undefined> {
  const response = await fetch(`${zd.apiUrl}/organizations/search.json?external_id=${goldenId}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await response.json()) as { organizations: Organization[] }).organizations[0];
}

describe('syncline run --role sink-support', () => {
  it('joins its group and keeps the organization and its entitlement in step, whichever topic is read first', async () => {
    expect(runner.groupId).toBe(`${topology.prefix}${GROUP}`);
    const goldenId = randomUUID();

    // The entitlement first: its organization does not exist yet; the runner retries it.
    await produce(
      entitlementRecord(
        { goldenId, entitlementId: 'zendesk:role-1', supportLevel: 'ENTERPRISE', seats: 12 },
        { version: 1 },
      ),
    );
    await produce(
      customerRecord({ goldenId, legalName: `Role Test ${goldenId.slice(0, 8)}` }, { version: 1 }),
    );

    const organization = await eventually(async () => {
      const found = await organizationOf(goldenId);
      return found?.organization_fields.support_level ? found : undefined;
    }, 'the organization with its entitlement');
    expect(organization.organization_fields).toMatchObject({
      golden_customer_id: goldenId,
      support_level: 'enterprise',
      entitlement_seats: 12,
    });
  });

  it('refuses to start without its target configuration, one line per variable, secrets never shown', async () => {
    const error = await supportEntitlementSinkFactory({
      ZENDESK_URL: 'https://acme.zendesk.com',
      ZENDESK_API_TOKEN: 'shh-very-secret',
    })(config, logger).then(
      () => undefined,
      (problem: unknown) => problem,
    );
    expect(error).toBeInstanceOf(SynclineError);
    expect(error).toMatchObject({ code: ErrorCodes.CONFIG_INVALID, retriable: false });
    const message = (error as SynclineError).message;
    expect(message).toContain('ZENDESK_EMAIL: required with ZENDESK_API_TOKEN');
    expect(message).not.toContain('shh-very-secret');
  });
});
