/**
 * The business mappers: Stripe subscriptions become contracts (and renewals when a term renews or
 * will not), Stripe invoices become invoices, closed-won opportunities become orders (and
 * contracts when the deal states a term), Zendesk entitlements become entitlements. Every built
 * value fits its canonical schema; a record that cannot be mapped fails naming topic and field.
 */
import { describe, expect, it } from 'vitest';
import { mapSalesforceOpportunity } from '../../../../src/processors/canonical-mapping/salesforce-opportunity.ts';
import { mapStripeInvoice } from '../../../../src/processors/canonical-mapping/stripe-invoice.ts';
import { mapStripeSubscription } from '../../../../src/processors/canonical-mapping/stripe-subscription.ts';
import type { CanonicalDraft, RawMapper } from '../../../../src/processors/canonical-mapping/types.ts';
import { mapZendeskEntitlement } from '../../../../src/processors/canonical-mapping/zendesk-entitlement.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';
import {
  salesforceOpportunityClosedWon,
  stripeSubscriptionUpdated,
  zendeskEntitlementCreated,
} from '../../../support/webhook-samples.ts';
import { buildValid, rawRecordsOf, simulatedRecords, withChanges } from './raw-records.ts';

const DAY = 86_400_000;
const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY;
const simulated = simulatedRecords(60, 'business-mappers');
const subscription = rawRecordsOf('stripe', stripeSubscriptionUpdated())[0]!.value;
const invoice = simulated.get('raw.stripe.invoice')![0]!.value;
const opportunity = withChanges(rawRecordsOf('salesforce', salesforceOpportunityClosedWon())[0]!.value, {
  AccountId: '0015g00000AbCdEAAX',
});
const entitlement = rawRecordsOf('zendesk', zendeskEntitlementCreated())[0]!.value;

function expectMappingError(run: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SynclineError);
  expect(thrown).toMatchObject({ code: 'MAPPING_FAILED', retriable: false, message });
}

function only(drafts: CanonicalDraft[], entity: CanonicalDraft['entity']): CanonicalDraft {
  const found = drafts.filter((draft) => draft.entity === entity);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('every simulated business record', () => {
  it.each<[string, RawMapper]>([
    ['raw.stripe.subscription', mapStripeSubscription],
    ['raw.stripe.invoice', mapStripeInvoice],
    ['raw.zendesk.entitlement', mapZendeskEntitlement],
  ])('of %s maps to drafts whose values fit their canonical schema', (topic, mapper) => {
    const records = simulated.get(topic) ?? [];
    expect(records.length).toBeGreaterThan(10);
    for (const record of records) {
      const { identity, drafts } = mapper(record.value);
      expect(identity).toBeUndefined();
      expect(drafts.length).toBeGreaterThan(0);
      for (const draft of drafts) {
        expect(draft.sourceVersion).toBe(record.envelope.sourceVersion);
        buildValid(draft);
      }
    }
  });

  it('of raw.salesforce.opportunity yields nothing while open or lost, and an order for every closed-won update', () => {
    const records = simulated.get('raw.salesforce.opportunity') ?? [];
    let won = 0;
    for (const record of records) {
      if (record.value.IsWon !== true) {
        expect(mapSalesforceOpportunity(record.value)).toEqual({ drafts: [] });
        continue;
      }
      // The simulator's closed-won update carries the changed fields (stage, close date) and the
      // fields its channel enriches change events with (account, amount, currency).
      const { identity, drafts } = mapSalesforceOpportunity(record.value);
      expect(identity).toBeUndefined();
      const order = drafts.find((draft) => draft.entity === 'order');
      expect(order?.customer).toEqual({ system: 'salesforce', id: record.value.AccountId });
      for (const draft of drafts) buildValid(draft);
      won += 1;
    }
    expect(won).toBeGreaterThan(0);
  });
});

describe('Stripe subscription', () => {
  it('becomes an active, auto-renewing monthly contract of its customer, with its items as lines', () => {
    const { drafts } = mapStripeSubscription(subscription);
    expect(drafts).toHaveLength(1);
    const contract = only(drafts, 'contract');
    expect(contract).toMatchObject({
      customer: { system: 'stripe', id: 'cus_QwErTy12345678' },
      recordId: 'stripe:sub_1AbCdEfGhIjKlM',
      sourceVersion: 1_767_700_000_000,
      eventType: 'canonical.contract.activated',
    });
    const value = buildValid(contract);
    expect(value).toMatchObject({
      contractId: 'stripe:sub_1AbCdEfGhIjKlM',
      goldenId: '0b9d8c7e-6f5a-5b4c-8d3e-2f1a0b9c8d7e',
      status: 'ACTIVE',
      startDate: day('2026-01-05'),
      // The period ends 2026-02-05T08:00Z (exclusive): the term's last day is that day.
      endDate: day('2026-02-05'),
      termMonths: 1,
      autoRenew: true,
      billingInterval: 'MONTHLY',
      currency: 'EUR',
      recurringValueMinor: 24_500,
      totalValueMinor: 24_500,
      lines: [
        {
          lineId: 'si_1',
          productCode: 'prod_1',
          description: 'Team monthly',
          quantity: 5,
          unitPriceMinor: 4900,
          amountMinor: 24_500,
        },
      ],
      sources: [{ system: 'stripe', instance: 'test', entity: 'subscription', id: 'sub_1AbCdEfGhIjKlM' }],
    });
    expect(value.envelope).toMatchObject({ eventType: 'canonical.contract.activated' });
  });

  it('adds a RENEWED renewal of the new term when the billing period rolled over', () => {
    const renewed = withChanges(subscription, {
      'event.previous_attributes': { current_period_start: '1764921600', current_period_end: '1767600000' },
    });
    const renewal = only(mapStripeSubscription(renewed).drafts, 'renewal');
    expect(renewal).toMatchObject({
      recordId: 'stripe:sub_1AbCdEfGhIjKlM:2026-01-05',
      eventType: 'canonical.renewal.renewed',
    });
    expect(buildValid(renewal)).toMatchObject({
      contractId: 'stripe:sub_1AbCdEfGhIjKlM',
      status: 'RENEWED',
      renewalDate: day('2026-01-05'),
      noticeDate: null,
      autoRenew: true,
      renewedValueMinor: 24_500,
    });
  });

  it('reads a rolled-over period from the items too (API versions from 2025-03-31)', () => {
    const renewed = withChanges(subscription, {
      'event.previous_attributes': {
        items: JSON.stringify({ data: [{ current_period_start: 1_764_921_600 }] }),
      },
    });
    expect(only(mapStripeSubscription(renewed).drafts, 'renewal').eventType).toBe(
      'canonical.renewal.renewed',
    );
  });

  it('adds a CANCELLED renewal when set to end at the period end, and an UPCOMING one when that is taken back', () => {
    const cancelling = withChanges(subscription, {
      'data.cancel_at_period_end': true,
      'event.previous_attributes': { cancel_at_period_end: 'false' },
    });
    const drafts = mapStripeSubscription(cancelling).drafts;
    expect(buildValid(only(drafts, 'contract'))).toMatchObject({ status: 'ACTIVE', autoRenew: false });
    const cancelled = only(drafts, 'renewal');
    expect(cancelled.recordId).toBe('stripe:sub_1AbCdEfGhIjKlM:2026-02-05');
    expect(buildValid(cancelled)).toMatchObject({
      status: 'CANCELLED',
      renewalDate: day('2026-02-05'),
      noticeDate: day('2026-02-04'),
      autoRenew: false,
      renewedValueMinor: null,
    });
    const resumed = withChanges(subscription, {
      'event.previous_attributes': { cancel_at_period_end: 'true' },
    });
    const upcoming = only(mapStripeSubscription(resumed).drafts, 'renewal');
    expect(upcoming.recordId).toBe(cancelled.recordId);
    expect(buildValid(upcoming)).toMatchObject({ status: 'UPCOMING', autoRenew: true });
  });

  it('becomes a cancelled contract ending on its last day when cancelled, with the renewal cancelled', () => {
    const ended = withChanges(subscription, {
      'data.status': 'canceled',
      'data.canceled_at': Date.parse('2026-01-20T10:00:00Z'),
      'data.ended_at': Date.parse('2026-01-20T10:00:00Z'),
      'event.type': 'customer.subscription.deleted',
    });
    const drafts = mapStripeSubscription(ended).drafts;
    const contract = only(drafts, 'contract');
    expect(contract.eventType).toBe('canonical.contract.cancelled');
    expect(buildValid(contract)).toMatchObject({
      status: 'CANCELLED',
      endDate: day('2026-01-20'),
      autoRenew: false,
    });
    expect(buildValid(only(drafts, 'renewal'))).toMatchObject({ status: 'CANCELLED' });
  });

  it('has no renewal and is a draft contract while the first payment is incomplete', () => {
    const incomplete = withChanges(subscription, {
      'data.status': 'incomplete',
      'event.previous_attributes': null,
    });
    const drafts = mapStripeSubscription(incomplete).drafts;
    expect(drafts.map((draft) => draft.entity)).toEqual(['contract']);
    expect(buildValid(drafts[0]!)).toMatchObject({ status: 'DRAFT', autoRenew: false });
  });

  it('maps a free plan (zero amount), yearly and metered prices, and no period dates', () => {
    const yearlyFree = withChanges(subscription, {
      'data.items.0.price.unit_amount': 0,
      'data.items.0.price.recurring': { interval: 'year', interval_count: 1 },
      'data.current_period_start': null,
      'data.current_period_end': null,
    });
    expect(buildValid(only(mapStripeSubscription(yearlyFree).drafts, 'contract'))).toMatchObject({
      billingInterval: 'YEARLY',
      termMonths: 12,
      recurringValueMinor: 0,
      endDate: null,
    });
    const metered = withChanges(subscription, {
      'data.items.0.price.unit_amount': null,
      'data.items.0.quantity': null,
    });
    expect(buildValid(only(mapStripeSubscription(metered).drafts, 'contract'))).toMatchObject({
      recurringValueMinor: null,
      lines: [{ quantity: 1, unitPriceMinor: 0, amountMinor: 0 }],
    });
  });

  it('fails without a customer, with an unknown currency, or with a period ending before it starts', () => {
    expectMappingError(
      () => mapStripeSubscription(withChanges(subscription, { 'data.customer': '' })),
      'raw.stripe.subscription: data.customer: missing customer reference',
    );
    expectMappingError(
      () => mapStripeSubscription(withChanges(subscription, { 'data.currency': 'zzz' })),
      "raw.stripe.subscription: data.currency: unknown currency 'zzz' (expected an ISO 4217 code)",
    );
    expectMappingError(
      () =>
        mapStripeSubscription(withChanges(subscription, { 'data.current_period_end': 1_767_000_000_000 })),
      'raw.stripe.subscription: data.current_period_end: is before data.current_period_start',
    );
    expectMappingError(
      () => mapStripeSubscription(withChanges(subscription, { 'data.items.0.price.currency': 'usd' })),
      "raw.stripe.subscription: data.items.0.price.currency: usd differs from the subscription's EUR",
    );
  });
});

describe('Stripe invoice', () => {
  it('becomes an invoice of its customer, linked to the contract of its subscription', () => {
    const record = invoice as { data: Record<string, unknown>; event: { type: string } };
    const draft = only(mapStripeInvoice(invoice).drafts, 'invoice');
    expect(draft).toMatchObject({
      customer: { system: 'stripe', id: record.data.customer },
      recordId: `stripe:${String(record.data.id)}`,
    });
    const value = buildValid(draft);
    expect(value).toMatchObject({
      invoiceId: `stripe:${String(record.data.id)}`,
      contractId: `stripe:${String(record.data.subscription)}`,
      number: record.data.number,
      currency: String(record.data.currency).toUpperCase(),
      subtotalMinor: record.data.subtotal,
      totalMinor: record.data.total,
      amountDueMinor: record.data.amount_due,
    });
  });

  it('says PAYMENT_FAILED for a failed collection, PAID with its time when paid, VOID when voided', () => {
    const failed = withChanges(invoice, {
      'event.type': 'invoice.payment_failed',
      'data.status': 'open',
      'data.attempt_count': 2,
    });
    const failedDraft = only(mapStripeInvoice(failed).drafts, 'invoice');
    expect(failedDraft.eventType).toBe('canonical.invoice.payment_failed');
    expect(buildValid(failedDraft)).toMatchObject({ status: 'PAYMENT_FAILED', paymentAttempts: 2 });
    const paidAt = Date.parse('2026-02-05T08:05:00Z');
    const paid = withChanges(invoice, {
      'event.type': 'invoice.paid',
      'data.status': 'paid',
      'data.status_transitions.paid_at': paidAt,
    });
    expect(buildValid(only(mapStripeInvoice(paid).drafts, 'invoice'))).toMatchObject({
      status: 'PAID',
      paidAt,
    });
    const voided = withChanges(invoice, { 'event.type': 'invoice.voided', 'data.status': 'void' });
    expect(only(mapStripeInvoice(voided).drafts, 'invoice').eventType).toBe('canonical.invoice.voided');
  });

  it('maps a zero invoice without tax, lines or subscription', () => {
    const zero = withChanges(invoice, {
      'data.subtotal': 0,
      'data.tax': null,
      'data.total': 0,
      'data.amount_due': 0,
      'data.amount_paid': 0,
      'data.amount_remaining': 0,
      'data.lines': [],
      'data.subscription': null,
    });
    expect(buildValid(only(mapStripeInvoice(zero).drafts, 'invoice'))).toMatchObject({
      contractId: null,
      taxMinor: 0,
      totalMinor: 0,
      lines: [],
    });
  });

  it('fails without a customer, with an unknown currency, or with a period ending before it starts', () => {
    expectMappingError(
      () => mapStripeInvoice(withChanges(invoice, { 'data.customer': ' ' })),
      'raw.stripe.invoice: data.customer: missing customer reference',
    );
    expectMappingError(
      () => mapStripeInvoice(withChanges(invoice, { 'data.currency': 'eu' })),
      "raw.stripe.invoice: data.currency: unknown currency 'eu' (expected an ISO 4217 code)",
    );
    expectMappingError(
      () => mapStripeInvoice(withChanges(invoice, { 'data.period_end': 0 })),
      'raw.stripe.invoice: data.period_end: is before data.period_start',
    );
  });
});

describe('Salesforce opportunity', () => {
  it('won: becomes a confirmed order of its account, in minor units', () => {
    const drafts = mapSalesforceOpportunity(opportunity).drafts;
    expect(drafts.map((draft) => draft.entity)).toEqual(['order']);
    expect(drafts[0]).toMatchObject({
      customer: { system: 'salesforce', id: '0015g00000AbCdEAAX' },
      recordId: 'salesforce:0065g00000QrStUAAV',
      sourceVersion: 11_000_000_223_456,
      eventType: 'canonical.order.confirmed',
    });
    expect(buildValid(drafts[0]!)).toMatchObject({
      orderId: 'salesforce:0065g00000QrStUAAV',
      contractId: null,
      status: 'CONFIRMED',
      orderedAt: Date.parse('2026-02-27T00:00:00Z'),
      currency: 'EUR',
      totalMinor: 1_250_050,
      lines: [],
      sources: [
        {
          system: 'salesforce',
          instance: '00D5g000004ZsYnEAK',
          entity: 'opportunity',
          id: '0065g00000QrStUAAV',
        },
      ],
    });
  });

  it('won with a contract term: also a contract the order fulfils, ending the day before the term is over', () => {
    const withTerm = withChanges(opportunity, {
      ContractTermMonths__c: 12,
      ContractStartDate__c: day('2026-03-31'),
      LineItems: [
        {
          Id: '00k1',
          Product2Id: '01t1',
          ProductCode: 'PLAT-ENT',
          Name: 'Platform',
          Quantity: 2.5,
          UnitPriceMinor: 500_020,
          TotalPriceMinor: 1_250_050,
        },
      ],
    });
    const drafts = mapSalesforceOpportunity(withTerm).drafts;
    expect(drafts.map((draft) => draft.entity)).toEqual(['contract', 'order']);
    expect(buildValid(only(drafts, 'contract'))).toMatchObject({
      contractId: 'salesforce:0065g00000QrStUAAV',
      status: 'ACTIVE',
      startDate: day('2026-03-31'),
      endDate: day('2027-03-30'),
      termMonths: 12,
      totalValueMinor: 1_250_050,
      lines: [{ lineId: '00k1', productCode: 'PLAT-ENT', quantity: 2.5 }],
    });
    expect(buildValid(only(drafts, 'order'))).toMatchObject({ contractId: 'salesforce:0065g00000QrStUAAV' });
    const monthEnd = withChanges(withTerm, {
      ContractTermMonths__c: 1,
      ContractStartDate__c: day('2026-01-31'),
    });
    expect(buildValid(only(mapSalesforceOpportunity(monthEnd).drafts, 'contract'))).toMatchObject({
      endDate: day('2026-02-27'),
    });
  });

  it('won with a zero amount, or an amount only from its line items', () => {
    expect(
      buildValid(
        only(mapSalesforceOpportunity(withChanges(opportunity, { AmountMinor: 0 })).drafts, 'order'),
      ),
    ).toMatchObject({
      totalMinor: 0,
    });
    const fromLines = withChanges(opportunity, {
      AmountMinor: null,
      LineItems: [
        {
          Id: 'a',
          Product2Id: null,
          ProductCode: null,
          Name: null,
          Quantity: 1,
          UnitPriceMinor: 100,
          TotalPriceMinor: 100,
        },
        {
          Id: 'b',
          Product2Id: '01t2',
          ProductCode: null,
          Name: 'Setup',
          Quantity: 1,
          UnitPriceMinor: 50,
          TotalPriceMinor: 50,
        },
      ],
    });
    expect(buildValid(only(mapSalesforceOpportunity(fromLines).drafts, 'order'))).toMatchObject({
      totalMinor: 150,
      lines: [{ productCode: null }, { productCode: '01t2' }],
    });
  });

  it('open, lost or deleted: yields nothing', () => {
    expect(
      mapSalesforceOpportunity(withChanges(opportunity, { IsWon: false, StageName: 'Closed Lost' })),
    ).toEqual({ drafts: [] });
    expect(
      mapSalesforceOpportunity(withChanges(opportunity, { IsWon: null, StageName: 'Negotiation/Review' })),
    ).toEqual({ drafts: [] });
    expect(
      mapSalesforceOpportunity(withChanges(opportunity, { 'ChangeEventHeader.changeType': 'DELETE' })),
    ).toEqual({ drafts: [] });
  });

  it('won but unusable: fails naming the field', () => {
    expectMappingError(
      () => mapSalesforceOpportunity(withChanges(opportunity, { CurrencyIsoCode: null })),
      'raw.salesforce.opportunity: CurrencyIsoCode: missing currency',
    );
    expectMappingError(
      () => mapSalesforceOpportunity(withChanges(opportunity, { AmountMinor: null })),
      'raw.salesforce.opportunity: AmountMinor: missing, and no line items to add up',
    );
    expectMappingError(
      () => mapSalesforceOpportunity(withChanges(opportunity, { AmountMinor: -5 })),
      'raw.salesforce.opportunity: AmountMinor: must not be negative, got -5',
    );
    expectMappingError(
      () => mapSalesforceOpportunity(withChanges(opportunity, { ContractTermMonths__c: 0 })),
      'raw.salesforce.opportunity: ContractTermMonths__c: must be a positive number of months, got 0',
    );
  });
});

describe('Zendesk entitlement', () => {
  it('becomes an active premium entitlement of its organisation, from its first day to the end of its last', () => {
    const draft = only(mapZendeskEntitlement(entitlement).drafts, 'entitlement');
    expect(draft).toMatchObject({
      customer: { system: 'zendesk', id: '16034491183005' },
      recordId: 'zendesk:01JABCDEFGHJKMNPQRSTVWXYZ0',
      eventType: 'canonical.entitlement.granted',
    });
    expect(buildValid(draft)).toMatchObject({
      entitlementId: 'zendesk:01JABCDEFGHJKMNPQRSTVWXYZ0',
      productCode: 'SUP-PREM',
      productName: 'Premium Support 2026',
      supportLevel: 'PREMIUM',
      seats: 25,
      status: 'ACTIVE',
      startsAt: Date.parse('2026-01-05T00:00:00Z'),
      endsAt: Date.parse('2027-01-06T00:00:00Z'),
      contractId: null,
    });
  });

  it('is revoked when cancelled, open-ended without an end date, and unknown without a plan', () => {
    const cancelled = withChanges(entitlement, {
      'detail.status': 'cancelled',
      'event.type': 'zen:event-type:custom_object_record.deleted',
    });
    const draft = only(mapZendeskEntitlement(cancelled).drafts, 'entitlement');
    expect(draft.eventType).toBe('canonical.entitlement.revoked');
    expect(buildValid(draft)).toMatchObject({ status: 'REVOKED' });
    const open = withChanges(entitlement, {
      'detail.end_date': null,
      'detail.plan': null,
      'detail.total_units': null,
    });
    expect(buildValid(only(mapZendeskEntitlement(open).drafts, 'entitlement'))).toMatchObject({
      endsAt: null,
      supportLevel: 'UNKNOWN',
      seats: null,
    });
  });

  it('fails without a product, with an end before its start, or without an organisation', () => {
    expectMappingError(
      () =>
        mapZendeskEntitlement(withChanges(entitlement, { 'detail.product_code': null, 'detail.plan': null })),
      'raw.zendesk.entitlement: detail.product_code: missing, and no plan to stand for it',
    );
    expectMappingError(
      () => mapZendeskEntitlement(withChanges(entitlement, { 'detail.end_date': day('2025-12-31') })),
      'raw.zendesk.entitlement: detail.end_date: is before detail.start_date',
    );
    expectMappingError(
      () => mapZendeskEntitlement(withChanges(entitlement, { 'detail.organization_id': 0 })),
      'raw.zendesk.entitlement: detail.organization_id: missing customer reference (got 0)',
    );
  });
});
