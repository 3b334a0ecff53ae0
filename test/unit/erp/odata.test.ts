/**
 * The OData conventions of the reference ERP: paths with keys (quotes may hold `/` and `)`), alternate
 * keys, the `$filter` subset and its refusals, paging tokens, ETags with If-Match, and request
 * fingerprints for Idempotency-Key.
 */
import { describe, expect, it } from 'vitest';
import { fingerprintOf, readIdempotencyKey } from '../../../src/erp/idempotency.ts';
import {
  decodeSkipToken,
  encodeSkipToken,
  etagOf,
  ifMatchAdmits,
  ODataRequestError,
  parseFilter,
  parseKey,
  parseListQuery,
  parsePath,
  quoteKey,
} from '../../../src/erp/odata.ts';

const COMPANY = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';

describe('paths and keys', () => {
  it('splits a path into segments with their keys', () => {
    expect(parsePath(`/api/v2.0/companies(${COMPANY})/customers`)).toEqual([
      { name: 'companies', key: COMPANY },
      { name: 'customers' },
    ]);
    expect(
      parsePath(`/api/v2.0/companies(${COMPANY})/salesOrders(number='SO000001')/salesOrderLines`),
    ).toEqual([
      { name: 'companies', key: COMPANY },
      { name: 'salesOrders', key: "number='SO000001'" },
      { name: 'salesOrderLines' },
    ]);
  });

  it("keeps '/' and ')' inside quoted keys, and doubled quotes, and decodes percent-escapes", () => {
    const path = `/api/v2.0/companies(${COMPANY})/customers(externalId='a/b)c''d')`;
    const segments = parsePath(encodeURI(path));

    expect(segments?.[1]).toEqual({ name: 'customers', key: "externalId='a/b)c''d'" });
    expect(parseKey(segments?.[1]?.key ?? '')).toEqual({
      kind: 'alternate',
      name: 'externalId',
      value: "a/b)c'd",
    });
    expect(quoteKey("c'd")).toBe("'c''d'");
  });

  it('refuses paths outside the API root and malformed ones', () => {
    expect(parsePath('/api/v1/customers')).toBeUndefined();
    expect(parsePath(`/api/v2.0/companies(${COMPANY}`)).toBeUndefined();
    expect(parsePath('/api/v2.0/companies//customers')).toBeUndefined();
    expect(parsePath('/api/v2.0/companies/')).toBeUndefined();
  });

  it('reads ids in lower case and refuses keys that are neither a GUID nor name=value', () => {
    expect(parseKey(COMPANY.toUpperCase())).toEqual({ kind: 'id', id: COMPANY });
    expect(parseKey('10000')).toBeUndefined();
    expect(parseKey('externalId=unquoted')).toBeUndefined();
  });
});

describe('$filter', () => {
  const fields = {
    number: 'string',
    customerId: 'guid',
    lastModifiedDateTime: 'datetime',
    orderDate: 'date',
  } as const;

  it('reads comparisons joined by and, with typed literals', () => {
    expect(
      parseFilter(
        `number eq 'O''Brien' and customerId eq ${COMPANY} and lastModifiedDateTime ge 2024-01-31T12:00:00.5Z and orderDate lt 2024-02-01`,
        fields,
      ),
    ).toEqual([
      { field: 'number', op: 'eq', value: "O'Brien" },
      { field: 'customerId', op: 'eq', value: COMPANY },
      { field: 'lastModifiedDateTime', op: 'ge', value: '2024-01-31T12:00:00.5Z' },
      { field: 'orderDate', op: 'lt', value: '2024-02-01' },
    ]);
    expect(parseFilter('number eq null', fields)).toEqual([{ field: 'number', op: 'eq', value: null }]);
  });

  it('refuses what it does not support, saying what is supported', () => {
    const refused = (text: string) => {
      try {
        parseFilter(text, fields);
        return 'accepted';
      } catch (error) {
        return error instanceof ODataRequestError ? error.message : 'other error';
      }
    };

    expect(refused("displayName eq 'x'")).toContain('supported properties: number, customerId');
    expect(refused("number eq 'a' or number eq 'b'")).toContain('only comparisons joined by "and"');
    expect(refused("startswith(number,'C')")).toContain('parentheses');
    expect(refused('number eq C1')).toContain('quote the value');
    expect(refused('lastModifiedDateTime gt 2024-01-31')).toContain('date-time');
    expect(refused("number like 'C%'")).toContain('operator');
    expect(refused("number eq 'open")).toContain('unterminated');
    expect(refused('number gt null')).toContain('null');
  });
});

describe('list query options', () => {
  const fields = { number: 'string', lastModifiedDateTime: 'datetime' } as const;
  const query = (search: string, prefer?: string) =>
    parseListQuery(new URL(`http://erp${search}`), fields, ['salesOrderLines'], 1000, prefer);

  it('takes the page size from Prefer: odata.maxpagesize, capped by the server maximum', () => {
    expect(query('/x').pageSize).toBe(1000);
    expect(query('/x', 'odata.maxpagesize=50').pageSize).toBe(50);
    expect(query('/x', 'odata.maxpagesize=5000')).toMatchObject({ pageSize: 1000, preferredPageSize: 1000 });
  });

  it('reads the polling options and refuses after_id without updated_since', () => {
    expect(query('/x?updated_since=2024-01-31T12:00:00.000Z&after_id=C000007')).toMatchObject({
      updatedSince: new Date('2024-01-31T12:00:00.000Z'),
      afterNumber: 'C000007',
    });
    expect(() => query('/x?after_id=C1')).toThrow(ODataRequestError);
    expect(() => query('/x?updated_since=yesterday')).toThrow(ODataRequestError);
  });

  it('refuses unknown system options, other orders and unexpandable properties', () => {
    expect(() => query('/x?$count=true')).toThrow(/\$count/);
    expect(() => query('/x?$orderby=displayName')).toThrow(ODataRequestError);
    expect(() => query('/x?$expand=customer')).toThrow(/expandable: salesOrderLines/);
    expect(query('/x?$orderby=lastModifiedDateTime asc&$expand=salesOrderLines').expand).toEqual([
      'salesOrderLines',
    ]);
  });

  it('round-trips a skip token and refuses one it did not hand out', () => {
    const cursor = { stamp: new Date('2024-01-31T12:00:00.123Z'), number: 'C000042' };

    expect(decodeSkipToken(encodeSkipToken(cursor))).toEqual(cursor);
    expect(() => decodeSkipToken('garbage')).toThrow(ODataRequestError);
  });
});

describe('ETags and If-Match', () => {
  it('changes the ETag with the version and admits the current one, weak or not, in a list, or *', () => {
    const current = etagOf(COMPANY, 2);

    expect(etagOf(COMPANY, 1)).not.toBe(current);
    expect(current).toMatch(/^W\/"/);
    expect(ifMatchAdmits(current, current)).toBe(true);
    expect(ifMatchAdmits(current.slice(2), current)).toBe(true);
    expect(ifMatchAdmits(`${etagOf(COMPANY, 1)}, ${current}`, current)).toBe(true);
    expect(ifMatchAdmits('*', current)).toBe(true);
    expect(ifMatchAdmits(etagOf(COMPANY, 1), current)).toBe(false);
  });
});

describe('idempotency keys', () => {
  it('fingerprints method, path and body, ignoring the order of object keys', () => {
    const a = fingerprintOf('POST', '/customers', { b: 1, a: { d: [1, 2], c: null } });

    expect(fingerprintOf('post', '/customers', { a: { c: null, d: [1, 2] }, b: 1 })).toBe(a);
    expect(fingerprintOf('POST', '/customers', { b: 1, a: { d: [2, 1], c: null } })).not.toBe(a);
    expect(fingerprintOf('PATCH', '/customers', { b: 1, a: { d: [1, 2], c: null } })).not.toBe(a);
    expect(fingerprintOf('POST', '/salesOrders', { b: 1, a: { d: [1, 2], c: null } })).not.toBe(a);
  });

  it('takes 1 to 255 printable characters as a key', () => {
    expect(readIdempotencyKey(undefined)).toEqual({ kind: 'none' });
    expect(readIdempotencyKey('stripe:evt_123')).toEqual({ kind: 'key', key: 'stripe:evt_123' });
    expect(readIdempotencyKey('').kind).toBe('invalid');
    expect(readIdempotencyKey('k'.repeat(256)).kind).toBe('invalid');
    expect(readIdempotencyKey('tab\tinside').kind).toBe('invalid');
  });
});
