/**
 * The CRM write-back sink against the Salesforce double, through its REST API as a real integration
 * would use it (OAuth client credentials, API version in the path, read-check-conditional-write):
 * the Account learns its golden id, ERP customer number and credit status; the Opportunity its
 * contract, invoice and renewal status. A redelivery writes nothing, an older version is refused,
 * and every kind of answer becomes the outcome the runner needs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrmWritebackSink } from '../../../src/consumers/crm-writeback/crm-sink.ts';
import { SalesforceClient } from '../../../src/consumers/crm-writeback/salesforce-client.ts';
import type { SinkOutcome } from '../../../src/consumers/sink.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import {
  startSalesforceSim,
  type SalesforceSim,
} from '../../../src/targets-sim/salesforce/salesforce-sim.ts';
import {
  contractRecord,
  customerRecord,
  invoiceRecord,
  renewalRecord,
} from '../../support/canonical-records.ts';

const ADMIN_TOKEN = 'sf-admin-session-token';
const APP = { clientId: 'syncline-crm-writeback', clientSecret: 'crm-app-secret-0123456789' };
const logger = createLogger({ level: 'silent' });

let sf: SalesforceSim;

function sinkFor(overrides: Partial<{ clientSecret: string; timeoutMs: number }> = {}): CrmWritebackSink {
  const client = new SalesforceClient(
    {
      loginUrl: sf.url,
      clientId: APP.clientId,
      clientSecret: overrides.clientSecret ?? APP.clientSecret,
      apiVersion: 'v60.0',
      timeoutMs: overrides.timeoutMs ?? 5_000,
    },
    logger,
  );
  return new CrmWritebackSink(client, logger);
}

function failure(outcome: SinkOutcome | undefined): SynclineError {
  if (outcome?.status !== 'failed')
    throw new Error(`expected a failed outcome, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/** A CRM with one Account and one closed-won Opportunity of it, as the sources left them. */
function seedCrm(): { accountId: string; opportunityId: string } {
  const accountId = sf.seed('Account', { Name: `Acme ${randomUUID().slice(0, 8)}` });
  const opportunityId = sf.seed('Opportunity', {
    Name: 'Acme platform deal',
    StageName: 'Closed Won',
    CloseDate: '2026-01-01',
    AccountId: accountId,
  });
  return { accountId, opportunityId };
}

function patches(): number {
  return sf.recorder.requests.filter((request) => request.method === 'PATCH').length;
}

beforeAll(async () => {
  sf = await startSalesforceSim({ tokens: [ADMIN_TOKEN], oauth: APP, logger });
});

beforeEach(() => {
  sf.recorder.clear();
});

afterEach(async () => {
  await sf.clearFaults();
});

afterAll(async () => {
  await sf?.close();
});

describe('the CRM learns the customer lifecycle', () => {
  it('after a sequence of records, the Account holds the golden id, ERP number and credit status, the Opportunity its contract, invoice and renewal', async () => {
    const sink = sinkFor();
    const { accountId, opportunityId } = seedCrm();
    const goldenId = randomUUID();
    const contractId = `salesforce:${opportunityId}`;
    const account = { system: 'salesforce' as const, instance: null, entity: 'account', id: accountId };
    const opportunity = {
      system: 'salesforce' as const,
      instance: null,
      entity: 'opportunity',
      id: opportunityId,
    };

    const outcomes = await sink.apply([
      customerRecord({ goldenId, sources: [account] }, { version: 1 }),
      customerRecord(
        {
          goldenId,
          creditStatus: 'CLEAR',
          sources: [account, { system: 'erp', instance: '1000', entity: 'customer', id: 'C-10042' }],
        },
        { version: 2 },
      ),
      contractRecord({ goldenId, contractId, sources: [opportunity] }, { version: 5 }),
      invoiceRecord(
        { goldenId, invoiceId: 'stripe:in_1', contractId, number: 'INV-0001', status: 'ISSUED' },
        { version: 100 },
      ),
      invoiceRecord(
        {
          goldenId,
          invoiceId: 'stripe:in_1',
          contractId,
          number: 'INV-0001',
          status: 'PAID',
          amountPaidMinor: 100_000,
          amountDueMinor: 0,
        },
        { version: 101 },
      ),
      renewalRecord(
        { goldenId, renewalId: `${contractId}:2027-01-01`, contractId, status: 'UPCOMING' },
        { version: 6 },
      ),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    expect(sf.record('Account', accountId)?.fields).toMatchObject({
      ExternalId__c: goldenId,
      ERP_Customer_Number__c: 'C-10042',
      Credit_Status__c: 'CLEAR',
      ERP_Sync_Status__c: 'Synced',
    });
    expect(sf.record('Opportunity', opportunityId)?.fields).toMatchObject({
      ExternalId__c: contractId,
      ERP_Contract_Status__c: 'ACTIVE',
      ERP_Invoice_Status__c: 'PAID',
      ERP_Invoice_Number__c: 'INV-0001',
      ERP_Renewal_Status__c: 'UPCOMING',
      ERP_Renewal_Date__c: '2027-01-01',
      ERP_Sync_Status__c: 'Synced',
      ERP_Sync_Message__c: 'Renewal upcoming for 2027-01-01, notice by 2026-12-31',
    });
    // Every call went through one client-credentials session, with the API version in the path.
    const tokenCalls = sf.recorder.requests.filter((request) => request.path === '/services/oauth2/token');
    expect(tokenCalls).toHaveLength(1);
    const apiPaths = sf.recorder.requests.filter((request) => request.path !== '/services/oauth2/token');
    expect(apiPaths.every((request) => request.path.startsWith('/services/data/v60.0/sobjects/'))).toBe(true);
    // Each applied record is exactly one PATCH; nothing else wrote.
    expect(patches()).toBe(6);
  });

  it('ignores what the CRM has no record for: no linked account, a contract not linked to an opportunity, a merged golden id', async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    const outcomes = await sink.apply([
      customerRecord(
        { goldenId, sources: [{ system: 'stripe', instance: null, entity: 'customer', id: 'cus_1' }] },
        { version: 1 },
      ),
      invoiceRecord(
        { goldenId, invoiceId: 'stripe:in_9', contractId: 'stripe:sub_unlinked' },
        { version: 3 },
      ),
      customerRecord({ goldenId, status: 'MERGED', mergedInto: randomUUID() }, { version: 2 }),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['ignored', 'ignored', 'ignored']);
    expect(patches()).toBe(0);
  });
});

describe('the golden id on one Account only (External ID fields are unique)', () => {
  const linked = (...ids: string[]) =>
    ids.map((id) => ({ system: 'salesforce' as const, instance: null, entity: 'account', id }));

  it('a newly linked Account with a lower id does not take the golden id from the one holding it', async () => {
    const sink = sinkFor();
    const lower = seedCrm().accountId;
    const holder = seedCrm().accountId;
    const goldenId = randomUUID();

    const first = await sink.apply([customerRecord({ goldenId, sources: linked(holder) }, { version: 1 })]);
    const both = await sink.apply([
      customerRecord({ goldenId, sources: linked(lower, holder) }, { version: 2 }),
    ]);

    expect([first, both]).toEqual([[{ status: 'applied' }], [{ status: 'applied' }]]);
    expect(sf.record('Account', holder)?.fields.ExternalId__c).toBe(goldenId);
    expect(sf.record('Account', lower)?.fields).toMatchObject({
      ExternalId__c: null,
      ERP_Sync_Status__c: 'Pending',
    });
  });

  it('an Account the golden customer no longer links gives the golden id up; a late record of before does not take it back', async () => {
    const sink = sinkFor();
    const before = seedCrm().accountId;
    const after = seedCrm().accountId;
    const goldenId = randomUUID();

    const linkedBefore = await sink.apply([
      customerRecord({ goldenId, sources: linked(before) }, { version: 1 }),
    ]);
    const moved = await sink.apply([customerRecord({ goldenId, sources: linked(after) }, { version: 2 })]);
    const late = await sink.apply([customerRecord({ goldenId, sources: linked(before) }, { version: 1 })]);

    expect([linkedBefore, moved, late]).toEqual([
      [{ status: 'applied' }],
      [{ status: 'applied' }],
      [{ status: 'stale' }],
    ]);
    expect(sf.record('Account', after)?.fields.ExternalId__c).toBe(goldenId);
    expect(sf.record('Account', before)?.fields.ExternalId__c).toBeNull();
  });
});

describe('records the CRM deleted', () => {
  async function remove(type: string, id: string): Promise<void> {
    const response = await fetch(`${sf.apiUrl}/sobjects/${type}/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(204);
  }

  it('a deleted Account is skipped (the golden id goes to the next linked one); all deleted is ignored, not dead-lettered', async () => {
    const sink = sinkFor();
    const first = seedCrm();
    const second = seedCrm();
    const [deleted, kept] = [first.accountId, second.accountId].sort();
    await remove('Account', deleted!);
    const goldenId = randomUUID();
    const linked = [deleted!, kept!].map((id) => ({
      system: 'salesforce' as const,
      instance: null,
      entity: 'account',
      id,
    }));

    const outcome = await sink.apply([customerRecord({ goldenId, sources: linked }, { version: 1 })]);
    await remove('Account', kept!);
    const allGone = await sink.apply([customerRecord({ goldenId, sources: linked }, { version: 2 })]);

    expect(outcome).toEqual([{ status: 'applied' }]);
    expect(sf.record('Account', kept!)?.fields.ExternalId__c).toBe(goldenId);
    expect(allGone[0]).toMatchObject({ status: 'ignored' });
  });

  it('a deleted Opportunity is ignored', async () => {
    const { opportunityId } = seedCrm();
    await remove('Opportunity', opportunityId);
    const outcomes = await sinkFor().apply([
      contractRecord(
        {
          goldenId: randomUUID(),
          contractId: `salesforce:${opportunityId}`,
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
        },
        { version: 1 },
      ),
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'ignored', reason: 'the opportunity is deleted in the CRM' });
  });
});

describe('exactly once in effect, and never backwards', () => {
  it('a redelivered record is a duplicate: the target says it has it, and nothing is written again', async () => {
    const sink = sinkFor();
    const { accountId, opportunityId } = seedCrm();
    const goldenId = randomUUID();
    const contractId = `salesforce:${opportunityId}`;
    const records = [
      customerRecord(
        { goldenId, sources: [{ system: 'salesforce', instance: null, entity: 'account', id: accountId }] },
        { version: 4 },
      ),
      contractRecord(
        {
          goldenId,
          contractId,
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
        },
        { version: 9 },
      ),
    ];
    expect((await sink.apply(records)).map((outcome) => outcome.status)).toEqual(['applied', 'applied']);
    const before = {
      account: sf.record('Account', accountId),
      opportunity: sf.record('Opportunity', opportunityId),
    };
    const writesBefore = patches();

    // A new sink instance: nothing remembered in memory, only what the target holds.
    const again = await sinkFor().apply(records);

    expect(again.map((outcome) => outcome.status)).toEqual(['duplicate', 'duplicate']);
    expect(patches()).toBe(writesBefore);
    expect(sf.record('Account', accountId)).toEqual(before.account);
    expect(sf.record('Opportunity', opportunityId)).toEqual(before.opportunity);
  });

  it('an older version arriving after a newer one is stale and does not overwrite it', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    const goldenId = randomUUID();
    const account = { system: 'salesforce' as const, instance: null, entity: 'account', id: accountId };
    const erp = (id: string) => ({ system: 'erp' as const, instance: null, entity: 'customer', id });

    const newer = await sink.apply([
      customerRecord({ goldenId, sources: [account, erp('C-2')] }, { version: 7 }),
    ]);
    const older = await sink.apply([
      customerRecord({ goldenId, sources: [account, erp('C-1')] }, { version: 6 }),
    ]);

    expect(newer).toEqual([{ status: 'applied' }]);
    expect(older).toEqual([{ status: 'stale' }]);
    expect(sf.record('Account', accountId)?.fields.ERP_Customer_Number__c).toBe('C-2');
  });

  it('after a merge or unmerge moved an Account to another golden id, a late record of the old one does not take it back', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    const account = { system: 'salesforce' as const, instance: null, entity: 'account', id: accountId };
    const [older, holder, newer] = [randomUUID(), randomUUID(), randomUUID()];
    const at = (minute: number) => Date.UTC(2026, 10, 1, 12, minute);

    const held = await sink.apply([
      customerRecord({ goldenId: holder, sources: [account] }, { version: 5, occurredAt: at(20) }),
    ]);
    const late = await sink.apply([
      customerRecord({ goldenId: older, sources: [account] }, { version: 9, occurredAt: at(10) }),
    ]);
    const heldAfterLate = sf.record('Account', accountId)?.fields.ExternalId__c;
    const moved = await sink.apply([
      customerRecord({ goldenId: newer, sources: [account] }, { version: 1, occurredAt: at(30) }),
    ]);

    expect([held, late, moved]).toEqual([
      [{ status: 'applied' }],
      [{ status: 'stale' }],
      [{ status: 'applied' }],
    ]);
    expect(heldAfterLate).toBe(holder);
    expect(sf.record('Account', accountId)?.fields.ExternalId__c).toBe(newer);
  });

  it('records of one Opportunity applied at once from two partitions (contract and invoice topics) both keep their version', async () => {
    const sink = sinkFor();
    const { opportunityId } = seedCrm();
    const goldenId = randomUUID();
    const contractId = `salesforce:${opportunityId}`;
    const contract = contractRecord(
      {
        goldenId,
        contractId,
        sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
      },
      { version: 4 },
    );
    const invoices = [1, 2, 3].map((n) =>
      invoiceRecord({ goldenId, invoiceId: `stripe:in_c${n}`, contractId }, { version: 10 + n }),
    );
    const renewal = renewalRecord({ goldenId, renewalId: `${contractId}:r`, contractId }, { version: 2 });

    // As the runner does with partitions of different topics: separate calls, at the same time.
    const outcomes = await Promise.all(
      [contract, ...invoices, renewal].map((record) => sink.apply([record])),
    );

    expect(outcomes.flat().map((outcome) => outcome.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const versions = JSON.parse(
      String(sf.record('Opportunity', opportunityId)?.fields.Syncline_Versions__c),
    ) as Record<string, number>;
    expect(versions).toMatchObject({
      [`contract:${contractId}`]: 4,
      'invoice:stripe:in_c1': 11,
      'invoice:stripe:in_c2': 12,
      'invoice:stripe:in_c3': 13,
      [`renewal:${contractId}:r`]: 2,
    });
  });

  it('versions are kept per entity: an invoice does not make a later renewal of the same opportunity stale', async () => {
    const sink = sinkFor();
    const { opportunityId } = seedCrm();
    const goldenId = randomUUID();
    const contractId = `salesforce:${opportunityId}`;
    const outcomes = await sink.apply([
      contractRecord(
        {
          goldenId,
          contractId,
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
        },
        { version: 50 },
      ),
      // Stripe's versions (event times in ms) dwarf Salesforce's commit numbers: no matter.
      invoiceRecord({ goldenId, invoiceId: 'stripe:in_2', contractId }, { version: 1_764_000_000_000 }),
      renewalRecord(
        { goldenId, renewalId: `${contractId}:2027`, contractId, status: 'RENEWED' },
        { version: 3 },
      ),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied', 'applied']);
    expect(sf.record('Opportunity', opportunityId)?.fields.ERP_Renewal_Status__c).toBe('RENEWED');
  });
});

describe('every answer has a class', () => {
  function oneCustomer(accountId: string, version = 1) {
    return customerRecord(
      {
        goldenId: randomUUID(),
        sources: [{ system: 'salesforce', instance: null, entity: 'account', id: accountId }],
      },
      { version },
    );
  }

  it('401 INVALID_SESSION_ID: the session is refreshed once and the call repeated; the record is applied', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    expect(await sink.apply([oneCustomer(accountId)])).toEqual([{ status: 'applied' }]);
    sf.expireSessions();
    sf.recorder.clear();

    const outcomes = await sink.apply([oneCustomer(accountId, 2)]);

    expect(outcomes).toEqual([{ status: 'applied' }]);
    // The double answers 401 before its recorder sees the request; the one new token call is the
    // refresh the refused session forced, and the read and write went through after it.
    const statuses = sf.recorder.requests.map(
      (request) => `${request.method} ${request.path.split('/').slice(0, 4).join('/')} ${request.status}`,
    );
    expect(statuses).toEqual([
      'POST /services/oauth2/token 200',
      'GET /services/data/v60.0 404', // which Account holds the (new) golden id: none yet
      'GET /services/data/v60.0 200', // the Account's version guard
      'PATCH /services/data/v60.0 204',
    ]);
  });

  it("keeps the org's API usage from Sforce-Limit-Info (for the usage gauge)", async () => {
    const client = new SalesforceClient(
      { loginUrl: sf.url, ...APP, apiVersion: 'v60.0', timeoutMs: 5_000 },
      logger,
    );
    expect(client.apiUsage()).toBeUndefined();
    await client.probe();
    const usage = client.apiUsage();
    expect(usage?.limit).toBe(1_000_000);
    expect(usage?.used).toBeGreaterThan(0);
  });

  it('client credentials the token endpoint refuses are retriable (the target refuses us, not the record), naming the variables to check', async () => {
    const { accountId } = seedCrm();
    const error = failure(
      (await sinkFor({ clientSecret: 'wrong-secret' }).apply([oneCustomer(accountId)]))[0],
    );
    expect(error.retriable).toBe(true);
    expect(error.code).toBe(ErrorCodes.TARGET_UNAVAILABLE);
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('SALESFORCE_CLIENT_SECRET');
    expect(error.message).not.toContain('wrong-secret');
  });

  it('503 with Retry-After and 500 without: retriable, with the hint when given', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    await sink.probe(); // a session first, so the injected failure meets the API call
    await sf.setFaults({ failNext: 1, errorStatus: 503, retryAfterSeconds: 7 });
    const unavailable = failure((await sink.apply([oneCustomer(accountId)]))[0]);
    await sf.setFaults({ failNext: 1, errorStatus: 500 });
    const broken = failure((await sink.apply([oneCustomer(accountId)]))[0]);

    expect(unavailable).toMatchObject({
      retriable: true,
      code: ErrorCodes.TARGET_UNAVAILABLE,
      retryAfterMs: 7000,
    });
    expect(unavailable.context).toMatchObject({ status: 503, target: 'crm', topic: 'canonical.customer' });
    expect(broken).toMatchObject({
      retriable: true,
      code: ErrorCodes.TARGET_UNAVAILABLE,
      retryAfterMs: undefined,
    });
    expect(broken.message).toContain('UNKNOWN_EXCEPTION');
  });

  it("403 REQUEST_LIMIT_EXCEEDED (the org's API allowance spent): retriable as rate limited, with a suggested wait since Salesforce sends none", async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    await sink.probe();
    await sf.setFaults({ rateLimit: { limit: 0, windowMs: 60_000 } });
    const error = failure((await sink.apply([oneCustomer(accountId)]))[0]);
    expect(error).toMatchObject({
      retriable: true,
      code: ErrorCodes.TARGET_RATE_LIMITED,
      retryAfterMs: 60_000,
    });
    expect(error.context.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
  });

  it('400 UNABLE_TO_LOCK_ROW is retriable although a 400; a retry then applies', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    const record = oneCustomer(accountId);
    sf.lockRowsNext(1);
    const locked = failure((await sink.apply([record]))[0]);
    expect(locked).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_REJECTED });
    expect(await sink.apply([record])).toEqual([{ status: 'applied' }]);
  });

  it('field errors are permanent and name the field; an Account that does not exist is permanent too', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    const tooLong = customerRecord(
      {
        goldenId: randomUUID(),
        sources: [
          { system: 'salesforce', instance: null, entity: 'account', id: accountId },
          { system: 'erp', instance: null, entity: 'customer', id: 'C-'.padEnd(30, '9') },
        ],
      },
      { version: 1 },
    );
    const fieldError = failure((await sink.apply([tooLong]))[0]);
    const missing = failure((await sink.apply([oneCustomer('001000000000000AAA')]))[0]);

    expect(fieldError).toMatchObject({ retriable: false, code: ErrorCodes.TARGET_REJECTED });
    expect(fieldError.context).toMatchObject({
      status: 400,
      errorCode: 'STRING_TOO_LONG',
      fields: 'ERP_Customer_Number__c',
    });
    expect(fieldError.message).toContain('ERP_Customer_Number__c');
    expect(missing).toMatchObject({ retriable: false, code: ErrorCodes.TARGET_REJECTED });
    expect(missing.context).toMatchObject({ status: 404, errorCode: 'NOT_FOUND' });
  });

  it('a call that gets no answer in time is a retriable TIMEOUT', async () => {
    const sink = sinkFor({ timeoutMs: 300 });
    const { accountId } = seedCrm();
    await sf.setFaults({ latencyMs: 2_000 });
    const error = failure((await sink.apply([oneCustomer(accountId)]))[0]);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TIMEOUT });
  });

  it('stops at the first failure and leaves the rest for the runner to hand over again', async () => {
    const sink = sinkFor();
    const { accountId } = seedCrm();
    const outcomes = await sink.apply([
      oneCustomer(accountId),
      oneCustomer('001000000000000AAA'),
      oneCustomer(accountId, 3),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'failed']);
  });
});

describe('one call stays within its time budget', () => {
  it('past the budget the rest of the records is left unanswered (at least one is always attempted)', async () => {
    const client = new SalesforceClient(
      { loginUrl: sf.url, ...APP, apiVersion: 'v60.0', timeoutMs: 5_000 },
      logger,
    );
    const sink = new CrmWritebackSink(client, logger, { applyBudgetMs: 0 });
    const { accountId } = seedCrm();
    const account = { system: 'salesforce' as const, instance: null, entity: 'account', id: accountId };
    const records = [1, 2, 3].map((version) =>
      customerRecord({ goldenId: randomUUID(), sources: [account] }, { version }),
    );
    expect(await sink.apply(records)).toEqual([{ status: 'applied' }]);
  });
});

describe('probe', () => {
  it('resolves while the CRM answers and rejects with a retriable error while it is down', async () => {
    const sink = sinkFor();
    await expect(sink.probe()).resolves.toBeUndefined();
    await sf.setFaults({ down: true });
    const error = await sink.probe().then(
      () => undefined,
      (problem: unknown) => problem,
    );
    expect(error).toBeInstanceOf(SynclineError);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_UNAVAILABLE });
    await sf.clearFaults();
    await expect(sink.probe()).resolves.toBeUndefined();
  });
});

describe("the Salesforce double's conditional update (If-Unmodified-Since)", () => {
  async function patch(id: string, since: string): Promise<Response> {
    return fetch(`${sf.apiUrl}/sobjects/Account/${id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'if-unmodified-since': since,
      },
      body: JSON.stringify({ ERP_Sync_Message__c: 'conditional' }),
    });
  }

  it('applies a PATCH the record still meets, answers 412 when it was modified since, and 400 for a header that is no date', async () => {
    const { accountId } = seedCrm();
    const met = await patch(accountId, new Date(Date.now() + 60_000).toUTCString());
    const missed = await patch(accountId, 'Sat, 01 Jan 2000 00:00:00 GMT');
    const malformed = await patch(accountId, 'yesterday');

    expect(met.status).toBe(204);
    expect(missed.status).toBe(412);
    expect(((await missed.json()) as { errorCode: string }[])[0]?.errorCode).toBe('PRECONDITION_FAILED');
    expect(malformed.status).toBe(400);
  });

  it('the client classifies a 412 as retriable: the record is read and decided again on retry', async () => {
    const { accountId } = seedCrm();
    const client = new SalesforceClient(
      {
        loginUrl: sf.url,
        clientId: APP.clientId,
        clientSecret: APP.clientSecret,
        apiVersion: 'v60.0',
        timeoutMs: 5_000,
      },
      logger,
    );
    const error = await client
      .request({
        method: 'PATCH',
        path: `/sobjects/Account/${accountId}`,
        json: { ERP_Sync_Message__c: 'late' },
        headers: { 'if-unmodified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' },
      })
      .then(
        () => undefined,
        (problem: unknown) => problem,
      );
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_REJECTED });
    expect(sf.record('Account', accountId)?.fields.ERP_Sync_Message__c).toBeNull();
  });
});
