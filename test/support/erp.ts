/**
 * A private reference ERP per test file: its own PostgreSQL schema in the configured database
 * (dropped afterwards) and a small client that speaks to it with the bearer token.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startErpServer, type ErpServer, type ErpServerInput } from '../../src/erp/server.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logger.ts';

export const ERP_TOKEN = 'erp-test-token-0123456789';

export interface PrivateErp {
  erp: ErpServer;
  schema: string;
  client: ErpTestClient;
  /** Stops the server and drops its schema. */
  drop(): Promise<void>;
}

export async function startPrivateErp(
  overrides: Partial<Omit<ErpServerInput, 'databaseUrl' | 'schema'>> = {},
): Promise<PrivateErp> {
  const config = loadConfig();
  const schema = `erp_t_${randomBytes(4).toString('hex')}`;
  const erp = await startErpServer({
    databaseUrl: config.databaseUrl,
    schema,
    tokens: [ERP_TOKEN],
    rateLimit: null,
    logger: createLogger({ level: 'warn' }),
    ...overrides,
  });
  return {
    erp,
    schema,
    client: new ErpTestClient(erp.apiUrl, ERP_TOKEN),
    drop: async () => {
      await erp.close();
      await dropSchema(config.databaseUrl, schema);
    },
  };
}

export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface ErpResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  token?: string | null;
}

export class ErpTestClient {
  readonly apiUrl: string;
  private readonly token: string;

  constructor(apiUrl: string, token: string) {
    this.apiUrl = apiUrl;
    this.token = token;
  }

  /** A call to `<apiUrl><path>`; `path` starts with `/` (e.g. `/customers`) or is a full URL. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ErpResponse<T>> {
    const token = options.token === undefined ? this.token : options.token;
    const response = await fetch(path.startsWith('http') ? path : `${this.apiUrl}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : undefined) as T,
    };
  }

  get<T = Record<string, unknown>>(path: string, options?: CallOptions): Promise<ErpResponse<T>> {
    return this.call<T>('GET', path, options);
  }

  post<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<ErpResponse<T>> {
    return this.call<T>('POST', path, { body, headers });
  }

  patch<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<ErpResponse<T>> {
    return this.call<T>('PATCH', path, { body, headers });
  }
}

/** The error body of the API (OData). */
export interface ODataErrorBody {
  error: {
    code: string;
    message: string;
    target?: string;
    details?: { code: string; target: string; message: string }[];
  };
}

export interface ListBody<T = Record<string, unknown>> {
  value: T[];
  '@odata.nextLink'?: string;
}

export function customerInput(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    displayName: `Customer ${n} GmbH`,
    externalId: `golden-${n}-${randomBytes(3).toString('hex')}`,
    country: 'DE',
    currencyCode: 'EUR',
    taxRegistrationNumber: `DE${100_000_000 + n}`,
    creditLimitMinor: 2_500_000,
    ...extra,
  };
}

/** Rows of a table in the ERP's schema, e.g. to count what a test wrote. */
export async function countRows(
  erp: ErpServer,
  table: string,
  where = 'TRUE',
  values: unknown[] = [],
): Promise<number> {
  const result = await erp.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${table} WHERE ${where}`,
    values,
  );
  return Number(result.rows[0]?.n ?? 0);
}
