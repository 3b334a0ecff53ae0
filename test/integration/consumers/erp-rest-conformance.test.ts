/**
 * The ERP REST sink passes the shared sink conformance suite against a private reference ERP
 * (its own schema, no rate limit): customers (entity 0), sales orders (odd entities) and sales
 * invoices (even entities), with the ERP's rows as the target state (externalVersion, rowVersion).
 */
import { ErpRestSink } from '../../../src/consumers/erp-rest/erp-rest-sink.ts';
import { externalDocumentNumber } from '../../../src/consumers/erp-rest/erp-rest-mapping.ts';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { ERP_TOKEN, startPrivateErp, type PrivateErp } from '../../support/erp.ts';
import { customerRecord, erpConformanceRecord } from '../../support/erp-sink-records.ts';
import { sinkConformance } from '../../support/sink-conformance.ts';

let erp: PrivateErp;

async function row(
  record: SinkRecord,
): Promise<{ external_version: string; row_version: string } | undefined> {
  const value = record.value;
  const [table, column, key] =
    record.topic === 'canonical.customer'
      ? ['customers', 'external_id', record.key]
      : record.topic === 'canonical.order'
        ? ['sales_orders', 'external_document_number', externalDocumentNumber('SO', value.orderId as string)]
        : [
            'sales_invoices',
            'external_document_number',
            externalDocumentNumber('IN', value.invoiceId as string),
          ];
  const result = await erp.erp.pool.query<{ external_version: string; row_version: string }>(
    `SELECT external_version, row_version FROM ${table} WHERE ${column} = $1`,
    [key],
  );
  return result.rows[0];
}

sinkConformance({
  name: 'ERP REST',
  async setup() {
    erp = await startPrivateErp();
  },
  async teardown() {
    await erp?.drop();
  },
  createSink: () => new ErpRestSink({ apiUrl: erp.erp.apiUrl, token: ERP_TOKEN, timeoutMs: 5000 }),
  record: erpConformanceRecord,
  refused: (key) => customerRecord(key, 1, { email: 'not an email address' }),
  state: {
    version: async (record) => {
      const found = await row(record);
      return found ? Number(found.external_version) : undefined;
    },
    effects: async (record) => Number((await row(record))?.row_version ?? 0),
  },
  outage: {
    down: () => erp.erp.setFaults({ down: true }),
    up: () => erp.erp.clearFaults(),
  },
});
