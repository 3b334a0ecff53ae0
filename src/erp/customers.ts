/**
 * Customers: the ERP assigns the number (series `C`), the integration keeps its own id in `externalId`
 * (unique per company: the second line of defence against duplicate customers when every other
 * defence failed), and the credit standing (limit in minor units, status) lives here.
 */
import type pg from 'pg';
import type { Reply } from '../targets-sim/common/http.ts';
import { nextChangeStamp, nextNumber, type Queryable } from './database.ts';
import type { ListDefinition } from './lists.ts';
import { etagOf, ifMatchAdmits, odataError, ErpErrorCodes, type EntityKey } from './odata.ts';
import {
  duplicateReply,
  entityReply,
  notFoundReply,
  preconditionReply,
  validationReply,
  type RequestScope,
  type Shown,
} from './resources.ts';
import { CUSTOMER_READ_ONLY, CustomerCreate, CustomerPatch, validateBody } from './validation.ts';

export interface CustomerRow {
  id: string;
  number: string;
  external_id: string | null;
  display_name: string;
  type: string;
  address_line1: string;
  address_line2: string;
  city: string;
  state: string;
  country: string;
  postal_code: string;
  phone_number: string;
  email: string;
  website: string;
  tax_registration_number: string;
  currency_code: string;
  credit_limit_minor: string;
  credit_status: string;
  blocked: string;
  external_version: string | null;
  row_version: string;
  last_modified: Date;
}

/** API property → column, for the properties a PATCH may set. */
const COLUMNS = {
  displayName: 'display_name',
  type: 'type',
  externalId: 'external_id',
  addressLine1: 'address_line1',
  addressLine2: 'address_line2',
  city: 'city',
  state: 'state',
  country: 'country',
  postalCode: 'postal_code',
  phoneNumber: 'phone_number',
  email: 'email',
  website: 'website',
  taxRegistrationNumber: 'tax_registration_number',
  currencyCode: 'currency_code',
  creditLimitMinor: 'credit_limit_minor',
  creditStatus: 'credit_status',
  blocked: 'blocked',
  externalVersion: 'external_version',
} as const satisfies Record<keyof CustomerPatch, keyof CustomerRow>;

export const ALTERNATE_KEYS = { externalId: 'external_id', number: 'number' } as const;

export const customerList: ListDefinition<CustomerRow> = {
  select: 'SELECT d.* FROM customers d',
  columns: {
    number: { sql: 'd.number', type: 'string' },
    externalId: { sql: 'd.external_id', type: 'string' },
    displayName: { sql: 'd.display_name', type: 'string' },
    taxRegistrationNumber: { sql: 'd.tax_registration_number', type: 'string' },
    country: { sql: 'd.country', type: 'string' },
    creditStatus: { sql: 'd.credit_status', type: 'string' },
    lastModifiedDateTime: { sql: 'd.last_modified', type: 'datetime' },
  },
  cursorOf: (row) => ({ stamp: row.last_modified, number: row.number }),
};

export function showCustomer(row: CustomerRow): Shown {
  const etag = etagOf(row.id, Number(row.row_version));
  return {
    id: row.id,
    etag,
    json: {
      '@odata.etag': etag,
      id: row.id,
      number: row.number,
      externalId: row.external_id ?? '',
      displayName: row.display_name,
      type: row.type,
      addressLine1: row.address_line1,
      addressLine2: row.address_line2,
      city: row.city,
      state: row.state,
      country: row.country,
      postalCode: row.postal_code,
      phoneNumber: row.phone_number,
      email: row.email,
      website: row.website,
      taxRegistrationNumber: row.tax_registration_number,
      currencyCode: row.currency_code,
      creditLimitMinor: Number(row.credit_limit_minor),
      creditStatus: row.credit_status,
      blocked: row.blocked,
      externalVersion: row.external_version === null ? null : Number(row.external_version),
      rowVersion: Number(row.row_version),
      lastModifiedDateTime: row.last_modified.toISOString(),
    },
  };
}

/** One customer by id or alternate key (`externalId`, `number`); `lock` takes the row for an update. */
export async function findCustomer(
  db: Queryable,
  companyId: string,
  key: EntityKey,
  lock = false,
): Promise<CustomerRow | undefined> {
  const suffix = lock ? ' FOR NO KEY UPDATE' : '';
  if (key.kind === 'id') {
    const result = await db.query<CustomerRow>(
      `SELECT * FROM customers WHERE company_id = $1 AND id = $2${suffix}`,
      [companyId, key.id],
    );
    return result.rows[0];
  }
  const column = ALTERNATE_KEYS[key.name as keyof typeof ALTERNATE_KEYS];
  const result = await db.query<CustomerRow>(
    `SELECT * FROM customers WHERE company_id = $1 AND ${column} = $2${suffix}`,
    [companyId, key.value],
  );
  return result.rows[0];
}

export async function createCustomer(
  client: pg.PoolClient,
  scope: RequestScope,
  body: Record<string, unknown>,
): Promise<Reply> {
  const checked = validateBody(CustomerCreate, body, 'customer', CUSTOMER_READ_ONLY);
  if (!checked.ok) return validationReply(scope, 'customer', checked.details);
  const input = checked.value;
  const stamp = await nextChangeStamp(client, 'customers');
  const externalId = input.externalId ? input.externalId : null;
  if (externalId !== null) {
    const existing = await findCustomer(client, scope.companyId, {
      kind: 'alternate',
      name: 'externalId',
      value: externalId,
    });
    if (existing) return duplicateReply(scope, 'customer', 'externalId', externalId, existing);
  }
  const number = await nextNumber(client, scope.companyId, 'CUST');
  const result = await client.query<CustomerRow>(
    `INSERT INTO customers (id, company_id, number, external_id, display_name, type, address_line1, address_line2, city, state,
       country, postal_code, phone_number, email, website, tax_registration_number, currency_code, credit_limit_minor,
       credit_status, blocked, external_version, row_version, created_at, last_modified)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 1, $21, $21)
     RETURNING *`,
    [
      scope.companyId,
      number,
      externalId,
      input.displayName,
      input.type ?? 'Company',
      input.addressLine1 ?? '',
      input.addressLine2 ?? '',
      input.city ?? '',
      input.state ?? '',
      input.country ?? '',
      input.postalCode ?? '',
      input.phoneNumber ?? '',
      input.email ?? '',
      input.website ?? '',
      input.taxRegistrationNumber ?? '',
      input.currencyCode ?? scope.companyCurrency,
      input.creditLimitMinor ?? 0,
      input.creditStatus ?? 'CLEAR',
      input.blocked ?? ' ',
      input.externalVersion ?? null,
      stamp,
    ],
  );
  const row = result.rows[0];
  if (!row) throw new Error('INSERT returned no row');
  return entityReply(201, scope, 'customers', showCustomer(row));
}

export async function patchCustomer(
  client: pg.PoolClient,
  scope: RequestScope,
  key: EntityKey,
  keyText: string,
  ifMatch: string | undefined,
  body: Record<string, unknown>,
): Promise<Reply> {
  const row = await findCustomer(client, scope.companyId, key, true);
  if (!row) return notFoundReply(scope, 'customer', keyText);
  const current = showCustomer(row);
  const precondition = preconditionReply(
    scope,
    'customer',
    ifMatch,
    ifMatch !== undefined && ifMatchAdmits(ifMatch, current.etag),
    current.etag,
  );
  if (precondition) return precondition;
  const checked = validateBody(CustomerPatch, body, 'customer', CUSTOMER_READ_ONLY);
  if (!checked.ok) return validationReply(scope, 'customer', checked.details);

  const changes: [string, unknown][] = [];
  for (const [property, value] of Object.entries(checked.value) as [keyof CustomerPatch, unknown][]) {
    if (value === undefined) continue;
    // The shown values are what the API returns (externalId '' when there is none), so plain
    // equality tells a change from a repeat.
    if (current.json[property] !== value) {
      changes.push([COLUMNS[property], property === 'externalId' && value === '' ? null : value]);
    }
  }
  // A PATCH that changes nothing writes nothing: no new version, no new change time for pollers.
  if (changes.length === 0) return entityReply(200, scope, 'customers', current);

  const newCurrency = checked.value.currencyCode;
  if (newCurrency !== undefined && newCurrency !== row.currency_code) {
    const documents = await client.query(
      'SELECT 1 FROM sales_orders WHERE customer_id = $1 UNION ALL SELECT 1 FROM sales_invoices WHERE customer_id = $1 LIMIT 1',
      [row.id],
    );
    if ((documents.rowCount ?? 0) > 0) {
      return validationReply(scope, 'customer', [
        {
          code: 'InvalidValue',
          target: 'currencyCode',
          message: `currencyCode cannot change: customer ${row.number} has sales documents in ${row.currency_code}`,
        },
      ]);
    }
  }
  const stamp = await nextChangeStamp(client, 'customers');
  const newExternalId = checked.value.externalId;
  if (newExternalId) {
    const existing = await findCustomer(client, scope.companyId, {
      kind: 'alternate',
      name: 'externalId',
      value: newExternalId,
    });
    if (existing && existing.id !== row.id)
      return duplicateReply(scope, 'customer', 'externalId', newExternalId, existing);
  }
  const assignments = changes.map(([column], index) => `${column} = $${index + 2}`);
  const result = await client.query<CustomerRow>(
    `UPDATE customers SET ${assignments.join(', ')}, row_version = row_version + 1, last_modified = $${changes.length + 2}
      WHERE id = $1 RETURNING *`,
    [row.id, ...changes.map(([, value]) => value), stamp],
  );
  const updated = result.rows[0];
  if (!updated) throw new Error('UPDATE returned no row');
  return entityReply(200, scope, 'customers', showCustomer(updated));
}

/** Business Central's customerFinancialDetails, with the credit standing beside it. */
export async function customerFinancialDetails(
  db: Queryable,
  scope: RequestScope,
  row: CustomerRow,
): Promise<Reply> {
  const totals = await db.query<{ balance: string; overdue: string; sales: string }>(
    `SELECT coalesce(sum(remaining_amount_minor) FILTER (WHERE status = 'Open'), 0) AS balance,
            coalesce(sum(remaining_amount_minor) FILTER (WHERE status = 'Open' AND due_date < current_date), 0) AS overdue,
            coalesce(sum(total_amount_minor) FILTER (WHERE status IN ('Open', 'Paid')), 0) AS sales
       FROM sales_invoices WHERE customer_id = $1 AND currency_code = $2`,
    [row.id, row.currency_code],
  );
  const sums = totals.rows[0] ?? { balance: '0', overdue: '0', sales: '0' };
  const limit = Number(row.credit_limit_minor);
  const balance = Number(sums.balance);
  return {
    status: 200,
    headers: { 'odata-version': '4.0' },
    body: {
      '@odata.context': `${scope.origin}/api/v2.0/$metadata#companies(${scope.companyId})/customers(${row.id})/customerFinancialDetails/$entity`,
      id: row.id,
      number: row.number,
      currencyCode: row.currency_code,
      balanceMinor: balance,
      overdueAmountMinor: Number(sums.overdue),
      totalSalesMinor: Number(sums.sales),
      creditLimitMinor: limit,
      // As in Business Central, a credit limit of 0 means no limit.
      availableCreditMinor: limit === 0 ? null : limit - balance,
      creditStatus: row.credit_status,
      blocked: row.blocked,
    },
  };
}

export function unknownAlternateKey(scope: RequestScope, name: string, allowed: readonly string[]): Reply {
  return odataError(
    400,
    ErpErrorCodes.BAD_REQUEST,
    `"${name}" is not a key of this entity set; use the id or one of ${allowed.join(', ')}.`,
    scope.requestId,
  );
}
