/**
 * Lists of the reference ERP page without gaps: following `@odata.nextLink` returns every entity once,
 * and a poller that pages with `updated_since` + `after_id` while writers create and update customers
 * concurrently sees every customer and every customer's final version, because writes commit in the
 * order of their change times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  customerInput,
  startPrivateErp,
  type ListBody,
  type ODataErrorBody,
  type PrivateErp,
} from '../../support/erp.ts';

let erp: PrivateErp;

interface CustomerView {
  id: string;
  number: string;
  rowVersion: number;
  lastModifiedDateTime: string;
  '@odata.etag': string;
}

beforeAll(async () => {
  erp = await startPrivateErp();
});

afterAll(async () => {
  await erp?.drop();
});

/** Every entity of a list, following nextLink, with a small page size. */
async function everything(path: string, pageSize: number): Promise<{ items: CustomerView[]; pages: number }> {
  const items: CustomerView[] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next) {
    const page: { body: ListBody<CustomerView> } = await erp.client.get<ListBody<CustomerView>>(next, {
      headers: { prefer: `odata.maxpagesize=${pageSize}` },
    });
    items.push(...page.body.value);
    next = page.body['@odata.nextLink'];
    pages += 1;
  }
  return { items, pages };
}

describe('paging', () => {
  it('follows @odata.nextLink through every customer once, in change order', async () => {
    for (let n = 0; n < 23; n += 1) await erp.client.post('/customers', customerInput(n));

    const { items, pages } = await everything('/customers', 5);

    expect(items).toHaveLength(23);
    expect(pages).toBe(5);
    expect(new Set(items.map((item) => item.id)).size).toBe(23);
    const times = items.map((item) => Date.parse(item.lastModifiedDateTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('confirms the page size it applied and refuses unknown or unsupported query options', async () => {
    const page = await erp.client.get<ListBody>('/customers', { headers: { prefer: 'odata.maxpagesize=3' } });
    const unknown = await erp.client.get<ODataErrorBody>('/customers?$count=true');
    const badFilter = await erp.client.get<ODataErrorBody>("/customers?$filter=contains(displayName,'x')");
    const orphanAfter = await erp.client.get<ODataErrorBody>('/customers?after_id=C000001');

    expect(page.headers.get('preference-applied')).toBe('odata.maxpagesize=3');
    expect(page.body.value).toHaveLength(3);
    expect(unknown.status).toBe(400);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.code).toBe('BadRequest_InvalidQueryOption');
    expect(orphanAfter.status).toBe(400);
  });

  it('honours $top across pages: no nextLink past the requested total', async () => {
    const { items } = await everything('/customers?$top=7', 3);

    expect(items).toHaveLength(7);
  });

  it('returns changes at or after updated_since, and strictly after (updated_since, after_id)', async () => {
    const all = (await everything('/customers', 100)).items;
    const pivot = all[10];
    if (!pivot) throw new Error('expected customers from the first test');
    const since = encodeURIComponent(pivot.lastModifiedDateTime);

    const inclusive = await everything(`/customers?updated_since=${since}`, 100);
    const exclusive = await everything(`/customers?updated_since=${since}&after_id=${pivot.number}`, 100);

    expect(inclusive.items.map((item) => item.id)).toEqual(all.slice(10).map((item) => item.id));
    expect(exclusive.items.map((item) => item.id)).toEqual(all.slice(11).map((item) => item.id));
  });

  it('lets a poller miss nothing while writers create and update customers concurrently', async () => {
    const seen = new Map<string, number>();
    let cursor: { since: string; after: string } | undefined;
    const pollOnce = async (): Promise<void> => {
      for (;;) {
        const query = cursor
          ? `?updated_since=${encodeURIComponent(cursor.since)}&after_id=${cursor.after}`
          : '';
        const page = await erp.client.get<ListBody<CustomerView>>(`/customers${query}`, {
          headers: { prefer: 'odata.maxpagesize=4' },
        });
        for (const item of page.body.value) {
          seen.set(item.id, Math.max(seen.get(item.id) ?? 0, item.rowVersion));
          cursor = { since: item.lastModifiedDateTime, after: item.number };
        }
        if (page.body.value.length < 4) return;
      }
    };

    let writing = true;
    const poller = (async () => {
      while (writing) await pollOnce();
    })();
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      for (let n = 0; n < 12; n += 1) {
        const created = await erp.client.post<CustomerView>(
          '/customers',
          customerInput(1000 + writer * 100 + n),
        );
        if (n % 3 === 0) {
          await erp.client.patch(
            `/customers(${created.body.id})`,
            { city: `City ${n}` },
            { 'if-match': created.body['@odata.etag'] },
          );
        }
      }
    });
    await Promise.all(writers);
    writing = false;
    await poller;
    await pollOnce();

    const truth = (await everything('/customers', 1000)).items;
    expect(seen.size).toBe(truth.length);
    for (const customer of truth) expect(seen.get(customer.id), customer.number).toBe(customer.rowVersion);
  });
});
