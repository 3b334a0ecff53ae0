/**
 * The webhook server's promises to a sender, checked over HTTP against an in-memory sink: what each
 * kind of bad input is answered, that every answer is JSON with a one-line reason, that only a
 * stored event is acknowledged, that redeliveries are acknowledged without a second publish, and
 * that nothing secret reaches the logs.
 */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { schemaProblems } from '../../../src/producers/avro-values.ts';
import { SalesforceWebhookSource } from '../../../src/producers/salesforce/salesforce-webhook-source.ts';
import { signedHeaders, type WebhookPlatform } from '../../../src/producers/simulator/webhook-signers.ts';
import { StripeWebhookSource } from '../../../src/producers/stripe/stripe-webhook-source.ts';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/producers/webhook-server.ts';
import { ZendeskWebhookSource } from '../../../src/producers/zendesk/zendesk-webhook-source.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { MemorySink } from '../../support/memory-sink.ts';
import {
  salesforceAccountChange,
  stripeCustomerCreated,
  zendeskOrganizationCreated,
} from '../../support/webhook-samples.ts';

const SECRETS = {
  stripe: 'whsec_unit_secret_1',
  salesforce: 'sf-unit-secret-1',
  zendesk: 'zd-unit-secret-1',
};
const catalog = loadCatalog();
const sink = new MemorySink();
const registry = new Registry();
const logLines: string[] = [];
let server: RunningWebhookServer;

beforeAll(async () => {
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  server = await startWebhookServer({
    sources: [
      new StripeWebhookSource({ secrets: [SECRETS.stripe] }),
      new SalesforceWebhookSource({ secrets: [SECRETS.salesforce] }),
      new ZendeskWebhookSource({ secrets: [SECRETS.zendesk] }),
    ],
    sink,
    logger,
    registry,
    port: 0,
    host: '127.0.0.1',
    bodyLimitBytes: 64 * 1024,
    retryAfterSeconds: 7,
    validate: (event) => schemaProblems(catalog.topic(event.topic).type, event.value),
  });
});

afterAll(async () => {
  await server.close(1000);
});

beforeEach(() => {
  sink.mode = 'accept';
  sink.published.length = 0;
});

async function post(
  platform: WebhookPlatform,
  body: string,
  headers: Record<string, string> = signedHeaders(platform, body, SECRETS[platform]),
) {
  const response = await fetch(`${server.url}/webhooks/${platform}`, { method: 'POST', headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: JSON.parse(text) as { status: string; reason: string; [key: string]: unknown },
  };
}

function expectOneLineReason(answer: { json: { reason: string } }): void {
  expect(typeof answer.json.reason).toBe('string');
  expect(answer.json.reason.length).toBeGreaterThan(0);
  expect(answer.json.reason).not.toContain('\n');
}

async function countOf(source: string, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('syncline_webhook_requests_total')?.get();
  return (
    metric?.values.find((value) => value.labels.source === source && value.labels.outcome === outcome)
      ?.value ?? 0
  );
}

describe('webhook server', () => {
  it.each([
    ['stripe', stripeCustomerCreated({ id: 'evt_accepted0000000000000001' }), 'raw.stripe.customer'],
    ['salesforce', salesforceAccountChange({ transactionKey: 'tx-accepted-1' }), 'raw.salesforce.account'],
    ['zendesk', zendeskOrganizationCreated({ id: 'zd-accepted-1' }), 'raw.zendesk.organization'],
  ] as const)('acknowledges a signed %s event with 200 once it is stored', async (platform, body, topic) => {
    const answer = await post(platform, JSON.stringify(body));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'accepted', records: [{ topic }] });
    expectOneLineReason(answer);
    expect(sink.published).toHaveLength(1);
    expect(sink.published[0]![0]!.topic).toBe(topic);
  });

  it('answers 413 to a body over the limit, and publishes nothing', async () => {
    const body = JSON.stringify({ ...stripeCustomerCreated(), padding: 'x'.repeat(70 * 1024) });
    const answer = await post('stripe', body);
    expect(answer.status).toBe(413);
    expect(answer.json.status).toBe('too_large');
    expectOneLineReason(answer);
    expect(sink.published).toHaveLength(0);
  });

  it('answers 401 to a missing signature, and publishes nothing', async () => {
    const answer = await post('stripe', JSON.stringify(stripeCustomerCreated()), {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ status: 'unauthorized', reason: 'missing Stripe-Signature header' });
    expect(sink.published).toHaveLength(0);
  });

  it('answers 401 to a signature made with another secret, and publishes nothing', async () => {
    const body = JSON.stringify(salesforceAccountChange());
    const answer = await post('salesforce', body, signedHeaders('salesforce', body, 'not-the-secret'));
    expect(answer.status).toBe(401);
    expectOneLineReason(answer);
    expect(sink.published).toHaveLength(0);
  });

  it('answers 401 to a stale signature, and publishes nothing', async () => {
    const body = JSON.stringify(zendeskOrganizationCreated());
    const answer = await post(
      'zendesk',
      body,
      signedHeaders('zendesk', body, SECRETS.zendesk, { at: Date.now() - 10 * 60_000 }),
    );
    expect(answer.status).toBe(401);
    expect(answer.json.reason).toMatch(/outside the 300s window/);
    expect(sink.published).toHaveLength(0);
  });

  it('answers 400 to a signed body that is not JSON, and publishes nothing', async () => {
    const answer = await post('stripe', 'customer=cus_1&name=Nordwind');
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ status: 'bad_request', reason: 'body is not JSON' });
    expect(sink.published).toHaveLength(0);
  });

  it("answers 422 listing the fields when a signed body is not of the platform's shape", async () => {
    const body = stripeCustomerCreated() as { data: { object: Record<string, unknown> }; created?: unknown };
    delete body.created;
    body.data.object.id = 42;
    const answer = await post('stripe', JSON.stringify(body));
    expect(answer.status).toBe(422);
    expect(answer.json.status).toBe('invalid');
    expect((answer.json.fields as { path: string }[]).map((field) => field.path)).toEqual([
      'created',
      'data.object.id',
    ]);
    expectOneLineReason(answer);
    expect(sink.published).toHaveLength(0);
  });

  it('answers 422 for a field only the raw topic schema constrains, named as the sender knows it', async () => {
    const body = stripeCustomerCreated() as { data: { object: Record<string, unknown> } };
    body.data.object.created = 'yesterday';
    const answer = await post('stripe', JSON.stringify(body));
    expect(answer.status).toBe(422);
    expect((answer.json.fields as { path: string }[]).map((field) => field.path)).toEqual([
      'data.object.created',
    ]);
    expect(sink.published).toHaveLength(0);
  });

  it('acknowledges an event type it does not consume with 200, counts it, and publishes nothing', async () => {
    const before = await countOf('stripe', 'ignored');
    const body = {
      ...stripeCustomerCreated(),
      type: 'charge.refunded',
      data: { object: { id: 'ch_1', object: 'charge' } },
    };
    const answer = await post('stripe', JSON.stringify(body));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ status: 'ignored' });
    expect(await countOf('stripe', 'ignored')).toBe(before + 1);
    expect(sink.published).toHaveLength(0);
  });

  it('acknowledges a redelivery again without publishing it again', async () => {
    const body = JSON.stringify(stripeCustomerCreated({ id: 'evt_redelivered0000000000001' }));
    const first = await post('stripe', body);
    const second = await post('stripe', body);
    expect(first.json.status).toBe('accepted');
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ status: 'duplicate', records: first.json.records });
    expect(sink.published).toHaveLength(1);
  });

  it('publishes identical deliveries that arrive together once, and acknowledges both', async () => {
    sink.mode = 'hold';
    const body = JSON.stringify(zendeskOrganizationCreated({ id: 'zd-concurrent-1' }));
    const both = Promise.all([post('zendesk', body), post('zendesk', body)]);
    await waitFor(() => sink.heldCount === 1);
    sink.release();
    const answers = await both;
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(sink.published).toHaveLength(1);
  });

  it('answers 503 with Retry-After when Kafka cannot take the event, and acknowledges it after a retry', async () => {
    sink.mode = 'refuse';
    const body = JSON.stringify(stripeCustomerCreated({ id: 'evt_brokerdown00000000000001' }));
    const refused = await post('stripe', body);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.json.status).toBe('unavailable');
    expectOneLineReason(refused);
    sink.mode = 'accept';
    const retried = await post('stripe', body);
    expect(retried.json.status).toBe('accepted');
    expect(sink.published).toHaveLength(1);
  });

  it('answers JSON 404 for an unknown path and 405 for a GET on a webhook', async () => {
    const missing = await fetch(`${server.url}/webhooks/hubspot`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { status: string }).status).toBe('not_found');
    const get = await fetch(`${server.url}/webhooks/stripe`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('counts requests by source and outcome', async () => {
    const before = await countOf('salesforce', 'unauthorized');
    await post('salesforce', '{}', { 'x-syncline-signature': 't=1,v1=00' });
    expect(await countOf('salesforce', 'unauthorized')).toBe(before + 1);
  });

  it('never writes a secret or a signature to the logs', async () => {
    const body = JSON.stringify(stripeCustomerCreated({ id: 'evt_logcheck000000000000001' }));
    const headers = signedHeaders('stripe', body, SECRETS.stripe);
    await post('stripe', body, headers);
    await post('stripe', body, signedHeaders('stripe', body, 'whsec_wrong'));
    const logs = logLines.join('');
    expect(logs).toContain('correlationId');
    const signature = headers['stripe-signature']!.split('v1=')[1]!;
    for (const secret of [...Object.values(SECRETS), 'whsec_wrong', signature])
      expect(logs).not.toContain(secret);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
