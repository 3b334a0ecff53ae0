/**
 * The ERP sink straight into the ERP's interface tables in PostgreSQL (group `erp-sql-sink`):
 * customers, orders and invoices, a whole run of records in one transaction.
 *
 * Per call, in one transaction:
 * 1. advisory locks on the records' keys (golden customer ids: every record of a customer has its
 *    key; sorted, so two writers never deadlock), so a second sink instance during a rebalance
 *    cannot stage records of the same customer at the same time;
 * 2. one query (all tables of the batch) for the highest staged version of each record and which
 *    of the batch's idempotency keys are already staged;
 * 3. in record order: key staged before → `duplicate`; version not above the highest staged (in the
 *    table or earlier in the batch) → `stale` (an equal version is that change again: `duplicate`);
 *    otherwise staged;
 * 4. one INSERT per table (unnest of column arrays), `ON CONFLICT (idempotency_key) DO NOTHING`:
 *    the idempotency key is unique in the same transaction as the write.
 * A batch that fails for a reason of its own data (a value PostgreSQL refuses) is applied again one
 * record per transaction, so only the record at fault is reported failed, with the ones before it
 * applied.
 */
import type pg from 'pg';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { GroupIds, TopicNames } from '../../topology/topics.ts';
import type { Sink, SinkOutcome, SinkRecord } from '../sink.ts';
import {
  columnArrays,
  ddlOf,
  insertSql,
  INTERFACE_TABLES,
  tableOf,
  type InterfaceTable,
} from './interface-tables.ts';

export interface ErpSqlSinkOptions {
  /** A pool on the ERP's database; closed with the sink when `ownsPool`. */
  pool: pg.Pool;
  /** The schema of the interface tables. Default `erp_interface`. */
  schema?: string;
  ownsPool?: boolean;
}

const C = TopicNames.canonical;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class ErpSqlSink implements Sink {
  readonly target = 'erp-sql';
  readonly groupId = GroupIds.erpSqlSink;
  readonly topics = [C.customer, C.order, C.invoice] as const;
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;

  constructor(options: ErpSqlSinkOptions) {
    const schema = options.schema ?? 'erp_interface';
    if (!SCHEMA_NAME.test(schema)) {
      throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, `invalid interface schema name ${schema}`);
    }
    this.schema = schema;
    this.#pool = options.pool;
    this.#ownsPool = options.ownsPool ?? false;
  }

  /** Creates the schema and the interface tables when missing. */
  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      // One migration at a time across sink instances.
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('syncline-erp-interface-ddl', 0))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      for (const definition of INTERFACE_TABLES) await client.query(ddlOf(this.schema, definition));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw databaseFailure(error);
    } finally {
      client.release();
    }
  }

  async apply(records: readonly SinkRecord[]): Promise<SinkOutcome[]> {
    try {
      return await this.#applyBatch(records);
    } catch (error) {
      const failure = databaseFailure(error);
      if (failure.retriable || records.length === 1) return [{ status: 'failed', error: failure }];
    }
    // Find the record at fault: one transaction per record, stop at the first failure.
    const outcomes: SinkOutcome[] = [];
    for (const record of records) {
      try {
        const [outcome] = await this.#applyBatch([record]);
        outcomes.push(outcome ?? { status: 'ignored', reason: 'no outcome' });
      } catch (error) {
        outcomes.push({ status: 'failed', error: databaseFailure(error) });
        break;
      }
    }
    return outcomes;
  }

  async probe(): Promise<void> {
    try {
      await this.#pool.query({ text: 'SELECT 1', query_timeout: 3000 } as pg.QueryConfig);
    } catch (error) {
      throw databaseFailure(error);
    }
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }

  async #applyBatch(records: readonly SinkRecord[]): Promise<SinkOutcome[]> {
    const outcomes: SinkOutcome[] = new Array<SinkOutcome>(records.length);
    const byTable = new Map<InterfaceTable, number[]>();
    records.forEach((record, index) => {
      const definition = tableOf(record.topic);
      if (!definition) {
        outcomes[index] = { status: 'ignored', reason: `no interface table for ${record.topic}` };
        return;
      }
      const indexes = byTable.get(definition) ?? [];
      indexes.push(index);
      byTable.set(definition, indexes);
    });
    if (byTable.size === 0) return outcomes;

    const client = await this.#pool.connect();
    try {
      // JIT off for this transaction: the look-up's cost estimate grows with the tables and crosses
      // jit_above_cost, after which compiling it took ~50 ms of a ~70 ms query (measured).
      await client.query('BEGIN; SET LOCAL jit = off');
      // Every record of a customer is keyed by its golden id: one lock per customer covers them.
      const lockKeys = [...new Set(records.map((record) => record.key))];
      await client.query(
        `SELECT count(pg_advisory_xact_lock(h)) FROM
           (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS locks`,
        [lockKeys],
      );
      const staged = await this.#staged(client, byTable, records);
      for (const [definition, indexes] of byTable) {
        const toInsert: SinkRecord[] = [];
        const seenKeys = new Set<string>();
        for (const index of indexes) {
          const record = records[index]!;
          const recordId = definition.recordIdOf(record);
          const stateKey = `${definition.table}|${recordId}`;
          const state = staged.get(stateKey);
          if (seenKeys.has(record.idempotencyKey) || state?.keys.has(record.idempotencyKey)) {
            outcomes[index] = { status: 'duplicate' };
            continue;
          }
          const highest = state?.version ?? null;
          const version = definition.versionOf(record);
          if (highest !== null && version <= highest) {
            outcomes[index] = { status: version === highest ? 'duplicate' : 'stale' };
            continue;
          }
          staged.set(stateKey, { version, keys: state?.keys ?? new Set() });
          seenKeys.add(record.idempotencyKey);
          toInsert.push(record);
          outcomes[index] = { status: 'applied' };
        }
        if (toInsert.length > 0) {
          await client.query(
            insertSql(this.schema, definition, definition.table, ' ON CONFLICT (idempotency_key) DO NOTHING'),
            columnArrays(definition, toInsert),
          );
        }
      }
      await client.query('COMMIT');
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Per `<table>|<record id>` of the batch: the highest staged version and which of the batch's
   * idempotency keys are staged already. One query for all tables of the batch.
   */
  async #staged(
    client: pg.PoolClient,
    byTable: Map<InterfaceTable, number[]>,
    records: readonly SinkRecord[],
  ): Promise<Map<string, { version: number; keys: Set<string> }>> {
    const parts: string[] = [];
    const values: unknown[] = [];
    for (const [definition, indexes] of byTable) {
      const batch = indexes.map((index) => records[index]!);
      values.push(
        batch.map((record) => definition.recordIdOf(record)),
        batch.map((record) => record.idempotencyKey),
      );
      const ids = `$${values.length - 1}::text[]`;
      const keys = `$${values.length}::text[]`;
      // One index look-up per record id (LATERAL), whatever the planner's statistics of a table
      // that grows fast say: `record_id = ANY(...)` turned into a sequential scan on fresh tables.
      parts.push(
        `SELECT '${definition.table}' AS t, ids.id AS record_id, staged.version, staged.keys
           FROM (SELECT DISTINCT unnest(${ids}) AS id) AS ids
           CROSS JOIN LATERAL (
             SELECT max(record_version) AS version,
                    array_agg(idempotency_key) FILTER (WHERE idempotency_key = ANY(${keys})) AS keys
               FROM ${this.schema}.${definition.table} WHERE record_id = ids.id) AS staged
          WHERE staged.version IS NOT NULL`,
      );
    }
    const result = await client.query<{
      t: string;
      record_id: string;
      version: string;
      keys: string[] | null;
    }>(parts.join('\nUNION ALL\n'), values);
    return new Map(
      result.rows.map((row) => [
        `${row.t}|${row.record_id}`,
        { version: Number(row.version), keys: new Set(row.keys ?? []) },
      ]),
    );
  }
}

/**
 * A PostgreSQL failure, classified: connection, resource and concurrency problems are retriable;
 * data the database refuses (class 22, 23) is the record's problem (permanent).
 */
export function databaseFailure(error: unknown): SynclineError {
  if (error instanceof SynclineError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (code.startsWith('22') || code.startsWith('23') || code.startsWith('42')) {
      return SynclineError.permanent(
        ErrorCodes.TARGET_REJECTED,
        `PostgreSQL refused the row (${code}): ${message}`,
        {
          target: 'erp-sql',
          code,
        },
      );
    }
    return SynclineError.retriable(ErrorCodes.DATABASE_UNAVAILABLE, `PostgreSQL (${code}): ${message}`, {
      target: 'erp-sql',
    });
  }
  const classified = classify(error, { target: 'erp-sql' });
  if (classified.retriable) return classified;
  if (/connect|terminat|timeout|ECONN/i.test(message)) {
    return SynclineError.retriable(ErrorCodes.DATABASE_UNAVAILABLE, `PostgreSQL unreachable: ${message}`, {
      target: 'erp-sql',
    });
  }
  return classified;
}
