/**
 * A small ERP customer-master API for the demo and the tests, shaped like the REST APIs of the ERPs
 * integration teams meet (bearer token, cursor paging by change time, 429 with Retry-After under
 * load): the thing the polling connector is written against.
 *
 *   GET /api/v1/customers?updated_since=<ISO 8601>&after_id=<customer number>&limit=<1..500>
 *     → { "data": [customer...], "page": { "limit": n, "hasMore": bool, "nextCursor": {...} | null } }
 *     Customers changed strictly after (updated_since, after_id), ordered by (updatedAt, customerNumber).
 *   GET /api/v1/customers/<customer number> → customer, or 404
 *
 * Changes made in one call of {@link ErpSandbox.update} share one timestamp, as a mass update in a
 * real ERP does: that is what the id tie-breaker of the cursor is for. Faults (5xx, 429) can be
 * injected for the next requests.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreditStatus } from './erp-customer.ts';

/** A customer master record as the API returns it. */
export interface ErpCustomerRecord {
  customerNumber: string;
  companyCode: string;
  name: string;
  name2: string | null;
  legalForm: string | null;
  taxNumber: string | null;
  vatId: string | null;
  address: {
    line1: string | null;
    line2: string | null;
    city: string | null;
    region: string | null;
    postalCode: string | null;
    countryCode: string | null;
  };
  email: string | null;
  phone: string | null;
  currency: string;
  paymentTermsCode: string | null;
  /** Decimal strings in major units, as ERPs hand out amounts. */
  creditLimit: string | null;
  creditExposure: string | null;
  creditStatus: CreditStatus;
  creditStatusChangedAt: string | null;
  salesBlocked: boolean;
  blockReason: string | null;
  accountGroup: string | null;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
  rowVersion: number;
}

/** What a change to a customer sets; the sandbox keeps versions and change times itself. */
export type ErpCustomerInput = Partial<
  Omit<ErpCustomerRecord, 'rowVersion' | 'createdAt' | 'updatedAt' | 'creditStatusChangedAt'>
> & {
  customerNumber: string;
};

export interface ErpSandboxOptions {
  /** The company code (legal entity) of the customers. Default `1000`. */
  companyCode?: string;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest page the API hands out. */
  maxLimit?: number;
  /** The clock; tests may pin it. */
  now?: () => number;
}

interface InjectedFault {
  status: number;
  retryAfterSeconds?: number;
}

export class ErpSandbox {
  private readonly customers = new Map<string, ErpCustomerRecord>();
  private readonly companyCode: string;
  private readonly token: string | undefined;
  private readonly maxLimit: number;
  private readonly now: () => number;
  private readonly faults: InjectedFault[] = [];
  private lastStamp = 0;
  private server: Server | undefined;
  /** Every request the API answered, for assertions: status and query. */
  readonly requests: { status: number; query: string }[] = [];

  constructor(options: ErpSandboxOptions = {}) {
    this.token = options.token;
    this.companyCode = options.companyCode ?? '1000';
    this.maxLimit = options.maxLimit ?? 500;
    this.now = options.now ?? Date.now;
  }

  /**
   * Creates or changes customers in one transaction: they share one change time. A new customer
   * needs at least a name and a currency.
   */
  update(changes: readonly ErpCustomerInput[]): ErpCustomerRecord[] {
    const stamp = this.stamp();
    return changes.map((change) => {
      const before = this.customers.get(change.customerNumber);
      if (!before && (!change.name || !change.currency)) {
        throw new Error(
          `customer ${change.customerNumber} does not exist; a new one needs a name and a currency`,
        );
      }
      const base: ErpCustomerRecord = before ?? {
        customerNumber: change.customerNumber,
        companyCode: this.companyCode,
        name: '',
        name2: null,
        legalForm: null,
        taxNumber: null,
        vatId: null,
        address: { line1: null, line2: null, city: null, region: null, postalCode: null, countryCode: null },
        email: null,
        phone: null,
        currency: '',
        paymentTermsCode: null,
        creditLimit: null,
        creditExposure: null,
        creditStatus: 'CLEAR',
        creditStatusChangedAt: null,
        salesBlocked: false,
        blockReason: null,
        accountGroup: 'SOLD_TO',
        deleted: false,
        createdAt: stamp,
        updatedAt: stamp,
        rowVersion: 0,
      };
      const next: ErpCustomerRecord = {
        ...base,
        ...change,
        rowVersion: base.rowVersion + 1,
        updatedAt: stamp,
      };
      if (!before || next.creditStatus !== before.creditStatus) next.creditStatusChangedAt = stamp;
      if (change.salesBlocked === undefined)
        next.salesBlocked = next.creditStatus === 'BLOCKED' || (before?.salesBlocked ?? false);
      this.customers.set(next.customerNumber, next);
      return next;
    });
  }

  get(customerNumber: string): ErpCustomerRecord | undefined {
    return this.customers.get(customerNumber);
  }

  all(): ErpCustomerRecord[] {
    return [...this.customers.values()].sort(byChange);
  }

  /** The next `count` requests fail with `status` (503 by default). */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i += 1) this.faults.push({ status });
  }

  /** The next `count` requests are throttled: 429 with Retry-After. */
  throttleNext(count: number, retryAfterSeconds = 1): void {
    for (let i = 0; i < count; i += 1) this.faults.push({ status: 429, retryAfterSeconds });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}/api/v1`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A change time strictly after the previous one (or equal within one update call). */
  private stamp(): string {
    const now = Math.max(this.now(), this.lastStamp + 1);
    this.lastStamp = now;
    return new Date(now).toISOString();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://erp.invalid');
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ status, query: url.search });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (this.token && !bearerMatches(req.headers.authorization, this.token)) {
      answer(
        401,
        { error: { code: 'unauthorized', message: 'missing or invalid bearer token' } },
        { 'www-authenticate': 'Bearer' },
      );
      return;
    }
    const fault = this.faults.shift();
    if (fault) {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      answer(
        fault.status,
        { error: { code: fault.status === 429 ? 'rate_limited' : 'unavailable', message: 'injected fault' } },
        headers,
      );
      return;
    }
    if (req.method !== 'GET') {
      answer(405, { error: { code: 'method_not_allowed', message: 'read-only API' } }, { allow: 'GET' });
      return;
    }
    const single = /^\/api\/v1\/customers\/([^/]+)$/.exec(url.pathname);
    if (single) {
      const customer = this.customers.get(decodeURIComponent(single[1]!));
      if (customer) answer(200, customer);
      else answer(404, { error: { code: 'not_found', message: 'no such customer' } });
      return;
    }
    if (url.pathname !== '/api/v1/customers') {
      answer(404, { error: { code: 'not_found', message: `no resource at ${url.pathname}` } });
      return;
    }
    const limitText = url.searchParams.get('limit') ?? '100';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > this.maxLimit) {
      answer(400, { error: { code: 'invalid_parameter', message: `limit must be 1..${this.maxLimit}` } });
      return;
    }
    const since = url.searchParams.get('updated_since');
    const afterId = url.searchParams.get('after_id') ?? '';
    const sinceMs = since === null ? Number.NEGATIVE_INFINITY : Date.parse(since);
    if (Number.isNaN(sinceMs)) {
      answer(400, {
        error: { code: 'invalid_parameter', message: 'updated_since must be an ISO 8601 timestamp' },
      });
      return;
    }
    const after = [...this.customers.values()]
      .filter((customer) => {
        const changed = Date.parse(customer.updatedAt);
        return changed > sinceMs || (changed === sinceMs && customer.customerNumber > afterId);
      })
      .sort(byChange);
    const data = after.slice(0, limit);
    const last = data.at(-1);
    answer(200, {
      data,
      page: {
        limit,
        hasMore: after.length > limit,
        nextCursor:
          last && after.length > limit
            ? { updatedSince: last.updatedAt, afterId: last.customerNumber }
            : null,
      },
    });
  }
}

function byChange(a: ErpCustomerRecord, b: ErpCustomerRecord): number {
  const byTime = Date.parse(a.updatedAt) - Date.parse(b.updatedAt);
  if (byTime !== 0) return byTime;
  return a.customerNumber < b.customerNumber ? -1 : a.customerNumber > b.customerNumber ? 1 : 0;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const provided = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return provided.length === expected.length && timingSafeEqual(provided, expected);
}
