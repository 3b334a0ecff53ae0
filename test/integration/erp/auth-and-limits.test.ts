/**
 * Who may call the reference ERP and how often: a bearer token or 401 (the fault switches too), and a
 * request limit per client that answers 429 with Retry-After while other clients go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  customerInput,
  ErpTestClient,
  startPrivateErp,
  type ODataErrorBody,
  type PrivateErp,
} from '../../support/erp.ts';

let erp: PrivateErp;

beforeAll(async () => {
  erp = await startPrivateErp({
    tokens: ['erp-test-token-0123456789', 'second-client-token-42'],
    rateLimit: { limit: 5, windowMs: 60_000 },
  });
});

afterAll(async () => {
  await erp?.drop();
});

describe('authentication', () => {
  it('answers 401 Authentication_InvalidCredentials without a token and with a wrong one', async () => {
    const none = await erp.client.get<ODataErrorBody>('/customers', { token: null });
    const wrong = await erp.client.get<ODataErrorBody>('/customers', { token: 'not-the-token-at-all' });

    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('Authentication_InvalidCredentials');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('guards the fault switches with the same token, and leaves /_health open', async () => {
    const faults = await fetch(`${erp.erp.url}/_faults`, {
      method: 'POST',
      body: JSON.stringify({ failNext: 1 }),
    });
    const health = await fetch(`${erp.erp.url}/_health`);

    expect(faults.status).toBe(401);
    expect(health.status).toBe(200);
    expect(erp.erp.faults().remaining.failNext).toBe(0);
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a client used its requests in the window, without touching other clients', async () => {
    await erp.erp.clearFaults();
    const statuses: number[] = [];
    let limited: { status: number; headers: Headers; body: ODataErrorBody } | undefined;
    for (let n = 0; n < 7; n += 1) {
      const response = await erp.client.get<ODataErrorBody>('/customers');
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    const other = await new ErpTestClient(erp.erp.apiUrl, 'second-client-token-42').get('/customers');

    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(limited?.body.error.code).toBe('Application_TooManyRequests');
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(other.status).toBe(200);
  });

  it('writes nothing for a request that was limited', async () => {
    await erp.erp.setFaults({ rateLimit: { limit: 0, windowMs: 60_000 } });
    const input = customerInput(1);

    const response = await erp.client.post('/customers', input);
    await erp.erp.clearFaults();

    expect(response.status).toBe(429);
    const found = await erp.client.get(`/customers(externalId='${String(input.externalId)}')`);
    expect(found.status).toBe(404);
  });
});
