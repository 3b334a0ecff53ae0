/**
 * The reference ERP's fault switches, which the sink tests build on: latency, failures counted
 * exactly or drawn from a seeded rate (the same seed gives the same failures), and "down" that really
 * refuses connections, in process and over the token-guarded admin route, and comes back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERP_TOKEN, startPrivateErp, type ODataErrorBody, type PrivateErp } from '../../support/erp.ts';

let erp: PrivateErp;

beforeAll(async () => {
  erp = await startPrivateErp();
});

afterEach(async () => {
  await erp.erp.clearFaults();
});

afterAll(async () => {
  await erp?.drop();
});

async function statuses(count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let n = 0; n < count; n += 1) seen.push((await erp.client.get('/customers')).status);
  return seen;
}

async function refusal(): Promise<unknown> {
  const error = await erp.client.get('/customers').then(
    () => undefined,
    (failure: unknown) => failure,
  );
  return (error as { cause?: { code?: string } } | undefined)?.cause?.code;
}

async function admin(method: string, body?: unknown): Promise<Response> {
  return fetch(`${erp.erp.url}/_faults`, {
    method,
    headers: { authorization: `Bearer ${ERP_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('fault switches', () => {
  it('delays every API request by latencyMs', async () => {
    await erp.erp.setFaults({ latencyMs: 300 });

    const started = performance.now();
    const response = await erp.client.get('/customers');

    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
  });

  it('fails exactly the next N requests with the chosen status and Retry-After, then serves again', async () => {
    await erp.erp.setFaults({ failNext: 3, errorStatus: 500, retryAfterSeconds: 2 });

    const failed = await erp.client.get<ODataErrorBody>('/customers');
    const rest = await statuses(3);

    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe('Internal_ServerError');
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(rest).toEqual([500, 500, 200]);
  });

  it('draws errorRate failures from the seed: the same seed gives the same sequence, with failures and successes', async () => {
    await erp.erp.setFaults({ errorRate: 0.5, seed: 42 });
    const first = await statuses(20);
    await erp.erp.setFaults({ errorRate: 0.5, seed: 42 });
    const second = await statuses(20);
    await erp.erp.setFaults({ errorRate: 0.5, seed: 7 });
    const other = await statuses(20);

    expect(second).toEqual(first);
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(other).not.toEqual(first);
  });

  it('resets open connections and refuses new ones while down (not a 503), and serves again once up', async () => {
    expect((await erp.client.get('/customers')).status).toBe(200);

    await erp.erp.setFaults({ down: true });
    // The client's pooled keep-alive connection was reset under it; the next one cannot connect.
    const onPooledConnection = await refusal();
    const onNewConnection = await refusal();
    await erp.erp.clearFaults();
    const afterwards = await erp.client.get('/customers');

    expect(['UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED']).toContain(onPooledConnection);
    expect(onNewConnection).toBe('ECONNREFUSED');
    expect(afterwards.status).toBe(200);
  });

  it('goes down for downForMs over the admin route and comes back by itself', async () => {
    const answer = await admin('POST', { downForMs: 1500 });
    const state = (await answer.json()) as { down: boolean };
    await new Promise((resolve) => setTimeout(resolve, 100));
    const whileDown = await refusal();
    let back = false;
    for (let attempt = 0; attempt < 100 && !back; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back =
        (await fetch(`${erp.erp.url}/_health`)
          .then((r) => r.ok)
          .catch(() => false)) === true;
    }

    expect(answer.status).toBe(200);
    expect(state.down).toBe(true);
    expect(whileDown).toBe('ECONNREFUSED');
    expect(back).toBe(true);
    expect((await erp.client.get('/customers')).status).toBe(200);
  });

  it('shows and resets the faults over the admin route; the admin route itself is never faulted', async () => {
    const set = await admin('POST', { failNext: 5, latencyMs: 0 });
    const shown = (await (await admin('GET')).json()) as { remaining: { failNext: number } };
    const cleared = await admin('DELETE');
    const invalid = await admin('POST', { errorRate: 2 });
    const unbounded = await admin('POST', { down: true });

    expect(set.status).toBe(200);
    expect(shown.remaining.failNext).toBe(5);
    expect(cleared.status).toBe(200);
    expect((await erp.client.get('/customers')).status).toBe(200);
    expect(invalid.status).toBe(422);
    expect(unbounded.status).toBe(422);
  });
});
