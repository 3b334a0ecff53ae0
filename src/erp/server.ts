/**
 * The reference ERP: a Business Central-style REST API over PostgreSQL that stands in for the cloud
 * ERP Syncline writes to (see api.ts for the resources). Start it in process with
 * {@link startErpServer}, or as a process with `syncline erp serve`.
 *
 * On start it creates the database if needed, applies its migrations (schema `erp` by default, one
 * ERP per schema, so tests can run private ones), and makes sure its company exists. Tests steer its
 * faults in process (`setFaults`) or over HTTP (`POST /_faults`, same bearer token).
 */
import type pg from 'pg';
import { classify, ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createLogger } from '../runtime/logger.ts';
import { FaultServer } from '../targets-sim/common/fault-server.ts';
import type { FaultSettings, FaultState } from '../targets-sim/common/faults.ts';
import { ErpApi } from './api.ts';
import { ensureCompany, migrate, openPool, sweepIdempotencyKeys, type Company } from './database.ts';
import { API_ROOT } from './odata.ts';
import { resolveErpOptions, type ErpServerInput, type ErpServerSettings } from './options.ts';

export type { ErpServerInput } from './options.ts';
export type { FaultSettings } from '../targets-sim/common/faults.ts';

export interface ErpServer {
  /** `http://host:port`: the server root (`/_health`, `/_faults`). */
  readonly url: string;
  /** The company's API root, e.g. `http://127.0.0.1:8090/api/v2.0/companies(<id>)`; append `/customers`. */
  readonly apiUrl: string;
  readonly company: Company;
  readonly settings: ErpServerSettings;
  /** The ERP's database pool, for tests that look at rows directly (search_path is the ERP's schema). */
  readonly pool: pg.Pool;
  /** Replaces the fault settings (anything not named is off); `down: true` refuses connections until changed. */
  setFaults(settings: FaultSettings): Promise<void>;
  clearFaults(): Promise<void>;
  faults(): FaultState;
  /** Authenticated API requests since start (a `$batch` is one), as the request limit counts them. */
  apiRequests(): number;
  /** Stops listening, waits for requests in flight (bounded), closes the pool. */
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 3_600_000;

export async function startErpServer(input: ErpServerInput): Promise<ErpServer> {
  const { logger: givenLogger, ...options } = input;
  const settings = resolveErpOptions(options);
  const logger = (givenLogger ?? createLogger({ name: 'syncline-erp' })).child({ part: 'erp' });
  let pool: pg.Pool;
  let company: Company;
  try {
    pool = await openPool(settings.databaseUrl, settings.schema, settings.poolSize, settings.createDatabase);
  } catch (error) {
    throw unavailable(error);
  }
  try {
    await migrate(pool, settings.schema, logger);
    company = await ensureCompany(pool, settings.companyName, settings.currencyCode);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailable(error);
  }

  const api = new ErpApi({
    pool,
    company,
    tokens: settings.tokens,
    maxPageSize: settings.maxPageSize,
    logger,
  });
  const server = new FaultServer({
    name: 'erp',
    behaviour: api,
    logger,
    rateLimit: settings.rateLimit ?? undefined,
    bodyLimitBytes: settings.bodyLimitBytes,
  });
  let url: string;
  try {
    url = await server.listen(settings.port, settings.host);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw SynclineError.permanent(
      ErrorCodes.INFRA_FAILED,
      `the ERP API cannot listen on ${settings.host}:${settings.port}: ${(error as Error).message}`,
      { part: 'erp' },
      error,
    );
  }

  const sweep = () => {
    sweepIdempotencyKeys(pool, settings.idempotencyRetentionMs)
      .then((removed) => {
        if (removed > 0) logger.info({ removed }, 'expired idempotency keys removed');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'idempotency key sweep failed'));
  };
  sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const apiUrl = `${url}${API_ROOT}/companies(${company.id})`;
  logger.info({ url, apiUrl, schema: settings.schema, company: company.name }, 'ERP API listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    apiUrl,
    company,
    settings,
    pool,
    setFaults: (faults) => server.setFaults(faults),
    clearFaults: () => server.clearFaults(),
    apiRequests: () => server.apiRequests,
    faults: () => server.faultState(),
    close: () => {
      closing ??= (async () => {
        clearInterval(sweeper);
        await server.close();
        await pool.end();
        logger.info('ERP API stopped');
      })();
      return closing;
    },
  };
}

function unavailable(error: unknown): SynclineError {
  const failure = classify(error, { part: 'erp' });
  if (failure.code !== ErrorCodes.UNEXPECTED) return failure;
  return SynclineError.retriable(
    ErrorCodes.DATABASE_UNAVAILABLE,
    `the ERP's database is not usable: ${failure.message}`,
    { part: 'erp' },
    error,
  );
}
