/**
 * What the reference ERP accepts in a body and how it names what is wrong: one detail per field, with
 * a code a client can act on (required, unknown, read-only, too long, invalid) and the path of the
 * property, lines included.
 */
import { describe, expect, it } from 'vitest';
import { lineAmount } from '../../../src/erp/resources.ts';
import {
  CUSTOMER_READ_ONLY,
  CustomerCreate,
  CustomerPatch,
  SALES_ORDER_FIXED_AFTER_CREATE,
  SALES_ORDER_READ_ONLY,
  SalesInvoiceCreate,
  SalesOrderCreate,
  SalesOrderPatch,
  validateBody,
} from '../../../src/erp/validation.ts';

function details(result: ReturnType<typeof validateBody>): Record<string, string> {
  if (result.ok) return {};
  return Object.fromEntries(result.details.map((detail) => [detail.target, detail.code]));
}

describe('customer bodies', () => {
  it('accepts a minimal customer and a complete one', () => {
    expect(validateBody(CustomerCreate, { displayName: 'Acme' }, 'customer').ok).toBe(true);
    const full = validateBody(
      CustomerCreate,
      {
        displayName: '  Acme GmbH  ',
        type: 'Company',
        externalId: 'golden-1',
        addressLine1: 'Hauptstraße 1',
        city: 'Köln',
        country: 'DE',
        email: 'billing@acme.example',
        currencyCode: 'EUR',
        creditLimitMinor: 1_000_000,
        creditStatus: 'WATCH',
        blocked: 'Invoice',
        externalVersion: 12,
      },
      'customer',
    );
    expect(full.ok && full.value.displayName).toBe('Acme GmbH');
  });

  it('names a missing required property, unknown ones and read-only ones', () => {
    const result = validateBody(
      CustomerCreate,
      { id: 'x', rowVersion: 3, nickname: 'A' },
      'customer',
      CUSTOMER_READ_ONLY,
    );

    expect(details(result)).toEqual({
      id: 'ReadOnlyField',
      rowVersion: 'ReadOnlyField',
      displayName: 'RequiredField',
      nickname: 'UnknownField',
    });
  });

  it('ignores OData instance annotations a client echoes back', () => {
    expect(
      validateBody(CustomerPatch, { '@odata.etag': 'W/"x"', city: 'Bonn' }, 'customer', CUSTOMER_READ_ONLY)
        .ok,
    ).toBe(true);
  });

  it('refuses wrong values with InvalidValue and over-long text with ValueTooLong', () => {
    const result = validateBody(
      CustomerPatch,
      {
        country: 'DEU',
        currencyCode: 'eur',
        creditLimitMinor: -1,
        creditStatus: 'GOOD',
        blocked: 'Everything',
        email: 'nope',
        type: 'Robot',
        externalVersion: 1.5,
        city: 'x'.repeat(31),
      },
      'customer',
    );

    expect(details(result)).toEqual({
      country: 'InvalidValue',
      currencyCode: 'InvalidValue',
      creditLimitMinor: 'InvalidValue',
      creditStatus: 'InvalidValue',
      blocked: 'InvalidValue',
      email: 'InvalidValue',
      type: 'InvalidValue',
      externalVersion: 'InvalidValue',
      city: 'ValueTooLong',
    });
  });

  it('says which values an enumeration takes', () => {
    const result = validateBody(CustomerPatch, { creditStatus: 'GOOD' }, 'customer');

    expect(!result.ok && result.details[0]?.message).toBe(
      'creditStatus: must be one of "CLEAR", "WATCH", "HOLD", "BLOCKED"',
    );
  });
});

describe('sales document bodies', () => {
  it('needs a customer, by id or by number', () => {
    expect(details(validateBody(SalesOrderCreate, {}, 'sales order'))).toEqual({
      customerId: 'RequiredField',
    });
    expect(validateBody(SalesOrderCreate, { customerNumber: 'C000001' }, 'sales order').ok).toBe(true);
  });

  it('names bad lines by index and property, unknown line properties included', () => {
    const result = validateBody(
      SalesOrderCreate,
      {
        customerNumber: 'C000001',
        salesOrderLines: [
          { quantity: 1, unitPriceMinor: 100 },
          { quantity: 1.123456, unitPriceMinor: 10.5, lineType: 'Service', size: 'L' },
        ],
      },
      'sales order',
    );

    expect(details(result)).toEqual({
      'salesOrderLines[1].quantity': 'InvalidValue',
      'salesOrderLines[1].unitPriceMinor': 'InvalidValue',
      'salesOrderLines[1].lineType': 'InvalidValue',
      'salesOrderLines[1].size': 'UnknownField',
    });
  });

  it('drops read-only line properties a client echoes back (id, documentId)', () => {
    const result = validateBody(
      SalesOrderPatch,
      { salesOrderLines: [{ id: 'x', documentId: 'y', '@odata.etag': 'z', quantity: 2, unitPriceMinor: 5 }] },
      'sales order',
    );

    expect(result.ok).toBe(true);
  });

  it('refuses calendar dates that do not exist and a customer change after creation', () => {
    expect(
      details(
        validateBody(
          SalesInvoiceCreate,
          { customerNumber: 'C1', invoiceDate: '2024-02-30' },
          'sales invoice',
        ),
      ),
    ).toEqual({
      invoiceDate: 'InvalidValue',
    });
    expect(
      details(
        validateBody(
          SalesOrderPatch,
          { customerId: 'x', totalAmountMinor: 5 },
          'sales order',
          SALES_ORDER_READ_ONLY,
          SALES_ORDER_FIXED_AFTER_CREATE,
        ),
      ),
    ).toEqual({ customerId: 'ReadOnlyField', totalAmountMinor: 'ReadOnlyField' });
  });
});

describe('line amounts', () => {
  it('multiplies exactly and rounds half away from zero, in minor units', () => {
    expect(lineAmount(3, 1999)).toBe(5997);
    expect(lineAmount(0.5, 333)).toBe(167);
    expect(lineAmount(0.5, -333)).toBe(-167);
    expect(lineAmount(1.005, 100)).toBe(101);
    expect(lineAmount(0.1, 3)).toBe(0);
    expect(lineAmount(2.5, 1)).toBe(3);
  });
});
