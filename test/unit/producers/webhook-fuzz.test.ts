/**
 * Whatever arrives, the webhook server answers 2xx or 4xx: never a 5xx, never a crash. Property-based:
 * random bytes and headers, random JSON signed with the right secret (so it gets past the signature
 * and into parsing and mapping), and valid events with random parts replaced or removed.
 */
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  salesforceOpportunityClosedWon,
  stripeCustomerCreated,
  stripeSubscriptionUpdated,
  zendeskEntitlementCreated,
  zendeskOrganizationCreated,
} from '../../support/webhook-samples.ts';

const SECRETS = { stripe: 'whsec_fuzz', salesforce: 'sf-fuzz', zendesk: 'zd-fuzz' };
const PLATFORMS: WebhookPlatform[] = ['stripe', 'salesforce', 'zendesk'];
const SAMPLES: { platform: WebhookPlatform; body: () => Record<string, unknown> }[] = [
  { platform: 'stripe', body: stripeCustomerCreated },
  { platform: 'stripe', body: stripeSubscriptionUpdated },
  { platform: 'salesforce', body: salesforceAccountChange },
  { platform: 'salesforce', body: salesforceOpportunityClosedWon },
  { platform: 'zendesk', body: zendeskOrganizationCreated },
  { platform: 'zendesk', body: zendeskEntitlementCreated },
];
const catalog = loadCatalog();
let server: RunningWebhookServer;

beforeAll(async () => {
  server = await startWebhookServer({
    sources: [
      new StripeWebhookSource({ secrets: [SECRETS.stripe] }),
      new SalesforceWebhookSource({ secrets: [SECRETS.salesforce] }),
      new ZendeskWebhookSource({ secrets: [SECRETS.zendesk] }),
    ],
    sink: new MemorySink(),
    logger: createLogger({ level: 'silent' }),
    registry: new Registry(),
    port: 0,
    host: '127.0.0.1',
    bodyLimitBytes: 32 * 1024,
    validate: (event) => schemaProblems(catalog.topic(event.topic).type, event.value),
  });
});

afterAll(async () => {
  await server.close(1000);
});

async function status(
  platform: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<number> {
  const response = await fetch(`${server.url}/webhooks/${platform}`, { method: 'POST', headers, body });
  const text = await response.text();
  // Every answer is JSON with a one-line reason, whatever the input was.
  const answer = JSON.parse(text) as { reason?: unknown };
  expect(typeof answer.reason).toBe('string');
  expect(answer.reason).not.toMatch(/[\r\n]/);
  return response.status;
}

const headerValue = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789=,.:-_ +/'.split('')),
  maxLength: 120,
});
const signatureHeaders = fc.record(
  {
    'stripe-signature': headerValue,
    'x-syncline-signature': headerValue,
    'x-zendesk-webhook-signature': headerValue,
    'x-zendesk-webhook-signature-timestamp': headerValue,
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
    ),
  },
  { requiredKeys: [] },
);

/** Every path of a JSON document, for picking one to change. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value)
    ? value.map((entry, index) => [index, entry] as const)
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, entry]) => paths(entry, [...prefix, key]))];
}

function mutate(
  document: Record<string, unknown>,
  path: (string | number)[],
  replacement: unknown,
  remove: boolean,
): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(document) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

describe('webhook server under arbitrary input', () => {
  it('answers random bytes with random headers with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PLATFORMS),
        fc.uint8Array({ maxLength: 2048 }),
        signatureHeaders,
        async (platform, body, headers) => {
          const code = await status(platform, body, headers);
          expect(code).toBeGreaterThanOrEqual(400);
          expect(code).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers any correctly signed JSON with 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PLATFORMS),
        fc.jsonValue({ maxDepth: 4 }),
        async (platform, value) => {
          const body = JSON.stringify(value) ?? 'null';
          expect(await status(platform, body, signedHeaders(platform, body, SECRETS[platform]))).toBeLessThan(
            500,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers correctly signed events with a part replaced or removed with 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SAMPLES),
        fc.nat(),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.constantFrom('', -1, 1e308, 2 ** 53 + 2, '9'.repeat(30), '2026-13-45', 'ɑ\u0000\ud800'),
        ),
        fc.boolean(),
        async (sample, pick, replacement, remove) => {
          const document = sample.body();
          const all = paths(document);
          const body =
            JSON.stringify(mutate(document, all[pick % all.length]!, replacement, remove)) ?? 'null';
          const code = await status(
            sample.platform,
            body,
            signedHeaders(sample.platform, body, SECRETS[sample.platform]),
          );
          expect(code).toBeLessThan(500);
        },
      ),
      { numRuns: 400 },
    );
  });
});
