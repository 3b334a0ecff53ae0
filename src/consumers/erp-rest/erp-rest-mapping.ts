/**
 * Canonical records as the ERP's REST API takes them (Business Central's property names):
 * - customer → `customers`, keyed by `externalId` = golden id, version = goldenVersion. Credit limit
 *   and credit status are owned by the ERP and never written; a merged or deleted golden customer
 *   is blocked (`All`) rather than removed, as ERPs keep customers with history.
 * - contract → `salesOrders` with `externalDocumentNumber` `CT:<contractId>`; order → `salesOrders`
 *   with `SO:<orderId>`; invoice → `salesInvoices` with `IN:<invoiceId>` (a CRM deal yields a
 *   contract and an order with the same id, so the prefix keeps the two documents apart). Ids too
 *   long for the ERP's 35 characters are shortened to a digest, deterministically.
 * - free text is cut to the ERP's field lengths (a longer city is not a reason to stop an invoice);
 *   values the ERP refuses for other reasons (an invalid email, a negative quantity) are sent as
 *   they are and come back as 422: the record is dead-lettered with the ERP's field errors.
 * A document without lines gets one account line for its total, so the ERP's total matches.
 */
import { createHash } from 'node:crypto';
import type {
  Contract,
  ContractStatus,
  Customer,
  Invoice,
  InvoiceStatus,
  LineItem,
  Order,
  OrderStatus,
} from '../../schemas/generated/canonical.ts';
import type { EntitySet } from './erp-rest-client.ts';

const DAY_MS = 86_400_000;
const DOCUMENT_NUMBER_LENGTH = 35;

/** Where and under which key a canonical record lives in the ERP, and the version it carries. */
export interface ErpTarget {
  set: EntitySet;
  keyName: 'externalId' | 'externalDocumentNumber';
  keyValue: string;
  version: number;
}

/** The ERP document number of a canonical id, `<prefix>:<id>` (a digest when too long). */
export function externalDocumentNumber(prefix: 'CT' | 'SO' | 'IN', id: string): string {
  const plain = `${prefix}:${id}`;
  if (plain.length <= DOCUMENT_NUMBER_LENGTH) return plain;
  const digest = createHash('sha256').update(id).digest('hex');
  return `${prefix}~${digest.slice(0, DOCUMENT_NUMBER_LENGTH - prefix.length - 1)}`;
}

export function customerBody(customer: Customer): Record<string, unknown> {
  const address = customer.address;
  const body: Record<string, unknown> = {
    displayName: cut(customer.legalName, 100),
    type: 'Company',
    externalId: customer.goldenId,
    addressLine1: cut(address?.line1, 100),
    addressLine2: cut(address?.line2, 50),
    city: cut(address?.city, 30),
    state: cut(address?.region, 30),
    country: address?.countryCode ?? customer.countryCode ?? '',
    postalCode: cut(address?.postalCode, 20),
    phoneNumber: cut(customer.phone, 30),
    email: customer.email ?? '',
    website: cut(customer.domain, 80),
    taxRegistrationNumber: cut(customer.taxId, 20),
    externalVersion: customer.goldenVersion,
  };
  if (customer.currency) body.currencyCode = customer.currency;
  if (customer.status === 'MERGED' || customer.status === 'DELETED') body.blocked = 'All';
  return body;
}

/**
 * The customer as an update: without its currency. The currency is set when the ERP customer is
 * created; after that the ERP owns it, because it refuses to change a customer's currency once
 * sales documents exist (Business Central does the same), and a golden customer's surviving
 * currency can move when another source's record merges in. Each document carries its own currency.
 */
export function customerUpdateBody(customer: Customer): Record<string, unknown> {
  const { currencyCode: _setOnCreate, ...body } = customerBody(customer);
  return body;
}

export function customerTarget(customer: Customer): ErpTarget {
  return {
    set: 'customers',
    keyName: 'externalId',
    keyValue: customer.goldenId,
    version: customer.goldenVersion,
  };
}

/** A sales document body, without the customer (added on create only: it is fixed afterwards). */
export function contractBody(
  contract: Contract,
  sourceVersion: number,
  occurredAt: number,
): Record<string, unknown> {
  return {
    externalDocumentNumber: externalDocumentNumber('CT', contract.contractId),
    orderDate: isoDay(contract.startDate === null ? occurredAt : contract.startDate * DAY_MS),
    currencyCode: contract.currency,
    status: contractStatus(contract.status),
    externalVersion: sourceVersion,
    salesOrderLines: linesOf(contract.lines, contract.totalValueMinor ?? 0, 'Contract value'),
  };
}

export function orderBody(order: Order, sourceVersion: number): Record<string, unknown> {
  return {
    externalDocumentNumber: externalDocumentNumber('SO', order.orderId),
    orderDate: isoDay(order.orderedAt),
    currencyCode: order.currency,
    status: orderStatus(order.status),
    externalVersion: sourceVersion,
    salesOrderLines: linesOf(order.lines, order.totalMinor, order.purchaseOrderNumber ?? 'Order total'),
  };
}

export function invoiceBody(
  invoice: Invoice,
  sourceVersion: number,
  occurredAt: number,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    externalDocumentNumber: externalDocumentNumber('IN', invoice.invoiceId),
    invoiceDate: isoDay(invoice.issuedAt ?? occurredAt),
    currencyCode: invoice.currency,
    status: invoiceStatus(invoice.status),
    externalVersion: sourceVersion,
    salesInvoiceLines: linesOf(invoice.lines, invoice.totalMinor, invoice.number ?? 'Invoice total'),
  };
  if (invoice.dueAt !== null) body.dueDate = isoDay(invoice.dueAt);
  return body;
}

export function contractStatus(status: ContractStatus): string {
  switch (status) {
    case 'DRAFT':
      return 'Draft';
    case 'CANCELLED':
    case 'EXPIRED':
      return 'Cancelled';
    default:
      return 'Open';
  }
}

export function orderStatus(status: OrderStatus): string {
  switch (status) {
    case 'CONFIRMED':
      return 'Open';
    case 'FULFILLED':
      return 'Released';
    case 'CANCELLED':
      return 'Cancelled';
    default:
      return 'Draft';
  }
}

export function invoiceStatus(status: InvoiceStatus): string {
  switch (status) {
    case 'ISSUED':
    case 'PAYMENT_FAILED':
      return 'Open';
    case 'PAID':
      return 'Paid';
    case 'VOID':
    case 'UNCOLLECTIBLE':
      return 'Canceled';
    default:
      return 'Draft';
  }
}

function linesOf(lines: readonly LineItem[], totalMinor: number, label: string): Record<string, unknown>[] {
  if (lines.length === 0) {
    return [
      {
        sequence: 1,
        lineType: 'Account',
        description: cut(label, 100),
        quantity: 1,
        unitPriceMinor: totalMinor,
        amountMinor: totalMinor,
      },
    ];
  }
  return lines.map((line, index) => ({
    sequence: index + 1,
    lineType: line.productCode ? 'Item' : 'Account',
    lineObjectNumber: cut(line.productCode, 20),
    description: cut(line.description, 100),
    quantity: Math.round(line.quantity * 100_000) / 100_000,
    unitPriceMinor: line.unitPriceMinor,
    amountMinor: line.amountMinor,
  }));
}

function isoDay(epochMs: number): string {
  return new Date(Math.floor(epochMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

function cut(value: string | null | undefined, max: number): string {
  if (value === null || value === undefined) return '';
  return value.length <= max ? value : value.slice(0, max);
}
