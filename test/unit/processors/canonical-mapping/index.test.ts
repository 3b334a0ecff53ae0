/**
 * The registry of mappers (one per raw topic, a permanent error for any other topic) and the
 * `canonical.customer` value of a golden record the match-merge engine computes from mapped
 * identities: the surviving attributes, the status, and every linked source.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalCustomerOf,
  findMapper,
  mapperFor,
  type BuildContext,
} from '../../../../src/processors/canonical-mapping/index.ts';
import { goldenRecordOf } from '../../../../src/processors/match-merge/events.ts';
import {
  parseSourceRecord,
  type GoldenRecord,
  type GoldenState,
} from '../../../../src/processors/match-merge/types.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';
import { TOPICS } from '../../../../src/topology/topics.ts';
import { salesforceAccountChange, stripeCustomerCreated } from '../../../support/webhook-samples.ts';
import { contextFor, expectCanonical, rawRecordsOf, simulatedRecords, withChanges } from './raw-records.ts';

const GOLDEN_ID = '0b9d8c7e-6f5a-5b4c-8d3e-2f1a0b9c8d7e';

describe('mapperFor', () => {
  it('has a mapper for every raw topic of the topology', () => {
    const rawTopics = TOPICS.map((topic) => topic.name).filter((name) => name.startsWith('raw.'));
    expect(rawTopics.length).toBe(8);
    for (const topic of rawTopics) expect(typeof mapperFor(topic)).toBe('function');
  });

  it('throws a permanent MAPPING_FAILED error for a topic without a mapper', () => {
    expect(findMapper('raw.hubspot.company')).toBeUndefined();
    expect(findMapper('toString')).toBeUndefined();
    expect(() => mapperFor('raw.hubspot.company')).toThrow(SynclineError);
    expect(() => mapperFor('raw.hubspot.company')).toThrow(
      expect.objectContaining({
        code: 'MAPPING_FAILED',
        retriable: false,
        message: 'no canonical mapper for topic raw.hubspot.company',
      }),
    );
  });
});

function goldenOf(
  identities: ReturnType<typeof parseSourceRecord>[],
  overrides: Partial<GoldenState> = {},
): GoldenRecord {
  const members = [...identities].sort((a, b) => `${a.system}:${a.id}`.localeCompare(`${b.system}:${b.id}`));
  return goldenRecordOf({
    goldenId: GOLDEN_ID,
    version: 3,
    status: 'ACTIVE',
    mergedInto: null,
    createdAt: 1_767_600_000_000,
    updatedAt: 1_767_700_000_000,
    change: 'merged',
    members,
    links: {},
    ...overrides,
  });
}

function customerContext(version: number): BuildContext {
  return contextFor({
    entity: 'customer',
    recordId: GOLDEN_ID,
    eventType: 'canonical.customer.updated',
    sourceVersion: version,
  });
}

describe('canonicalCustomerOf', () => {
  const stripe = mapperFor('raw.stripe.customer')(
    rawRecordsOf('stripe', stripeCustomerCreated())[0]!.value,
  ).identity!;
  const crm = mapperFor('raw.salesforce.account')(
    withChanges(rawRecordsOf('salesforce', salesforceAccountChange())[0]!.value, {
      Industry: 'Logistics',
      Phone: '+49 89 1234567',
    }),
  ).identity!;
  const erpRecord = simulatedRecords(5, 'customer-of').get('raw.erp.customer')![0]!;
  const erp = mapperFor('raw.erp.customer')(
    withChanges(erpRecord.value, {
      'customer.name': 'Nordwind Logistik',
      'customer.legalForm': 'GmbH',
      'customer.vatId': 'DE123456789',
      'customer.creditStatus': 'CLEAR',
    }),
  ).identity!;

  it('builds the customer from the surviving attributes of a golden record of three sources', () => {
    const golden = goldenOf([parseSourceRecord(stripe), parseSourceRecord(crm), parseSourceRecord(erp)]);
    const value = canonicalCustomerOf(golden, customerContext(golden.version));
    expectCanonical('canonical.customer', value);
    expect(value).toMatchObject({
      goldenId: GOLDEN_ID,
      goldenVersion: 3,
      status: 'ACTIVE',
      mergedInto: null,
      legalName: 'Nordwind Logistik GmbH',
      displayName: golden.attributes.displayName!.value,
      domain: 'nordwind.de',
      taxId: golden.attributes.taxId!.value,
      taxCountry: 'DE',
      email: 'billing@nordwind.de',
      phone: '+49 89 1234567',
      industry: 'Logistics',
      currency: 'EUR',
      creditStatus: 'CLEAR',
      creditLimit: null,
    });
    expect(value.sources).toEqual(golden.sources);
    expect((value.sources as unknown[]).length).toBe(3);
    expect(value.envelope).toMatchObject({ eventType: 'canonical.customer.updated', sourceVersion: 3 });
  });

  it('is ON_HOLD while the ERP holds credit, MERGED with its survivor when merged away, DELETED when retired', () => {
    const held = goldenOf([parseSourceRecord({ ...erp, creditStatus: 'HOLD' })]);
    expect(canonicalCustomerOf(held, customerContext(3))).toMatchObject({
      status: 'ON_HOLD',
      creditStatus: 'HOLD',
    });
    const survivor = '5d4c3b2a-1908-4f7e-8d6c-5b4a39281706';
    const merged = goldenOf([parseSourceRecord(stripe)], { status: 'MERGED', mergedInto: survivor });
    const mergedValue = canonicalCustomerOf(merged, customerContext(3));
    expectCanonical('canonical.customer', mergedValue);
    expect(mergedValue).toMatchObject({ status: 'MERGED', mergedInto: survivor });
    const retired = goldenOf([parseSourceRecord(crm)], { status: 'RETIRED' });
    expect(canonicalCustomerOf(retired, customerContext(3))).toMatchObject({
      status: 'DELETED',
      creditStatus: 'UNKNOWN',
    });
  });

  it('refuses a context for another golden id', () => {
    const golden = goldenOf([parseSourceRecord(stripe)]);
    expect(() =>
      canonicalCustomerOf(golden, {
        ...customerContext(3),
        goldenId: '5d4c3b2a-1908-4f7e-8d6c-5b4a39281706',
      }),
    ).toThrow(expect.objectContaining({ code: 'MAPPING_FAILED' }));
  });
});
