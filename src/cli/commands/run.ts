/**
 * `syncline run --role <role>`: runs Syncline's long-lived roles in this process, inside a service
 * host (admin server on 9464 with /healthz, /readyz, /metrics, and the token-protected ops API under
 * /api: DLQ list/show/redrive/discard and replay; graceful shutdown on SIGTERM/SIGINT).
 * Scale a role by starting more processes with the same role.
 */
import { Option, type Command } from 'commander';
import {
  erpRestSinkFactory,
  erpSqlSinkFactory,
  startSink,
  type SinkFactory,
} from '../../consumers/sink-service.ts';
import { startCrmWriteback } from '../../consumers/crm-writeback/start-crm-writeback.ts';
import { supportEntitlementSinkFactory } from '../../consumers/support-entitlement/start-support-entitlement.ts';
import { mountOpsApi } from '../../ops/admin-routes.ts';
import { startProcessing } from '../../processors/process-service.ts';
import { startIngest } from '../../producers/ingest-service.ts';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { createLogger, type Logger } from '../../runtime/logger.ts';
import { startServiceHost, type Dependency, type ServiceHost } from '../../runtime/service-host.ts';

/** A role: what it needs from the host, and how it starts. */
interface Role {
  description: string;
  dependencies: readonly Dependency[];
  start(host: ServiceHost, config: Config, logger: Logger): Promise<void>;
}

/** A sink role: one consumer group writing canonical records to one target (src/consumers). */
function sinkRole(description: string, createSink: SinkFactory): Role {
  return {
    description,
    dependencies: ['kafka', 'registry', 'redis'],
    start: (host, config, logger) => startSink(host, config, logger, createSink),
  };
}

const ROLES: Record<string, Role> = {
  ingest: {
    description:
      'webhook receivers (Stripe, CRM callout, Zendesk) and the ERP poller, publishing to raw topics',
    dependencies: ['kafka', 'registry'],
    async start(host, config, logger) {
      const ingest = await startIngest(config, logger, { registry: host.metrics });
      host.readiness.add({
        name: 'ingest-publisher',
        check: () =>
          ingest.isReady()
            ? Promise.resolve()
            : Promise.reject(new Error('the raw-topic producer is not connected')),
      });
      host.shutdown.register('ingest', () => ingest.close());
    },
  },
  process: {
    description:
      'canonical mapping, match-merge into golden customers and idempotency: raw topics to canonical and mdm topics',
    dependencies: ['kafka', 'registry', 'redis'],
    start: (host, config, logger) => startProcessing(host, config, logger),
  },
  'sink-erp-rest': sinkRole(
    'customers, contracts, orders and invoices to the ERP through its REST API (group erp-rest-sink)',
    erpRestSinkFactory,
  ),
  'sink-erp-sql': sinkRole(
    'customers, orders and invoices into the ERP interface tables in PostgreSQL (group erp-sql-sink)',
    erpSqlSinkFactory,
  ),
  'sink-crm': {
    description:
      'golden ids, ERP customer numbers, contract/invoice/renewal status back to Salesforce (group crm-writeback-sink)',
    dependencies: ['kafka', 'registry', 'redis'],
    // Its own start: it also watches the org's API allowance (syncline_target_api_usage_ratio).
    start: startCrmWriteback,
  },
  'sink-support': sinkRole(
    'support organizations and their entitlements in Zendesk (group support-entitlement-sink)',
    supportEntitlementSinkFactory(),
  ),
};

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a Syncline role in this process until SIGTERM/SIGINT')
    .addOption(
      new Option('--role <role>', `the role to run: ${Object.keys(ROLES).join(', ')}`)
        .choices(Object.keys(ROLES))
        .makeOptionMandatory(),
    )
    .addHelpText(
      'after',
      `\nRoles:\n${Object.entries(ROLES)
        .map(([name, role]) => `  ${name.padEnd(13)} ${role.description}`)
        .join('\n')}`,
    )
    .action(async (options: { role: string }) => {
      const role = ROLES[options.role];
      if (!role) return; // commander's choices() already refused it
      const config = loadConfig();
      const baseLogger = createLogger({ level: config.logLevel });
      // The host's own lines carry the role; each role adds it to its own lines itself.
      const logger = baseLogger.child({ role: options.role });
      const host = await startServiceHost({
        config,
        logger,
        dependencies: role.dependencies,
        // Let the CLI print a start-up failure before the process ends; a client library that keeps
        // a handle open cannot hold the process past the grace period.
        exit: (code) => {
          process.exitCode = code;
          setTimeout(() => process.exit(code), 2000).unref();
        },
      });
      try {
        // Every role serves the ops API, so an operator reaches DLQs and replay on any instance.
        mountOpsApi(host, config, baseLogger);
        await role.start(host, config, baseLogger);
      } catch (error) {
        await host.shutdown.shutdown(`role ${options.role} failed to start`, 1);
        throw error;
      }
      logger.info(
        { role: options.role, admin: host.admin.url },
        'running; SIGTERM or SIGINT stops gracefully',
      );
      // The process now lives on its servers and consumers; shutdown ends it.
    });
}
