/**
 * Canonical records as the ERP's REST API takes them: keys and versions, document numbers within
 * the ERP's 35 characters, ERP-owned fields never written, text cut to the ERP's lengths, statuses.
 */
import { describe, expect, it } from 'vitest';
import {
  contractStatus,
  customerBody,
  customerUpdateBody,
  externalDocumentNumber,
  invoiceBody,
  invoiceStatus,
  orderBody,
  orderStatus,
} from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import type { Customer, Invoice, Order } from '../../../src/schemas/generated/canonical.ts';
import { customerValue, invoiceValue, orderValue } from '../../support/erp-sink-records.ts';

const golden = '0b7c2f5e-7c1a-4e8f-9d2b-1a2b3c4d5e6f';

describe('ERP REST mapping', () => {
  it('keeps short document numbers readable and shortens long ones to a deterministic digest', () => {
    expect(externalDocumentNumber('SO', 'salesforce:0065g00000AbCdEfGhIj')).toBe(
      'SO:salesforce:0065g00000AbCdEfGhIj',
    );
    const long = externalDocumentNumber('IN', 'stripe:in_1MowQVLkdIwHu7ixeRlqHVzs_very_long');
    expect(long).toHaveLength(35);
    expect(long).toMatch(/^IN~[0-9a-f]+$/);
    expect(externalDocumentNumber('IN', 'stripe:in_1MowQVLkdIwHu7ixeRlqHVzs_very_long')).toBe(long);
    expect(externalDocumentNumber('CT', 'x')).not.toBe(externalDocumentNumber('SO', 'x'));
  });

  it('writes the customer by golden id with its golden version, never the ERP-owned credit fields', () => {
    const value = customerValue(golden, 7, {
      legalName: 'A'.repeat(120),
      address: {
        line1: 'x',
        line2: null,
        city: 'C'.repeat(40),
        region: null,
        postalCode: '1',
        countryCode: 'FR',
      },
      creditStatus: 'HOLD',
      creditLimit: { amountMinor: 5, currency: 'EUR' },
    }) as unknown as Customer;
    const body = customerBody(value);

    expect(body.externalId).toBe(golden);
    expect(body.externalVersion).toBe(7);
    expect(body.displayName).toHaveLength(100);
    expect(body.city).toHaveLength(30);
    expect(body.country).toBe('FR');
    expect(body).not.toHaveProperty('creditStatus');
    expect(body).not.toHaveProperty('creditLimitMinor');
    expect(body).not.toHaveProperty('blocked');
    expect(customerBody({ ...value, status: 'MERGED' }).blocked).toBe('All');
  });

  it('sets the customer currency on create only: the ERP owns it once the customer exists', () => {
    const value = customerValue(golden, 3, { currency: 'USD' }) as unknown as Customer;

    expect(customerBody(value).currencyCode).toBe('USD');
    expect(customerUpdateBody(value)).not.toHaveProperty('currencyCode');
    expect(customerUpdateBody(value)).toEqual(
      Object.fromEntries(Object.entries(customerBody(value)).filter(([name]) => name !== 'currencyCode')),
    );
  });

  it('maps order and invoice lines, dates and statuses; a document without lines gets one line for its total', () => {
    const order = orderValue(golden, 'ord-1', 2) as unknown as Order;
    const body = orderBody(order, 2);
    expect(body).toMatchObject({
      externalDocumentNumber: 'SO:ord-1',
      orderDate: '2026-11-01',
      status: 'Open',
      externalVersion: 2,
    });
    expect(body.salesOrderLines).toEqual([
      {
        sequence: 1,
        lineType: 'Item',
        lineObjectNumber: 'SKU-PRO',
        description: 'Pro plan',
        quantity: 2,
        unitPriceMinor: 5002,
        amountMinor: 10004,
      },
    ]);
    const invoice = {
      ...(invoiceValue(golden, 'inv-1', 1) as unknown as Invoice),
      lines: [],
      totalMinor: 999,
    };
    const invoiceJson = invoiceBody(invoice, 1, 0);
    expect(invoiceJson.salesInvoiceLines).toEqual([
      {
        sequence: 1,
        lineType: 'Account',
        description: invoice.number,
        quantity: 1,
        unitPriceMinor: 999,
        amountMinor: 999,
      },
    ]);
    expect(invoiceJson.dueDate).toBe('2026-12-01');
    expect([
      orderStatus('FULFILLED'),
      orderStatus('UNKNOWN'),
      invoiceStatus('PAID'),
      invoiceStatus('VOID'),
      contractStatus('EXPIRED'),
    ]).toEqual(['Released', 'Draft', 'Paid', 'Canceled', 'Cancelled']);
  });
});
