/**
 * What each connector makes of a signed body: the raw records (topic, key, envelope, value), or the
 * reason it refuses or ignores the event. Every record built from a valid event fits its raw topic's
 * Avro schema exactly; redeliveries get the same identities.
 */
import { describe, expect, it } from 'vitest';
import { schemaProblems } from '../../../src/producers/avro-values.ts';
import { eventIdOf } from '../../../src/producers/envelope.ts';
import { SalesforceWebhookSource } from '../../../src/producers/salesforce/salesforce-webhook-source.ts';
import type { RawEvent, WebhookSource } from '../../../src/producers/source.ts';
import { StripeWebhookSource } from '../../../src/producers/stripe/stripe-webhook-source.ts';
import { ZendeskWebhookSource } from '../../../src/producers/zendesk/zendesk-webhook-source.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import {
  salesforceAccountChange,
  salesforceOpportunityClosedWon,
  stripeCustomerCreated,
  stripeSubscriptionUpdated,
  zendeskEntitlementCreated,
  zendeskOrganizationCreated,
} from '../../support/webhook-samples.ts';

const catalog = loadCatalog();
const receivedAt = new Date('2026-01-05T08:00:03Z');
const stripe = new StripeWebhookSource({ secrets: ['whsec_test'] });
const salesforce = new SalesforceWebhookSource({ secrets: ['sf'] });
const zendesk = new ZendeskWebhookSource({ secrets: ['zd'] });

function records(source: WebhookSource, body: unknown): RawEvent[] {
  const parsed = source.parse(body);
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(parsed)}`);
  return source.toRawEvents(parsed.event, { receivedAt });
}

function expectFitsSchema(record: RawEvent): void {
  expect(schemaProblems(catalog.topic(record.topic).type, record.value)).toEqual([]);
}

describe('Stripe connector', () => {
  it('turns customer.created into one raw.stripe.customer record keyed by the customer id', () => {
    const [record, ...rest] = records(stripe, stripeCustomerCreated());
    expect(rest).toHaveLength(0);
    expect(record).toMatchObject({ topic: 'raw.stripe.customer', key: 'cus_QwErTy12345678' });
    expect(record!.envelope).toMatchObject({
      eventType: 'billing.customer.created',
      source: { system: 'stripe', instance: 'test' },
      sourceEntityId: 'cus_QwErTy12345678',
      occurredAt: 1_767_600_000_000,
      ingestedAt: receivedAt.getTime(),
      idempotencyKey: 'stripe:evt_1PqRsTuVwXyZ0123456789ab',
      eventId: eventIdOf('stripe:evt_1PqRsTuVwXyZ0123456789ab'),
    });
    expect(record!.value.data).toMatchObject({
      created: 1_767_600_000_000,
      tax_ids: [{ value: 'DE123456789', country: 'DE' }],
    });
    expectFitsSchema(record!);
  });

  it('names a subscription that became active billing.subscription.activated', () => {
    const [record] = records(stripe, stripeSubscriptionUpdated());
    expect(record!.envelope.eventType).toBe('billing.subscription.activated');
    expect(record!.value.event).toMatchObject({ previous_attributes: { status: '"incomplete"' } });
    expectFitsSchema(record!);
  });

  it('records a subscription status Stripe adds later as unknown instead of refusing it', () => {
    const body = stripeSubscriptionUpdated() as { data: { object: Record<string, unknown> } };
    body.data.object.status = 'on_hold_for_review';
    const [record] = records(stripe, body);
    expect((record!.value.data as { status: string }).status).toBe('unknown');
    expectFitsSchema(record!);
  });

  it('ignores event types it does not consume, without looking at their objects', () => {
    const body = {
      ...stripeCustomerCreated(),
      type: 'charge.succeeded',
      data: { object: { id: 'ch_1', object: 'charge' } },
    };
    expect(stripe.parse(body)).toEqual({ kind: 'ignored', eventType: 'charge.succeeded' });
  });

  it('refuses an event without an id, naming the field', () => {
    const { id: _id, ...body } = stripeCustomerCreated();
    expect(stripe.parse(body)).toMatchObject({ kind: 'invalid', problems: [{ path: 'id' }] });
  });

  it('refuses a customer event whose object is not a customer', () => {
    const body = stripeCustomerCreated() as { data: { object: Record<string, unknown> } };
    body.data.object.id = 'sub_123';
    expect(stripe.parse(body)).toMatchObject({ kind: 'invalid', problems: [{ path: 'data.object.id' }] });
  });

  it('leaves to the schema what only the schema knows, and points at the webhook field', () => {
    const body = stripeCustomerCreated() as { data: { object: Record<string, unknown> } };
    body.data.object.balance = 'a lot';
    const [record] = records(stripe, body);
    const problems = schemaProblems(catalog.topic(record!.topic).type, record!.value);
    expect(problems.map((problem) => stripe.payloadPathOf(problem.path))).toEqual(['data.object.balance']);
  });
});

describe('Salesforce connector', () => {
  it('turns an Account change event into a raw.salesforce.account record with the change event header', () => {
    const [record] = records(salesforce, salesforceAccountChange());
    expect(record).toMatchObject({ topic: 'raw.salesforce.account', key: '0015g00000AbCdEAAX' });
    expect(record!.envelope).toMatchObject({
      eventType: 'crm.account.created',
      source: { system: 'salesforce', instance: '00D5g000004ZsYnEAK' },
      sourceVersion: 11_000_000_123_456,
      occurredAt: 1_767_600_000_000,
    });
    expect(record!.value).toMatchObject({
      Id: '0015g00000AbCdEAAX',
      Name: 'Nordwind Logistik GmbH',
      CreatedDate: Date.parse('2026-01-05T08:00:00.000Z'),
    });
    expectFitsSchema(record!);
  });

  it('makes one record per record id of a bulk change, all in one business transaction', () => {
    const ids = ['0015g00000AbCdEAAX', '0015g00000AbCdFAAX', '0015g00000AbCdGAAX'];
    const out = records(salesforce, salesforceAccountChange({ recordIds: ids }));
    expect(out.map((record) => record.key)).toEqual(ids);
    expect(new Set(out.map((record) => record.envelope.eventId)).size).toBe(3);
    expect(new Set(out.map((record) => record.envelope.correlationId)).size).toBe(1);
    // Each record names only its own id: a bulk change does not grow with the square of its size.
    expect(
      out.map((record) => (record.value.ChangeEventHeader as { recordIds: string[] }).recordIds),
    ).toEqual(ids.map((id) => [id]));
  });

  it('recognises a won opportunity and converts its amount exactly into minor units', () => {
    const [record] = records(salesforce, salesforceOpportunityClosedWon());
    expect(record!.envelope.eventType).toBe('crm.opportunity.closed_won');
    expect(record!.value).toMatchObject({
      AmountMinor: 1_250_050,
      CloseDate: Date.parse('2026-02-27') / 86_400_000,
    });
    expectFitsSchema(record!);
  });

  it('ignores change events of entities it does not consume', () => {
    const body = salesforceAccountChange() as { payload: { ChangeEventHeader: Record<string, unknown> } };
    body.payload.ChangeEventHeader.entityName = 'Contact';
    expect(salesforce.parse(body)).toMatchObject({ kind: 'ignored', eventType: 'ContactChangeEvent.CREATE' });
  });

  it('refuses a change event without its header, naming the field', () => {
    expect(salesforce.parse({ payload: { Name: 'x' } })).toMatchObject({
      kind: 'invalid',
      problems: [{ path: 'payload.ChangeEventHeader' }],
    });
  });
});

describe('Zendesk connector', () => {
  it('turns an organization event into a raw.zendesk.organization record with numeric ids', () => {
    const [record] = records(zendesk, zendeskOrganizationCreated());
    expect(record).toMatchObject({ topic: 'raw.zendesk.organization', key: '16034491183005' });
    expect(record!.envelope).toMatchObject({
      eventType: 'support.organization.created',
      source: { system: 'zendesk', instance: '9732064' },
    });
    expect(record!.value.detail).toMatchObject({ id: 16_034_491_183_005, name: 'Nordwind Logistik' });
    expectFitsSchema(record!);
  });

  it('turns an entitlement record event into a raw.zendesk.entitlement record', () => {
    const [record] = records(zendesk, zendeskEntitlementCreated());
    expect(record).toMatchObject({ topic: 'raw.zendesk.entitlement', key: '01JABCDEFGHJKMNPQRSTVWXYZ0' });
    expect(record!.value.detail).toMatchObject({
      organization_id: 16_034_491_183_005,
      plan: 'premium',
      status: 'active',
      start_date: Date.parse('2026-01-05') / 86_400_000,
    });
    expectFitsSchema(record!);
  });

  it('ignores records of other custom objects and other event types', () => {
    const other = zendeskEntitlementCreated() as { detail: Record<string, unknown> };
    other.detail.custom_object_key = 'asset';
    expect(zendesk.parse(other)).toMatchObject({ kind: 'ignored' });
    expect(
      zendesk.parse({ ...zendeskOrganizationCreated(), type: 'zen:event-type:user.created' }),
    ).toMatchObject({ kind: 'ignored' });
  });

  it('refuses an entitlement record without its organization', () => {
    const body = zendeskEntitlementCreated() as { detail: { custom_object_fields: Record<string, unknown> } };
    delete body.detail.custom_object_fields.organization_id;
    expect(zendesk.parse(body)).toMatchObject({
      kind: 'invalid',
      problems: [{ path: 'detail.custom_object_fields.organization_id' }],
    });
  });
});

describe('identities across redeliveries', () => {
  it('gives a redelivered event the same event id, idempotency key and correlation id', () => {
    const first = records(stripe, stripeCustomerCreated())[0]!;
    const again = new StripeWebhookSource({ secrets: ['x'] }).toRawEvents(
      (stripe.parse(stripeCustomerCreated()) as { kind: 'event'; event: never }).event,
      { receivedAt: new Date(receivedAt.getTime() + 3_600_000) },
    )[0]!;
    expect(again.envelope).toMatchObject({
      eventId: first.envelope.eventId,
      idempotencyKey: first.envelope.idempotencyKey,
      correlationId: first.envelope.correlationId,
    });
    expect(again.envelope.ingestedAt).not.toBe(first.envelope.ingestedAt);
  });
});
