/**
 * What every resource handler shares: the scope of one request (which company, which origin for the
 * links, which navigation properties to expand) and the answers that carry an entity, with their
 * `@odata.context`, ETag and Location.
 */
import type { Reply } from '../targets-sim/common/http.ts';
import { API_ROOT, odataError, ErpErrorCodes, type ErrorDetail } from './odata.ts';

export type EntitySetName = 'customers' | 'salesOrders' | 'salesInvoices';

export interface RequestScope {
  /** `http://host:port` as the client addressed us, for links in answers. */
  origin: string;
  companyId: string;
  /** The company's local currency: the default currency of new customers. */
  companyCurrency: string;
  requestId: string;
  expand: readonly string[];
}

/** An entity as the API shows it, with what paging needs to know about it. */
export interface Shown {
  id: string;
  etag: string;
  json: Record<string, unknown>;
}

export function companyUrl(scope: RequestScope): string {
  return `${scope.origin}${API_ROOT}/companies(${scope.companyId})`;
}

export function entityUrl(scope: RequestScope, set: EntitySetName, id: string): string {
  return `${companyUrl(scope)}/${set}(${id})`;
}

export function contextUrl(scope: RequestScope, path: string): string {
  return `${scope.origin}${API_ROOT}/$metadata#companies(${scope.companyId})/${path}`;
}

/** 200 (or 201 with Location) with one entity, its context and its ETag. */
export function entityReply(status: 200 | 201, scope: RequestScope, set: EntitySetName, shown: Shown): Reply {
  const location = entityUrl(scope, set, shown.id);
  return {
    status,
    headers: {
      'odata-version': '4.0',
      'content-type': 'application/json; odata.metadata=minimal; charset=utf-8',
      etag: shown.etag,
      ...(status === 201 ? { location, 'odata-entityid': location } : {}),
    },
    body: { '@odata.context': contextUrl(scope, `${set}/$entity`), ...shown.json },
  };
}

export function validationReply(scope: RequestScope, entity: string, details: ErrorDetail[]): Reply {
  const summary = details
    .slice(0, 3)
    .map((detail) => detail.message)
    .join('; ');
  const more = details.length > 3 ? ` (and ${details.length - 3} more)` : '';
  return odataError(
    422,
    ErpErrorCodes.VALIDATION,
    `The ${entity} is not valid: ${summary}${more}.`,
    scope.requestId,
    { details },
  );
}

export function notFoundReply(scope: RequestScope, entity: string, key: string): Reply {
  return odataError(
    404,
    ErpErrorCodes.RECORD_NOT_FOUND,
    `The ${entity} does not exist. Identification fields and values: ${key}.`,
    scope.requestId,
  );
}

export function duplicateReply(
  scope: RequestScope,
  entity: string,
  field: string,
  value: string,
  existing: { id: string; number: string },
): Reply {
  return odataError(
    409,
    ErpErrorCodes.DUPLICATE_KEY,
    `The ${entity} already exists. Identification fields and values: ${field}='${value}'; existing ${entity} ${existing.number} (id ${existing.id}).`,
    scope.requestId,
    {
      target: field,
      details: [
        {
          code: 'DuplicateValue',
          target: field,
          message: `${field} '${value}' is already used by ${existing.number}`,
        },
      ],
    },
  );
}

/** 428 when a PATCH has no If-Match, 412 when it names another version; undefined when it may go on. */
export function preconditionReply(
  scope: RequestScope,
  entity: string,
  ifMatch: string | undefined,
  admitted: boolean,
  currentEtag: string,
): Reply | undefined {
  if (ifMatch === undefined) {
    return odataError(
      428,
      ErpErrorCodes.PRECONDITION_REQUIRED,
      `Could not validate the client concurrency token required by the service. Send the ${entity}'s @odata.etag (or *) in an If-Match header.`,
      scope.requestId,
    );
  }
  if (!admitted) {
    return odataError(
      412,
      ErpErrorCodes.ENTITY_CHANGED,
      `Another user has already changed the ${entity}. Read it again for its current @odata.etag.`,
      scope.requestId,
      { headers: { etag: currentEtag } },
    );
  }
  return undefined;
}

/** Half away from zero, on exact integers: quantity (5 decimals) × unit price in minor units. */
export function lineAmount(quantity: number, unitPriceMinor: number): number {
  const scaledQuantity = BigInt(Math.round(quantity * 100_000));
  const product = scaledQuantity * BigInt(unitPriceMinor);
  const negative = product < 0n;
  const magnitude = negative ? -product : product;
  const rounded = (magnitude + 50_000n) / 100_000n;
  return Number(negative ? -rounded : rounded);
}

export function isoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}

export function today(): string {
  return isoDate(new Date());
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDate(date);
}
