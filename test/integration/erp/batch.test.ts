/**
 * `$batch` at the reference ERP, and the sink's client that uses it.
 *
 * Promised, and proven here:
 * - a JSON batch answers every operation as the same request alone would be answered (create 201
 *   with ETag, read 200, PATCH without If-Match 428, a refused 422), each with its own id and
 *   status: one failing operation does not fail the others;
 * - a batch counts as one request against the client's request limit (Business Central's rule);
 * - a batch the ERP cannot take is refused whole with 400 and a reason (not JSON, over 100
 *   operations, an id twice, a change-set dependency), and an operation outside the API (a nested
 *   $batch) is refused on its own;
 * - the client sends calls made at the same moment as one batch, and a batch refused as a whole
 *   (429) is a rate-limited error with Retry-After for each of its calls;
 * - against an ERP without `$batch` (404 to it) the client sends every call alone and keeps doing so;
 * - a batch too large for the ERP's body limit (413) is sent again call by call: nothing fails for
 *   the size of the batch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErpRestClient } from '../../../src/consumers/erp-rest/erp-rest-client.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import {
  customerInput,
  ERP_TOKEN,
  startPrivateErp,
  type ODataErrorBody,
  type PrivateErp,
} from '../../support/erp.ts';

let erp: PrivateErp;
let batchUrl: string;

interface BatchBody {
  responses: {
    id: string;
    status: number;
    headers: Record<string, string>;
    body?: Record<string, unknown>;
  }[];
}

beforeAll(async () => {
  erp = await startPrivateErp({ rateLimit: { limit: 1000, windowMs: 60_000 } });
  batchUrl = `${erp.erp.url}/api/v2.0/$batch`;
});

afterAll(async () => {
  await erp?.drop();
});

function companyPath(path: string): string {
  return `${new URL(erp.erp.apiUrl).pathname}${path}`;
}

describe('$batch at the reference ERP', () => {
  it('answers each operation as it would be answered alone, one failure leaving the others', async () => {
    await erp.erp.clearFaults();
    const first = customerInput(1);
    const second = customerInput(2);
    const response = await erp.client.post<BatchBody>(batchUrl, {
      requests: [
        {
          id: 'a',
          method: 'POST',
          url: companyPath('/customers'),
          headers: { 'Idempotency-Key': 'batch-a' },
          body: first,
        },
        { id: 'b', method: 'POST', url: companyPath('/customers'), body: { ...second, currencyCode: 'XX' } },
        { id: 'c', method: 'GET', url: companyPath('/customers?$top=1') },
      ],
    });

    expect(response.status).toBe(200);
    const byId = new Map(response.body.responses.map((answer) => [answer.id, answer]));
    expect(byId.get('a')?.status).toBe(201);
    expect(byId.get('a')?.headers.etag).toBeTruthy();
    expect(byId.get('a')?.body?.externalId).toBe(first.externalId);
    expect(byId.get('b')?.status).toBe(422);
    expect(JSON.stringify(byId.get('b')?.body)).toContain('currencyCode');
    expect(byId.get('c')?.status).toBe(200);

    // The created customer is there, read in a second batch with a url relative to the API root;
    // a PATCH without If-Match is refused in it as it would be alone.
    const id = String(byId.get('a')?.body?.id);
    const relative = companyPath(`/customers(${id})`).replace('/api/v2.0/', '');
    const again = await erp.client.post<BatchBody>(batchUrl, {
      requests: [
        { id: '1', method: 'GET', url: relative },
        { id: '2', method: 'PATCH', url: relative, body: { displayName: 'Renamed' } },
      ],
    });
    expect(again.body.responses.map((answer) => answer.status)).toEqual([200, 428]);
  });

  it('counts a batch of many operations as one request against the limit', async () => {
    await erp.erp.clearFaults();
    await erp.erp.setFaults({ rateLimit: { limit: 2, windowMs: 60_000 } });
    const reads = Array.from({ length: 50 }, (_, n) => ({
      id: String(n),
      method: 'GET',
      url: companyPath('/customers?$top=1'),
    }));
    const batched = await erp.client.post<BatchBody>(batchUrl, { requests: reads });
    const alone = await erp.client.get('/customers?$top=1');
    const over = await erp.client.get('/customers?$top=1');
    await erp.erp.clearFaults();

    expect(batched.status).toBe(200);
    expect(batched.body.responses).toHaveLength(50);
    expect(batched.body.responses.every((answer) => answer.status === 200)).toBe(true);
    expect(alone.status).toBe(200);
    expect(over.status).toBe(429);
  });

  it('refuses a batch it cannot take with 400 and the reason, and an operation outside the API on its own', async () => {
    await erp.erp.clearFaults();
    const get = { method: 'GET', url: companyPath('/customers') };
    const notJson = await fetch(batchUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP_TOKEN}`, 'content-type': 'application/json' },
      body: '{"requests": [',
    });
    const tooMany = await erp.client.post<ODataErrorBody>(batchUrl, {
      requests: Array.from({ length: 101 }, (_, n) => ({ id: String(n), ...get })),
    });
    const twice = await erp.client.post<ODataErrorBody>(batchUrl, {
      requests: [
        { id: 'x', ...get },
        { id: 'x', ...get },
      ],
    });
    const dependent = await erp.client.post<ODataErrorBody>(batchUrl, {
      requests: [{ id: 'x', ...get, dependsOn: ['y'] }],
    });
    const nested = await erp.client.post<BatchBody>(batchUrl, {
      requests: [
        { id: 'n', method: 'POST', url: '/api/v2.0/$batch', body: { requests: [] } },
        { id: 'g', ...get },
      ],
    });

    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ODataErrorBody).error.message).toContain('not JSON');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('1 to 100 requests');
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toContain('"x" is used twice');
    expect(dependent.status).toBe(400);
    expect(dependent.body.error.message).toContain('dependsOn');
    expect(nested.status).toBe(200);
    expect(nested.body.responses.map((answer) => answer.status)).toEqual([400, 200]);
  });
});

describe('the ERP REST client', () => {
  it('sends calls made at the same moment as one $batch, each with its own answer', async () => {
    await erp.erp.clearFaults();
    await erp.erp.setFaults({ rateLimit: { limit: 2, windowMs: 60_000 } });
    const client = new ErpRestClient({ apiUrl: erp.erp.apiUrl, token: ERP_TOKEN });
    const inputs = Array.from({ length: 30 }, (_, n) => customerInput(100 + n));

    // 30 creates, then 30 reads: two requests in all, within a limit of two.
    const written = await Promise.all(
      inputs.map((input, n) => client.create('customers', input, `client-batch-${n}`)),
    );
    const found = await Promise.all(
      inputs.map((input) => client.findBy('customers', 'externalId', String(input.externalId))),
    );
    await erp.erp.clearFaults();

    expect(written.map((answer) => answer.kind)).toEqual(inputs.map(() => 'written'));
    expect(found.map((entity) => entity?.externalId)).toEqual(inputs.map((input) => input.externalId));
  });

  it('answers every call of a batch the ERP limited with a retriable rate-limit error carrying Retry-After', async () => {
    await erp.erp.clearFaults();
    await erp.erp.setFaults({ rateLimit: { limit: 0, windowMs: 60_000 } });
    const client = new ErpRestClient({ apiUrl: erp.erp.apiUrl, token: ERP_TOKEN });

    const results = await Promise.allSettled(
      ['g1', 'g2', 'g3'].map((id) => client.findBy('customers', 'externalId', id)),
    );
    await erp.erp.clearFaults();

    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as SynclineError;
      expect(error).toBeInstanceOf(SynclineError);
      expect(error.code).toBe(ErrorCodes.TARGET_RATE_LIMITED);
      expect(error.retriable).toBe(true);
      expect(error.retryAfterMs).toBeGreaterThan(0);
    }
  });

  it('sends the calls of a batch too large for the ERP (413) again one by one', async () => {
    const small = await startPrivateErp({ rateLimit: null, bodyLimitBytes: 4096 });
    try {
      const client = new ErpRestClient({ apiUrl: small.erp.apiUrl, token: ERP_TOKEN });
      const inputs = Array.from({ length: 20 }, (_, n) => customerInput(300 + n));
      const before = small.erp.apiRequests();

      const written = await Promise.all(
        inputs.map((input, n) => client.create('customers', input, `too-large-${n}`)),
      );

      expect(written.map((answer) => answer.kind)).toEqual(inputs.map(() => 'written'));
      // One refused batch, then every call alone.
      expect(small.erp.apiRequests() - before).toBe(1 + inputs.length);
    } finally {
      await small.drop();
    }
  });

  it('sends every call alone, from then on, to an ERP that has no $batch', async () => {
    await erp.erp.clearFaults();
    // The same ERP behind a front that knows no $batch, as an older release would answer.
    let batchAttempts = 0;
    let forwarded = 0;
    const front: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.url?.endsWith('/$batch')) {
          batchAttempts += 1;
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'BadRequest_NotFound', message: 'No HTTP resource.' } }));
          return;
        }
        forwarded += 1;
        const body = Buffer.concat(chunks);
        void fetch(`${erp.erp.url}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
            ),
          ),
          ...(body.length > 0 ? { body } : {}),
        }).then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const port = (front.address() as AddressInfo).port;
      const apiUrl = erp.erp.apiUrl.replace(new URL(erp.erp.apiUrl).origin, `http://127.0.0.1:${port}`);
      const client = new ErpRestClient({ apiUrl, token: ERP_TOKEN });
      const inputs = Array.from({ length: 5 }, (_, n) => customerInput(200 + n));

      const written = await Promise.all(
        inputs.map((input, n) => client.create('customers', input, `no-batch-${n}`)),
      );
      const found = await Promise.all(
        inputs.map((input) => client.findBy('customers', 'externalId', String(input.externalId))),
      );

      expect(written.map((answer) => answer.kind)).toEqual(inputs.map(() => 'written'));
      expect(found.map((entity) => entity?.externalId)).toEqual(inputs.map((input) => input.externalId));
      expect(batchAttempts).toBe(1);
      expect(forwarded).toBe(10);
    } finally {
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
  });
});
