/**
 * What every long-running Syncline process has around its stage: the logger, one metrics registry,
 * the readiness checks of the dependencies it uses, the admin server (/healthz, /readyz, /metrics,
 * /api) and graceful shutdown on SIGTERM/SIGINT. A role (ingest, process, a sink) starts inside a host
 * and registers its own close with the host's shutdown.
 */
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { AdminServer } from './admin-server.ts';
import { KafkajsHealth } from './bus/kafkajs-health.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { createMetricsRegistry, type Registry } from './metrics.ts';
import { Readiness } from './readiness.ts';
import { closeRedis, createRedis, pingRedis } from './redis.ts';
import { pingRegistry } from './registry.ts';
import { Shutdown } from './shutdown.ts';

/** The dependencies a role needs; each becomes a readiness check. */
export type Dependency = 'kafka' | 'registry' | 'redis';

export interface ServiceHostOptions {
  config: Config;
  logger: Logger;
  dependencies: readonly Dependency[];
  /** Overrides config.adminPort (0 picks a free port, for tests). */
  adminPort?: number;
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests that embed a host do not). */
  handleSignals?: boolean;
  /** How the process ends after shutdown; replaced in tests. */
  exit?: (code: number) => void;
}

export interface ServiceHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly readiness: Readiness;
  readonly admin: AdminServer;
  readonly shutdown: Shutdown;
  /** The Redis client, when the role declared the dependency. */
  readonly redis: Redis | undefined;
  readonly adminAddress: AddressInfo;
}

export async function startServiceHost(options: ServiceHostOptions): Promise<ServiceHost> {
  const { config, logger } = options;
  const metrics = createMetricsRegistry();
  const readiness = new Readiness({ logger, metrics });
  const shutdown = new Shutdown({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    readiness,
    ...(options.exit ? { exit: options.exit } : {}),
  });
  if (options.handleSignals ?? true) shutdown.install();

  const admin = new AdminServer({
    config,
    logger,
    metrics,
    readiness,
    ...(options.adminPort !== undefined ? { port: options.adminPort } : {}),
  });
  // Registered first, so closed last: /healthz and /metrics answer until the very end.
  shutdown.register('admin server', () => admin.close());

  let redis: Redis | undefined;
  for (const dependency of new Set(options.dependencies)) {
    switch (dependency) {
      case 'kafka': {
        const health = new KafkajsHealth(config, logger);
        readiness.add({ name: 'kafka', check: () => health.ping(2000) });
        shutdown.register('kafka health probe', () => health.close());
        break;
      }
      case 'registry':
        readiness.add({ name: 'registry', check: () => pingRegistry(config.schemaRegistryUrl, 2000) });
        break;
      case 'redis': {
        const client = createRedis(config, logger, { name: 'syncline-host' });
        redis = client;
        readiness.add({ name: 'redis', check: () => pingRedis(client, 2000) });
        shutdown.register('redis', () => closeRedis(client));
        break;
      }
    }
  }

  const adminAddress = await admin.listen();
  logger.info({ admin: admin.url }, 'admin server listening');
  return { config, logger, metrics, readiness, admin, shutdown, redis, adminAddress };
}
