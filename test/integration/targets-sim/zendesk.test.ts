/**
 * The Zendesk double answers like the Zendesk Support API for organizations: Bearer or API-token
 * authentication, entitlement written into organization fields (merged, unknown ones ignored as
 * Zendesk does), 422 RecordInvalid with details, 404 RecordNotFound, create_or_update and search by
 * external id, 429 with Retry-After over the account's limit, and a record of every applied change.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/runtime/logger.ts';
import { startZendeskSim, type ZendeskSim } from '../../../src/targets-sim/zendesk/zendesk-sim.ts';

const TOKEN = 'zd-oauth-token-123';
let zd: ZendeskSim;

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = `Bearer ${TOKEN}`,
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(`${zd.apiUrl}${path}`, {
    method,
    headers: {
      ...(authorization === null ? {} : { authorization }),
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

interface OrganizationBody {
  organization: {
    id: number;
    name: string;
    external_id: string | null;
    updated_at: string;
    tags: string[];
    organization_fields: Record<string, unknown>;
  };
}

beforeAll(async () => {
  zd = await startZendeskSim({
    tokens: [TOKEN],
    apiTokens: [{ email: 'sync@example.com', token: 'api-token-9' }],
    requestsPerMinute: 1000,
    logger: createLogger({ level: 'warn' }),
  });
});

afterEach(async () => {
  await zd.clearFaults();
});

afterAll(async () => {
  await zd?.close();
});

describe('authentication', () => {
  it("answers 401 Couldn't authenticate you without credentials, and accepts an API token over Basic", async () => {
    const id = zd.seed({ name: 'Auth Org' });
    const basic = `Basic ${Buffer.from('sync@example.com/token:api-token-9').toString('base64')}`;

    const none = await call('GET', `/organizations/${id}.json`, undefined, null);
    const wrongToken = await call(
      'GET',
      `/organizations/${id}.json`,
      undefined,
      `Basic ${Buffer.from('sync@example.com/token:nope').toString('base64')}`,
    );
    const withApiToken = await call('GET', `/organizations/${id}.json`, undefined, basic);

    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: "Couldn't authenticate you" });
    expect(wrongToken.status).toBe(401);
    expect(withApiToken.status).toBe(200);
  });
});

describe('organization entitlement write-back', () => {
  it('PUTs organization fields: merged into the existing ones, recorded as changes; a repeat changes nothing', async () => {
    const id = zd.seed({ name: 'Acme Support', organization_fields: { golden_customer_id: 'golden-1' } });
    const body = {
      organization: {
        organization_fields: {
          support_level: 'premium',
          entitlement_seats: 25,
          entitlement_ends_at: '2025-06-30',
        },
      },
    };

    const first = await call<OrganizationBody>('PUT', `/organizations/${id}.json`, body);
    const repeat = await call<OrganizationBody>('PUT', `/organizations/${id}.json`, body);

    expect(first.status).toBe(200);
    expect(first.body.organization.organization_fields).toMatchObject({
      golden_customer_id: 'golden-1',
      support_level: 'premium',
      entitlement_seats: 25,
      entitlement_ends_at: '2025-06-30',
    });
    expect(repeat.body.organization.updated_at).toBe(first.body.organization.updated_at);
    const writes = zd.recorder.writesTo('organization', String(id));
    expect(writes.map((write) => Object.keys(write.changed).sort())).toEqual([
      [
        'organization_fields.entitlement_ends_at',
        'organization_fields.entitlement_seats',
        'organization_fields.support_level',
      ],
      [],
    ]);
  });

  it('ignores unknown organization fields and attributes as Zendesk does, and records which it ignored', async () => {
    const id = zd.seed({ name: 'Ignoring Org' });

    const response = await call<OrganizationBody>('PUT', `/organizations/${id}.json`, {
      organization: {
        tags: ['Gold Customer', 'gold customer'],
        colour: 'red',
        organization_fields: { support_tier: 'gold', support_level: 'standard' },
      },
    });

    expect(response.status).toBe(200);
    expect(response.body.organization.tags).toEqual(['gold_customer']);
    expect(response.body.organization.organization_fields).not.toHaveProperty('support_tier');
    expect(zd.recorder.requests.at(-1)?.ignoredFields).toEqual([
      'colour',
      'organization_fields.support_tier',
    ]);
  });

  it('answers 422 RecordInvalid with details for a value outside a dropdown, and changes nothing', async () => {
    const id = zd.seed({ name: 'Invalid Org' });

    const response = await call<{
      error: string;
      description: string;
      details: Record<string, { description: string; error: string }[]>;
    }>('PUT', `/organizations/${id}.json`, {
      organization: { organization_fields: { support_level: 'platinum', entitlement_seats: 'many' } },
    });

    expect(response.status).toBe(422);
    expect(response.body.error).toBe('RecordInvalid');
    expect(Object.keys(response.body.details).sort()).toEqual(['entitlement_seats', 'support_level']);
    expect(response.body.details.support_level?.[0]?.error).toBe('InvalidValue');
    expect(zd.organization(id)?.organization_fields.support_level).toBeNull();
  });

  it('answers 404 RecordNotFound for an unknown organization and 400 when the organization object is missing', async () => {
    const id = zd.seed({ name: 'Shape Org' });

    const missing = await call('PUT', '/organizations/1.json', { organization: { notes: 'x' } });
    const noRoot = await call('PUT', `/organizations/${id}.json`, { notes: 'x' });

    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'RecordNotFound', description: 'Not found' });
    expect(noRoot.status).toBe(400);
  });

  it('creates or updates by external id: 201 then 200, one organization, found by search', async () => {
    const body = {
      organization: {
        name: 'Upserted Org',
        external_id: 'golden-77',
        organization_fields: { support_level: 'standard' },
      },
    };

    const created = await call<OrganizationBody>('POST', '/organizations/create_or_update.json', body);
    const updated = await call<OrganizationBody>('POST', '/organizations/create_or_update.json', {
      organization: { ...body.organization, organization_fields: { support_level: 'enterprise' } },
    });
    const found = await call<{ organizations: { id: number }[]; count: number }>(
      'GET',
      '/organizations/search.json?external_id=golden-77',
    );

    expect(created.status).toBe(201);
    expect(updated.status).toBe(200);
    expect(updated.body.organization.id).toBe(created.body.organization.id);
    expect(found.body.count).toBe(1);
    expect(zd.organization(created.body.organization.id)?.organization_fields.support_level).toBe(
      'enterprise',
    );
  });

  it('refuses a second organization with a taken name: 422 DuplicateValue', async () => {
    zd.seed({ name: 'Taken Name Inc' });

    const response = await call<{ details: Record<string, { error: string }[]> }>(
      'POST',
      '/organizations.json',
      { organization: { name: 'taken name inc' } },
    );

    expect(response.status).toBe(422);
    expect(response.body.details.name?.[0]?.error).toBe('DuplicateValue');
  });
});

describe('limits and faults', () => {
  it('answers 429 APIRateLimitExceeded with Retry-After over the limit, and counts down X-Rate-Limit-Remaining', async () => {
    const id = zd.seed({ name: 'Limited Org' });
    await zd.setFaults({ rateLimit: { limit: 2, windowMs: 60_000 } });

    const first = await call('GET', `/organizations/${id}.json`);
    await call('GET', `/organizations/${id}.json`);
    const over = await call('GET', `/organizations/${id}.json`);

    expect(first.headers.get('x-rate-limit')).toBe('2');
    expect(first.headers.get('x-rate-limit-remaining')).toBe('1');
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ error: 'APIRateLimitExceeded' });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers injected failures with 503 and Retry-After, then serves again', async () => {
    const id = zd.seed({ name: 'Failing Org' });
    await zd.setFaults({ failNext: 1, retryAfterSeconds: 3 });

    const failed = await call('GET', `/organizations/${id}.json`);
    const next = await call('GET', `/organizations/${id}.json`);

    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('3');
    expect(next.status).toBe(200);
  });
});
