/**
 * Lists of every entity set, one way: ordered by (lastModifiedDateTime, number), keyset-paged with
 * `$skiptoken`, filtered by the `$filter` subset and the polling options. Because writes of a set
 * commit in the order of their change times (see the change clock), following `@odata.nextLink` or
 * polling with `updated_since` never skips a change.
 */
import type { Queryable } from './database.ts';
import {
  encodeSkipToken,
  type Comparison,
  type FieldType,
  type ListQuery,
  type PageCursor,
} from './odata.ts';

/** How a filterable property maps to SQL. */
export interface ColumnDefinition {
  sql: string;
  type: FieldType;
}

export interface ListDefinition<Row> {
  /** `SELECT ... FROM <table> d ...`: the main table is aliased `d`. */
  select: string;
  columns: Readonly<Record<string, ColumnDefinition>>;
  cursorOf(row: Row): PageCursor;
}

export interface ListPage<Row> {
  rows: Row[];
  /** The query string of the next page, when there is one. */
  next: URLSearchParams | undefined;
}

const SQL_OPERATORS = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

export async function listPage<Row extends object>(
  db: Queryable,
  definition: ListDefinition<Row>,
  companyId: string,
  query: ListQuery,
  params: URLSearchParams,
): Promise<ListPage<Row>> {
  const values: unknown[] = [companyId];
  const where = ['d.company_id = $1'];
  const bind = (value: unknown, cast = ''): string => {
    values.push(value);
    return `$${values.length}${cast}`;
  };
  for (const comparison of query.filter) where.push(condition(definition.columns, comparison, bind));
  if (query.updatedSince) {
    where.push(
      query.afterNumber === undefined
        ? `d.last_modified >= ${bind(query.updatedSince)}`
        : `(d.last_modified, d.number) > (${bind(query.updatedSince)}::timestamptz, ${bind(query.afterNumber)}::text)`,
    );
  }
  if (query.after) {
    where.push(
      `(d.last_modified, d.number) > (${bind(query.after.stamp)}::timestamptz, ${bind(query.after.number)}::text)`,
    );
  }
  const wanted = query.top === undefined ? query.pageSize : Math.min(query.pageSize, query.top);
  const offset = query.after ? 0 : query.skip;
  const text = `${definition.select} WHERE ${where.join(' AND ')} ORDER BY d.last_modified, d.number LIMIT ${bind(wanted + 1)} OFFSET ${bind(offset)}`;
  const result = await db.query(text, values);
  const rows = (result.rows as Row[]).slice(0, wanted);
  const last = rows.at(-1);
  const moreInTop = query.top === undefined || query.top > rows.length;
  if (!last || result.rows.length <= wanted || !moreInTop) return { rows, next: undefined };
  const next = new URLSearchParams(params);
  next.delete('$skip');
  next.set('$skiptoken', encodeSkipToken(definition.cursorOf(last)));
  if (query.top !== undefined) next.set('$top', String(query.top - rows.length));
  return { rows, next };
}

function condition(
  columns: Readonly<Record<string, ColumnDefinition>>,
  comparison: Comparison,
  bind: (value: unknown, cast?: string) => string,
): string {
  const column = columns[comparison.field];
  if (!column) throw new Error(`no column for ${comparison.field}`);
  if (comparison.value === null) return `${column.sql} IS ${comparison.op === 'eq' ? '' : 'NOT '}NULL`;
  const cast = { string: '::text', guid: '::uuid', datetime: '::timestamptz', date: '::date' }[column.type];
  return `${column.sql} ${SQL_OPERATORS[comparison.op]} ${bind(comparison.value, cast)}`;
}
