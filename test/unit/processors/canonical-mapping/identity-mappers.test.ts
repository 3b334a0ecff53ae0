/**
 * The identity mappers (CRM account, billing customer, support organisation, ERP customer): every
 * simulated record becomes a source record match-merge accepts, with the source's identity
 * evidence carried over; deleted and sparse records yield nothing; unusable ones fail naming the field.
 */
import { describe, expect, it } from 'vitest';
import { mapErpCustomer } from '../../../../src/processors/canonical-mapping/erp-customer.ts';
import { mapSalesforceAccount } from '../../../../src/processors/canonical-mapping/salesforce-account.ts';
import { mapStripeCustomer } from '../../../../src/processors/canonical-mapping/stripe-customer.ts';
import { mapZendeskOrganization } from '../../../../src/processors/canonical-mapping/zendesk-organization.ts';
import { parseSourceRecord } from '../../../../src/processors/match-merge/types.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';
import {
  salesforceAccountChange,
  stripeCustomerCreated,
  zendeskOrganizationCreated,
} from '../../../support/webhook-samples.ts';
import { rawRecordsOf, simulatedRecords, withChanges } from './raw-records.ts';

const simulated = simulatedRecords(80, 'identity-mappers');
const stripeCustomer = rawRecordsOf('stripe', stripeCustomerCreated())[0]!.value;
const salesforceAccount = rawRecordsOf('salesforce', salesforceAccountChange())[0]!.value;
const zendeskOrganization = rawRecordsOf('zendesk', zendeskOrganizationCreated())[0]!.value;

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

describe('every simulated customer record', () => {
  it.each([
    ['raw.salesforce.account', mapSalesforceAccount],
    ['raw.stripe.customer', mapStripeCustomer],
    ['raw.zendesk.organization', mapZendeskOrganization],
    ['raw.erp.customer', mapErpCustomer],
  ])('of %s that carries a name becomes a valid match-merge source record and no drafts', (topic, mapper) => {
    const records = simulated.get(topic) ?? [];
    expect(records.length).toBeGreaterThan(20);
    let identities = 0;
    for (const record of records) {
      const result = mapper(record.value);
      expect(result.drafts).toEqual([]);
      if (!result.identity) continue;
      identities += 1;
      const parsed = parseSourceRecord(result.identity);
      expect(parsed.id).toBe(record.key);
      expect(parsed.version).toBe(record.envelope.sourceVersion);
    }
    // Only sparse CRM updates (no Name) are left without an identity.
    const expected = records.filter((record) => record.value.Name !== null).length;
    expect(identities).toBe(expected);
  });
});

describe('Salesforce account', () => {
  it('carries the name, tax id, website, billing address, currency and commit number', () => {
    const { identity } = mapSalesforceAccount(
      withChanges(salesforceAccount, {
        BillingStreet: 'Industriestraße 12\nHaus B',
        BillingPostalCode: '80331',
      }),
    );
    expect(identity).toMatchObject({
      system: 'salesforce',
      id: '0015g00000AbCdEAAX',
      entity: 'account',
      instance: '00D5g000004ZsYnEAK',
      name: 'Nordwind Logistik GmbH',
      taxId: 'DE123456789',
      website: 'https://www.nordwind.de',
      country: 'DE',
      currency: 'EUR',
      address: {
        line1: 'Industriestraße 12',
        line2: 'Haus B',
        city: 'München',
        postalCode: '80331',
        country: 'DE',
      },
      updatedAt: Date.parse('2026-01-05T08:00:00.000Z'),
      version: 11_000_000_123_456,
    });
  });

  it('yields nothing for a sparse update without the name, and for a deletion', () => {
    const sparse = withChanges(salesforceAccount, { 'ChangeEventHeader.changeType': 'UPDATE', Name: null });
    expect(mapSalesforceAccount(sparse)).toEqual({ drafts: [] });
    const deleted = withChanges(salesforceAccount, { 'ChangeEventHeader.changeType': 'DELETE', Name: null });
    expect(mapSalesforceAccount(deleted)).toEqual({ drafts: [] });
  });

  it('fails a gap event, which must be re-read from the CRM, and a created account without a name', () => {
    expectMappingError(
      () =>
        mapSalesforceAccount(
          withChanges(salesforceAccount, { 'ChangeEventHeader.changeType': 'GAP_UPDATE' }),
        ),
      'raw.salesforce.account: ChangeEventHeader.changeType: GAP_UPDATE: Salesforce could not capture the change; re-read account 0015g00000AbCdEAAX from the CRM',
    );
    expectMappingError(
      () => mapSalesforceAccount(withChanges(salesforceAccount, { Name: '  ' })),
      'raw.salesforce.account: Name: missing on a CREATE event',
    );
  });
});

describe('Stripe customer', () => {
  it('carries the tax id with its country, billing email, address, currency and the CRM id from metadata', () => {
    const { identity, drafts } = mapStripeCustomer(stripeCustomer);
    expect(drafts).toEqual([]);
    expect(identity).toMatchObject({
      system: 'stripe',
      id: 'cus_QwErTy12345678',
      instance: 'test',
      name: 'Nordwind Logistik GmbH',
      taxId: 'DE123456789',
      country: 'DE',
      billingEmail: 'billing@nordwind.de',
      currency: 'eur',
      address: {
        line1: 'Industriestraße 12',
        city: 'München',
        region: 'BY',
        postalCode: '80331',
        country: 'DE',
      },
      externalRefs: [{ system: 'salesforce', id: '0015g00000AbCdEAAX' }],
      updatedAt: 1_767_600_000_000,
    });
  });

  it('names a customer without a name by its description or email, and fails one with neither', () => {
    const unnamed = withChanges(stripeCustomer, {
      'data.name': null,
      'data.tax_ids': [],
      'data.address': null,
    });
    expect(mapStripeCustomer(unnamed).identity).toMatchObject({
      name: 'billing@nordwind.de',
      taxId: null,
      address: null,
    });
    expectMappingError(
      () => mapStripeCustomer(withChanges(unnamed, { 'data.email': null })),
      'raw.stripe.customer: data.name: missing, and no description or email to name the customer',
    );
  });

  it('yields nothing for a deleted customer', () => {
    expect(mapStripeCustomer(withChanges(stripeCustomer, { 'data.deleted': true }))).toEqual({ drafts: [] });
  });
});

describe('Zendesk organization', () => {
  it('carries domains, tax id, country and plan from custom fields, and a CRM id in external_id', () => {
    const value = withChanges(zendeskOrganization, {
      'detail.domain_names': ['nordwind.de'],
      'detail.external_id': '0015g00000AbCdEAAX',
      'detail.organization_fields': {
        tax_id: 'DE 123 456 789',
        country: 'DE',
        support_plan: 'premium',
        notes: null,
      },
    });
    expect(mapZendeskOrganization(value).identity).toMatchObject({
      system: 'zendesk',
      id: '16034491183005',
      entity: 'organization',
      instance: '9732064',
      name: 'Nordwind Logistik',
      domains: ['nordwind.de'],
      taxId: 'DE 123 456 789',
      country: 'DE',
      supportTier: 'premium',
      externalRefs: [{ system: 'salesforce', id: '0015g00000AbCdEAAX' }],
    });
  });

  it('ignores an external id that is no known system id, and yields nothing for a deleted organisation', () => {
    expect(
      mapZendeskOrganization(withChanges(zendeskOrganization, { 'detail.external_id': 'legacy-42' }))
        .identity,
    ).toMatchObject({ externalRefs: [] });
    expect(
      mapZendeskOrganization(withChanges(zendeskOrganization, { 'detail.deleted_at': 1_767_700_000_000 })),
    ).toEqual({ drafts: [] });
  });
});

describe('ERP customer', () => {
  const erp = simulated.get('raw.erp.customer')![0]!.value;

  it('carries the legal name with its legal form once, VAT id, address, currency, credit status and row version', () => {
    const value = withChanges(erp, {
      'customer.name': 'Nordwind Logistik',
      'customer.legalForm': 'GmbH',
      'customer.vatId': 'DE123456789',
      'customer.creditStatus': 'HOLD',
    });
    const { identity } = mapErpCustomer(value);
    expect(identity).toMatchObject({
      system: 'erp',
      entity: 'customer',
      instance: '1000',
      name: 'Nordwind Logistik GmbH',
      taxId: 'DE123456789',
      creditStatus: 'HOLD',
      version: 1,
    });
    const already = mapErpCustomer(
      withChanges(value, { 'customer.name': 'Nordwind Logistik GmbH' }),
    ).identity;
    expect(already?.name).toBe('Nordwind Logistik GmbH');
  });

  it('yields nothing for a customer flagged for deletion and fails one without a name', () => {
    expect(mapErpCustomer(withChanges(erp, { 'customer.deleted': true }))).toEqual({ drafts: [] });
    expectMappingError(
      () => mapErpCustomer(withChanges(erp, { 'customer.name': '' })),
      'raw.erp.customer: customer.name: missing',
    );
  });
});
