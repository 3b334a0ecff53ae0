/**
 * Idempotency-Key at the reference ERP, the target-side line of defence the sinks rely on: the same
 * key and request give the first answer again (marked replayed) and no second row; the same key with
 * another request is refused; twenty concurrent requests with one key make exactly one row; a write
 * whose answer was lost can be retried safely; and keys are kept per client.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countRows,
  customerInput,
  ErpTestClient,
  startPrivateErp,
  type ODataErrorBody,
  type PrivateErp,
} from '../../support/erp.ts';

let erp: PrivateErp;

beforeAll(async () => {
  erp = await startPrivateErp({ tokens: ['erp-test-token-0123456789', 'second-client-token-42'] });
});

afterAll(async () => {
  await erp?.drop();
});

async function customersWith(externalId: unknown): Promise<number> {
  return countRows(erp.erp, 'customers', 'external_id = $1', [externalId]);
}

describe('Idempotency-Key', () => {
  it('replays the stored first answer for the same key and request, marked Idempotent-Replayed, and writes one row', async () => {
    const key = randomUUID();
    const input = customerInput(1);

    const first = await erp.client.post('/customers', input, { 'idempotency-key': key });
    const second = await erp.client.post('/customers', input, { 'idempotency-key': key });

    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('idempotency-key')).toBe(key);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await customersWith(input.externalId)).toBe(1);
  });

  it('treats the same body with keys in another order as the same request', async () => {
    const key = randomUUID();
    const input = customerInput(2);
    const reversed = Object.fromEntries(Object.entries(input).reverse());

    await erp.client.post('/customers', input, { 'idempotency-key': key });
    const again = await erp.client.post('/customers', reversed, { 'idempotency-key': key });

    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses the same key with a different body: 422 Request_IdempotencyKeyReused, nothing written', async () => {
    const key = randomUUID();
    const input = customerInput(3);
    const other = customerInput(4);

    await erp.client.post('/customers', input, { 'idempotency-key': key });
    const reused = await erp.client.post<ODataErrorBody>('/customers', other, { 'idempotency-key': key });

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('Request_IdempotencyKeyReused');
    expect(reused.body.error.message).toContain('/customers');
    expect(await customersWith(other.externalId)).toBe(0);
  });

  it('makes exactly one row of twenty concurrent requests with the same key, and all twenty see the same answer', async () => {
    const key = randomUUID();
    const input = customerInput(5);

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => erp.client.post('/customers', input, { 'idempotency-key': key })),
    );

    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 20 }, () => 201));
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    expect(answers.filter((answer) => answer.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(await customersWith(input.externalId)).toBe(1);
    expect(await countRows(erp.erp, 'idempotency_keys', 'key = $1', [key])).toBe(1);
  });

  it('makes one order of concurrent order requests with one key, lines included', async () => {
    const customer = await erp.client.post('/customers', customerInput(6));
    const key = randomUUID();
    const order = {
      customerId: customer.body.id,
      externalDocumentNumber: `K-${key.slice(0, 8)}`,
      salesOrderLines: [{ quantity: 1, unitPriceMinor: 100 }],
    };

    await Promise.all(
      Array.from({ length: 10 }, () => erp.client.post('/salesOrders', order, { 'idempotency-key': key })),
    );

    expect(await countRows(erp.erp, 'sales_orders', 'customer_id = $1', [customer.body.id])).toBe(1);
    expect(
      await countRows(
        erp.erp,
        'sales_order_lines l JOIN sales_orders o ON o.id = l.document_id',
        'o.customer_id = $1',
        [customer.body.id],
      ),
    ).toBe(1);
  });

  it('stores nothing for a refused request, so the same key may be retried once the request is fixed', async () => {
    const key = randomUUID();
    const input = customerInput(7);

    const refused = await erp.client.post(
      '/customers',
      { ...input, currencyCode: 'euro' },
      { 'idempotency-key': key },
    );
    const fixed = await erp.client.post('/customers', input, { 'idempotency-key': key });

    expect(refused.status).toBe(422);
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    expect(await customersWith(input.externalId)).toBe(1);
  });

  it('lets a client retry a write whose answer was lost (connection reset after commit) without a second row', async () => {
    const key = randomUUID();
    const input = customerInput(8);
    await erp.erp.setFaults({ dropResponseNext: 1 });

    const lost = await erp.client
      .post('/customers', input, { 'idempotency-key': key })
      .catch((error: unknown) => error);
    const retried = await erp.client.post('/customers', input, { 'idempotency-key': key });
    await erp.erp.clearFaults();

    expect(lost).toBeInstanceOf(Error);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await customersWith(input.externalId)).toBe(1);
  });

  it('replays a PATCH for its key instead of answering 412 to the retry of an update that went through', async () => {
    const created = await erp.client.post('/customers', customerInput(9));
    const key = randomUUID();
    const path = `/customers(${String(created.body.id)})`;
    const headers = { 'idempotency-key': key, 'if-match': String(created.body['@odata.etag']) };

    const first = await erp.client.patch(path, { creditStatus: 'WATCH' }, headers);
    const retry = await erp.client.patch(path, { creditStatus: 'WATCH' }, headers);

    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.rowVersion).toBe(2);
  });

  it('keeps keys per client: the same key from another client is another request', async () => {
    const key = randomUUID();
    const other = new ErpTestClient(erp.erp.apiUrl, 'second-client-token-42');

    const mine = await erp.client.post('/customers', customerInput(10), { 'idempotency-key': key });
    const theirs = await other.post('/customers', customerInput(11), { 'idempotency-key': key });

    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses a key longer than 255 characters', async () => {
    const response = await erp.client.post<ODataErrorBody>('/customers', customerInput(12), {
      'idempotency-key': 'k'.repeat(256),
    });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('Request_IdempotencyKeyInvalid');
  });
});
