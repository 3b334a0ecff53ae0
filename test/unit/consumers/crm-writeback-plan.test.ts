/**
 * What the CRM learns from each canonical record is decided without I/O: which Salesforce records,
 * which fields, under which entity key and version. And the version guard kept on those records.
 */
import { describe, expect, it } from 'vitest';
import { AppliedVersions, MAX_ENTRIES } from '../../../src/consumers/saas/applied-versions.ts';
import { httpDateOf } from '../../../src/consumers/crm-writeback/crm-sink.ts';
import { retryAfterMs } from '../../../src/consumers/saas/http-target.ts';
import { dateOf, money, planCrmWrite } from '../../../src/consumers/crm-writeback/writeback-plan.ts';
import {
  contractRecord,
  customerRecord,
  invoiceRecord,
  renewalRecord,
} from '../../support/canonical-records.ts';

const GOLDEN = '6f1c2c1e-6a51-4c2b-9a8e-0c1d2e3f4a5b';
const account = (id: string) => ({ system: 'salesforce' as const, instance: null, entity: 'account', id });

describe('customer → Accounts', () => {
  it('targets every linked Account, the lowest id first (it alone takes the golden id), with the ERP number and credit status', () => {
    const plan = planCrmWrite(
      customerRecord(
        {
          goldenId: GOLDEN,
          creditStatus: 'HOLD',
          sources: [
            account('001B0000000002AAA'),
            account('001A0000000001AAA'),
            { system: 'erp', instance: null, entity: 'customer', id: 'C-9' },
          ],
        },
        { version: 12, occurredAt: Date.UTC(2026, 10, 30, 12) },
      ),
    );
    expect(plan).toMatchObject({
      kind: 'accounts',
      accountIds: ['001A0000000001AAA', '001B0000000002AAA'],
      goldenId: GOLDEN,
      versionKey: `customer:${GOLDEN}`,
      version: 12,
      fields: {
        ERP_Customer_Number__c: 'C-9',
        Credit_Status__c: 'HOLD',
        ERP_Sync_Status__c: 'Synced',
        // The source's time, not the time of writing: a replay writes the same value.
        ERP_Last_Synced__c: '2026-11-30T12:00:00.000Z',
      },
    });
  });

  it('is Pending without an ERP customer number, and clears the credit status when no source states it', () => {
    const plan = planCrmWrite(
      customerRecord({ goldenId: GOLDEN, sources: [account('001A0000000001AAA')] }, { version: 1 }),
    );
    expect(plan).toMatchObject({
      fields: { ERP_Customer_Number__c: null, Credit_Status__c: null, ERP_Sync_Status__c: 'Pending' },
    });
  });

  it('ignores a golden customer without a CRM account, a merged one and a retired one', () => {
    expect(planCrmWrite(customerRecord({ goldenId: GOLDEN }, { version: 1 }))).toMatchObject({
      kind: 'ignore',
    });
    expect(
      planCrmWrite(
        customerRecord(
          { goldenId: GOLDEN, status: 'MERGED', mergedInto: GOLDEN, sources: [account('001A0000000001AAA')] },
          { version: 1 },
        ),
      ),
    ).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('merged') as string });
    expect(
      planCrmWrite(
        customerRecord(
          { goldenId: GOLDEN, status: 'DELETED', sources: [account('001A0000000001AAA')] },
          { version: 1 },
        ),
      ),
    ).toMatchObject({ kind: 'ignore' });
  });
});

describe('contract, invoice, renewal → Opportunity', () => {
  it('a contract from a closed-won deal targets that Opportunity by id and links it by contract id', () => {
    const plan = planCrmWrite(
      contractRecord(
        {
          goldenId: GOLDEN,
          contractId: 'salesforce:006A0000000001AAA',
          status: 'AMENDED',
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: '006A0000000001AAA' }],
        },
        { version: 3 },
      ),
    );
    expect(plan).toMatchObject({
      kind: 'opportunity',
      opportunityId: '006A0000000001AAA',
      contractId: 'salesforce:006A0000000001AAA',
      versionKey: 'contract:salesforce:006A0000000001AAA',
      fields: {
        ExternalId__c: 'salesforce:006A0000000001AAA',
        ERP_Contract_Status__c: 'AMENDED',
        ERP_Sync_Message__c: 'Contract amended 2026-01-01 to 2026-12-31, 12,000.00 EUR',
      },
    });
  });

  it('a billing contract, an invoice and a renewal find their Opportunity by contract id, each with its own version key', () => {
    const contract = planCrmWrite(
      contractRecord({ goldenId: GOLDEN, contractId: 'stripe:sub_1' }, { version: 1 }),
    );
    const invoice = planCrmWrite(
      invoiceRecord(
        {
          goldenId: GOLDEN,
          invoiceId: 'stripe:in_1',
          contractId: 'stripe:sub_1',
          status: 'PAYMENT_FAILED',
          currency: 'JPY',
          amountDueMinor: 5000,
          totalMinor: 5000,
        },
        { version: 2 },
      ),
    );
    const renewal = planCrmWrite(
      renewalRecord(
        {
          goldenId: GOLDEN,
          renewalId: 'stripe:sub_1:2027-01-01',
          contractId: 'stripe:sub_1',
          status: 'LAPSED',
        },
        { version: 3 },
      ),
    );
    expect(contract).toMatchObject({ kind: 'opportunity', contractId: 'stripe:sub_1' });
    expect(contract).not.toHaveProperty('opportunityId');
    expect((contract as { fields: object }).fields).not.toHaveProperty('ExternalId__c');
    expect(invoice).toMatchObject({
      versionKey: 'invoice:stripe:in_1',
      fields: {
        ERP_Invoice_Status__c: 'PAYMENT_FAILED',
        ERP_Invoice_Number__c: 'stripe:in_1',
        ERP_Sync_Message__c: 'Invoice stripe:in_1 payment failed, due 5,000 JPY of 5,000 JPY',
      },
    });
    expect(renewal).toMatchObject({
      versionKey: 'renewal:stripe:sub_1:2027-01-01',
      fields: { ERP_Renewal_Status__c: 'LAPSED', ERP_Renewal_Date__c: '2027-01-01' },
    });
  });

  it('ignores an invoice that bills no contract, and leaves UNKNOWN statuses out rather than writing them', () => {
    expect(
      planCrmWrite(invoiceRecord({ goldenId: GOLDEN, invoiceId: 'stripe:in_2' }, { version: 1 })),
    ).toMatchObject({
      kind: 'ignore',
    });
    const unknown = planCrmWrite(
      invoiceRecord(
        { goldenId: GOLDEN, invoiceId: 'stripe:in_3', contractId: 'c', status: 'UNKNOWN' },
        { version: 1 },
      ),
    );
    expect((unknown as { fields: object }).fields).not.toHaveProperty('ERP_Invoice_Status__c');
  });
});

describe('the version guard kept on the target record', () => {
  it('says new, duplicate or stale per entity, and reads null, empty and foreign text as empty', () => {
    const versions = AppliedVersions.empty().with('invoice:a', 5).with('contract:b', 2);
    expect(versions.verdict('invoice:a', 6)).toBe('new');
    expect(versions.verdict('invoice:a', 5)).toBe('duplicate');
    expect(versions.verdict('invoice:a', 4)).toBe('stale');
    expect(versions.verdict('renewal:c', 1)).toBe('new');
    expect(AppliedVersions.parse(versions.toText()).verdict('contract:b', 2)).toBe('duplicate');
    expect(AppliedVersions.parse(null).size).toBe(0);
    expect(AppliedVersions.parse('').unreadable).toBe(false);
    expect(AppliedVersions.parse('{not json').unreadable).toBe(true);
    expect(AppliedVersions.parse('[1,2]').unreadable).toBe(true);
  });

  it('stays bounded, forgetting the entity applied longest ago', () => {
    let versions = AppliedVersions.empty().with('first', 1);
    for (let i = 0; i < MAX_ENTRIES; i += 1) versions = versions.with(`entity-${i}`, i);
    expect(versions.size).toBe(MAX_ENTRIES);
    expect(versions.get('first')).toBeUndefined();
    expect(versions.get(`entity-${MAX_ENTRIES - 1}`)).toBe(MAX_ENTRIES - 1);
    expect(versions.toText().length).toBeLessThan(32_768);
  });
});

describe('formats', () => {
  it("turns Salesforce's date-time into the HTTP date of a conditional request", () => {
    expect(httpDateOf('2026-11-30T12:34:56.000+0000')).toBe('Mon, 30 Nov 2026 12:34:56 GMT');
    expect(httpDateOf('garbage')).toBeUndefined();
    expect(httpDateOf(undefined)).toBeUndefined();
  });

  it('reads Retry-After in seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs(new Headers({ 'retry-after': '7' }), now)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(now + 3000).toUTCString() }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  it('writes dates and money the way the CRM shows them', () => {
    expect(dateOf(0)).toBe('1970-01-01');
    expect(money(123_456, 'EUR')).toBe('1,234.56 EUR');
    expect(money(5000, 'JPY')).toBe('5,000 JPY');
  });
});
