/**
 * What the ERP accepts in a request body, and how it says what is wrong: one OData error detail per
 * field (`target` is the property path, e.g. `salesOrderLines[1].quantity`), answered 422. Unknown
 * properties are refused rather than ignored, so a sink's mapping mistake shows up at once instead of
 * as silently missing data; read-only properties sent back (a client echoing a GET) are refused the
 * same way, and OData instance annotations (`@odata.etag`) are ignored.
 */
import { z } from 'zod';
import type { ErrorDetail } from './odata.ts';

export const CUSTOMER_TYPES = ['Company', 'Person'] as const;
export const CREDIT_STATUSES = ['CLEAR', 'WATCH', 'HOLD', 'BLOCKED'] as const;
/** Business Central's `blocked` values: nothing, no shipping (orders), no invoicing, nothing at all. */
export const BLOCKED_VALUES = [' ', 'Ship', 'Invoice', 'All'] as const;
export const ORDER_STATUSES = ['Draft', 'Open', 'Released', 'Cancelled'] as const;
export const INVOICE_STATUSES = ['Draft', 'Open', 'Paid', 'Canceled'] as const;
export const LINE_TYPES = ['Item', 'Account', 'Comment'] as const;

export const DetailCodes = {
  REQUIRED: 'RequiredField',
  UNKNOWN: 'UnknownField',
  READ_ONLY: 'ReadOnlyField',
  TOO_LONG: 'ValueTooLong',
  INVALID: 'InvalidValue',
} as const;

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  }, 'is not a calendar date');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code in upper case, e.g. EUR');
const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const minor = z
  .number()
  .int('must be an integer amount in minor units')
  .min(-Number.MAX_SAFE_INTEGER)
  .max(Number.MAX_SAFE_INTEGER);
const externalVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();

const customerFields = {
  displayName: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  type: z.enum(CUSTOMER_TYPES),
  /** The integration's id for the customer (Syncline: the golden customer id); unique per company. */
  externalId: text(64),
  addressLine1: text(100),
  addressLine2: text(50),
  city: text(30),
  state: text(30),
  country: z
    .string()
    .regex(/^([A-Z]{2})?$/, 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE'),
  postalCode: text(20),
  phoneNumber: text(30),
  email: z.union([
    z.literal(''),
    z.email('must be an email address').max(80, 'must be at most 80 characters'),
  ]),
  website: text(80),
  taxRegistrationNumber: text(20),
  currencyCode: currency,
  creditLimitMinor: minor.min(0, 'must not be negative'),
  creditStatus: z.enum(CREDIT_STATUSES),
  blocked: z.enum(BLOCKED_VALUES),
  /** The version of the source record last written here, kept for the integration; never interpreted. */
  externalVersion,
};

export const CustomerCreate = z.strictObject({
  ...partial(customerFields),
  displayName: customerFields.displayName,
});
export const CustomerPatch = z.strictObject(partial(customerFields));
export type CustomerCreate = z.infer<typeof CustomerCreate>;
export type CustomerPatch = z.infer<typeof CustomerPatch>;
export const CUSTOMER_READ_ONLY = ['id', 'number', 'rowVersion', 'lastModifiedDateTime'];

export const LineInput = z.strictObject({
  sequence: z.number().int().min(1).max(2_000_000_000).optional(),
  lineType: z.enum(LINE_TYPES).default('Item'),
  lineObjectNumber: text(20).optional(),
  description: text(100).optional(),
  quantity: z
    .number()
    .min(0, 'must not be negative')
    .max(999_999_999, 'is too large')
    .refine(
      (value) => Math.abs(value * 100_000 - Math.round(value * 100_000)) < 1e-6,
      'has more than 5 decimals',
    )
    .default(0),
  unitPriceMinor: minor.default(0),
  /** The line amount as the source computed it; quantity × unit price when left out. */
  amountMinor: minor.optional(),
});
export type LineInput = z.infer<typeof LineInput>;
export const LINE_READ_ONLY = ['id', 'documentId'];

const lines = z.array(LineInput).max(500, 'at most 500 lines');

const orderFields = {
  /** The integration's reference (Syncline: the contract or order id); unique per company. */
  externalDocumentNumber: text(35),
  orderDate: date,
  customerId: guid,
  customerNumber: text(20),
  currencyCode: currency,
  status: z.enum(ORDER_STATUSES),
  externalVersion,
  salesOrderLines: lines,
};

export const SalesOrderCreate = z.strictObject(partial(orderFields)).superRefine(needsCustomer);
export const SalesOrderPatch = z.strictObject(
  partial({
    externalDocumentNumber: orderFields.externalDocumentNumber,
    orderDate: orderFields.orderDate,
    currencyCode: orderFields.currencyCode,
    status: orderFields.status,
    externalVersion,
    salesOrderLines: lines,
  }),
);
export type SalesOrderCreate = z.infer<typeof SalesOrderCreate>;
export type SalesOrderPatch = z.infer<typeof SalesOrderPatch>;
export const SALES_ORDER_READ_ONLY = [
  'id',
  'number',
  'customerName',
  'totalAmountMinor',
  'rowVersion',
  'lastModifiedDateTime',
];
export const SALES_ORDER_FIXED_AFTER_CREATE = ['customerId', 'customerNumber'];

const invoiceFields = {
  externalDocumentNumber: text(35),
  invoiceDate: date,
  dueDate: date,
  customerId: guid,
  customerNumber: text(20),
  orderId: guid,
  orderNumber: text(20),
  currencyCode: currency,
  status: z.enum(INVOICE_STATUSES),
  externalVersion,
  salesInvoiceLines: lines,
};

export const SalesInvoiceCreate = z.strictObject(partial(invoiceFields)).superRefine(needsCustomer);
export const SalesInvoicePatch = z.strictObject(
  partial({
    externalDocumentNumber: invoiceFields.externalDocumentNumber,
    invoiceDate: invoiceFields.invoiceDate,
    dueDate: invoiceFields.dueDate,
    currencyCode: invoiceFields.currencyCode,
    status: invoiceFields.status,
    externalVersion,
    salesInvoiceLines: lines,
  }),
);
export type SalesInvoiceCreate = z.infer<typeof SalesInvoiceCreate>;
export type SalesInvoicePatch = z.infer<typeof SalesInvoicePatch>;
export const SALES_INVOICE_READ_ONLY = [
  'id',
  'number',
  'customerName',
  'totalAmountMinor',
  'remainingAmountMinor',
  'rowVersion',
  'lastModifiedDateTime',
];
export const SALES_INVOICE_FIXED_AFTER_CREATE = ['customerId', 'customerNumber', 'orderId', 'orderNumber'];

function partial<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, schema.optional()])) as {
    [K in keyof T]: z.ZodOptional<T[K]>;
  };
}

function needsCustomer(
  value: { customerId?: string | undefined; customerNumber?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.customerId === undefined && value.customerNumber === undefined) {
    ctx.addIssue({ code: 'custom', path: ['customerId'], message: 'is required (or customerNumber)' });
  }
}

export type Validated<T> = { ok: true; value: T } | { ok: false; details: ErrorDetail[] };

/**
 * Checks a parsed JSON body against a schema: read-only and fixed properties first (with their own
 * message), then the schema. At most 50 details, so a body wrong everywhere stays readable.
 */
export function validateBody<T>(
  schema: z.ZodType<T>,
  body: Record<string, unknown>,
  entity: string,
  readOnly: readonly string[] = [],
  fixed: readonly string[] = [],
): Validated<T> {
  const details: ErrorDetail[] = [];
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.includes('@')) continue; // instance annotations such as @odata.etag
    if (readOnly.includes(key)) {
      details.push({ code: DetailCodes.READ_ONLY, target: key, message: `${key} is read-only` });
    } else if (fixed.includes(key)) {
      details.push({
        code: DetailCodes.READ_ONLY,
        target: key,
        message: `${key} cannot be changed after the ${entity} is created`,
      });
    } else {
      input[key] = value;
    }
  }
  stripLineAnnotations(input);
  const parsed = schema.safeParse(input);
  if (!parsed.success) details.push(...toDetails(parsed.error, input, entity));
  if (details.length > 0) return { ok: false, details: details.slice(0, 50) };
  if (!parsed.success) throw new Error('unreachable');
  return { ok: true, value: parsed.data };
}

function stripLineAnnotations(input: Record<string, unknown>): void {
  for (const key of ['salesOrderLines', 'salesInvoiceLines']) {
    const value = input[key];
    if (!Array.isArray(value)) continue;
    input[key] = value.map((line: unknown) => {
      if (line === null || typeof line !== 'object' || Array.isArray(line)) return line;
      return Object.fromEntries(
        Object.entries(line as Record<string, unknown>).filter(
          ([name]) => !name.includes('@') && !LINE_READ_ONLY.includes(name),
        ),
      );
    });
  }
}

/** zod's issues as OData details, with paths written the way a client would write them. */
export function toDetails(error: z.ZodError, input: unknown, entity: string): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const base = targetOf(issue.path);
      for (const key of issue.keys) {
        const target = base ? `${base}.${key}` : key;
        details.push({
          code: DetailCodes.UNKNOWN,
          target,
          message: `${key} is not a property of ${base ? 'a line' : entity}`,
        });
      }
      continue;
    }
    const target = targetOf(issue.path) || '(body)';
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      details.push({ code: DetailCodes.REQUIRED, target, message: `${target} is required` });
    } else if (issue.code === 'too_big' && issue.origin === 'string') {
      details.push({ code: DetailCodes.TOO_LONG, target, message: `${target} ${issue.message}` });
    } else if (issue.code === 'custom' && issue.message.startsWith('is required')) {
      details.push({ code: DetailCodes.REQUIRED, target, message: `${target} ${issue.message}` });
    } else {
      details.push({ code: DetailCodes.INVALID, target, message: `${target}: ${messageOf(issue)}` });
    }
  }
  return details;
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value')
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_type')
    return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
  return issue.message;
}

function targetOf(path: readonly PropertyKey[]): string {
  let target = '';
  for (const part of path) {
    if (typeof part === 'number') target += `[${part}]`;
    else target += target ? `.${String(part)}` : String(part);
  }
  return target;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
