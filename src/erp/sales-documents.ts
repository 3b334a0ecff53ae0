/**
 * Sales documents: sales orders (what the integration books for a contract or an order) and sales
 * invoices, each with its lines. Amounts are integers in minor units of the document's currency; a
 * line's amount is quantity × unit price rounded half away from zero unless the source gave its own.
 * The document number comes from the ERP's gapless series; `externalDocumentNumber` carries the
 * integration's id and is unique per company, so a replayed create can never book a document twice.
 *
 * Business rules kept from Business Central: no order for a customer blocked for shipping, no invoice
 * for one blocked for invoicing; a paid or cancelled invoice is closed to changes; an invoice made
 * from an order without lines of its own takes the order's lines.
 */
import type pg from 'pg';
import type { Reply } from '../targets-sim/common/http.ts';
import { findCustomer, type CustomerRow } from './customers.ts';
import {
  nextChangeStamp,
  nextNumber,
  type ChangeClockEntity,
  type NumberSeries,
  type Queryable,
} from './database.ts';
import type { ListDefinition } from './lists.ts';
import {
  etagOf,
  ifMatchAdmits,
  odataError,
  ErpErrorCodes,
  type EntityKey,
  type ErrorDetail,
} from './odata.ts';
import {
  addDays,
  duplicateReply,
  entityReply,
  lineAmount,
  notFoundReply,
  preconditionReply,
  today,
  validationReply,
  type RequestScope,
  type Shown,
} from './resources.ts';
import {
  SALES_INVOICE_FIXED_AFTER_CREATE,
  SALES_INVOICE_READ_ONLY,
  SALES_ORDER_FIXED_AFTER_CREATE,
  SALES_ORDER_READ_ONLY,
  SalesInvoiceCreate,
  SalesInvoicePatch,
  SalesOrderCreate,
  SalesOrderPatch,
  validateBody,
  type LineInput,
} from './validation.ts';

export interface DocumentKind {
  set: 'salesOrders' | 'salesInvoices';
  entity: string;
  table: 'sales_orders' | 'sales_invoices';
  linesTable: 'sales_order_lines' | 'sales_invoice_lines';
  linesProperty: 'salesOrderLines' | 'salesInvoiceLines';
  clock: ChangeClockEntity;
  series: NumberSeries;
  /** `blocked` values of the customer that forbid this document. */
  blockedBy: readonly string[];
}

export const ORDERS: DocumentKind = {
  set: 'salesOrders',
  entity: 'sales order',
  table: 'sales_orders',
  linesTable: 'sales_order_lines',
  linesProperty: 'salesOrderLines',
  clock: 'salesOrders',
  series: 'S-ORD',
  blockedBy: ['Ship', 'All'],
};

export const INVOICES: DocumentKind = {
  set: 'salesInvoices',
  entity: 'sales invoice',
  table: 'sales_invoices',
  linesTable: 'sales_invoice_lines',
  linesProperty: 'salesInvoiceLines',
  clock: 'salesInvoices',
  series: 'S-INV',
  blockedBy: ['Invoice', 'All'],
};

export const DOCUMENT_ALTERNATE_KEYS = {
  externalDocumentNumber: 'external_document_number',
  number: 'number',
} as const;

export interface DocumentRow {
  id: string;
  number: string;
  external_document_number: string | null;
  customer_id: string;
  customer_number: string;
  customer_name: string;
  currency_code: string;
  status: string;
  total_amount_minor: string;
  external_version: string | null;
  row_version: string;
  last_modified: Date;
  // Orders
  order_date?: string;
  // Invoices
  invoice_date?: string;
  due_date?: string;
  order_id?: string | null;
  order_number?: string | null;
  remaining_amount_minor?: string;
}

export interface LineRow {
  id: string;
  document_id: string;
  sequence: number;
  line_type: string;
  line_object_number: string;
  description: string;
  quantity: string;
  unit_price_minor: string;
  amount_minor: string;
}

/** A line as stored, computed from its input. */
interface Line {
  sequence: number;
  lineType: string;
  lineObjectNumber: string;
  description: string;
  quantity: number;
  unitPriceMinor: number;
  amountMinor: number;
}

function selectOf(kind: DocumentKind): string {
  const common = `d.id, d.number, d.external_document_number, d.customer_id, c.number AS customer_number,
    c.display_name AS customer_name, d.currency_code, d.status, d.total_amount_minor, d.external_version,
    d.row_version, d.last_modified`;
  return kind === ORDERS
    ? `SELECT ${common}, to_char(d.order_date, 'YYYY-MM-DD') AS order_date
         FROM sales_orders d JOIN customers c ON c.id = d.customer_id`
    : `SELECT ${common}, to_char(d.invoice_date, 'YYYY-MM-DD') AS invoice_date, to_char(d.due_date, 'YYYY-MM-DD') AS due_date,
         d.order_id, o.number AS order_number, d.remaining_amount_minor
         FROM sales_invoices d JOIN customers c ON c.id = d.customer_id LEFT JOIN sales_orders o ON o.id = d.order_id`;
}

export function documentList(kind: DocumentKind): ListDefinition<DocumentRow> {
  const columns: ListDefinition<DocumentRow>['columns'] = {
    number: { sql: 'd.number', type: 'string' },
    externalDocumentNumber: { sql: 'd.external_document_number', type: 'string' },
    customerId: { sql: 'd.customer_id', type: 'guid' },
    customerNumber: { sql: 'c.number', type: 'string' },
    status: { sql: 'd.status', type: 'string' },
    lastModifiedDateTime: { sql: 'd.last_modified', type: 'datetime' },
    ...(kind === ORDERS
      ? { orderDate: { sql: 'd.order_date', type: 'date' } }
      : {
          invoiceDate: { sql: 'd.invoice_date', type: 'date' },
          dueDate: { sql: 'd.due_date', type: 'date' },
          orderId: { sql: 'd.order_id', type: 'guid' },
        }),
  };
  return {
    select: selectOf(kind),
    columns,
    cursorOf: (row) => ({ stamp: row.last_modified, number: row.number }),
  };
}

export function showDocument(kind: DocumentKind, row: DocumentRow, lines?: readonly LineRow[]): Shown {
  const etag = etagOf(row.id, Number(row.row_version));
  const json: Record<string, unknown> = {
    '@odata.etag': etag,
    id: row.id,
    number: row.number,
    externalDocumentNumber: row.external_document_number ?? '',
  };
  if (kind === ORDERS) {
    json.orderDate = row.order_date;
  } else {
    json.invoiceDate = row.invoice_date;
    json.dueDate = row.due_date;
  }
  Object.assign(json, {
    customerId: row.customer_id,
    customerNumber: row.customer_number,
    customerName: row.customer_name,
  });
  if (kind === INVOICES) {
    json.orderId = row.order_id ?? null;
    json.orderNumber = row.order_number ?? '';
  }
  Object.assign(json, {
    currencyCode: row.currency_code,
    status: row.status,
    totalAmountMinor: Number(row.total_amount_minor),
  });
  if (kind === INVOICES) json.remainingAmountMinor = Number(row.remaining_amount_minor ?? 0);
  Object.assign(json, {
    externalVersion: row.external_version === null ? null : Number(row.external_version),
    rowVersion: Number(row.row_version),
    lastModifiedDateTime: row.last_modified.toISOString(),
  });
  if (lines) json[kind.linesProperty] = lines.map(showLine);
  return { id: row.id, etag, json };
}

export function showLine(line: LineRow): Record<string, unknown> {
  return {
    id: line.id,
    documentId: line.document_id,
    sequence: line.sequence,
    lineType: line.line_type,
    lineObjectNumber: line.line_object_number,
    description: line.description,
    quantity: Number(line.quantity),
    unitPriceMinor: Number(line.unit_price_minor),
    amountMinor: Number(line.amount_minor),
  };
}

export async function findDocument(
  db: Queryable,
  kind: DocumentKind,
  companyId: string,
  key: EntityKey,
  lock = false,
): Promise<DocumentRow | undefined> {
  const column =
    key.kind === 'id' ? 'id' : DOCUMENT_ALTERNATE_KEYS[key.name as keyof typeof DOCUMENT_ALTERNATE_KEYS];
  const value = key.kind === 'id' ? key.id : key.value;
  const result = await db.query<DocumentRow>(
    `${selectOf(kind)} WHERE d.company_id = $1 AND d.${column} = $2${lock ? ' FOR NO KEY UPDATE OF d' : ''}`,
    [companyId, value],
  );
  return result.rows[0];
}

/** The lines of the given documents, by document id, in sequence order. */
export async function linesOf(
  db: Queryable,
  kind: DocumentKind,
  documentIds: readonly string[],
): Promise<Map<string, LineRow[]>> {
  const byDocument = new Map<string, LineRow[]>(documentIds.map((id) => [id, []]));
  if (documentIds.length === 0) return byDocument;
  const result = await db.query<LineRow>(
    `SELECT id, document_id, sequence, line_type, line_object_number, description, quantity::text AS quantity,
            unit_price_minor, amount_minor
       FROM ${kind.linesTable} WHERE document_id = ANY($1::uuid[]) ORDER BY document_id, sequence`,
    [documentIds],
  );
  for (const line of result.rows) byDocument.get(line.document_id)?.push(line);
  return byDocument;
}

export async function createDocument(
  client: pg.PoolClient,
  kind: DocumentKind,
  scope: RequestScope,
  body: Record<string, unknown>,
): Promise<Reply> {
  const checked =
    kind === ORDERS
      ? validateBody(SalesOrderCreate, body, kind.entity, SALES_ORDER_READ_ONLY)
      : validateBody(SalesInvoiceCreate, body, kind.entity, SALES_INVOICE_READ_ONLY);
  if (!checked.ok) return validationReply(scope, kind.entity, checked.details);
  const input = checked.value as Partial<SalesOrderCreate & SalesInvoiceCreate>;

  const resolved = await resolveCustomer(client, scope, input.customerId, input.customerNumber);
  if ('reply' in resolved) return resolved.reply;
  const customer = resolved.row;
  if (kind.blockedBy.includes(customer.blocked)) {
    return odataError(
      422,
      ErpErrorCodes.CUSTOMER_BLOCKED,
      `You cannot create this type of document when Customer ${customer.number} is blocked with type ${customer.blocked}.`,
      scope.requestId,
      { target: 'customerId' },
    );
  }

  let orderId: string | null = null;
  let orderLines: LineRow[] | undefined;
  if (kind === INVOICES && (input.orderId !== undefined || input.orderNumber !== undefined)) {
    const resolvedOrder = await resolveOrder(client, scope, input.orderId, input.orderNumber);
    if ('reply' in resolvedOrder) return resolvedOrder.reply;
    const order = resolvedOrder.row;
    if (order.customer_id !== customer.id) {
      return validationReply(scope, kind.entity, [
        {
          code: 'InvalidValue',
          target: 'orderId',
          message: `order ${order.number} belongs to customer ${order.customer_number}, not ${customer.number}`,
        },
      ]);
    }
    orderId = order.id;
    if (input.salesInvoiceLines === undefined)
      orderLines = (await linesOf(client, ORDERS, [order.id])).get(order.id);
  }

  const lineInput = (kind === ORDERS ? input.salesOrderLines : input.salesInvoiceLines) ?? [];
  const computed = orderLines ? orderLines.map(lineFromRow) : computeLines(lineInput, kind.linesProperty);
  if (!Array.isArray(computed)) return validationReply(scope, kind.entity, computed.details);
  const total = computed.reduce((sum, line) => sum + line.amountMinor, 0);
  if (!Number.isSafeInteger(total)) {
    return validationReply(scope, kind.entity, [
      { code: 'InvalidValue', target: kind.linesProperty, message: 'the document total is too large' },
    ]);
  }

  const documentDate = (kind === ORDERS ? input.orderDate : input.invoiceDate) ?? today();
  const dueDate = input.dueDate ?? addDays(documentDate, 30);
  if (kind === INVOICES && dueDate < documentDate) {
    return validationReply(scope, kind.entity, [
      { code: 'InvalidValue', target: 'dueDate', message: 'dueDate must not be before invoiceDate' },
    ]);
  }
  const status = input.status ?? 'Draft';

  const stamp = await nextChangeStamp(client, kind.clock);
  const externalDocumentNumber = input.externalDocumentNumber ? input.externalDocumentNumber : null;
  if (externalDocumentNumber !== null) {
    const existing = await findDocument(client, kind, scope.companyId, {
      kind: 'alternate',
      name: 'externalDocumentNumber',
      value: externalDocumentNumber,
    });
    if (existing)
      return duplicateReply(scope, kind.entity, 'externalDocumentNumber', externalDocumentNumber, existing);
  }
  const number = await nextNumber(client, scope.companyId, kind.series);
  const currency = input.currencyCode ?? customer.currency_code;
  const externalVersion = input.externalVersion ?? null;
  const inserted =
    kind === ORDERS
      ? await client.query<{ id: string }>(
          `INSERT INTO sales_orders (id, company_id, number, external_document_number, customer_id, order_date, currency_code,
             status, total_amount_minor, external_version, created_at, last_modified)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
          [
            scope.companyId,
            number,
            externalDocumentNumber,
            customer.id,
            documentDate,
            currency,
            status,
            total,
            externalVersion,
            stamp,
          ],
        )
      : await client.query<{ id: string }>(
          `INSERT INTO sales_invoices (id, company_id, number, external_document_number, customer_id, order_id, invoice_date,
             due_date, currency_code, status, total_amount_minor, remaining_amount_minor, external_version, created_at, last_modified)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id`,
          [
            scope.companyId,
            number,
            externalDocumentNumber,
            customer.id,
            orderId,
            documentDate,
            dueDate,
            currency,
            status,
            total,
            remainingFor(status, total),
            externalVersion,
            stamp,
          ],
        );
  const id = inserted.rows[0]?.id;
  if (!id) throw new Error('INSERT returned no row');
  await insertLines(client, kind, id, computed);
  return documentReply(client, kind, scope, 201, id);
}

export async function patchDocument(
  client: pg.PoolClient,
  kind: DocumentKind,
  scope: RequestScope,
  key: EntityKey,
  keyText: string,
  ifMatch: string | undefined,
  body: Record<string, unknown>,
): Promise<Reply> {
  const row = await findDocument(client, kind, scope.companyId, key, true);
  if (!row) return notFoundReply(scope, kind.entity, keyText);
  const current = showDocument(kind, row);
  const precondition = preconditionReply(
    scope,
    kind.entity,
    ifMatch,
    ifMatch !== undefined && ifMatchAdmits(ifMatch, current.etag),
    current.etag,
  );
  if (precondition) return precondition;
  const checked =
    kind === ORDERS
      ? validateBody(
          SalesOrderPatch,
          body,
          kind.entity,
          SALES_ORDER_READ_ONLY,
          SALES_ORDER_FIXED_AFTER_CREATE,
        )
      : validateBody(
          SalesInvoicePatch,
          body,
          kind.entity,
          SALES_INVOICE_READ_ONLY,
          SALES_INVOICE_FIXED_AFTER_CREATE,
        );
  if (!checked.ok) return validationReply(scope, kind.entity, checked.details);
  const input = checked.value as Partial<SalesOrderPatch & SalesInvoicePatch>;

  const changes: [string, unknown][] = [];
  const header: [keyof typeof input, string][] = [
    ['externalDocumentNumber', 'external_document_number'],
    ['orderDate', 'order_date'],
    ['invoiceDate', 'invoice_date'],
    ['dueDate', 'due_date'],
    ['currencyCode', 'currency_code'],
    ['status', 'status'],
    ['externalVersion', 'external_version'],
  ];
  for (const [property, column] of header) {
    const value = input[property];
    if (value === undefined || current.json[property] === value) continue;
    changes.push([column, property === 'externalDocumentNumber' && value === '' ? null : value]);
  }
  const lineInput = kind === ORDERS ? input.salesOrderLines : input.salesInvoiceLines;
  let newLines: Line[] | undefined;
  if (lineInput !== undefined) {
    const computed = computeLines(lineInput, kind.linesProperty);
    if (!Array.isArray(computed)) return validationReply(scope, kind.entity, computed.details);
    const existing = ((await linesOf(client, kind, [row.id])).get(row.id) ?? []).map(lineFromRow);
    if (JSON.stringify(existing) !== JSON.stringify(computed)) newLines = computed;
  }
  // A PATCH that changes nothing writes nothing: no new version, no new change time for pollers.
  if (changes.length === 0 && !newLines) return documentReply(client, kind, scope, 200, row.id);

  if (kind === INVOICES && (row.status === 'Paid' || row.status === 'Canceled')) {
    return validationReply(scope, kind.entity, [
      {
        code: 'InvalidValue',
        target: 'status',
        message: `sales invoice ${row.number} is ${row.status} and cannot be changed`,
      },
    ]);
  }
  const invoiceDate = input.invoiceDate ?? row.invoice_date;
  const dueDate = input.dueDate ?? row.due_date;
  if (kind === INVOICES && invoiceDate && dueDate && dueDate < invoiceDate) {
    return validationReply(scope, kind.entity, [
      { code: 'InvalidValue', target: 'dueDate', message: 'dueDate must not be before invoiceDate' },
    ]);
  }
  const total = newLines
    ? newLines.reduce((sum, line) => sum + line.amountMinor, 0)
    : Number(row.total_amount_minor);
  if (!Number.isSafeInteger(total)) {
    return validationReply(scope, kind.entity, [
      { code: 'InvalidValue', target: kind.linesProperty, message: 'the document total is too large' },
    ]);
  }
  const stamp = await nextChangeStamp(client, kind.clock);
  const newExternal = input.externalDocumentNumber;
  if (newExternal) {
    const existing = await findDocument(client, kind, scope.companyId, {
      kind: 'alternate',
      name: 'externalDocumentNumber',
      value: newExternal,
    });
    if (existing && existing.id !== row.id)
      return duplicateReply(scope, kind.entity, 'externalDocumentNumber', newExternal, existing);
  }
  if (newLines) {
    await client.query(`DELETE FROM ${kind.linesTable} WHERE document_id = $1`, [row.id]);
    await insertLines(client, kind, row.id, newLines);
    changes.push(['total_amount_minor', total]);
  }
  if (kind === INVOICES)
    changes.push(['remaining_amount_minor', remainingFor(input.status ?? row.status, total)]);
  const assignments = changes.map(([column], index) => `${column} = $${index + 2}`);
  await client.query(
    `UPDATE ${kind.table} SET ${assignments.join(', ')}, row_version = row_version + 1, last_modified = $${changes.length + 2}
      WHERE id = $1`,
    [row.id, ...changes.map(([, value]) => value), stamp],
  );
  return documentReply(client, kind, scope, 200, row.id);
}

/** The document as an answer, with its lines when the request asked for them. */
export async function documentReply(
  db: Queryable,
  kind: DocumentKind,
  scope: RequestScope,
  status: 200 | 201,
  id: string,
): Promise<Reply> {
  const row = await findDocument(db, kind, scope.companyId, { kind: 'id', id });
  if (!row) throw new Error(`${kind.entity} ${id} vanished`);
  const lines = scope.expand.includes(kind.linesProperty)
    ? (await linesOf(db, kind, [id])).get(id)
    : undefined;
  return entityReply(status, scope, kind.set, showDocument(kind, row, lines));
}

function remainingFor(status: string, total: number): number {
  return status === 'Paid' || status === 'Canceled' ? 0 : total;
}

function computeLines(input: readonly LineInput[], property: string): Line[] | { details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const seen = new Set<number>();
  const lines = input.map((line, index): Line => {
    const sequence = line.sequence ?? (index + 1) * 10_000;
    if (seen.has(sequence)) {
      details.push({
        code: 'InvalidValue',
        target: `${property}[${index}].sequence`,
        message: `sequence ${sequence} is used by two lines`,
      });
    }
    seen.add(sequence);
    if (
      line.lineType === 'Comment' &&
      (line.quantity !== 0 || line.unitPriceMinor !== 0 || (line.amountMinor ?? 0) !== 0)
    ) {
      details.push({
        code: 'InvalidValue',
        target: `${property}[${index}]`,
        message: 'a Comment line carries no quantity or amount',
      });
    }
    const amountMinor = line.amountMinor ?? lineAmount(line.quantity, line.unitPriceMinor);
    if (!Number.isSafeInteger(amountMinor)) {
      details.push({
        code: 'InvalidValue',
        target: `${property}[${index}].amountMinor`,
        message: 'the line amount is too large',
      });
    }
    return {
      sequence,
      lineType: line.lineType,
      lineObjectNumber: line.lineObjectNumber ?? '',
      description: line.description ?? '',
      quantity: line.quantity,
      unitPriceMinor: line.unitPriceMinor,
      amountMinor,
    };
  });
  return details.length > 0 ? { details } : lines.sort((a, b) => a.sequence - b.sequence);
}

function lineFromRow(row: LineRow): Line {
  return {
    sequence: row.sequence,
    lineType: row.line_type,
    lineObjectNumber: row.line_object_number,
    description: row.description,
    quantity: Number(row.quantity),
    unitPriceMinor: Number(row.unit_price_minor),
    amountMinor: Number(row.amount_minor),
  };
}

async function insertLines(
  client: pg.PoolClient,
  kind: DocumentKind,
  documentId: string,
  lines: readonly Line[],
): Promise<void> {
  if (lines.length === 0) return;
  await client.query(
    `INSERT INTO ${kind.linesTable} (id, document_id, sequence, line_type, line_object_number, description, quantity, unit_price_minor, amount_minor)
     SELECT gen_random_uuid(), $1, s, t, o, d, q, p, a
       FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::bigint[], $8::bigint[]) AS l(s, t, o, d, q, p, a)`,
    [
      documentId,
      lines.map((line) => line.sequence),
      lines.map((line) => line.lineType),
      lines.map((line) => line.lineObjectNumber),
      lines.map((line) => line.description),
      lines.map((line) => String(line.quantity)),
      lines.map((line) => String(line.unitPriceMinor)),
      lines.map((line) => String(line.amountMinor)),
    ],
  );
}

async function resolveCustomer(
  db: Queryable,
  scope: RequestScope,
  customerId: string | undefined,
  customerNumber: string | undefined,
): Promise<{ row: CustomerRow } | { reply: Reply }> {
  const byId =
    customerId === undefined
      ? undefined
      : await findCustomer(db, scope.companyId, { kind: 'id', id: customerId.toLowerCase() });
  const byNumber =
    customerNumber === undefined
      ? undefined
      : await findCustomer(db, scope.companyId, { kind: 'alternate', name: 'number', value: customerNumber });
  if (customerId !== undefined && !byId) {
    return {
      reply: validationReply(scope, 'document', [
        { code: 'InvalidValue', target: 'customerId', message: `no customer has id ${customerId}` },
      ]),
    };
  }
  if (customerNumber !== undefined && !byNumber) {
    return {
      reply: validationReply(scope, 'document', [
        {
          code: 'InvalidValue',
          target: 'customerNumber',
          message: `no customer has number ${customerNumber}`,
        },
      ]),
    };
  }
  if (byId && byNumber && byId.id !== byNumber.id) {
    return {
      reply: validationReply(scope, 'document', [
        {
          code: 'InvalidValue',
          target: 'customerNumber',
          message: `customerNumber ${customerNumber} is not the customer with id ${customerId}`,
        },
      ]),
    };
  }
  const customer = byId ?? byNumber;
  if (!customer) throw new Error('customer resolution without a key');
  return { row: customer };
}

async function resolveOrder(
  db: Queryable,
  scope: RequestScope,
  orderId: string | undefined,
  orderNumber: string | undefined,
): Promise<{ row: DocumentRow } | { reply: Reply }> {
  const key: EntityKey =
    orderId !== undefined
      ? { kind: 'id', id: orderId.toLowerCase() }
      : { kind: 'alternate', name: 'number', value: orderNumber ?? '' };
  const order = await findDocument(db, ORDERS, scope.companyId, key);
  if (!order) {
    const target = orderId !== undefined ? 'orderId' : 'orderNumber';
    return {
      reply: validationReply(scope, 'sales invoice', [
        { code: 'InvalidValue', target, message: `no sales order has ${target} ${orderId ?? orderNumber}` },
      ]),
    };
  }
  if (orderId !== undefined && orderNumber !== undefined && order.number !== orderNumber) {
    return {
      reply: validationReply(scope, 'sales invoice', [
        {
          code: 'InvalidValue',
          target: 'orderNumber',
          message: `orderNumber ${orderNumber} is not the order with id ${orderId}`,
        },
      ]),
    };
  }
  return { row: order };
}
