/**
 * Survivorship: per attribute the most trusted source wins, then the most recent; every surviving
 * value names the source record (system, id, version, time) it came from and the rule that chose it.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRUST,
  choose,
  displayNameOf,
  survive,
} from '../../../../src/processors/match-merge/survivorship.ts';
import { type SourceRecordInput, parseSourceRecord } from '../../../../src/processors/match-merge/types.ts';

const JAN = Date.UTC(2025, 0, 1);
const FEB = Date.UTC(2025, 1, 1);
const MAR = Date.UTC(2025, 2, 1);

function record(fields: Partial<SourceRecordInput> & Pick<SourceRecordInput, 'system' | 'id'>) {
  return parseSourceRecord({ name: 'Nordwind Logistik', updatedAt: JAN, ...fields });
}

const erp = record({
  system: 'erp',
  id: 'C-100',
  name: 'Nordwind Logistik GmbH',
  taxId: 'DE 123 456 789',
  country: 'DE',
  address: { line1: 'Am Hafen 3', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  billingEmail: 'ap@nordwind.de',
  currency: 'eur',
  creditStatus: 'WATCH',
  updatedAt: JAN,
  version: 7,
});
const crm = record({
  system: 'salesforce',
  id: '001A',
  name: 'Nordwind Logistics',
  website: 'https://www.nordwind.de',
  industry: 'Logistics',
  ownerId: '005OWNER',
  taxId: 'DE999999999',
  country: 'DE',
  address: { line1: 'Hauptstraße 1', city: 'Hamburg', postalCode: '20095', country: 'DE' },
  updatedAt: MAR,
});
const billing = record({
  system: 'stripe',
  id: 'cus_1',
  name: 'NORDWIND',
  billingEmail: 'billing@nordwind.de',
  currency: 'usd',
  updatedAt: FEB,
});
const support = record({
  system: 'zendesk',
  id: '42',
  name: 'Nordwind',
  supportTier: 'premium',
  domains: ['nordwind-support.de'],
  updatedAt: MAR,
});

describe('survive', () => {
  const golden = survive([crm, support, billing, erp]);

  it('takes legal name and tax id from the ERP even when the CRM changed later', () => {
    expect(golden.legalName?.value).toBe('Nordwind Logistik GmbH');
    expect(golden.legalName?.provenance.rule).toBe('TRUST_RANK');
    expect(golden.taxId?.value).toBe('DE123456789');
    expect(golden.taxCountry?.value).toBe('DE');
    expect(golden.taxCountry?.provenance).toEqual(golden.taxId?.provenance);
  });

  it('takes billing email and currency from billing, industry, owner and website from the CRM, support tier from support', () => {
    expect(golden.email?.value).toBe('billing@nordwind.de');
    expect(golden.currency?.value).toBe('USD');
    expect(golden.industry?.value).toBe('Logistics');
    expect(golden.ownerId?.value).toBe('005OWNER');
    expect(golden.website?.value).toBe('https://www.nordwind.de');
    expect(golden.domain?.value).toBe('nordwind.de');
    expect(golden.supportTier?.value).toBe('premium');
    expect(golden.creditStatus?.value).toBe('WATCH');
  });

  it('keeps the contributing source of each surviving value', () => {
    expect(golden.legalName?.provenance).toEqual({
      source: { system: 'erp', instance: null, entity: 'customer', id: 'C-100' },
      sourceVersion: 7,
      observedAt: JAN,
      rule: 'TRUST_RANK',
    });
    expect(golden.email?.provenance.source).toMatchObject({ system: 'stripe', id: 'cus_1' });
    expect(golden.supportTier?.provenance).toMatchObject({
      source: { system: 'zendesk', id: '42' },
      rule: 'ONLY_SOURCE',
    });
  });

  it('takes an address whole from one source, never parts of two', () => {
    expect(golden.address?.value).toEqual({
      line1: 'Am Hafen 3',
      line2: null,
      city: 'Hamburg',
      region: null,
      postalCode: '20457',
      countryCode: 'DE',
    });
    expect(golden.address?.provenance.source.system).toBe('erp');
  });

  it('falls back to a less trusted source when the trusted one has no value', () => {
    const withoutErp = survive([crm, billing]);
    expect(withoutErp.legalName?.value).toBe('Nordwind Logistics');
    expect(withoutErp.taxId?.value).toBe('DE999999999');
  });

  it('does not depend on the order of the members', () => {
    expect(survive([erp, billing, support, crm])).toEqual(golden);
  });
});

describe('choose', () => {
  it('picks the most recent among equally trusted sources', () => {
    const older = record({
      system: 'stripe',
      id: 'cus_old',
      billingEmail: 'old@nordwind.de',
      updatedAt: JAN,
    });
    const newer = record({
      system: 'stripe',
      id: 'cus_new',
      billingEmail: 'new@nordwind.de',
      updatedAt: FEB,
    });
    const email = choose([older, newer], DEFAULT_TRUST.email, (r) => r.billingEmail);
    expect(email?.value).toBe('new@nordwind.de');
    expect(email?.provenance.rule).toBe('RECENCY');
    expect(email?.provenance.source.id).toBe('cus_new');
  });

  it('follows a custom ranking, ranking unlisted systems last', () => {
    const name = choose([erp, crm], ['salesforce'], (r) => r.name);
    expect(name?.value).toBe('Nordwind Logistics');
    expect(name?.provenance.rule).toBe('TRUST_RANK');
    const onlyUnlisted = choose([erp], ['salesforce'], (r) => r.name);
    expect(onlyUnlisted?.provenance.rule).toBe('ONLY_SOURCE');
  });

  it('returns null when no source has a value', () => {
    expect(choose([crm], DEFAULT_TRUST.supportTier, (r) => r.supportTier)).toBeNull();
  });
});

describe('displayNameOf', () => {
  it.each([
    ['Nordwind Logistik GmbH & Co. KG', 'Nordwind Logistik'],
    ['Silverline Works Consulting, BV', 'Silverline Works Consulting'],
    ['ACME INC.', 'ACME'],
    ['Bluewater', 'Bluewater'],
  ])('%s → %s', (name, display) => {
    expect(displayNameOf(name)).toBe(display);
  });
});
