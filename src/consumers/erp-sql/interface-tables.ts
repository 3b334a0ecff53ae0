/**
 * The ERP's interface (staging) tables, in the manner of Oracle's open interface tables or SAP's
 * staging tables: the integration appends one row per change, and the ERP's import job books the
 * `PENDING` rows in order. A row is never updated by the integration, so the table is also the
 * audit of what was handed over.
 *
 * Each table has the record's idempotency key as primary key (one change is staged at most once,
 * whatever Redis says) and an index on (record id, record version) for the stale-version guard.
 * One definition per entity drives the DDL, the row values and the batched INSERT, so the sink and
 * the benchmark's plain INSERT write exactly the same rows.
 */
import type { Customer, Invoice, Order } from '../../schemas/generated/canonical.ts';
import type { SinkRecord } from '../sink.ts';

export type SqlType = 'text' | 'uuid' | 'bigint' | 'timestamptz' | 'jsonb';

interface Column {
  name: string;
  type: SqlType;
  nullable?: boolean;
  of: (record: SinkRecord) => unknown;
}

export interface InterfaceTable {
  /** The canonical topic it stages. */
  topic: string;
  table: string;
  /** The column naming the staged record (customer: golden id; documents: their canonical id). */
  recordIdOf: (record: SinkRecord) => string;
  /**
   * The version the stale guard compares: the golden version for customers (a customer event's
   * envelope carries the version of whichever source record changed, on that source's scale), the
   * source version for documents (each has one source).
   */
  versionOf: (record: SinkRecord) => number;
  columns: Column[];
}

const envelopeColumns: Column[] = [
  { name: 'idempotency_key', type: 'text', of: (r) => r.idempotencyKey },
  { name: 'record_id', type: 'text', of: () => undefined }, // filled from recordIdOf
  { name: 'golden_id', type: 'uuid', of: (r) => r.key },
  { name: 'source_version', type: 'bigint', of: (r) => r.sourceVersion },
  { name: 'record_version', type: 'bigint', of: () => undefined }, // filled from versionOf
  { name: 'event_id', type: 'uuid', of: (r) => r.eventId },
  { name: 'event_type', type: 'text', of: (r) => r.eventType },
  { name: 'correlation_id', type: 'uuid', of: (r) => r.correlationId },
  { name: 'occurred_at', type: 'timestamptz', of: (r) => new Date(r.occurredAt) },
];

const time = (value: number | null): Date | null => (value === null ? null : new Date(value));
const customer = (r: SinkRecord) => r.value as unknown as Customer;
const order = (r: SinkRecord) => r.value as unknown as Order;
const invoice = (r: SinkRecord) => r.value as unknown as Invoice;

export const INTERFACE_TABLES: readonly InterfaceTable[] = [
  {
    topic: 'canonical.customer',
    table: 'customer_interface',
    recordIdOf: (r) => customer(r).goldenId,
    versionOf: (r) => customer(r).goldenVersion,
    columns: [
      ...envelopeColumns,
      { name: 'golden_version', type: 'bigint', of: (r) => customer(r).goldenVersion },
      { name: 'status', type: 'text', of: (r) => customer(r).status },
      { name: 'legal_name', type: 'text', of: (r) => customer(r).legalName },
      { name: 'tax_id', type: 'text', nullable: true, of: (r) => customer(r).taxId },
      { name: 'tax_country', type: 'text', nullable: true, of: (r) => customer(r).taxCountry },
      { name: 'country_code', type: 'text', nullable: true, of: (r) => customer(r).countryCode },
      { name: 'email', type: 'text', nullable: true, of: (r) => customer(r).email },
      { name: 'currency', type: 'text', nullable: true, of: (r) => customer(r).currency },
      { name: 'address', type: 'jsonb', nullable: true, of: (r) => json(customer(r).address) },
    ],
  },
  {
    topic: 'canonical.order',
    table: 'order_interface',
    recordIdOf: (r) => order(r).orderId,
    versionOf: (r) => r.sourceVersion,
    columns: [
      ...envelopeColumns,
      { name: 'contract_id', type: 'text', nullable: true, of: (r) => order(r).contractId },
      { name: 'status', type: 'text', of: (r) => order(r).status },
      { name: 'ordered_at', type: 'timestamptz', of: (r) => new Date(order(r).orderedAt) },
      {
        name: 'purchase_order_number',
        type: 'text',
        nullable: true,
        of: (r) => order(r).purchaseOrderNumber,
      },
      { name: 'currency', type: 'text', of: (r) => order(r).currency },
      { name: 'total_minor', type: 'bigint', of: (r) => order(r).totalMinor },
      { name: 'lines', type: 'jsonb', of: (r) => json(order(r).lines) },
    ],
  },
  {
    topic: 'canonical.invoice',
    table: 'invoice_interface',
    recordIdOf: (r) => invoice(r).invoiceId,
    versionOf: (r) => r.sourceVersion,
    columns: [
      ...envelopeColumns,
      { name: 'contract_id', type: 'text', nullable: true, of: (r) => invoice(r).contractId },
      { name: 'number', type: 'text', nullable: true, of: (r) => invoice(r).number },
      { name: 'status', type: 'text', of: (r) => invoice(r).status },
      { name: 'currency', type: 'text', of: (r) => invoice(r).currency },
      { name: 'subtotal_minor', type: 'bigint', of: (r) => invoice(r).subtotalMinor },
      { name: 'tax_minor', type: 'bigint', of: (r) => invoice(r).taxMinor },
      { name: 'total_minor', type: 'bigint', of: (r) => invoice(r).totalMinor },
      { name: 'amount_due_minor', type: 'bigint', of: (r) => invoice(r).amountDueMinor },
      { name: 'amount_paid_minor', type: 'bigint', of: (r) => invoice(r).amountPaidMinor },
      { name: 'issued_at', type: 'timestamptz', nullable: true, of: (r) => time(invoice(r).issuedAt) },
      { name: 'due_at', type: 'timestamptz', nullable: true, of: (r) => time(invoice(r).dueAt) },
      { name: 'paid_at', type: 'timestamptz', nullable: true, of: (r) => time(invoice(r).paidAt) },
      { name: 'lines', type: 'jsonb', of: (r) => json(invoice(r).lines) },
    ],
  },
];

export function tableOf(topic: string): InterfaceTable | undefined {
  return INTERFACE_TABLES.find((table) => table.topic === topic);
}

/** The DDL of one table under `schema` (idempotent). `table` may be renamed (the benchmark's copy). */
export function ddlOf(schema: string, definition: InterfaceTable, table = definition.table): string {
  const columns = definition.columns.map(
    (column) => `${column.name} ${column.type}${column.nullable ? '' : ' NOT NULL'}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${schema}.${table} (
  ${columns.join(',\n  ')},
  staged_at timestamptz NOT NULL DEFAULT now(),
  import_status text NOT NULL DEFAULT 'PENDING',
  PRIMARY KEY (idempotency_key)
);
CREATE INDEX IF NOT EXISTS ${table}_record ON ${schema}.${table} (record_id, record_version);`;
}

/** Column arrays for `unnest`: one array per column, values in record order. */
export function columnArrays(definition: InterfaceTable, records: readonly SinkRecord[]): unknown[][] {
  return definition.columns.map((column) =>
    records.map((record) =>
      column.name === 'record_id'
        ? definition.recordIdOf(record)
        : column.name === 'record_version'
          ? definition.versionOf(record)
          : column.of(record),
    ),
  );
}

/** `INSERT … SELECT * FROM unnest(...)`: one statement for a whole batch, the same text every time. */
export function insertSql(
  schema: string,
  definition: InterfaceTable,
  table = definition.table,
  onConflict = '',
): string {
  const names = definition.columns.map((column) => column.name);
  const arrays = definition.columns.map((column, index) => `$${index + 1}::${column.type}[]`);
  return `INSERT INTO ${schema}.${table} (${names.join(', ')}) SELECT * FROM unnest(${arrays.join(', ')})${onConflict}`;
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
