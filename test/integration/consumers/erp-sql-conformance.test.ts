/**
 * The ERP SQL sink passes the shared sink conformance suite against interface tables in a schema
 * of its own: customers (entity 0), orders (odd entities) and invoices (even entities), with the
 * staged rows as the target state (highest source version, rows per record).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ErpSqlSink } from '../../../src/consumers/erp-sql/erp-sql-sink.ts';
import { tableOf } from '../../../src/consumers/erp-sql/interface-tables.ts';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { customerRecord, erpConformanceRecord } from '../../support/erp-sink-records.ts';
import { sinkConformance } from '../../support/sink-conformance.ts';

const config = loadConfig();
const schema = `erp_sql_t_${randomBytes(4).toString('hex')}`;
let pool: pg.Pool;

async function staged(record: SinkRecord): Promise<{ version: string | null; rows: string }> {
  const definition = tableOf(record.topic)!;
  const result = await pool.query<{ version: string | null; rows: string }>(
    `SELECT max(record_version) AS version, count(*) AS rows FROM ${schema}.${definition.table} WHERE record_id = $1`,
    [definition.recordIdOf(record)],
  );
  return result.rows[0]!;
}

sinkConformance({
  name: 'ERP SQL',
  async setup() {
    pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
    await new ErpSqlSink({ pool, schema }).migrate();
  },
  async teardown() {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  },
  createSink: () => new ErpSqlSink({ pool, schema }),
  record: erpConformanceRecord,
  // A customer whose golden id PostgreSQL refuses as a uuid: data the target will never take.
  refused: (key) => ({ ...customerRecord(key, 1), key: `${key}-not-a-uuid` }),
  state: {
    version: async (record) => {
      const row = await staged(record);
      return row.version === null ? undefined : Number(row.version);
    },
    effects: async (record) => Number((await staged(record)).rows),
  },
});
