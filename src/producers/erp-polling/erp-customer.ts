/**
 * The ERP customer master as its HTTP API returns it (see `erp-sandbox.ts` for the API): one
 * customer per record with its credit standing, a row version that grows with every change, and the
 * time of the last change, which is what the connector pages by. The page and the fields the cursor
 * needs are checked here; the rest of each record against the raw topic's Avro schema.
 */
import { z } from 'zod';

const isoTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' });

export const CREDIT_STATUSES = ['CLEAR', 'WATCH', 'HOLD', 'BLOCKED'] as const;
export type CreditStatus = (typeof CREDIT_STATUSES)[number];

export const ErpCustomer = z.looseObject({
  customerNumber: z.string().min(1).max(64),
  companyCode: z.string().min(1).max(32),
  updatedAt: isoTimestamp,
  rowVersion: z.number().int().positive(),
});
export type ErpCustomer = z.infer<typeof ErpCustomer>;

export const ErpCustomerPage = z.looseObject({
  data: z.array(ErpCustomer),
  page: z.looseObject({
    limit: z.number().int().positive(),
    hasMore: z.boolean(),
  }),
});
export type ErpCustomerPage = z.infer<typeof ErpCustomerPage>;

/**
 * Where a poll stands: the change time of the last record taken and its customer number, which
 * breaks ties between records changed in the same millisecond. The API returns records strictly
 * after it in (updatedAt, customerNumber) order.
 */
export interface PollCursor {
  updatedSince: string;
  afterId: string;
}

/** The position of a record in the API's order. */
export function cursorOf(customer: Pick<ErpCustomer, 'updatedAt' | 'customerNumber'>): PollCursor {
  return { updatedSince: customer.updatedAt, afterId: customer.customerNumber };
}

/** Negative when `a` comes before `b` in the API's order. */
export function compareCursors(a: PollCursor, b: PollCursor): number {
  const byTime = Date.parse(a.updatedSince) - Date.parse(b.updatedSince);
  if (byTime !== 0) return byTime;
  return a.afterId < b.afterId ? -1 : a.afterId > b.afterId ? 1 : 0;
}

/** The cursor as the query string of the request it stands for; empty for the first page. */
export function describeCursor(cursor: PollCursor | undefined): string {
  return cursor ? `updated_since=${cursor.updatedSince}&after_id=${cursor.afterId}` : '';
}
