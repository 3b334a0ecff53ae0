/**
 * A sink role (`syncline run --role sink-<target>`): one sink runner inside a service host, with
 * the host's Redis client (fail-fast, reconnecting), a Kafka bus, the Serde, the host's metrics,
 * a readiness check (false while Redis is away: the sink fails closed) and graceful shutdown.
 * Scale a sink by starting more processes with the same role: they share the consumer group.
 */
import { ErpRestSink } from './erp-rest/erp-rest-sink.ts';
import { ErpSqlSink } from './erp-sql/erp-sql-sink.ts';
import { createSinkRunner } from './runner/runner.ts';
import type { Sink } from './sink.ts';
import { LocalStack } from '../infra/stack.ts';
import { createKafkajsBus } from '../runtime/bus/kafkajs.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import type { Logger } from '../runtime/logger.ts';
import { createPgPool } from '../runtime/postgres.ts';
import type { ServiceHost } from '../runtime/service-host.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../schemas/serde.ts';

/** Makes the sink of a role from the validated config. */
export type SinkFactory = (config: Config, logger: Logger) => Promise<Sink>;

/**
 * Runs `createSink`'s sink until the host shuts down. Resolves once the runner has read its DLQ
 * (parked keys) and joined its group.
 */
export async function startSink(
  host: ServiceHost,
  config: Config,
  logger: Logger,
  createSink: SinkFactory,
): Promise<void> {
  const redis = host.redis;
  if (!redis) {
    throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, 'a sink role needs the redis dependency');
  }
  const sink = await createSink(config, logger);
  const log = logger.child({ role: `sink-${sink.target}` });
  const runner = createSinkRunner({
    sink,
    bus: createKafkajsBus(config, log, { metrics: host.metrics, clientSuffix: `sink-${sink.target}` }),
    kafka: createKafka(config, log, `sink-${sink.target}-dlq`),
    redis,
    serde: new Serde({
      source: new RegistryClient({ url: config.schemaRegistryUrl }),
      bindings: bindingsFromCatalog(loadCatalog()),
    }),
    logger: log,
    metrics: host.metrics,
    onFatal: (error) => {
      log.error({ err: error.toJSON() }, 'the sink consumer stopped for good; exiting for a restart');
      void host.shutdown.shutdown(`sink ${sink.target} consumer stopped`, 1);
    },
  });
  host.readiness.add({
    name: `sink-${sink.target}`,
    check: () =>
      runner.isReady()
        ? Promise.resolve()
        : Promise.reject(new Error('paused: Redis is unreachable, so idempotency cannot be checked')),
  });
  // Registered after the host's Redis, so it closes first: finish the batch, commit, leave the group.
  host.shutdown.register(`sink ${sink.target}`, () => runner.close());
  await runner.start();
}

/**
 * The ERP REST sink: ERP_API_URL and ERP_API_TOKEN when set (a company API root, or the API root
 * whose only company is taken); otherwise the local stack's reference ERP and its kept token.
 */
export const erpRestSinkFactory: SinkFactory = async (config) => {
  if (config.erp) {
    if (!config.erp.token) {
      throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, 'ERP_API_TOKEN is required with ERP_API_URL');
    }
    const apiUrl = /\/companies\([^)]+\)\/?$/.test(config.erp.apiUrl)
      ? config.erp.apiUrl
      : await onlyCompanyOf(config.erp.apiUrl, config.erp.token);
    return new ErpRestSink({ apiUrl, token: config.erp.token });
  }
  const erp = new LocalStack(config).erp;
  return new ErpRestSink({ apiUrl: await erp.apiUrl(), token: erp.token() });
};

/** The ERP SQL sink: interface tables in DATABASE_URL's database, schema `erp_interface`. */
export const erpSqlSinkFactory: SinkFactory = async (config, logger) => {
  const sink = new ErpSqlSink({
    pool: createPgPool(config, logger, { applicationName: 'syncline-sink-erp-sql' }),
    ownsPool: true,
  });
  await sink.migrate();
  return sink;
};

async function onlyCompanyOf(apiRoot: string, token: string): Promise<string> {
  const root = apiRoot.replace(/\/+$/, '');
  let ids: string[];
  try {
    const response = await fetch(`${root}/companies`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { value?: { id?: string }[] };
    ids = (body.value ?? []).map((company) => company.id ?? '').filter(Boolean);
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.TARGET_UNAVAILABLE,
      `the ERP API at ${root} did not list its companies: ${error instanceof Error ? error.message : String(error)}`,
      { target: 'erp' },
    );
  }
  if (ids.length !== 1) {
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `ERP_API_URL names no company and the API has ${ids.length}: use .../companies(<id>)`,
    );
  }
  return `${root}/companies(${ids[0]})`;
}
