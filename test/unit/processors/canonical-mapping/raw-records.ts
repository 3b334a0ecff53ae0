/**
 * Raw records for the mapping tests, made the way production makes them: the simulator's webhook
 * bodies taken apart by the real connectors (and the ERP sandbox's rows by the poller's record
 * builder), so every value is what the raw topic would hold. Also the checks every built value
 * must pass: valid against its canonical topic's Avro schema, and unchanged by an Avro round trip.
 */
import { expect } from 'vitest';
import { avroEnvelope, schemaProblems } from '../../../../src/producers/avro-values.ts';
import { buildEnvelope, uuidV5 } from '../../../../src/producers/envelope.ts';
import { customerMaster } from '../../../../src/producers/erp-polling/erp-records.ts';
import { ErpSandbox, type ErpCustomerRecord } from '../../../../src/producers/erp-polling/erp-sandbox.ts';
import { SalesforceWebhookSource } from '../../../../src/producers/salesforce/salesforce-webhook-source.ts';
import { erpCustomersOf, scriptWebhooks } from '../../../../src/producers/simulator/event-script.ts';
import { generatePopulation } from '../../../../src/producers/simulator/population.ts';
import type { RawEvent, WebhookSource } from '../../../../src/producers/source.ts';
import { StripeWebhookSource } from '../../../../src/producers/stripe/stripe-webhook-source.ts';
import { ZendeskWebhookSource } from '../../../../src/producers/zendesk/zendesk-webhook-source.ts';
import type { BuildContext, CanonicalDraft } from '../../../../src/processors/canonical-mapping/types.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';

export const catalog = loadCatalog();
const receivedAt = new Date('2026-01-05T08:00:03Z');

const sources: Record<string, WebhookSource> = {
  stripe: new StripeWebhookSource({ secrets: ['whsec_test'] }),
  salesforce: new SalesforceWebhookSource({ secrets: ['sf'] }),
  zendesk: new ZendeskWebhookSource({ secrets: ['zd'] }),
};

/** The raw records of one webhook body, as its connector builds them. */
export function rawRecordsOf(platform: 'stripe' | 'salesforce' | 'zendesk', body: unknown): RawEvent[] {
  const source = sources[platform]!;
  const parsed = source.parse(body);
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(parsed)}`);
  return source.toRawEvents(parsed.event, { receivedAt });
}

/** Every raw record of a simulated population, by raw topic. */
export function simulatedRecords(companies: number, seed: string): Map<string, RawEvent[]> {
  const population = generatePopulation({ companies, seed });
  const byTopic = new Map<string, RawEvent[]>();
  const add = (record: RawEvent): void => {
    const list = byTopic.get(record.topic) ?? [];
    list.push(record);
    byTopic.set(record.topic, list);
  };
  for (const webhook of scriptWebhooks(population, seed)) {
    if (!webhook.consumed) continue;
    rawRecordsOf(webhook.platform, JSON.parse(webhook.body)).forEach(add);
  }
  const sandbox = new ErpSandbox({ now: () => Date.parse('2026-01-05T08:00:00Z') });
  sandbox
    .update(erpCustomersOf(population, seed))
    .forEach((customer, index) => add(erpRecord(customer, index)));
  for (const [topic, records] of byTopic) {
    for (const record of records) expect(schemaProblems(catalog.topic(topic).type, record.value)).toEqual([]);
  }
  return byTopic;
}

/** A raw.erp.customer record of a sandbox row, built as the poller builds it. */
export function erpRecord(customer: ErpCustomerRecord, page = 0): RawEvent {
  const updatedAt = Date.parse(customer.updatedAt);
  const envelope = buildEnvelope({
    system: 'erp',
    instance: customer.companyCode,
    eventType: customer.rowVersion === 1 ? 'erp.customer.created' : 'erp.customer.updated',
    sourceEventId: `${customer.companyCode}/${customer.customerNumber}@${customer.rowVersion}`,
    sourceEntityId: customer.customerNumber,
    sourceVersion: customer.rowVersion,
    occurredAt: updatedAt,
    ingestedAt: updatedAt + 1000,
  });
  return {
    topic: 'raw.erp.customer',
    key: customer.customerNumber,
    envelope,
    value: {
      envelope: avroEnvelope(envelope),
      poll: { cursor: '', page: page + 1, polledAt: updatedAt + 1000 },
      customer: customerMaster({ ...customer }),
    },
  };
}

/** A golden id and a derived envelope, as the pipeline hands them to `build()`. */
export function contextFor(
  draft: Pick<CanonicalDraft, 'recordId' | 'eventType' | 'sourceVersion'> & { entity: string },
): BuildContext {
  const eventId = uuidV5(`test|${draft.entity}|${draft.recordId}`, '1b671a64-40d5-491e-99b0-da01ff1f3341');
  return {
    goldenId: '0b9d8c7e-6f5a-5b4c-8d3e-2f1a0b9c8d7e',
    envelope: {
      eventId,
      eventType: draft.eventType,
      source: { system: 'stripe', instance: 'test' },
      sourceEntityId: draft.recordId,
      sourceVersion: draft.sourceVersion,
      occurredAt: 1_767_600_000_000,
      ingestedAt: 1_767_600_003_000,
      idempotencyKey: `test:${draft.recordId}`,
      correlationId: '3c2b1a09-8f7e-4d6c-9b5a-493827161504',
      causationId: eventId,
    },
  };
}

/** Builds a draft and checks the value against `canonical.<entity>`: valid, and the same after an Avro round trip. */
export function buildValid(
  draft: CanonicalDraft,
  context: BuildContext = contextFor(draft),
): Record<string, unknown> {
  const value = draft.build(context);
  expectCanonical(`canonical.${draft.entity}`, value);
  return value;
}

export function expectCanonical(topic: string, value: Record<string, unknown>): void {
  const type = catalog.topic(topic).type;
  expect(schemaProblems(type, value)).toEqual([]);
  expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
}

/** A copy of a raw value with `changes` applied at dotted paths (`data.currency`). */
export function withChanges(
  value: Record<string, unknown>,
  changes: Record<string, unknown>,
): Record<string, unknown> {
  const copy = structuredClone(value);
  for (const [path, change] of Object.entries(changes)) {
    const keys = path.split('.');
    let target = copy;
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[keys.at(-1)!] = change;
  }
  return copy;
}
