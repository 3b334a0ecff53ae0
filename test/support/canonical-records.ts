/**
 * Canonical records as a sink receives them, for sink tests: each value is checked against its Avro
 * schema and round-tripped through it, so it is exactly what the runner's decoder would hand over.
 */
import { randomUUID } from 'node:crypto';
import type * as canonical from '../../src/schemas/generated/canonical.ts';
import type * as common from '../../src/schemas/generated/common.ts';
import { loadCatalog, type Catalog } from '../../src/schemas/catalog.ts';
import type { SinkRecord } from '../../src/consumers/sink.ts';

let catalog: Catalog | undefined;
let offset = 0;

export interface RecordMeta {
  version: number;
  occurredAt?: number;
  /** Defaults to a fresh UUID; pass the same one to model a redelivery. */
  eventId?: string;
  partition?: number;
}

function envelope(topic: string, sourceEntityId: string, meta: RecordMeta): common.Envelope {
  const eventId = meta.eventId ?? randomUUID();
  const at = meta.occurredAt ?? Date.UTC(2026, 10, 1) + meta.version;
  return {
    eventId,
    eventType: `${topic}.updated`,
    source: { system: 'syncline', instance: 'test' },
    sourceEntityId,
    sourceVersion: meta.version,
    occurredAt: at,
    ingestedAt: at + 5,
    idempotencyKey: `test:${eventId}`,
    correlationId: randomUUID(),
    causationId: null,
  };
}

function sinkRecord(
  topic: string,
  key: string,
  value: { envelope: common.Envelope },
  meta: RecordMeta,
): SinkRecord {
  catalog ??= loadCatalog();
  const type = catalog.topic(topic).type;
  const problems: string[] = [];
  if (!type.isValid(value, { errorHook: (path) => problems.push(path.join('.')) })) {
    throw new Error(`not a valid ${topic} value: ${problems.join(', ')}`);
  }
  const decoded = type.fromBuffer(type.toBuffer(value)) as Record<string, unknown>;
  const e = value.envelope;
  offset += 1;
  return {
    topic,
    key,
    eventId: e.eventId,
    eventType: e.eventType,
    idempotencyKey: e.idempotencyKey,
    correlationId: e.correlationId,
    sourceEntityId: e.sourceEntityId,
    sourceVersion: e.sourceVersion,
    occurredAt: e.occurredAt,
    value: decoded,
    position: { topic, partition: meta.partition ?? 0, offset: String(offset) },
  };
}

export function customerRecord(
  fields: Partial<canonical.Customer> & Pick<canonical.Customer, 'goldenId'>,
  meta: RecordMeta,
): SinkRecord {
  const value: canonical.Customer = {
    envelope: envelope('canonical.customer', fields.goldenId, meta),
    goldenVersion: meta.version,
    status: 'ACTIVE',
    mergedInto: null,
    legalName: 'Acme Corporation',
    displayName: null,
    domain: null,
    taxId: null,
    taxCountry: null,
    countryCode: null,
    address: null,
    email: null,
    phone: null,
    industry: null,
    currency: null,
    creditStatus: 'UNKNOWN',
    creditLimit: null,
    sources: [],
    ...fields,
  };
  return sinkRecord('canonical.customer', fields.goldenId, value, meta);
}

export function contractRecord(
  fields: Partial<canonical.Contract> & Pick<canonical.Contract, 'goldenId' | 'contractId'>,
  meta: RecordMeta,
): SinkRecord {
  const value: canonical.Contract = {
    envelope: envelope('canonical.contract', fields.contractId, meta),
    status: 'ACTIVE',
    startDate: 20_454,
    endDate: 20_818,
    termMonths: 12,
    autoRenew: false,
    billingInterval: 'UNKNOWN',
    currency: 'EUR',
    totalValueMinor: 1_200_000,
    recurringValueMinor: null,
    lines: [],
    sources: [],
    ...fields,
  };
  return sinkRecord('canonical.contract', fields.goldenId, value, meta);
}

export function invoiceRecord(
  fields: Partial<canonical.Invoice> & Pick<canonical.Invoice, 'goldenId' | 'invoiceId'>,
  meta: RecordMeta,
): SinkRecord {
  const value: canonical.Invoice = {
    envelope: envelope('canonical.invoice', fields.invoiceId, meta),
    contractId: null,
    number: null,
    status: 'ISSUED',
    currency: 'EUR',
    subtotalMinor: 100_000,
    taxMinor: 0,
    totalMinor: 100_000,
    amountDueMinor: 100_000,
    amountPaidMinor: 0,
    issuedAt: null,
    dueAt: null,
    paidAt: null,
    paymentAttempts: 0,
    lines: [],
    sources: [],
    ...fields,
  };
  return sinkRecord('canonical.invoice', fields.goldenId, value, meta);
}

export function renewalRecord(
  fields: Partial<canonical.Renewal> & Pick<canonical.Renewal, 'goldenId' | 'renewalId' | 'contractId'>,
  meta: RecordMeta,
): SinkRecord {
  const value: canonical.Renewal = {
    envelope: envelope('canonical.renewal', fields.renewalId, meta),
    status: 'UPCOMING',
    renewalDate: 20_819,
    noticeDate: 20_818,
    termMonths: 12,
    autoRenew: true,
    currency: 'EUR',
    expectedValueMinor: 1_200_000,
    renewedValueMinor: null,
    sources: [],
    ...fields,
  };
  return sinkRecord('canonical.renewal', fields.goldenId, value, meta);
}

export function entitlementRecord(
  fields: Partial<canonical.Entitlement> & Pick<canonical.Entitlement, 'goldenId' | 'entitlementId'>,
  meta: RecordMeta,
): SinkRecord {
  const value: canonical.Entitlement = {
    envelope: envelope('canonical.entitlement', fields.entitlementId, meta),
    contractId: null,
    productCode: 'SUPPORT-PREMIUM',
    productName: 'Premium Support',
    supportLevel: 'PREMIUM',
    seats: 25,
    status: 'ACTIVE',
    startsAt: Date.UTC(2026, 0, 1),
    endsAt: Date.UTC(2027, 0, 1),
    sources: [],
    ...fields,
  };
  return sinkRecord('canonical.entitlement', fields.goldenId, value, meta);
}
