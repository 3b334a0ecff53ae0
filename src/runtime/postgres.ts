/**
 * The PostgreSQL pool factory (MDM store, SQL targets, audit). Connections time out instead of
 * hanging, every statement has a server-side bound, and an error on an idle connection (a
 * restarted server) is logged rather than crashing the process, which is what pg does when nobody
 * listens for it.
 */
import pg from 'pg';
import type { Config } from './config.ts';
import { ErrorCodes, SynclineError } from './errors.ts';
import type { Logger } from './logger.ts';
import { withTimeout } from './timeout.ts';

export type Pool = pg.Pool;

export interface PostgresPoolOptions {
  /** Connections at most. Default 10. */
  max?: number;
  /** Shown in pg_stat_activity. Default `syncline`. */
  applicationName?: string;
  /** Server-side bound per statement (ms). Default 30 s. */
  statementTimeoutMs?: number;
}

/** A pool for `config.databaseUrl`; no connection is opened until the first query. */
export function createPgPool(config: Config, logger: Logger, options: PostgresPoolOptions = {}): Pool {
  const log = logger.child({ component: 'postgres' });
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'syncline',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
  });
  pool.on('error', (error) => {
    log.warn({ err: { message: error.message } }, 'idle PostgreSQL connection failed');
  });
  return pool;
}

/**
 * Resolves when the database answers `SELECT 1` within `timeoutMs`; rejects with a retriable
 * DATABASE_UNAVAILABLE otherwise.
 */
export async function pingDatabase(pool: Pool, timeoutMs = 2000): Promise<void> {
  // pg honours a per-query `query_timeout` (its typings omit it): a hung query frees its connection.
  const probe: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: timeoutMs };
  try {
    await withTimeout(pool.query(probe), timeoutMs, () => new Error(`no answer within ${timeoutMs}ms`));
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.DATABASE_UNAVAILABLE,
      `PostgreSQL not reachable: ${error instanceof Error ? error.message : String(error)}`,
      { part: 'postgres' },
      error,
    );
  }
}
