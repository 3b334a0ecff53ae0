/**
 * The ERP's REST API, in the style of Dynamics 365 Business Central's API v2.0:
 *
 *   GET   /api/v2.0/companies                                   the companies (one: ours)
 *   GET   /api/v2.0/companies({id})/customers                   list (paged, $filter, updated_since)
 *   POST  /api/v2.0/companies({id})/customers                   create → 201 + Location + ETag
 *   GET   /api/v2.0/companies({id})/customers({id})             by id
 *   GET   /api/v2.0/companies({id})/customers(externalId='G1')  by alternate key (externalId, number)
 *   PATCH /api/v2.0/companies({id})/customers({key})            update; If-Match required (428 / 412)
 *   GET   …/customers({key})/customerFinancialDetails            balance, overdue, credit standing
 *   the same for salesOrders and salesInvoices (alternate keys externalDocumentNumber, number; lines
 *   inline with `$expand=salesOrderLines` / `salesInvoiceLines`, or at …({key})/salesOrderLines).
 *
 *   POST  /api/v2.0/$batch                                      up to 100 of the above in one request (batch.ts)
 *
 * Writes (POST, PATCH) honour `Idempotency-Key` (see idempotency.ts). Errors use the OData error
 * body; validation answers 422 with one detail per field.
 */
import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import type { DoubleBehaviour } from '../targets-sim/common/fault-server.ts';
import {
  bearerToken,
  clientIdOf,
  headerValue,
  tokenMatches,
  type InboundRequest,
  type LimitDecision,
  type Reply,
} from '../targets-sim/common/http.ts';
import type { Logger } from '../runtime/logger.ts';
import {
  customerFinancialDetails,
  createCustomer,
  customerList,
  findCustomer,
  patchCustomer,
  showCustomer,
  unknownAlternateKey,
  ALTERNATE_KEYS,
} from './customers.ts';
import { BATCH_PATH, handleBatch } from './batch.ts';
import type { Company } from './database.ts';
import {
  fingerprintOf,
  readIdempotencyKey,
  IDEMPOTENCY_HEADER,
  runIdempotentWrite,
  type IdempotencyClaim,
} from './idempotency.ts';
import { listPage, type ListDefinition } from './lists.ts';
import {
  API_ROOT,
  ErpErrorCodes,
  ODataRequestError,
  odataError,
  parseExpand,
  parseKey,
  parseListQuery,
  parsePath,
  type EntityKey,
  type FieldType,
} from './odata.ts';
import {
  contextUrl,
  entityReply,
  notFoundReply,
  type EntitySetName,
  type RequestScope,
  type Shown,
} from './resources.ts';
import {
  createDocument,
  documentList,
  documentReply,
  DOCUMENT_ALTERNATE_KEYS,
  findDocument,
  INVOICES,
  linesOf,
  ORDERS,
  patchDocument,
  showDocument,
  showLine,
  type DocumentKind,
  type DocumentRow,
} from './sales-documents.ts';

export interface ErpApiOptions {
  pool: pg.Pool;
  company: Company;
  tokens: readonly string[];
  maxPageSize: number;
  logger: Logger;
}

interface SetDefinition {
  list: ListDefinition<object>;
  filterFields: Record<string, FieldType>;
  expandable: string[];
  alternateKeys: readonly string[];
  entity: string;
}

const SETS: Record<EntitySetName, SetDefinition> = {
  customers: setOf(customerList, [], Object.keys(ALTERNATE_KEYS), 'customer'),
  salesOrders: setOf(
    documentList(ORDERS),
    ['salesOrderLines'],
    Object.keys(DOCUMENT_ALTERNATE_KEYS),
    'sales order',
  ),
  salesInvoices: setOf(
    documentList(INVOICES),
    ['salesInvoiceLines'],
    Object.keys(DOCUMENT_ALTERNATE_KEYS),
    'sales invoice',
  ),
};

function setOf(
  list: ListDefinition<object>,
  expandable: string[],
  alternateKeys: string[],
  entity: string,
): SetDefinition {
  const filterFields = Object.fromEntries(
    Object.entries(list.columns).map(([name, column]) => [name, column.type]),
  );
  return { list, filterFields, expandable, alternateKeys, entity };
}

const KINDS: Record<'salesOrders' | 'salesInvoices', DocumentKind> = {
  salesOrders: ORDERS,
  salesInvoices: INVOICES,
};

const NAVIGATION: Record<EntitySetName, string[]> = {
  customers: ['customerFinancialDetails'],
  salesOrders: ['salesOrderLines'],
  salesInvoices: ['salesInvoiceLines'],
};

export class ErpApi implements DoubleBehaviour {
  private readonly options: ErpApiOptions;
  private readonly logger: Logger;

  constructor(options: ErpApiOptions) {
    this.options = options;
    this.logger = options.logger;
  }

  authenticate(request: IncomingMessage, requestId: string): { clientId: string } | Reply {
    const token = bearerToken(headerValue(request.headers, 'authorization'));
    if (token !== undefined && tokenMatches(token, this.options.tokens))
      return { clientId: clientIdOf(token) };
    return odataError(
      401,
      ErpErrorCodes.UNAUTHORIZED,
      'The server has rejected the client credentials.',
      requestId,
      {
        headers: {
          'www-authenticate':
            token === undefined
              ? 'Bearer realm="syncline-erp"'
              : 'Bearer realm="syncline-erp", error="invalid_token"',
        },
      },
    );
  }

  limited(decision: LimitDecision, requestId: string): Reply {
    return odataError(
      429,
      ErpErrorCodes.TOO_MANY_REQUESTS,
      `The request limit of ${decision.limit} requests per window was reached. Retry after ${decision.retryAfterSeconds} seconds.`,
      requestId,
      { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
    );
  }

  failure(status: number, retryAfterSeconds: number | undefined, requestId: string): Reply {
    const code = status === 500 ? ErpErrorCodes.SERVER_ERROR : ErpErrorCodes.SERVICE_UNAVAILABLE;
    const message =
      status === 500
        ? 'An unexpected error occurred on the server.'
        : 'The service is temporarily unavailable.';
    return odataError(status, code, message, requestId, {
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    });
  }

  error(status: 413 | 500, message: string, requestId: string): Reply {
    return odataError(
      status,
      status === 413 ? ErpErrorCodes.ENTITY_TOO_LARGE : ErpErrorCodes.SERVER_ERROR,
      message,
      requestId,
    );
  }

  async handle(request: InboundRequest): Promise<Reply> {
    if (request.url.pathname === BATCH_PATH) {
      return handleBatch(request, (operation) => this.handle(operation));
    }
    try {
      return await this.route(request);
    } catch (error) {
      if (error instanceof ODataRequestError)
        return odataError(error.status, error.code, error.message, request.requestId);
      const code = (error as { code?: unknown }).code;
      if (code === '23505') {
        return odataError(409, ErpErrorCodes.DUPLICATE_KEY, 'The record already exists.', request.requestId);
      }
      if (code === '40P01' || code === '40001' || isConnectionError(error)) {
        this.logger.warn({ err: error, requestId: request.requestId }, 'database busy or unreachable');
        return odataError(
          503,
          ErpErrorCodes.SERVICE_UNAVAILABLE,
          'The service is temporarily unavailable.',
          request.requestId,
          {
            headers: { 'retry-after': '1' },
          },
        );
      }
      throw error;
    }
  }

  private async route(request: InboundRequest): Promise<Reply> {
    const segments = parsePath(request.url.pathname);
    const requestId = request.requestId;
    if (!segments)
      return odataError(
        404,
        ErpErrorCodes.RESOURCE_NOT_FOUND,
        `No resource at ${request.url.pathname}.`,
        requestId,
      );
    const origin = `http://${headerValue(request.headers, 'host') ?? '127.0.0.1'}`;
    const [companySegment, setSegment, navigationSegment, extra] = segments;

    if (!companySegment) {
      if (request.method !== 'GET') return methodNotAllowed(requestId, 'GET');
      return {
        status: 200,
        headers: { 'odata-version': '4.0' },
        body: {
          '@odata.context': `${origin}${API_ROOT}/$metadata`,
          value: [{ name: 'companies', kind: 'EntitySet', url: 'companies' }],
        },
      };
    }
    if (companySegment.name !== 'companies' || extra) {
      return odataError(
        404,
        ErpErrorCodes.RESOURCE_NOT_FOUND,
        `No resource at ${request.url.pathname}.`,
        requestId,
      );
    }
    const company = this.options.company;
    if (companySegment.key === undefined) {
      if (setSegment)
        return odataError(
          404,
          ErpErrorCodes.RESOURCE_NOT_FOUND,
          'Address a company by its id: companies({id}).',
          requestId,
        );
      if (request.method !== 'GET') return methodNotAllowed(requestId, 'GET');
      return {
        status: 200,
        headers: { 'odata-version': '4.0' },
        body: { '@odata.context': `${origin}${API_ROOT}/$metadata#companies`, value: [companyJson(company)] },
      };
    }
    const companyKey = parseKey(companySegment.key);
    if (!companyKey || companyKey.kind !== 'id' || companyKey.id !== company.id) {
      return odataError(
        404,
        ErpErrorCodes.RECORD_NOT_FOUND,
        `The company ${companySegment.key} does not exist.`,
        requestId,
      );
    }
    if (!setSegment) {
      if (request.method !== 'GET') return methodNotAllowed(requestId, 'GET');
      return {
        status: 200,
        headers: { 'odata-version': '4.0' },
        body: {
          '@odata.context': `${origin}${API_ROOT}/$metadata#companies/$entity`,
          ...companyJson(company),
        },
      };
    }
    const set = setSegment.name as EntitySetName;
    const definition = SETS[set] as SetDefinition | undefined;
    if (!definition)
      return odataError(
        404,
        ErpErrorCodes.RESOURCE_NOT_FOUND,
        `No entity set named ${setSegment.name}.`,
        requestId,
      );

    const scope: RequestScope = {
      origin,
      companyId: company.id,
      companyCurrency: company.currencyCode,
      requestId,
      expand: parseExpand(request.url.searchParams.get('$expand'), definition.expandable),
    };

    if (setSegment.key === undefined) {
      if (navigationSegment)
        return odataError(
          404,
          ErpErrorCodes.RESOURCE_NOT_FOUND,
          `No resource at ${request.url.pathname}.`,
          requestId,
        );
      if (request.method === 'GET') return this.list(request, scope, set, definition);
      if (request.method === 'POST')
        return this.write(request, (client, body) => this.create(client, scope, set, body));
      return methodNotAllowed(requestId, 'GET, POST');
    }

    const key = parseKey(setSegment.key);
    if (!key) {
      return odataError(
        400,
        ErpErrorCodes.BAD_REQUEST,
        `"${setSegment.key}" is not a key: use the id (a GUID) or name='value'.`,
        requestId,
      );
    }
    if (key.kind === 'alternate' && !definition.alternateKeys.includes(key.name)) {
      return unknownAlternateKey(scope, key.name, definition.alternateKeys);
    }
    if (navigationSegment) {
      if (!NAVIGATION[set].includes(navigationSegment.name) || navigationSegment.key !== undefined) {
        return odataError(
          404,
          ErpErrorCodes.RESOURCE_NOT_FOUND,
          `No navigation property ${navigationSegment.name} on ${set}.`,
          requestId,
        );
      }
      if (request.method !== 'GET') return methodNotAllowed(requestId, 'GET');
      return this.navigate(scope, set, key, setSegment.key, navigationSegment.name);
    }
    if (request.method === 'GET') return this.get(scope, set, key, setSegment.key);
    if (request.method === 'PATCH') {
      const ifMatch = headerValue(request.headers, 'if-match');
      return this.write(request, (client, body) =>
        this.patch(client, scope, set, key, setSegment.key ?? '', ifMatch, body),
      );
    }
    return methodNotAllowed(requestId, 'GET, PATCH');
  }

  private async list(
    request: InboundRequest,
    scope: RequestScope,
    set: EntitySetName,
    definition: SetDefinition,
  ): Promise<Reply> {
    const query = parseListQuery(
      request.url,
      definition.filterFields,
      definition.expandable,
      this.options.maxPageSize,
      headerValue(request.headers, 'prefer'),
    );
    const pool = this.options.pool;
    const page = await listPage(pool, definition.list, scope.companyId, query, request.url.searchParams);
    let shown: Shown[];
    if (set === 'customers') {
      shown = (page.rows as Parameters<typeof showCustomer>[0][]).map(showCustomer);
    } else {
      const kind = KINDS[set];
      const rows = page.rows as DocumentRow[];
      const lines =
        query.expand.length > 0
          ? await linesOf(
              pool,
              kind,
              rows.map((row) => row.id),
            )
          : undefined;
      shown = rows.map((row) => showDocument(kind, row, lines?.get(row.id)));
    }
    const value = shown.map((entity) => select(entity.json, query.select));
    const nextLink = page.next ? `${scope.origin}${request.url.pathname}?${page.next.toString()}` : undefined;
    return {
      status: 200,
      headers: {
        'odata-version': '4.0',
        'content-type': 'application/json; odata.metadata=minimal; charset=utf-8',
        ...(query.preferredPageSize === undefined
          ? {}
          : { 'preference-applied': `odata.maxpagesize=${query.preferredPageSize}` }),
      },
      body: {
        '@odata.context': contextUrl(scope, set),
        value,
        ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
      },
    };
  }

  private async get(
    scope: RequestScope,
    set: EntitySetName,
    key: EntityKey,
    keyText: string,
  ): Promise<Reply> {
    const pool = this.options.pool;
    if (set === 'customers') {
      const row = await findCustomer(pool, scope.companyId, key);
      return row
        ? entityReply(200, scope, set, showCustomer(row))
        : notFoundReply(scope, 'customer', keyText);
    }
    const kind = KINDS[set];
    const row = await findDocument(pool, kind, scope.companyId, key);
    return row ? documentReply(pool, kind, scope, 200, row.id) : notFoundReply(scope, kind.entity, keyText);
  }

  private async navigate(
    scope: RequestScope,
    set: EntitySetName,
    key: EntityKey,
    keyText: string,
    navigation: string,
  ): Promise<Reply> {
    const pool = this.options.pool;
    if (set === 'customers') {
      const row = await findCustomer(pool, scope.companyId, key);
      return row ? customerFinancialDetails(pool, scope, row) : notFoundReply(scope, 'customer', keyText);
    }
    const kind = KINDS[set];
    const row = await findDocument(pool, kind, scope.companyId, key);
    if (!row) return notFoundReply(scope, kind.entity, keyText);
    const lines = (await linesOf(pool, kind, [row.id])).get(row.id) ?? [];
    return {
      status: 200,
      headers: { 'odata-version': '4.0' },
      body: {
        '@odata.context': contextUrl(scope, `${set}(${row.id})/${navigation}`),
        value: lines.map(showLine),
      },
    };
  }

  private create(
    client: pg.PoolClient,
    scope: RequestScope,
    set: EntitySetName,
    body: Record<string, unknown>,
  ): Promise<Reply> {
    return set === 'customers'
      ? createCustomer(client, scope, body)
      : createDocument(client, KINDS[set], scope, body);
  }

  private patch(
    client: pg.PoolClient,
    scope: RequestScope,
    set: EntitySetName,
    key: EntityKey,
    keyText: string,
    ifMatch: string | undefined,
    body: Record<string, unknown>,
  ): Promise<Reply> {
    return set === 'customers'
      ? patchCustomer(client, scope, key, keyText, ifMatch, body)
      : patchDocument(client, KINDS[set], scope, key, keyText, ifMatch, body);
  }

  /** A POST or PATCH: JSON body, optional Idempotency-Key, one transaction. */
  private async write(
    request: InboundRequest,
    run: (client: pg.PoolClient, body: Record<string, unknown>) => Promise<Reply>,
  ): Promise<Reply> {
    const requestId = request.requestId;
    const contentType = headerValue(request.headers, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return odataError(
        415,
        ErpErrorCodes.UNSUPPORTED_MEDIA_TYPE,
        'The request body must be JSON (Content-Type: application/json).',
        requestId,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return odataError(400, ErpErrorCodes.INVALID_BODY, 'The request body is not valid JSON.', requestId);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return odataError(
        400,
        ErpErrorCodes.INVALID_BODY,
        'The request body must be a JSON object.',
        requestId,
      );
    }
    const header = readIdempotencyKey(request.headers[IDEMPOTENCY_HEADER]);
    if (header.kind === 'invalid') {
      return odataError(
        400,
        ErpErrorCodes.IDEMPOTENCY_KEY_INVALID,
        'The Idempotency-Key must be 1 to 255 printable ASCII characters.',
        requestId,
      );
    }
    const key = header.kind === 'key' ? header.key : undefined;
    const pathWithQuery = `${request.url.pathname}${request.url.search}`;
    const claim: IdempotencyClaim | undefined =
      key === undefined
        ? undefined
        : {
            clientId: request.clientId,
            key,
            fingerprint: fingerprintOf(request.method, pathWithQuery, body),
            method: request.method,
            path: pathWithQuery,
          };
    const outcome = await runIdempotentWrite(this.options.pool, claim, (client) =>
      run(client, body as Record<string, unknown>),
    );
    const echo: Record<string, string> = key === undefined ? {} : { 'idempotency-key': key };
    switch (outcome.kind) {
      case 'done':
        return { ...outcome.reply, headers: { ...outcome.reply.headers, ...echo } };
      case 'replay':
        this.logger.debug({ requestId, clientId: request.clientId }, 'idempotent replay');
        return { ...outcome.reply, headers: { ...outcome.reply.headers, ...echo, 'request-id': requestId } };
      case 'mismatch':
        return odataError(
          422,
          ErpErrorCodes.IDEMPOTENCY_KEY_REUSED,
          `The Idempotency-Key was already used for a different request (${outcome.original.method} ${outcome.original.path}); use a new key for a new request.`,
          requestId,
          { headers: echo },
        );
      case 'in-progress':
        return odataError(
          409,
          ErpErrorCodes.IDEMPOTENCY_KEY_REUSED,
          'A request with this Idempotency-Key was just rolled back; retry it.',
          requestId,
          {
            headers: { ...echo, 'retry-after': '1' },
          },
        );
    }
  }
}

function companyJson(company: Company): Record<string, unknown> {
  return {
    id: company.id,
    systemVersion: '1',
    name: company.name,
    displayName: company.displayName,
    businessProfileId: '',
    currencyCode: company.currencyCode,
    systemCreatedAt: company.createdAt.toISOString(),
  };
}

function methodNotAllowed(requestId: string, allow: string): Reply {
  return odataError(
    405,
    ErpErrorCodes.METHOD_NOT_ALLOWED,
    `The method is not allowed here; allowed: ${allow}.`,
    requestId,
    {
      headers: { allow },
    },
  );
}

function select(json: Record<string, unknown>, names: string[] | undefined): Record<string, unknown> {
  if (!names) return json;
  const picked: Record<string, unknown> = { '@odata.etag': json['@odata.etag'], id: json.id };
  for (const name of names) if (name in json) picked[name] = json[name];
  return picked;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || code === '57P01' || code === 'ECONNREFUSED' || code === 'ECONNRESET')
  )
    return true;
  return (
    error instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
  );
}
