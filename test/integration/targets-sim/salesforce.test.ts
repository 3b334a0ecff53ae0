/**
 * The Salesforce double answers like the Salesforce REST API: sessions and the OAuth token endpoint,
 * PATCH by id and upsert by external id, Salesforce's error array with its real error codes and
 * statuses, the org's request limit as 403 REQUEST_LIMIT_EXCEEDED, and a record of every request and
 * every applied change for exactly-once assertions.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/runtime/logger.ts';
import {
  startSalesforceSim,
  type SalesforceSim,
} from '../../../src/targets-sim/salesforce/salesforce-sim.ts';

const TOKEN = 'sf-static-session-token';
let sf: SalesforceSim;
let accountId: string;

interface SfError {
  message: string;
  errorCode: string;
  fields: string[];
}

async function call<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(path.startsWith('http') ? path : `${sf.apiUrl}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : undefined) as T,
  };
}

function opportunity(): string {
  return sf.seed('Opportunity', {
    Name: 'Acme renewal',
    StageName: 'Closed Won',
    CloseDate: '2024-06-30',
    AccountId: accountId,
  });
}

beforeAll(async () => {
  sf = await startSalesforceSim({
    tokens: [TOKEN],
    oauth: { clientId: 'syncline-app', clientSecret: 'app-secret-1234' },
    logger: createLogger({ level: 'warn' }),
  });
  accountId = sf.seed('Account', { Name: 'Acme Corp', ExternalId__c: 'golden-acme' });
});

afterEach(async () => {
  await sf.clearFaults();
});

afterAll(async () => {
  await sf?.close();
});

describe('sessions', () => {
  it('answers 401 INVALID_SESSION_ID without a session or with an unknown one', async () => {
    const none = await call<SfError[]>('GET', `/sobjects/Account/${accountId}`, undefined, null);
    const wrong = await call<SfError[]>('GET', `/sobjects/Account/${accountId}`, undefined, 'nope');

    expect(none.status).toBe(401);
    expect(none.body).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID', fields: [] },
    ]);
    expect(wrong.status).toBe(401);
  });

  it('issues sessions through the client-credentials flow, refuses bad credentials, and expires sessions on demand', async () => {
    const form = (secret: string) =>
      fetch(`${sf.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'syncline-app',
          client_secret: secret,
        }).toString(),
      });
    const granted = (await (await form('app-secret-1234')).json()) as {
      access_token: string;
      instance_url: string;
      token_type: string;
    };
    const refused = await form('wrong');

    expect(granted).toMatchObject({ instance_url: sf.url, token_type: 'Bearer' });
    expect(
      (await call('GET', `/sobjects/Account/${accountId}`, undefined, granted.access_token)).status,
    ).toBe(200);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: 'invalid_client',
      error_description: 'invalid client credentials',
    });

    sf.expireSessions();
    expect(
      (await call('GET', `/sobjects/Account/${accountId}`, undefined, granted.access_token)).status,
    ).toBe(401);
  });
});

describe('Opportunity write-back by id', () => {
  it('PATCHes the ERP fields with 204, reads them back, and records one applied change per field', async () => {
    const id = opportunity();
    const patch = {
      ERP_Customer_Number__c: 'C000042',
      ERP_Sync_Status__c: 'Synced',
      ERP_Last_Synced__c: '2024-07-01T10:00:00Z',
    };

    const first = await call('PATCH', `/sobjects/Opportunity/${id}`, patch);
    const retried = await call('PATCH', `/sobjects/Opportunity/${id}`, patch);
    const read = await call<Record<string, unknown>>(
      'GET',
      `/sobjects/Opportunity/${id}?fields=ERP_Customer_Number__c,ERP_Sync_Status__c`,
    );

    expect(first.status).toBe(204);
    expect(retried.status).toBe(204);
    expect(read.body).toEqual({
      attributes: { type: 'Opportunity', url: `/services/data/v60.0/sobjects/Opportunity/${id}` },
      Id: id,
      ERP_Customer_Number__c: 'C000042',
      ERP_Sync_Status__c: 'Synced',
    });
    const writes = sf.recorder.writesTo('Opportunity', id);
    expect(writes).toHaveLength(2);
    expect(Object.keys(writes[0]?.changed ?? {}).sort()).toEqual([
      'ERP_Customer_Number__c',
      'ERP_Last_Synced__c',
      'ERP_Sync_Status__c',
    ]);
    expect(writes[1]?.changed).toEqual({});
    expect(sf.recorder.changeCounts('Opportunity', id)).toEqual({
      ERP_Customer_Number__c: 1,
      ERP_Last_Synced__c: 1,
      ERP_Sync_Status__c: 1,
    });
  });

  it('accepts the 15-character form of an id and answers with the 18-character one', async () => {
    const id = opportunity();

    const response = await call<Record<string, unknown>>('GET', `/sobjects/Opportunity/${id.slice(0, 15)}`);

    expect(response.status).toBe(200);
    expect(response.body.Id).toBe(id);
  });

  it("answers field errors with Salesforce's codes and the fields named", async () => {
    const id = opportunity();
    const errorOf = async (body: unknown) =>
      (await call<SfError[]>('PATCH', `/sobjects/Opportunity/${id}`, body)).body;

    expect(await errorOf({ Colour__c: 'red' })).toEqual([
      {
        message: "No such column 'Colour__c' on sobject of type Opportunity",
        errorCode: 'INVALID_FIELD',
        fields: [],
      },
    ]);
    expect((await errorOf({ ERP_Sync_Status__c: 'Done' }))[0]).toMatchObject({
      errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      fields: ['ERP_Sync_Status__c'],
    });
    expect((await errorOf({ CreatedDate: '2024-01-01T00:00:00Z' }))[0]).toMatchObject({
      errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
      fields: ['CreatedDate'],
    });
    expect((await errorOf({ StageName: null }))[0]).toMatchObject({
      errorCode: 'REQUIRED_FIELD_MISSING',
      fields: ['StageName'],
    });
    expect((await errorOf({ ERP_Customer_Number__c: 'C'.repeat(21) }))[0]).toMatchObject({
      errorCode: 'STRING_TOO_LONG',
    });
    expect((await errorOf({ Amount: 'lots' }))[0]).toMatchObject({ errorCode: 'JSON_PARSER_ERROR' });
    expect((await errorOf({ AccountId: '001000000000000AAA' }))[0]).toMatchObject({
      errorCode: 'INVALID_CROSS_REFERENCE_KEY',
      fields: ['AccountId'],
    });
    expect(sf.recorder.writesTo('Opportunity', id)).toEqual([]);
    expect(sf.recorder.requests.at(-1)).toMatchObject({
      status: 400,
      errorCode: 'INVALID_CROSS_REFERENCE_KEY',
    });
  });

  it('answers 400 MALFORMED_ID, 404 NOT_FOUND, and 404 ENTITY_IS_DELETED after a delete', async () => {
    const id = opportunity();

    const malformed = await call<SfError[]>('PATCH', '/sobjects/Opportunity/not-an-id', { Name: 'x' });
    const wrongType = await call<SfError[]>('PATCH', `/sobjects/Opportunity/${accountId}`, { Name: 'x' });
    const unknown = await call<SfError[]>('PATCH', '/sobjects/Opportunity/0065g00000ZZZZZ', { Name: 'x' });
    const deleted = await call('DELETE', `/sobjects/Opportunity/${id}`);
    const afterDelete = await call<SfError[]>('PATCH', `/sobjects/Opportunity/${id}`, { Name: 'x' });

    expect(malformed.status).toBe(400);
    expect(malformed.body[0]?.errorCode).toBe('MALFORMED_ID');
    expect(wrongType.body[0]?.errorCode).toBe('MALFORMED_ID');
    expect(unknown.status).toBe(404);
    expect(unknown.body[0]?.errorCode).toBe('NOT_FOUND');
    expect(deleted.status).toBe(204);
    expect(afterDelete.status).toBe(404);
    expect(afterDelete.body[0]?.errorCode).toBe('ENTITY_IS_DELETED');
  });

  it('fails the next writes with UNABLE_TO_LOCK_ROW (a 400 that a sink must retry) and then applies them', async () => {
    const id = opportunity();
    sf.lockRowsNext(1);

    const locked = await call<SfError[]>('PATCH', `/sobjects/Opportunity/${id}`, {
      ERP_Sync_Status__c: 'Pending',
    });
    const retried = await call('PATCH', `/sobjects/Opportunity/${id}`, { ERP_Sync_Status__c: 'Pending' });

    expect(locked.status).toBe(400);
    expect(locked.body[0]?.errorCode).toBe('UNABLE_TO_LOCK_ROW');
    expect(retried.status).toBe(204);
    expect(sf.record('Opportunity', id)?.fields.ERP_Sync_Status__c).toBe('Pending');
  });
});

describe('Account upsert by external id', () => {
  it('creates on the first upsert (201, created: true) and updates on the second (200, created: false): one record', async () => {
    const path = '/sobjects/Account/ExternalId__c/golden-upsert-1';

    const created = await call<{ id: string; success: boolean; errors: unknown[]; created: boolean }>(
      'PATCH',
      path,
      { Name: 'Upsert GmbH' },
    );
    const updated = await call<{ id: string; created: boolean }>('PATCH', path, {
      Name: 'Upsert GmbH',
      ERP_Customer_Number__c: 'C000007',
    });
    const read = await call<Record<string, unknown>>('GET', path);

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, errors: [], created: true });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, created: false });
    expect(read.body).toMatchObject({
      Id: created.body.id,
      ExternalId__c: 'golden-upsert-1',
      ERP_Customer_Number__c: 'C000007',
    });
    expect(
      sf.recorder.writes.filter(
        (write) => write.objectType === 'Account' && write.kind === 'create' && write.id === created.body.id,
      ),
    ).toHaveLength(1);
  });

  it('refuses an upsert that would create without the required Name, and an unknown external id field', async () => {
    const missing = await call<SfError[]>('PATCH', '/sobjects/Account/ExternalId__c/golden-upsert-2', {
      Phone: '123',
    });
    const unknownField = await call<SfError[]>('PATCH', '/sobjects/Account/Nickname__c/acme', { Name: 'x' });

    expect(missing.status).toBe(400);
    expect(missing.body[0]).toEqual({
      message: 'Required fields are missing: [Name]',
      errorCode: 'REQUIRED_FIELD_MISSING',
      fields: ['Name'],
    });
    expect(unknownField.status).toBe(404);
    expect(unknownField.body[0]?.errorCode).toBe('NOT_FOUND');
  });
});

describe('limits and faults', () => {
  it("answers 403 REQUEST_LIMIT_EXCEEDED once the org's request limit is spent, and counts usage in Sforce-Limit-Info", async () => {
    await sf.setFaults({ rateLimit: { limit: 2, windowMs: 86_400_000 } });

    const first = await call('GET', `/sobjects/Account/${accountId}`);
    await call('GET', `/sobjects/Account/${accountId}`);
    const over = await call<SfError[]>('GET', `/sobjects/Account/${accountId}`);

    expect(first.headers.get('sforce-limit-info')).toBe('api-usage=1/2');
    expect(over.status).toBe(403);
    expect(over.body).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED', fields: [] },
    ]);
    expect(over.headers.get('retry-after')).toBeNull();
  });

  it('answers injected failures with 503 SERVER_UNAVAILABLE and refuses connections while down', async () => {
    await sf.setFaults({ failNext: 1 });
    const failed = await call<SfError[]>('GET', `/sobjects/Account/${accountId}`);
    await sf.setFaults({ down: true });
    const attempt = () =>
      fetch(`${sf.url}/_health`).catch(
        (error: unknown) => (error as { cause?: { code?: string } }).cause?.code,
      );
    await attempt(); // may meet the pooled connection being reset
    const refused = await attempt();
    await sf.clearFaults();

    expect(failed.status).toBe(503);
    expect(failed.body[0]?.errorCode).toBe('SERVER_UNAVAILABLE');
    expect(refused).toBe('ECONNREFUSED');
    expect((await call('GET', `/sobjects/Account/${accountId}`)).status).toBe(200);
  });

  it('serves its recording over the admin route, without credentials in it', async () => {
    const response = await fetch(`${sf.url}/_sim/requests`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const requests = (await response.json()) as { headers: Record<string, string> }[];

    expect(response.status).toBe(200);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((request) => !('authorization' in request.headers))).toBe(true);
  });
});
