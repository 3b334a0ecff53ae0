/**
 * The ERP's PostgreSQL side: the connection pool (every connection's search_path is the ERP's
 * schema), the migration runner, and the two serialising helpers every write uses (the change clock
 * and the number series).
 *
 * Migrations are plain SQL files in `migrations/`, named `NNN_name.sql`, applied in order inside one
 * transaction under an advisory lock (two servers starting at once do not race), and tracked in
 * `schema_migrations` with a checksum: an applied migration that was edited afterwards stops the start.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureDatabases, parseDatabaseUrl } from '../infra/services.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';

export type Queryable = pg.Pool | pg.PoolClient;

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The migrations shipped with the ERP, in order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export async function openPool(
  databaseUrl: string,
  schema: string,
  size: number,
  createDatabase: boolean,
): Promise<pg.Pool> {
  if (createDatabase) await ensureDatabases(databaseUrl, [parseDatabaseUrl(databaseUrl).name]);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: size,
    options: `-c search_path=${schema}`,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return pool;
}

/** Applies the migrations not applied yet; returns the names of those it applied. */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  logger: Logger,
  migrations = loadMigrations(),
): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`syncline.erp.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(done.rows.map((row) => [row.version, row]));
    for (const migration of migrations) {
      const previous = known.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw SynclineError.permanent(
            ErrorCodes.DATABASE_UNAVAILABLE,
            `migration ${migration.name} was changed after it was applied to schema ${schema}; add a new migration instead`,
            { part: 'erp' },
          );
        }
        continue;
      }
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      applied.push(migration.name);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error instanceof SynclineError
      ? error
      : SynclineError.permanent(
          ErrorCodes.DATABASE_UNAVAILABLE,
          `ERP migration failed: ${(error as Error).message}`,
          { part: 'erp' },
          error,
        );
  } finally {
    client.release();
  }
  if (applied.length > 0) logger.info({ schema, applied }, 'ERP migrations applied');
  return applied;
}

export interface Company {
  id: string;
  name: string;
  displayName: string;
  currencyCode: string;
  createdAt: Date;
}

/** The company the API serves, created with its number series on first start. */
export async function ensureCompany(pool: pg.Pool, name: string, currencyCode: string): Promise<Company> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO companies (id, name, display_name, currency_code) VALUES (gen_random_uuid(), $1, $2, $3)
       ON CONFLICT (name) DO NOTHING`,
      [name, `${name} (reference ERP)`, currencyCode],
    );
    const company = await client.query<{
      id: string;
      name: string;
      display_name: string;
      currency_code: string;
      created_at: Date;
    }>('SELECT id, name, display_name, currency_code, created_at FROM companies WHERE name = $1', [name]);
    const row = company.rows[0];
    if (!row) throw new Error(`company ${name} vanished`);
    await client.query(
      `INSERT INTO number_series (company_id, code, prefix, width) VALUES
         ($1, 'CUST', 'C', 6), ($1, 'S-ORD', 'SO', 6), ($1, 'S-INV', 'SI', 6)
       ON CONFLICT DO NOTHING`,
      [row.id],
    );
    await client.query('COMMIT');
    return {
      id: row.id,
      name: row.name,
      displayName: row.display_name,
      currencyCode: row.currency_code,
      createdAt: row.created_at,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export type ChangeClockEntity = 'customers' | 'salesOrders' | 'salesInvoices';

/**
 * Locks the entity set's change clock until the transaction ends and returns a change time strictly
 * after every earlier one (millisecond precision, as the API shows it). Call it before writing any
 * row of the set: writes of a set are serialised, and commit in the order of their times.
 */
export async function nextChangeStamp(client: pg.PoolClient, entity: ChangeClockEntity): Promise<Date> {
  const result = await client.query<{ last_stamp: Date }>(
    `UPDATE change_clock
        SET last_stamp = GREATEST(date_trunc('milliseconds', clock_timestamp()), last_stamp + interval '1 millisecond')
      WHERE entity = $1
      RETURNING last_stamp`,
    [entity],
  );
  const stamp = result.rows[0]?.last_stamp;
  if (!stamp) throw new Error(`no change clock for ${entity}`);
  return stamp;
}

export type NumberSeries = 'CUST' | 'S-ORD' | 'S-INV';

/** The next number of a series, e.g. `C000042`; without gaps among committed documents. */
export async function nextNumber(
  client: pg.PoolClient,
  companyId: string,
  series: NumberSeries,
): Promise<string> {
  const result = await client.query<{ prefix: string; width: number; last_no: string }>(
    `UPDATE number_series SET last_no = last_no + 1 WHERE company_id = $1 AND code = $2
     RETURNING prefix, width, last_no`,
    [companyId, series],
  );
  const row = result.rows[0];
  if (!row) throw new Error(`no number series ${series}`);
  return `${row.prefix}${row.last_no.padStart(row.width, '0')}`;
}

/** Deletes idempotency keys older than the retention; returns how many went. */
export async function sweepIdempotencyKeys(pool: pg.Pool, retentionMs: number): Promise<number> {
  const result = await pool.query(
    "DELETE FROM idempotency_keys WHERE created_at < now() - ($1 * interval '1 millisecond')",
    [retentionMs],
  );
  return result.rowCount ?? 0;
}
