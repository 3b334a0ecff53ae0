/**
 * The ERP side of polling without Kafka or PostgreSQL: the sandbox API pages strictly after a
 * (change time, customer number) cursor, so records that share a change time are neither skipped
 * nor repeated across pages; the client classes every failure (429 retriable after Retry-After,
 * 5xx retriable, other 4xx and malformed pages permanent).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cursorOf, type PollCursor } from '../../../../src/producers/erp-polling/erp-customer.ts';
import { ErpClient, retryAfterMs } from '../../../../src/producers/erp-polling/erp-client.ts';
import { ErpSandbox } from '../../../../src/producers/erp-polling/erp-sandbox.ts';

const sandboxes: ErpSandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.close();
});

async function sandboxWith(
  count: number,
  options: ConstructorParameters<typeof ErpSandbox>[0] = {},
): Promise<{ erp: ErpSandbox; client: ErpClient; url: string }> {
  const erp = new ErpSandbox(options);
  sandboxes.push(erp);
  const url = await erp.listen();
  // Two mass updates: every customer of one shares its change time with the rest of it.
  const half = Math.ceil(count / 2);
  erp.update(
    Array.from({ length: half }, (_, i) => ({
      customerNumber: `C-${String(i).padStart(4, '0')}`,
      name: `Customer ${i}`,
      currency: 'EUR',
    })),
  );
  erp.update(
    Array.from({ length: count - half }, (_, i) => ({
      customerNumber: `C-${String(half + i).padStart(4, '0')}`,
      name: `Customer ${half + i}`,
      currency: 'EUR',
    })),
  );
  return {
    erp,
    url,
    client: new ErpClient({ baseUrl: url, ...(options.token ? { token: options.token } : {}) }),
  };
}

describe('paging by change time and customer number', () => {
  it('hands out every customer exactly once across pages that cut through equal change times', async () => {
    const { client } = await sandboxWith(23);
    const seen: string[] = [];
    let cursor: PollCursor | undefined;
    for (;;) {
      const page = await client.customersChangedAfter(cursor, 5);
      seen.push(...page.data.map((customer) => customer.customerNumber));
      if (!page.page.hasMore) break;
      cursor = cursorOf(page.data.at(-1)!);
    }
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
  });

  it('hands out a changed customer again, with its new row version, after the cursor', async () => {
    const { erp, client } = await sandboxWith(4);
    const all = await client.customersChangedAfter(undefined, 10);
    erp.update([{ customerNumber: 'C-0001', creditStatus: 'BLOCKED' }]);
    const next = await client.customersChangedAfter(cursorOf(all.data.at(-1)!), 10);
    expect(
      next.data.map((customer) => [customer.customerNumber, customer.rowVersion, customer.creditStatus]),
    ).toEqual([['C-0001', 2, 'BLOCKED']]);
  });
});

describe('ErpClient failures', () => {
  it("classes 429 as retriable after the server's Retry-After", async () => {
    const { erp, client } = await sandboxWith(1);
    erp.throttleNext(1, 7);
    await expect(client.customersChangedAfter(undefined, 10)).rejects.toMatchObject({
      code: 'TARGET_RATE_LIMITED',
      retriable: true,
      retryAfterMs: 7000,
    });
  });

  it('classes 5xx as retriable', async () => {
    const { erp, client } = await sandboxWith(1);
    erp.failNext(1, 502);
    await expect(client.customersChangedAfter(undefined, 10)).rejects.toMatchObject({
      code: 'TARGET_UNAVAILABLE',
      retriable: true,
    });
  });

  it('classes a refused token as permanent', async () => {
    const { url } = await sandboxWith(1, { token: 'right-token' });
    const client = new ErpClient({ baseUrl: url, token: 'wrong-token' });
    await expect(client.customersChangedAfter(undefined, 10)).rejects.toMatchObject({
      code: 'TARGET_REJECTED',
      retriable: false,
    });
  });

  it('classes an unreachable API as retriable', async () => {
    const client = new ErpClient({ baseUrl: 'http://127.0.0.1:9/api/v1', requestTimeoutMs: 2000 });
    await expect(client.customersChangedAfter(undefined, 10)).rejects.toMatchObject({
      code: 'TARGET_UNAVAILABLE',
      retriable: true,
    });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('12')).toBe(12_000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:10 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(
      10_000,
    );
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
