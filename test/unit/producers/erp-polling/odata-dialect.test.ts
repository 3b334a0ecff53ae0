/**
 * The ERP client speaks the OData shape of a Business Central-style ERP as well: it asks for pages
 * with `Prefer: odata.maxpagesize` and the polling cursor, reads `value` and `@odata.nextLink`, and
 * maps Business Central's customer fields onto a customer master record that fits raw.erp.customer.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroEnvelope, schemaProblems } from '../../../../src/producers/avro-values.ts';
import { buildEnvelope } from '../../../../src/producers/envelope.ts';
import { ErpClient, odataCompanyOf } from '../../../../src/producers/erp-polling/erp-client.ts';
import { customerMaster } from '../../../../src/producers/erp-polling/erp-records.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';

const COMPANY = '6f1d2c3b-0000-4000-8000-00000000c0de';
const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let base: string;

const customer = {
  '@odata.etag': 'W/"JzQ0OzE3Oyc="',
  id: 'b2f0c2c4-1111-4000-8000-000000000001',
  number: 'C00010',
  displayName: 'Nordwind Logistik GmbH',
  type: 'Company',
  addressLine1: 'Industriestraße 12',
  addressLine2: '',
  city: 'München',
  state: 'BY',
  country: 'DE',
  postalCode: '80331',
  phoneNumber: '',
  email: 'ap@nordwind.de',
  website: '',
  taxRegistrationNumber: 'DE123456789',
  currencyCode: 'EUR',
  creditLimitMinor: 2_500_000,
  creditStatus: 'HOLD',
  blocked: 'Ship',
  rowVersion: 4,
  lastModifiedDateTime: '2026-03-02T10:15:00.123Z',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json; odata.metadata=minimal' });
    res.end(
      JSON.stringify({ '@odata.context': 'x', value: [customer], '@odata.nextLink': 'http://erp/next' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2.0/companies(${COMPANY})`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('ErpClient with an OData (Business Central style) ERP', () => {
  it('recognises the OData API by its company URL', () => {
    expect(odataCompanyOf(base)).toBe(COMPANY);
    expect(odataCompanyOf('http://erp.example.com/api/v1')).toBeUndefined();
  });

  it('asks for a page after the cursor and maps the customers', async () => {
    const client = new ErpClient({ baseUrl: base, token: 't0ken' });
    const page = await client.customersChangedAfter(
      { updatedSince: '2026-03-01T00:00:00.000Z', afterId: 'C00009' },
      25,
    );
    const request = requests.at(-1)!;
    expect(request.url).toBe(
      `/api/v2.0/companies(${COMPANY})/customers?updated_since=2026-03-01T00%3A00%3A00.000Z&after_id=C00009`,
    );
    expect(request.headers.prefer).toBe('odata.maxpagesize=25');
    expect(request.headers.authorization).toBe('Bearer t0ken');
    expect(page.page.hasMore).toBe(true);
    expect(page.data[0]).toMatchObject({
      customerNumber: 'C00010',
      companyCode: COMPANY,
      name: 'Nordwind Logistik GmbH',
      vatId: 'DE123456789',
      taxNumber: null,
      address: { line2: null, countryCode: 'DE' },
      creditLimitMinor: 2_500_000,
      creditStatus: 'HOLD',
      salesBlocked: true,
      blockReason: 'Ship',
      rowVersion: 4,
      updatedAt: '2026-03-02T10:15:00.123Z',
    });
  });

  it('maps a customer onto a record that fits raw.erp.customer', async () => {
    const [mapped] = (await new ErpClient({ baseUrl: base }).customersChangedAfter(undefined, 10)).data;
    const envelope = buildEnvelope({
      system: 'erp',
      instance: COMPANY,
      eventType: 'erp.customer.updated',
      sourceEventId: `${COMPANY}/C00010@4`,
      sourceEntityId: 'C00010',
      sourceVersion: 4,
      occurredAt: Date.parse(customer.lastModifiedDateTime),
      ingestedAt: Date.now(),
    });
    const value = {
      envelope: avroEnvelope(envelope),
      poll: { cursor: '', page: 1, polledAt: Date.now() },
      customer: customerMaster(mapped!),
    };
    expect(schemaProblems(loadCatalog().topic('raw.erp.customer').type, value)).toEqual([]);
  });
});
