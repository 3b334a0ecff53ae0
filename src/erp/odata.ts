/**
 * The OData v4 conventions of the ERP's API, in the dialect of Dynamics 365 Business Central's API
 * v2.0: resource paths (`/api/v2.0/companies({id})/customers({id})`), the error body
 * (`{"error": {"code", "message", "details"?}}`, codes like `Internal_RecordNotFound`), weak ETags
 * with If-Match, server-driven paging with `@odata.nextLink`, and the small `$filter` subset an
 * integration needs (comparisons of one field with a literal, joined by `and`).
 */
import type { Reply } from '../targets-sim/common/http.ts';

export const API_ROOT = '/api/v2.0';

/** Error codes in Business Central's Category_Name form. */
export const ErpErrorCodes = {
  UNAUTHORIZED: 'Authentication_InvalidCredentials',
  RESOURCE_NOT_FOUND: 'BadRequest_ResourceNotFound',
  RECORD_NOT_FOUND: 'Internal_RecordNotFound',
  METHOD_NOT_ALLOWED: 'BadRequest_MethodNotAllowed',
  BAD_REQUEST: 'BadRequest',
  INVALID_BODY: 'BadRequest_InvalidRequestBody',
  UNSUPPORTED_MEDIA_TYPE: 'BadRequest_UnsupportedMediaType',
  INVALID_QUERY: 'BadRequest_InvalidQueryOption',
  VALIDATION: 'Application_ValidationError',
  CUSTOMER_BLOCKED: 'Application_CustomerBlocked',
  ENTITY_CHANGED: 'Request_EntityChanged',
  PRECONDITION_REQUIRED: 'Request_PreconditionRequired',
  DUPLICATE_KEY: 'Internal_EntityWithSameKeyExists',
  IDEMPOTENCY_KEY_REUSED: 'Request_IdempotencyKeyReused',
  IDEMPOTENCY_KEY_INVALID: 'Request_IdempotencyKeyInvalid',
  TOO_MANY_REQUESTS: 'Application_TooManyRequests',
  ENTITY_TOO_LARGE: 'Request_EntityTooLarge',
  SERVER_ERROR: 'Internal_ServerError',
  SERVICE_UNAVAILABLE: 'Internal_ServiceUnavailable',
} as const;

export type ErpErrorCode = (typeof ErpErrorCodes)[keyof typeof ErpErrorCodes];

/** One field-level problem, as an OData error detail (`target` is the property). */
export interface ErrorDetail {
  code: string;
  target: string;
  message: string;
}

/** The OData error answer; the message ends with the correlation id, as Business Central's do. */
export function odataError(
  status: number,
  code: ErpErrorCode,
  message: string,
  requestId: string,
  options: { details?: ErrorDetail[]; target?: string; headers?: Record<string, string> } = {},
): Reply {
  return {
    status,
    headers: { 'odata-version': '4.0', 'request-id': requestId, ...options.headers },
    body: {
      error: {
        code,
        message: `${message}  CorrelationId:  ${requestId}.`,
        ...(options.target ? { target: options.target } : {}),
        ...(options.details && options.details.length > 0 ? { details: options.details } : {}),
      },
    },
  };
}

/** A request the OData layer refuses; answered 400 with the message. */
export class ODataRequestError extends Error {
  readonly code: ErpErrorCode;
  readonly status: number;
  constructor(message: string, code: ErpErrorCode = ErpErrorCodes.INVALID_QUERY, status = 400) {
    super(message);
    this.name = 'ODataRequestError';
    this.code = code;
    this.status = status;
  }
}

export interface PathSegment {
  name: string;
  /** The raw text between the parentheses, if any. */
  key?: string;
}

/**
 * The segments after `/api/v2.0/`, e.g. `companies(…)/customers(externalId='a/b')/x` → three
 * segments; quotes inside a key may hold `/` and `)` (a quote itself is doubled: `''`).
 * Undefined when the path is not under the API root or not well formed.
 */
export function parsePath(pathname: string): PathSegment[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded === API_ROOT || decoded === `${API_ROOT}/`) return [];
  if (!decoded.startsWith(`${API_ROOT}/`)) return undefined;
  const rest = decoded.slice(API_ROOT.length + 1);
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < rest.length) {
    const name = /^[A-Za-z$][A-Za-z0-9_]*/.exec(rest.slice(i))?.[0];
    if (!name) return undefined;
    i += name.length;
    let key: string | undefined;
    if (rest[i] === '(') {
      let j = i + 1;
      let quoted = false;
      for (; j < rest.length; j += 1) {
        const c = rest[j];
        if (c === "'") {
          if (quoted && rest[j + 1] === "'") {
            j += 1;
            continue;
          }
          quoted = !quoted;
        } else if (c === ')' && !quoted) {
          break;
        }
      }
      if (j >= rest.length) return undefined;
      key = rest.slice(i + 1, j);
      i = j + 1;
    }
    segments.push(key === undefined ? { name } : { name, key });
    if (i < rest.length) {
      if (rest[i] !== '/' || i === rest.length - 1) return undefined;
      i += 1;
    }
  }
  return segments;
}

export type EntityKey = { kind: 'id'; id: string } | { kind: 'alternate'; name: string; value: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(text: string): boolean {
  return GUID.test(text);
}

/** `3f2c…` (the id) or `name='value'` (an alternate key such as `externalId='G-1'`). */
export function parseKey(text: string): EntityKey | undefined {
  const trimmed = text.trim();
  if (GUID.test(trimmed)) return { kind: 'id', id: trimmed.toLowerCase() };
  const alternate = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'$/.exec(trimmed);
  if (alternate?.[1] && alternate[2] !== undefined) {
    return { kind: 'alternate', name: alternate[1], value: alternate[2].replaceAll("''", "'") };
  }
  return undefined;
}

/** The literal an OData URL needs for a string key value. */
export function quoteKey(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export type FieldType = 'string' | 'guid' | 'datetime' | 'date';
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export interface Comparison {
  field: string;
  op: ComparisonOperator;
  /** The literal, unquoted; null for the literal `null`. */
  value: string | null;
}

const OPERATORS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parses `field op literal [and field op literal]...`. Strings are quoted (`'O''Brien'`), GUIDs,
 * dates and date-times are not (OData v4). Anything richer (or, not, functions, parentheses) is
 * refused with a message saying what is supported.
 */
export function parseFilter(text: string, fields: Readonly<Record<string, FieldType>>): Comparison[] {
  const tokens = tokenize(text);
  const comparisons: Comparison[] = [];
  let i = 0;
  while (i < tokens.length) {
    const [field, op, literal] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (field === undefined || op === undefined || literal === undefined) {
      throw new ODataRequestError(
        `$filter: expected "<property> <operator> <value>" near "${tokens.slice(i).join(' ')}"`,
      );
    }
    const type = fields[field];
    if (!type) {
      throw new ODataRequestError(
        `$filter: filtering on "${field}" is not supported; supported properties: ${Object.keys(fields).join(', ')}`,
      );
    }
    const operator = op.toLowerCase();
    if (!OPERATORS.has(operator)) {
      throw new ODataRequestError(`$filter: operator "${op}" is not supported; use eq, ne, gt, ge, lt or le`);
    }
    comparisons.push({
      field,
      op: operator as ComparisonOperator,
      value: literalValue(field, type, literal, operator),
    });
    i += 3;
    if (i < tokens.length) {
      if (tokens[i]?.toLowerCase() !== 'and') {
        throw new ODataRequestError(
          `$filter: only comparisons joined by "and" are supported (found "${tokens[i]}")`,
        );
      }
      i += 1;
      if (i >= tokens.length) throw new ODataRequestError('$filter: "and" must be followed by a comparison');
    }
  }
  if (comparisons.length === 0) throw new ODataRequestError('$filter is empty');
  return comparisons;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')') {
      throw new ODataRequestError('$filter: parentheses and functions are not supported');
    } else if (c === "'") {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataRequestError('$filter: unterminated string literal');
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      tokens.push(text.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s'()]/.test(text[j] ?? '')) j += 1;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function literalValue(field: string, type: FieldType, literal: string, operator: string): string | null {
  if (literal === 'null') {
    if (operator !== 'eq' && operator !== 'ne')
      throw new ODataRequestError(`$filter: null can only be compared with eq or ne`);
    return null;
  }
  switch (type) {
    case 'string':
      if (!literal.startsWith("'"))
        throw new ODataRequestError(`$filter: ${field} is a string; quote the value: '${literal}'`);
      return literal.slice(1, -1).replaceAll("''", "'");
    case 'guid':
      if (!GUID.test(literal)) throw new ODataRequestError(`$filter: ${field} takes an unquoted GUID`);
      return literal.toLowerCase();
    case 'datetime':
      if (!DATETIME.test(literal) || Number.isNaN(Date.parse(literal))) {
        throw new ODataRequestError(
          `$filter: ${field} takes an unquoted ISO 8601 date-time with offset, e.g. 2024-01-31T12:00:00Z`,
        );
      }
      return literal;
    case 'date':
      if (!DATE.test(literal) || Number.isNaN(Date.parse(literal))) {
        throw new ODataRequestError(`$filter: ${field} takes an unquoted date, e.g. 2024-01-31`);
      }
      return literal;
  }
}

/** Where a list page ends: the change time and number of its last entity. */
export interface PageCursor {
  stamp: Date;
  number: string;
}

export function encodeSkipToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.stamp.toISOString(), cursor.number])).toString('base64url');
}

export function decodeSkipToken(token: string): PageCursor {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const stamp = new Date(value[0]);
      if (!Number.isNaN(stamp.getTime())) return { stamp, number: value[1] };
    }
  } catch {
    // fall through
  }
  throw new ODataRequestError('$skiptoken is not one this service handed out');
}

export interface ListQuery {
  filter: Comparison[];
  /** Total results wanted ($top), across pages. */
  top: number | undefined;
  skip: number;
  after: PageCursor | undefined;
  /** `updated_since` (inclusive) and `after_id`, the cursor of a polling client. */
  updatedSince: Date | undefined;
  afterNumber: string | undefined;
  expand: string[];
  select: string[] | undefined;
  pageSize: number;
  /** The page size a `Prefer: odata.maxpagesize` asked for, to confirm in Preference-Applied. */
  preferredPageSize: number | undefined;
}

const SUPPORTED_OPTIONS = new Set([
  '$filter',
  '$top',
  '$skip',
  '$skiptoken',
  '$expand',
  '$select',
  '$orderby',
  '$format',
]);

/**
 * Reads the query options of a list request. Besides the OData ones, two custom options serve
 * polling clients: `updated_since=<ISO 8601>` (changes at or after that time) and `after_id=<number>`
 * (with updated_since: strictly after that (time, number) position).
 */
export function parseListQuery(
  url: URL,
  fields: Readonly<Record<string, FieldType>>,
  expandable: readonly string[],
  maxPageSize: number,
  prefer: string | undefined,
): ListQuery {
  for (const name of url.searchParams.keys()) {
    if (name.startsWith('$') && !SUPPORTED_OPTIONS.has(name)) {
      throw new ODataRequestError(`the query option ${name} is not supported`);
    }
  }
  const params = url.searchParams;
  const filterText = params.get('$filter');
  const orderby = params.get('$orderby');
  if (orderby !== null && !/^\s*lastModifiedDateTime(\s+asc)?\s*$/.test(orderby)) {
    throw new ODataRequestError(
      '$orderby: lists are ordered by lastModifiedDateTime (then number); no other order is supported',
    );
  }
  const format = params.get('$format');
  if (format !== null && format !== 'json') throw new ODataRequestError('$format: only json is supported');
  const since = params.get('updated_since');
  let updatedSince: Date | undefined;
  if (since !== null) {
    updatedSince = new Date(since);
    if (!DATETIME.test(since) || Number.isNaN(updatedSince.getTime())) {
      throw new ODataRequestError(
        'updated_since must be an ISO 8601 date-time with offset, e.g. 2024-01-31T12:00:00.000Z',
      );
    }
  }
  const afterNumber = params.get('after_id') ?? undefined;
  if (afterNumber !== undefined && updatedSince === undefined) {
    throw new ODataRequestError('after_id is only meaningful together with updated_since');
  }
  const preferred = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer ?? '')?.[1];
  const preferredPageSize = preferred === undefined ? undefined : Math.max(1, Number(preferred));
  return {
    filter: filterText === null ? [] : parseFilter(filterText, fields),
    top: nonNegative(params.get('$top'), '$top'),
    skip: nonNegative(params.get('$skip'), '$skip') ?? 0,
    after: params.has('$skiptoken') ? decodeSkipToken(params.get('$skiptoken') ?? '') : undefined,
    updatedSince,
    afterNumber,
    expand: parseExpand(params.get('$expand'), expandable),
    select: parseSelect(params.get('$select')),
    pageSize: Math.min(preferredPageSize ?? maxPageSize, maxPageSize),
    preferredPageSize: preferredPageSize === undefined ? undefined : Math.min(preferredPageSize, maxPageSize),
  };
}

export function parseExpand(text: string | null, expandable: readonly string[]): string[] {
  if (text === null || text.trim() === '') return [];
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!expandable.includes(name)) {
      throw new ODataRequestError(
        `$expand: "${name}" cannot be expanded here${expandable.length ? `; expandable: ${expandable.join(', ')}` : ''}`,
      );
    }
  }
  return names;
}

function parseSelect(text: string | null): string[] | undefined {
  if (text === null || text.trim() === '') return undefined;
  return text.split(',').map((name) => name.trim());
}

function nonNegative(text: string | null, name: string): number | undefined {
  if (text === null) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new ODataRequestError(`${name} must be a non-negative integer`);
  return Number(text);
}

/** A weak ETag bound to the entity and its row version, opaque like Business Central's. */
export function etagOf(id: string, rowVersion: number): string {
  return `W/"${Buffer.from(`${rowVersion};${id}`).toString('base64')}"`;
}

/**
 * Whether an If-Match header admits the current ETag: `*`, or one of a comma-separated list. The
 * weak prefix is ignored in the comparison, as Business Central does with its own weak ETags.
 */
export function ifMatchAdmits(header: string, current: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(current);
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || opaque(tag) === wanted);
}
