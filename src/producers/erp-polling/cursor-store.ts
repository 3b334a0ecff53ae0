/**
 * Where a polling connector keeps its place: one row per connector in PostgreSQL. The cursor moves
 * only after the page it covers is on Kafka. Before a page is published, the row notes it as
 * pending, with the topic's end offsets at that moment, so that a restart after a crash in between
 * can look on Kafka for what made it and publish only the rest.
 *
 * The store also holds a session advisory lock per connector: two instances of the same connector
 * never poll at once (the second waits as a standby), and the lock dies with the process.
 */
import pg from 'pg';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { PollCursor } from './erp-customer.ts';

/** A page published but not yet confirmed by a cursor commit. */
export interface PendingPage {
  /** The cursor the page ends at. */
  cursorAfter: PollCursor;
  topic: string;
  /** End offset of each partition of `topic` before the page was published. */
  offsets: Record<string, string>;
}

export interface CursorState {
  cursor: PollCursor | undefined;
  pending: PendingPage | undefined;
}

const TABLE = 'syncline_poll_cursors';

export class PgCursorStore {
  private readonly client: pg.Client;
  private lost: SynclineError | undefined;

  private constructor(client: pg.Client) {
    this.client = client;
    client.on('error', (error) => {
      this.lost = SynclineError.retriable(
        ErrorCodes.DATABASE_UNAVAILABLE,
        `PostgreSQL connection lost: ${error.message}`,
        { part: 'postgres' },
        error,
      );
    });
  }

  static async connect(databaseUrl: string): Promise<PgCursorStore> {
    const client = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: 5000,
      application_name: 'syncline-poller',
    });
    try {
      await client.connect();
      await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
        connector text PRIMARY KEY,
        updated_since text,
        after_id text,
        pending jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw databaseError(error);
    }
    return new PgCursorStore(client);
  }

  /** Takes the connector's lock if free; false means another instance polls it. */
  async tryLock(connector: string): Promise<boolean> {
    const result = await this.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [`syncline-poll:${connector}`],
    );
    return result.rows[0]?.locked === true;
  }

  async load(connector: string): Promise<CursorState> {
    const result = await this.query<{
      updated_since: string | null;
      after_id: string | null;
      pending: PendingPage | null;
    }>(`SELECT updated_since, after_id, pending FROM ${TABLE} WHERE connector = $1`, [connector]);
    const row = result.rows[0];
    return {
      cursor:
        row?.updated_since && row.after_id
          ? { updatedSince: row.updated_since, afterId: row.after_id }
          : undefined,
      pending: row?.pending ?? undefined,
    };
  }

  async markPending(connector: string, pending: PendingPage): Promise<void> {
    await this.query(
      `INSERT INTO ${TABLE} (connector, pending) VALUES ($1, $2)
       ON CONFLICT (connector) DO UPDATE SET pending = EXCLUDED.pending, updated_at = now()`,
      [connector, JSON.stringify(pending)],
    );
  }

  /**
   * Moves the cursor and clears the pending page, in one statement. With `keepPending` the pending
   * page stays: the cursor is still short of it (a recovery in progress).
   */
  async commit(connector: string, cursor: PollCursor, keepPending = false): Promise<void> {
    await this.query(
      `INSERT INTO ${TABLE} (connector, updated_since, after_id, pending) VALUES ($1, $2, $3, NULL)
       ON CONFLICT (connector) DO UPDATE SET updated_since = EXCLUDED.updated_since, after_id = EXCLUDED.after_id,
         pending = CASE WHEN $4 THEN ${TABLE}.pending ELSE NULL END, updated_at = now()`,
      [connector, cursor.updatedSince, cursor.afterId, keepPending],
    );
  }

  async clearPending(connector: string): Promise<void> {
    await this.query(`UPDATE ${TABLE} SET pending = NULL, updated_at = now() WHERE connector = $1`, [
      connector,
    ]);
  }

  /** Forgets the connector's place: the next poll starts from the beginning. */
  async reset(connector: string): Promise<void> {
    await this.query(`DELETE FROM ${TABLE} WHERE connector = $1`, [connector]);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.lost) throw this.lost;
    try {
      return await this.client.query<R>(text, values);
    } catch (error) {
      throw databaseError(error);
    }
  }
}

function databaseError(error: unknown): SynclineError {
  const failure = classify(error, { part: 'postgres' });
  if (failure.code === ErrorCodes.DATABASE_UNAVAILABLE) return failure;
  // Connection failures are retriable; a SQL error is our bug or a missing database: permanent.
  const code = (error as { code?: unknown }).code;
  const retriable =
    failure.retriable ||
    (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P03'));
  return new SynclineError(ErrorCodes.DATABASE_UNAVAILABLE, `PostgreSQL: ${failure.message}`, {
    retriable,
    context: { part: 'postgres' },
    cause: error,
  });
}
