/**
 * Sales orders and invoices in the reference ERP: lines and totals in minor units, the integration's
 * document id kept unique, amendments that replace the lines, and Business Central's rules for
 * blocked customers and closed invoices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerInput, startPrivateErp, type ODataErrorBody, type PrivateErp } from '../../support/erp.ts';

let erp: PrivateErp;
let customerId: string;
let customerNumber: string;

interface Line {
  sequence: number;
  description: string;
  quantity: number;
  unitPriceMinor: number;
  amountMinor: number;
}

beforeAll(async () => {
  erp = await startPrivateErp();
  const customer = await erp.client.post('/customers', customerInput(1, { currencyCode: 'USD' }));
  customerId = String(customer.body.id);
  customerNumber = String(customer.body.number);
});

afterAll(async () => {
  await erp?.drop();
});

describe('sales orders', () => {
  it('creates an order with lines: amounts in minor units, quantity × price rounded half away from zero, total summed', async () => {
    const created = await erp.client.post('/salesOrders?$expand=salesOrderLines', {
      customerNumber,
      externalDocumentNumber: 'CONTRACT-1',
      orderDate: '2024-03-01',
      salesOrderLines: [
        { description: 'Seats', quantity: 3, unitPriceMinor: 1999 },
        { description: 'Hours', quantity: 0.5, unitPriceMinor: 333 },
        {
          description: 'Discount as the source computed it',
          quantity: 1,
          unitPriceMinor: -500,
          amountMinor: -450,
        },
      ],
    });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      customerId,
      customerNumber,
      currencyCode: 'USD',
      orderDate: '2024-03-01',
      externalDocumentNumber: 'CONTRACT-1',
      status: 'Draft',
      totalAmountMinor: 5997 + 167 - 450,
    });
    expect(created.body.number).toMatch(/^SO\d{6}$/);
    const lines = created.body.salesOrderLines as Line[];
    expect(lines.map((line) => [line.sequence, line.amountMinor])).toEqual([
      [10000, 5997],
      [20000, 167],
      [30000, -450],
    ]);
  });

  it('shows lines only when expanded, or at the lines navigation path', async () => {
    const created = await erp.client.post('/salesOrders', {
      customerId,
      salesOrderLines: [{ quantity: 2, unitPriceMinor: 50 }],
    });
    const plain = await erp.client.get(`/salesOrders(${String(created.body.id)})`);
    const navigation = await erp.client.get<{ value: Line[] }>(
      `/salesOrders(${String(created.body.id)})/salesOrderLines`,
    );

    expect(created.body.salesOrderLines).toBeUndefined();
    expect(plain.body.salesOrderLines).toBeUndefined();
    expect(navigation.body.value.map((line) => line.amountMinor)).toEqual([100]);
  });

  it('finds an order by its external document number and amends it: new lines replace the old, the total follows', async () => {
    const created = await erp.client.post('/salesOrders', {
      customerId,
      externalDocumentNumber: 'CONTRACT-2',
      salesOrderLines: [{ quantity: 10, unitPriceMinor: 1000 }],
    });
    const path = `/salesOrders(externalDocumentNumber='CONTRACT-2')`;

    const amended = await erp.client.patch(
      `${path}?$expand=salesOrderLines`,
      {
        status: 'Open',
        externalVersion: 2,
        salesOrderLines: [
          { quantity: 12, unitPriceMinor: 1000 },
          { quantity: 1, unitPriceMinor: 250 },
        ],
      },
      { 'if-match': String(created.body['@odata.etag']) },
    );

    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({
      id: created.body.id,
      status: 'Open',
      externalVersion: 2,
      totalAmountMinor: 12_250,
      rowVersion: 2,
    });
    expect((amended.body.salesOrderLines as Line[]).map((line) => line.amountMinor)).toEqual([12_000, 250]);
  });

  it('refuses a second order with the same external document number (409), so a replay cannot book twice', async () => {
    await erp.client.post('/salesOrders', { customerId, externalDocumentNumber: 'CONTRACT-3' });

    const again = await erp.client.post<ODataErrorBody>('/salesOrders', {
      customerId,
      externalDocumentNumber: 'CONTRACT-3',
    });

    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('Internal_EntityWithSameKeyExists');
  });

  it('refuses an order for an unknown customer, and for a customer blocked for shipping', async () => {
    const blocked = await erp.client.post('/customers', customerInput(2, { blocked: 'Ship' }));

    const unknown = await erp.client.post<ODataErrorBody>('/salesOrders', { customerNumber: 'C999999' });
    const refused = await erp.client.post<ODataErrorBody>('/salesOrders', { customerId: blocked.body.id });
    const invoice = await erp.client.post('/salesInvoices', { customerId: blocked.body.id });

    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details?.[0]).toMatchObject({ target: 'customerNumber' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('Application_CustomerBlocked');
    expect(invoice.status).toBe(201);
  });

  it('refuses invalid lines with the line and property named', async () => {
    const response = await erp.client.post<ODataErrorBody>('/salesOrders', {
      customerId,
      salesOrderLines: [
        { quantity: 1, unitPriceMinor: 100 },
        { quantity: -1, unitPriceMinor: 1.5, colour: 'red' },
      ],
    });

    expect(response.status).toBe(422);
    const targets = (response.body.error.details ?? []).map((detail) => detail.target).sort();
    expect(targets).toEqual([
      'salesOrderLines[1].colour',
      'salesOrderLines[1].quantity',
      'salesOrderLines[1].unitPriceMinor',
    ]);
  });

  it('keeps the customer of an order fixed after it is created', async () => {
    const created = await erp.client.post('/salesOrders', { customerId });

    const moved = await erp.client.patch<ODataErrorBody>(
      `/salesOrders(${String(created.body.id)})`,
      { customerNumber: 'C000099' },
      { 'if-match': '*' },
    );

    expect(moved.status).toBe(422);
    expect(moved.body.error.details?.[0]).toMatchObject({ code: 'ReadOnlyField', target: 'customerNumber' });
  });
});

describe('sales invoices', () => {
  it('invoices an order: takes its lines, due date 30 days after the invoice date, remaining = total while open', async () => {
    const order = await erp.client.post('/salesOrders', {
      customerId,
      externalDocumentNumber: 'ORDER-10',
      salesOrderLines: [{ description: 'Plan', quantity: 1, unitPriceMinor: 49_900 }],
    });

    const invoice = await erp.client.post('/salesInvoices?$expand=salesInvoiceLines', {
      customerId,
      orderId: order.body.id,
      externalDocumentNumber: 'in_1',
      invoiceDate: '2024-01-31',
      status: 'Open',
    });

    expect(invoice.status).toBe(201);
    expect(invoice.body).toMatchObject({
      orderId: order.body.id,
      orderNumber: order.body.number,
      invoiceDate: '2024-01-31',
      dueDate: '2024-03-01',
      totalAmountMinor: 49_900,
      remainingAmountMinor: 49_900,
      status: 'Open',
    });
    expect(invoice.body.number).toMatch(/^SI\d{6}$/);
    expect((invoice.body.salesInvoiceLines as Line[]).map((line) => line.description)).toEqual(['Plan']);
  });

  it('marks an invoice paid (nothing remaining) and then refuses changes to it', async () => {
    const invoice = await erp.client.post('/salesInvoices', {
      customerId,
      status: 'Open',
      salesInvoiceLines: [{ quantity: 1, unitPriceMinor: 700 }],
    });
    const path = `/salesInvoices(${String(invoice.body.id)})`;

    const paid = await erp.client.patch(
      path,
      { status: 'Paid' },
      { 'if-match': String(invoice.body['@odata.etag']) },
    );
    const changed = await erp.client.patch<ODataErrorBody>(path, { status: 'Open' }, { 'if-match': '*' });

    expect(paid.body).toMatchObject({ status: 'Paid', remainingAmountMinor: 0, totalAmountMinor: 700 });
    expect(changed.status).toBe(422);
  });

  it('refuses an invoice for an order of another customer, and a due date before the invoice date', async () => {
    const other = await erp.client.post('/customers', customerInput(3, { currencyCode: 'USD' }));
    const order = await erp.client.post('/salesOrders', { customerId: other.body.id });

    const foreign = await erp.client.post<ODataErrorBody>('/salesInvoices', {
      customerId,
      orderId: order.body.id,
    });
    const early = await erp.client.post<ODataErrorBody>('/salesInvoices', {
      customerId,
      invoiceDate: '2024-02-01',
      dueDate: '2024-01-01',
    });

    expect(foreign.status).toBe(422);
    expect(foreign.body.error.details?.[0]?.target).toBe('orderId');
    expect(early.status).toBe(422);
    expect(early.body.error.details?.[0]?.target).toBe('dueDate');
  });

  it('lists invoices of one customer with $filter on customerId and status', async () => {
    const mine = await erp.client.get<{ value: { customerId: string; status: string }[] }>(
      `/salesInvoices?$filter=customerId eq ${customerId} and status eq 'Open'`,
    );

    expect(mine.status).toBe(200);
    expect(mine.body.value.length).toBeGreaterThan(0);
    expect(
      mine.body.value.every((invoice) => invoice.customerId === customerId && invoice.status === 'Open'),
    ).toBe(true);
  });
});
