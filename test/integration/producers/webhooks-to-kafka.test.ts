/**
 * Signed webhooks end to end against the real broker and registry: each platform's event lands once
 * on its raw topic in the Confluent wire format with the envelope inside and beside it; every
 * bad-input case gets its status and nothing is published; a redelivery is acknowledged again and,
 * even on a server that has forgotten it, carries the same event id and idempotency key.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaPublisher, type AcknowledgedPublisher } from '../../../src/producers/acknowledged-publisher.ts';
import { RawEventSink } from '../../../src/producers/raw-event-sink.ts';
import { SalesforceWebhookSource } from '../../../src/producers/salesforce/salesforce-webhook-source.ts';
import { signedHeaders, type WebhookPlatform } from '../../../src/producers/simulator/webhook-signers.ts';
import { StripeWebhookSource } from '../../../src/producers/stripe/stripe-webhook-source.ts';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/producers/webhook-server.ts';
import { ZendeskWebhookSource } from '../../../src/producers/zendesk/zendesk-webhook-source.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { MAGIC_BYTE } from '../../../src/schemas/serde.ts';
import {
  createPrivateRawTopics,
  RAW_TOPIC_NAMES,
  readTopic,
  type PrivateRawTopics,
} from '../../support/raw-topics.ts';
import {
  salesforceAccountChange,
  stripeCustomerCreated,
  zendeskEntitlementCreated,
  zendeskOrganizationCreated,
} from '../../support/webhook-samples.ts';

const SECRETS = { stripe: 'whsec_it_secret', salesforce: 'sf-it-secret', zendesk: 'zd-it-secret' };
const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(config, logger, 'it-webhooks');
let topics: PrivateRawTopics;

interface Server {
  running: RunningWebhookServer;
  publisher: AcknowledgedPublisher;
}

async function startServer(): Promise<Server> {
  const publisher = kafkaPublisher(kafka, logger);
  await publisher.start();
  const running = await startWebhookServer({
    sources: [
      new StripeWebhookSource({ secrets: [SECRETS.stripe] }),
      new SalesforceWebhookSource({ secrets: [SECRETS.salesforce] }),
      new ZendeskWebhookSource({ secrets: [SECRETS.zendesk] }),
    ],
    sink: new RawEventSink({ publisher, encoder: topics.codec, topicOf: topics.topicOf }),
    logger,
    registry: new Registry(),
    port: 0,
    host: '127.0.0.1',
    bodyLimitBytes: 16 * 1024,
    validate: (event) => topics.codec.problems(event),
  });
  return { running, publisher };
}

async function stopServer(server: Server): Promise<void> {
  await server.running.close(2000);
  await server.publisher.close();
}

async function post(
  server: Server,
  platform: WebhookPlatform,
  body: string,
  headers?: Record<string, string>,
) {
  const response = await fetch(`${server.running.url}/webhooks/${platform}`, {
    method: 'POST',
    headers: headers ?? signedHeaders(platform, body, SECRETS[platform]),
    body,
  });
  return {
    status: response.status,
    json: (await response.json()) as {
      status: string;
      reason: string;
      records?: { eventId: string; topic: string }[];
    },
  };
}

async function allRecords() {
  const lists = await Promise.all(RAW_TOPIC_NAMES.map((topic) => readTopic(kafka, topics.topicOf(topic))));
  return lists.flat();
}

let server: Server;

beforeAll(async () => {
  topics = await createPrivateRawTopics(kafka, config.schemaRegistryUrl, { label: 'webhooks' });
  server = await startServer();
});

afterAll(async () => {
  await stopServer(server);
  await topics.cleanup();
});

describe('webhooks into raw topics', () => {
  it.each([
    ['stripe', 'raw.stripe.customer', stripeCustomerCreated(), 'cus_QwErTy12345678'],
    ['salesforce', 'raw.salesforce.account', salesforceAccountChange(), '0015g00000AbCdEAAX'],
    ['zendesk', 'raw.zendesk.organization', zendeskOrganizationCreated(), '16034491183005'],
    ['zendesk', 'raw.zendesk.entitlement', zendeskEntitlementCreated(), '01JABCDEFGHJKMNPQRSTVWXYZ0'],
  ] as const)(
    'puts a signed %s event once on %s, Avro in the wire format',
    async (platform, topic, body, key) => {
      const answer = await post(server, platform, JSON.stringify(body));
      expect(answer.status).toBe(200);
      const eventId = answer.json.records![0]!.eventId;

      const onTopic = await readTopic(kafka, topics.topicOf(topic));
      const ours = onTopic.filter((record) => record.headers['syncline-event-id'] === eventId);
      expect(ours).toHaveLength(1);
      const [record] = ours;
      expect(record!.key).toBe(key);
      expect(record!.value[0]).toBe(MAGIC_BYTE);
      expect(record!.value.readUInt32BE(1)).toBe(await topics.serde.writerId(topics.topicOf(topic)));
      const value = (await topics.serde.decode(topics.topicOf(topic), record!.value)) as {
        envelope: Record<string, unknown>;
      };
      expect(value.envelope).toMatchObject({
        eventId,
        idempotencyKey: record!.headers['syncline-idempotency-key'],
        causationId: null,
      });
      expect(record!.headers['syncline-correlation-id']).toBe(value.envelope.correlationId);
    },
  );

  it('answers each bad input with its status and publishes nothing', async () => {
    const before = (await allRecords()).length;
    const valid = JSON.stringify(stripeCustomerCreated({ id: 'evt_badinput00000000000000001' }));
    const unknownType = JSON.stringify({
      ...stripeCustomerCreated({ id: 'evt_badinput00000000000000002' }),
      type: 'charge.captured',
      data: { object: { id: 'ch_1', object: 'charge' } },
    });
    const wrongShape = JSON.stringify({
      ...salesforceAccountChange(),
      payload: { ChangeEventHeader: { entityName: 'Account' } },
    });
    const cases: [string, Promise<{ status: number; json: { status: string; reason: string } }>, number][] = [
      [
        'too large',
        post(server, 'stripe', JSON.stringify({ ...stripeCustomerCreated(), pad: 'x'.repeat(20_000) })),
        413,
      ],
      ['not JSON', post(server, 'zendesk', '<xml>organization</xml>'), 400],
      ['no signature', post(server, 'stripe', valid, { 'content-type': 'application/json' }), 401],
      ['wrong secret', post(server, 'stripe', valid, signedHeaders('stripe', valid, 'whsec_wrong')), 401],
      [
        'stale',
        post(
          server,
          'stripe',
          valid,
          signedHeaders('stripe', valid, SECRETS.stripe, { at: Date.now() - 3_600_000 }),
        ),
        401,
      ],
      ['wrong shape', post(server, 'salesforce', wrongShape), 422],
      ['unknown type', post(server, 'stripe', unknownType), 200],
    ];
    for (const [name, pending, status] of cases) {
      const answer = await pending;
      expect({ name, status: answer.status }).toEqual({ name, status });
      expect(answer.json.reason.length).toBeGreaterThan(0);
    }
    expect((await allRecords()).length).toBe(before);
  });

  it('acknowledges a redelivery again and gives it no second effect', async () => {
    const body = JSON.stringify(
      stripeCustomerCreated({ id: 'evt_redelivery0000000000001', customerId: 'cus_Redelivered0001' }),
    );
    const first = await post(server, 'stripe', body);
    const again = await post(server, 'stripe', body);
    expect([first.json.status, again.json.status]).toEqual(['accepted', 'duplicate']);

    // A restarted server has forgotten the first delivery: it publishes the redelivery again, with
    // the same event id and idempotency key, which is what downstream deduplicates on.
    const restarted = await startServer();
    try {
      const afterRestart = await post(restarted, 'stripe', body);
      expect(afterRestart.json.status).toBe('accepted');
      expect(afterRestart.json.records![0]!.eventId).toBe(first.json.records![0]!.eventId);
    } finally {
      await stopServer(restarted);
    }
    const copies = (await readTopic(kafka, topics.topicOf('raw.stripe.customer'))).filter(
      (record) => record.key === 'cus_Redelivered0001',
    );
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((record) => record.headers['syncline-event-id'])).size).toBe(1);
    expect(new Set(copies.map((record) => record.headers['syncline-idempotency-key']))).toEqual(
      new Set(['stripe:evt_redelivery0000000000001']),
    );
  });

  it('puts every record of a bulk change on the topic in one acknowledged request', async () => {
    const ids = ['0015g00000BulkAAAA', '0015g00000BulkBAAA', '0015g00000BulkCAAA'];
    const answer = await post(
      server,
      'salesforce',
      JSON.stringify(salesforceAccountChange({ recordIds: ids, transactionKey: 'tx-bulk-1' })),
    );
    expect(answer.status).toBe(200);
    const onTopic = (await readTopic(kafka, topics.topicOf('raw.salesforce.account'))).filter((record) =>
      ids.includes(record.key),
    );
    expect(onTopic.map((record) => record.key).sort()).toEqual([...ids].sort());
  });
});
