/**
 * Customers in the reference ERP, on real PostgreSQL: the ERP assigns numbers, the integration finds
 * its customers again by external id, updates need the current ETag (Business Central's optimistic
 * concurrency), invalid bodies get 422 with one detail per field, and an external id is never taken
 * twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerInput, startPrivateErp, type ODataErrorBody, type PrivateErp } from '../../support/erp.ts';

let erp: PrivateErp;

beforeAll(async () => {
  erp = await startPrivateErp();
});

afterAll(async () => {
  await erp?.drop();
});

describe('customers', () => {
  it('creates a customer with an ERP-assigned number, a Location and an ETag, and reads it back by id and by external id', async () => {
    const input = customerInput(1, { addressLine1: 'Hauptstraße 1', city: 'Köln' });
    const created = await erp.client.post('/customers', input);

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      displayName: 'Customer 1 GmbH',
      externalId: input.externalId,
      currencyCode: 'EUR',
      creditLimitMinor: 2_500_000,
      creditStatus: 'CLEAR',
      blocked: ' ',
      rowVersion: 1,
    });
    expect(created.body.number).toMatch(/^C\d{6}$/);
    expect(created.body['@odata.context']).toContain('/customers/$entity');
    expect(created.headers.get('etag')).toBe(created.body['@odata.etag']);
    expect(created.headers.get('location')).toBe(`${erp.erp.apiUrl}/customers(${String(created.body.id)})`);

    const byId = await erp.client.get(`/customers(${String(created.body.id)})`);
    const byExternalId = await erp.client.get(`/customers(externalId='${String(input.externalId)}')`);
    const byFilter = await erp.client.get<{ value: Record<string, unknown>[] }>(
      `/customers?$filter=externalId eq '${String(input.externalId)}'`,
    );
    expect(byId.status).toBe(200);
    expect(byId.body.number).toBe(created.body.number);
    expect(byExternalId.body.id).toBe(created.body.id);
    expect(byFilter.body.value.map((customer) => customer.id)).toEqual([created.body.id]);
  });

  it('numbers customers from the series without gaps, even when a create in between is refused', async () => {
    const first = await erp.client.post('/customers', customerInput(2));
    const refused = await erp.client.post('/customers', { displayName: '' });
    const second = await erp.client.post('/customers', customerInput(3));

    expect(refused.status).toBe(422);
    const numberOf = (value: unknown) => Number(String(value).slice(1));
    expect(numberOf(second.body.number)).toBe(numberOf(first.body.number) + 1);
  });

  it('answers 404 Internal_RecordNotFound for an unknown customer', async () => {
    const missing = await erp.client.get<ODataErrorBody>(`/customers(externalId='no-such-customer')`);

    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('Internal_RecordNotFound');
    expect(missing.body.error.message).toMatch(/CorrelationId/);
  });

  it('updates with If-Match: the new version gets a new ETag, the old ETag then gets 412, no If-Match gets 428', async () => {
    const created = await erp.client.post('/customers', customerInput(4));
    const path = `/customers(${String(created.body.id)})`;
    const etag = String(created.body['@odata.etag']);

    const updated = await erp.client.patch(
      path,
      { creditStatus: 'HOLD', creditLimitMinor: 0 },
      { 'if-match': etag },
    );
    const stale = await erp.client.patch<ODataErrorBody>(
      path,
      { creditStatus: 'BLOCKED' },
      { 'if-match': etag },
    );
    const unconditional = await erp.client.patch<ODataErrorBody>(path, { creditStatus: 'BLOCKED' });
    const current = await erp.client.get(path);

    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ creditStatus: 'HOLD', creditLimitMinor: 0, rowVersion: 2 });
    expect(updated.body['@odata.etag']).not.toBe(etag);
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('Request_EntityChanged');
    expect(stale.headers.get('etag')).toBe(updated.body['@odata.etag']);
    expect(unconditional.status).toBe(428);
    expect(current.body).toMatchObject({ creditStatus: 'HOLD', rowVersion: 2 });
  });

  it('accepts If-Match: * and treats a PATCH that changes nothing as no write (same version, same change time)', async () => {
    const created = await erp.client.post('/customers', customerInput(5));
    const path = `/customers(${String(created.body.id)})`;

    const same = await erp.client.patch(
      path,
      { displayName: created.body.displayName, country: 'DE' },
      { 'if-match': '*' },
    );

    expect(same.status).toBe(200);
    expect(same.body.rowVersion).toBe(1);
    expect(same.body.lastModifiedDateTime).toBe(created.body.lastModifiedDateTime);
  });

  it('updates a customer addressed by its external id', async () => {
    const input = customerInput(6);
    const created = await erp.client.post('/customers', input);

    const updated = await erp.client.patch(
      `/customers(externalId='${String(input.externalId)}')`,
      { externalVersion: 7, city: 'Bonn' },
      { 'if-match': String(created.body['@odata.etag']) },
    );

    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, city: 'Bonn', externalVersion: 7 });
  });

  it('refuses a second customer with the same external id: 409 naming the existing one', async () => {
    const input = customerInput(7);
    const first = await erp.client.post('/customers', input);

    const second = await erp.client.post<ODataErrorBody>('/customers', {
      ...input,
      displayName: 'Someone else',
    });

    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('Internal_EntityWithSameKeyExists');
    expect(second.body.error.target).toBe('externalId');
    expect(second.body.error.message).toContain(String(first.body.number));
  });

  it('answers 422 with one detail per bad field: required, unknown, read-only, too long, invalid values', async () => {
    const response = await erp.client.post<ODataErrorBody>('/customers', {
      number: 'C999999',
      country: 'Germany',
      currencyCode: 'eur',
      creditLimitMinor: 12.5,
      creditStatus: 'FINE',
      email: 'not-an-email',
      postalCode: 'x'.repeat(21),
      colour: 'blue',
    });

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('Application_ValidationError');
    const byTarget = Object.fromEntries(
      (response.body.error.details ?? []).map((detail) => [detail.target, detail.code]),
    );
    expect(byTarget).toEqual({
      number: 'ReadOnlyField',
      displayName: 'RequiredField',
      country: 'InvalidValue',
      currencyCode: 'InvalidValue',
      creditLimitMinor: 'InvalidValue',
      creditStatus: 'InvalidValue',
      email: 'InvalidValue',
      postalCode: 'ValueTooLong',
      colour: 'UnknownField',
    });
  });

  it('answers 400 for a body that is not a JSON object and 415 for one that is not JSON at all', async () => {
    const array = await erp.client.post<ODataErrorBody>('/customers', [customerInput(8)]);
    const text = await fetch(`${erp.erp.apiUrl}/customers`, {
      method: 'POST',
      headers: { authorization: 'Bearer erp-test-token-0123456789', 'content-type': 'text/plain' },
      body: 'displayName=x',
    });

    expect(array.status).toBe(400);
    expect(array.body.error.code).toBe('BadRequest_InvalidRequestBody');
    expect(text.status).toBe(415);
  });

  it('refuses to change the currency of a customer that has sales documents', async () => {
    const created = await erp.client.post('/customers', customerInput(9));
    await erp.client.post('/salesOrders', {
      customerId: created.body.id,
      salesOrderLines: [{ quantity: 1, unitPriceMinor: 100 }],
    });

    const changed = await erp.client.patch<ODataErrorBody>(
      `/customers(${String(created.body.id)})`,
      { currencyCode: 'USD' },
      { 'if-match': '*' },
    );

    expect(changed.status).toBe(422);
    expect(changed.body.error.details?.[0]?.target).toBe('currencyCode');
  });

  it('reports the credit standing: balance of open invoices against the limit', async () => {
    const created = await erp.client.post('/customers', customerInput(10, { creditLimitMinor: 100_000 }));
    const id = String(created.body.id);
    await erp.client.post('/salesInvoices', {
      customerId: id,
      status: 'Open',
      salesInvoiceLines: [{ quantity: 2, unitPriceMinor: 15_000 }],
    });
    await erp.client.post('/salesInvoices', {
      customerId: id,
      status: 'Paid',
      salesInvoiceLines: [{ quantity: 1, unitPriceMinor: 50_000 }],
    });

    const details = await erp.client.get(`/customers(${id})/customerFinancialDetails`);

    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({
      balanceMinor: 30_000,
      totalSalesMinor: 80_000,
      creditLimitMinor: 100_000,
      availableCreditMinor: 70_000,
      currencyCode: 'EUR',
    });
  });
});
