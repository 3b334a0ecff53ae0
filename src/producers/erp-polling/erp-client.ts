/**
 * HTTP client of the ERP customer-master API: one call, one page of changes after a cursor. Errors
 * come back classified: 429 is retriable after the server's Retry-After, 5xx and network failures
 * are retriable, other 4xx and malformed pages are permanent (retrying the same request cannot fix
 * them; an operator must).
 *
 * Two API shapes are understood, told apart by the base URL:
 * - a plain REST customer master (`.../api/v1`, see erp-sandbox.ts): `{ data, page: { hasMore } }`;
 * - an OData v4 API in the style of Microsoft Dynamics 365 Business Central
 *   (`.../api/v2.0/companies(<id>)`): `{ value, @odata.nextLink }`, page size asked for with
 *   `Prefer: odata.maxpagesize`, customers with Business Central's field names, which are mapped
 *   onto the customer master's.
 * Both take the polling cursor as `updated_since` and `after_id` (the customer number).
 */
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { fieldProblems, describeProblems } from '../validation.ts';
import { ErpCustomerPage, type ErpCustomer, type PollCursor } from './erp-customer.ts';
import { z } from 'zod';

export interface ErpClientOptions {
  /** Base URL of the API, e.g. `https://erp.example.com/api/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  requestTimeoutMs?: number;
}

/** The company of an OData base URL (`.../companies(<id>)`), or undefined for the REST shape. */
export function odataCompanyOf(baseUrl: string): string | undefined {
  const match = /\/companies\(([^)]+)\)\/?$/.exec(new URL(baseUrl).pathname);
  return match ? decodeURIComponent(match[1]!).replace(/^'|'$/g, '') : undefined;
}

export class ErpClient {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly odataCompany: string | undefined;

  constructor(options: ErpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.odataCompany = odataCompanyOf(this.baseUrl);
  }

  private odataPage(
    body: unknown,
    limit: number,
    context: { connector: string; target: string },
  ): ErpCustomerPage {
    const page = ODataPage.safeParse(body);
    if (!page.success) {
      throw SynclineError.permanent(
        ErrorCodes.INPUT_INVALID,
        `ERP API page is not of the expected OData shape: ${describeProblems(fieldProblems(page.error))}`,
        context,
      );
    }
    const company = this.odataCompany!;
    return {
      data: page.data.value.map((customer) => fromBusinessCentral(customer, company)),
      page: { limit, hasMore: page.data['@odata.nextLink'] !== undefined },
    };
  }

  /** The changes strictly after `cursor` (all customers from the start when there is none). */
  async customersChangedAfter(cursor: PollCursor | undefined, limit: number): Promise<ErpCustomerPage> {
    const url = new URL(`${this.baseUrl}/customers`);
    if (!this.odataCompany) url.searchParams.set('limit', String(limit));
    if (cursor) {
      url.searchParams.set('updated_since', cursor.updatedSince);
      url.searchParams.set('after_id', cursor.afterId);
    }
    const context = { connector: 'erp', target: url.origin };
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(this.odataCompany ? { prefer: `odata.maxpagesize=${limit}` } : {}),
        },
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      throw SynclineError.retriable(
        ErrorCodes.TARGET_UNAVAILABLE,
        `ERP API unreachable: ${describe(error)}`,
        context,
        error,
      );
    }
    if (response.status === 429) {
      await response.body?.cancel();
      throw new SynclineError(ErrorCodes.TARGET_RATE_LIMITED, 'ERP API rate limit reached (429)', {
        retriable: true,
        context,
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      });
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new SynclineError(ErrorCodes.TARGET_UNAVAILABLE, `ERP API answered ${response.status}`, {
        retriable: true,
        context,
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      });
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
      throw SynclineError.permanent(
        ErrorCodes.TARGET_REJECTED,
        `ERP API answered ${response.status}: ${text}`,
        context,
      );
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw SynclineError.permanent(
        ErrorCodes.INPUT_INVALID,
        'ERP API answered with a body that is not JSON',
        context,
        error,
      );
    }
    if (this.odataCompany) return this.odataPage(body, limit, context);
    const page = ErpCustomerPage.safeParse(body);
    if (!page.success) {
      throw SynclineError.permanent(
        ErrorCodes.INPUT_INVALID,
        `ERP API page is not of the expected shape: ${describeProblems(fieldProblems(page.error))}`,
        context,
      );
    }
    return page.data;
  }
}

/** A customer as Business Central's API v2.0 shows it: the fields the poller needs checked. */
const BusinessCentralCustomer = z.looseObject({
  number: z.string().min(1).max(64),
  lastModifiedDateTime: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' }),
  rowVersion: z.number().int().positive(),
});

const ODataPage = z.looseObject({
  value: z.array(BusinessCentralCustomer),
  '@odata.nextLink': z.string().optional(),
});

/** Business Central's empty string for "not set" as null. */
function blankToNull(value: unknown): unknown {
  return value === '' || value === undefined ? null : value;
}

/** A Business Central customer as a customer master record (see raw.erp.customer). */
export function fromBusinessCentral(
  customer: Record<string, unknown> & { number: string; lastModifiedDateTime: string; rowVersion: number },
  companyCode: string,
): ErpCustomer {
  const tax = blankToNull(customer.taxRegistrationNumber);
  const isVat = typeof tax === 'string' && /^[A-Z]{2}/.test(tax);
  const blocked = typeof customer.blocked === 'string' ? customer.blocked.trim() : '';
  return {
    customerNumber: customer.number,
    companyCode,
    updatedAt: customer.lastModifiedDateTime,
    rowVersion: customer.rowVersion,
    erpId: customer.id,
    name: customer.displayName,
    name2: null,
    legalForm: null,
    vatId: isVat ? tax : null,
    taxNumber: isVat ? null : tax,
    address: {
      line1: blankToNull(customer.addressLine1),
      line2: blankToNull(customer.addressLine2),
      city: blankToNull(customer.city),
      region: blankToNull(customer.state),
      postalCode: blankToNull(customer.postalCode),
      countryCode: blankToNull(customer.country),
    },
    email: blankToNull(customer.email),
    phone: blankToNull(customer.phoneNumber),
    currency: customer.currencyCode,
    paymentTermsCode: null,
    creditLimitMinor: customer.creditLimitMinor ?? null,
    creditExposureMinor: null,
    creditStatus: customer.creditStatus,
    creditStatusChangedAt: null,
    salesBlocked: blocked !== '',
    blockReason: blocked === '' ? null : blocked,
    accountGroup: blankToNull(customer.type),
    deleted: false,
  };
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
