/**
 * Records for the ERP sinks' tests: deterministic (the same arguments give the same record and
 * idempotency key, so calling twice models a redelivery), complete canonical values checked against
 * their Avro schemas. Customers, orders and invoices; the CRM/support helpers' builders are in
 * canonical-records.ts.
 */
import { createHash } from 'node:crypto';
import type { SinkRecord } from '../../src/consumers/sink.ts';
import { loadCatalog, type Catalog } from '../../src/schemas/catalog.ts';

type Json = Record<string, unknown>;

const BASE_TIME = Date.UTC(2026, 10, 1);
let catalog: Catalog | undefined;
let offset = 0;

/** A well-formed UUID derived from text: stable ids for deterministic records. */
export function stableUuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function envelope(topic: string, sourceEntityId: string, version: number, occurredAt?: number): Json {
  const idempotencyKey = `test:${topic}:${sourceEntityId}:v${version}`;
  const at = occurredAt ?? BASE_TIME + version * 1000;
  return {
    eventId: stableUuid(`event|${idempotencyKey}`),
    eventType: `${topic}.updated`,
    source: { system: 'stripe', instance: 'acct_test' },
    sourceEntityId,
    sourceVersion: version,
    occurredAt: at,
    ingestedAt: at + 5,
    idempotencyKey,
    correlationId: stableUuid(`correlation|${sourceEntityId}`),
    causationId: null,
  };
}

/** Version `version` of golden customer `goldenId`. */
export function customerValue(
  goldenId: string,
  version: number,
  fields: Json = {},
  occurredAt?: number,
): Json {
  const short = goldenId.slice(0, 8);
  return {
    // A customer event carries the version of the source record that changed, on that source's
    // own scale: here deliberately unrelated to (even falling with) the golden version, which is
    // the one a sink must compare.
    envelope: {
      ...envelope('canonical.customer', goldenId, version, occurredAt),
      sourceVersion: 1_000_000 - version,
    },
    goldenId,
    goldenVersion: version,
    status: 'ACTIVE',
    mergedInto: null,
    legalName: `Kunde ${short} v${version} GmbH`,
    displayName: null,
    domain: `k${short}.example`,
    taxId: null,
    taxCountry: null,
    countryCode: 'DE',
    address: {
      line1: `Hauptstrasse ${version}`,
      line2: null,
      city: 'Berlin',
      region: null,
      postalCode: '10115',
      countryCode: 'DE',
    },
    email: `billing@k${short}.example`,
    phone: null,
    industry: null,
    currency: 'EUR',
    creditStatus: 'UNKNOWN',
    creditLimit: null,
    sources: [{ system: 'stripe', instance: null, entity: 'customer', id: `cus_${short}` }],
    ...fields,
  };
}

function lineItems(version: number): Json[] {
  return [
    {
      lineId: 'l1',
      productCode: 'SKU-PRO',
      description: 'Pro plan',
      quantity: 2,
      unitPriceMinor: 5000 + version,
      amountMinor: 2 * (5000 + version),
    },
  ];
}

/** Version `version` of order `orderId` of customer `goldenId`. */
export function orderValue(goldenId: string, orderId: string, version: number, occurredAt?: number): Json {
  const lines = lineItems(version);
  return {
    envelope: envelope('canonical.order', orderId, version, occurredAt),
    orderId,
    goldenId,
    contractId: null,
    status: 'CONFIRMED',
    orderedAt: BASE_TIME,
    purchaseOrderNumber: null,
    currency: 'EUR',
    lines,
    totalMinor: 2 * (5000 + version),
    sources: [{ system: 'stripe', instance: null, entity: 'subscription', id: orderId }],
  };
}

/** Version `version` of invoice `invoiceId` of customer `goldenId`. */
export function invoiceValue(
  goldenId: string,
  invoiceId: string,
  version: number,
  occurredAt?: number,
): Json {
  const total = 2 * (5000 + version);
  return {
    envelope: envelope('canonical.invoice', invoiceId, version, occurredAt),
    invoiceId,
    goldenId,
    contractId: null,
    number: `INV-${invoiceId.slice(-6)}`,
    status: 'ISSUED',
    currency: 'EUR',
    subtotalMinor: total,
    taxMinor: 0,
    totalMinor: total,
    amountDueMinor: total,
    amountPaidMinor: 0,
    issuedAt: BASE_TIME,
    dueAt: BASE_TIME + 30 * 86_400_000,
    paidAt: null,
    paymentAttempts: 0,
    lines: lineItems(version),
    sources: [{ system: 'stripe', instance: null, entity: 'invoice', id: invoiceId }],
  };
}

/** Checks `value` against the topic's schema (so it can also be published) and wraps it as a SinkRecord. */
export function sinkRecordOf(topic: string, value: Json): SinkRecord {
  catalog ??= loadCatalog();
  const type = catalog.topic(topic).type;
  const problems: string[] = [];
  if (!type.isValid(value, { errorHook: (path) => problems.push(path.join('.')) })) {
    throw new Error(`not a valid ${topic} value: ${problems.join(', ')}`);
  }
  const env = value.envelope as Json;
  offset += 1;
  return {
    topic,
    key: value.goldenId as string,
    eventId: env.eventId as string,
    eventType: env.eventType as string,
    idempotencyKey: env.idempotencyKey as string,
    correlationId: env.correlationId as string,
    sourceEntityId: env.sourceEntityId as string,
    sourceVersion: env.sourceVersion as number,
    occurredAt: env.occurredAt as number,
    value,
    position: { topic, partition: 0, offset: String(offset) },
  };
}

export const customerRecord = (goldenId: string, version: number, fields: Json = {}): SinkRecord =>
  sinkRecordOf('canonical.customer', customerValue(goldenId, version, fields));
export const orderRecord = (goldenId: string, orderId: string, version: number): SinkRecord =>
  sinkRecordOf('canonical.order', orderValue(goldenId, orderId, version));
export const invoiceRecord = (goldenId: string, invoiceId: string, version: number): SinkRecord =>
  sinkRecordOf('canonical.invoice', invoiceValue(goldenId, invoiceId, version));

/**
 * The ERP sinks' `record(key, entity, version)` of the conformance suite: entity 0 the customer,
 * odd entities its orders, even ones its invoices.
 */
export function erpConformanceRecord(key: string, entity: number, version: number): SinkRecord {
  if (entity === 0) return customerRecord(key, version);
  return entity % 2 === 1
    ? orderRecord(key, `ord-${key}-${entity}`, version)
    : invoiceRecord(key, `inv-${key}-${entity}`, version);
}
