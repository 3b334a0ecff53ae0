/**
 * The `sink-crm` role: the CRM write-back sink (Salesforce, configured by the SALESFORCE_* variables
 * of crm-config.ts) inside the shared sink runner (src/consumers/sink-service.ts), group
 * `crm-writeback-sink`.
 */
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { gauge } from '../../runtime/metrics.ts';
import type { ServiceHost } from '../../runtime/service-host.ts';
import { startSink, type SinkFactory } from '../sink-service.ts';
import { loadCrmTargetConfig } from './crm-config.ts';
import { CrmWritebackSink } from './crm-sink.ts';
import { SalesforceClient } from './salesforce-client.ts';

/**
 * The role's sink, from the SALESFORCE_* variables of `env`: validated before anything connects, so
 * a missing or bad variable stops the role with one clear line each. `onClient` sees the client
 * (for the API usage gauge).
 */
export function crmWritebackSinkFactory(
  env: NodeJS.ProcessEnv = process.env,
  onClient?: (client: SalesforceClient) => void,
): SinkFactory {
  // A configuration error rejects the promise, as any start-up failure of a role does.
  return (_config: Config, logger: Logger) =>
    Promise.resolve().then(() => {
      const target = loadCrmTargetConfig(env);
      const log = logger.child({ role: 'sink-crm' });
      const client = new SalesforceClient(target, log);
      onClient?.(client);
      return new CrmWritebackSink(client, log);
    });
}

/** `syncline run --role sink-crm`: the sink in the runner, and the org's API usage on /metrics. */
export async function startCrmWriteback(host: ServiceHost, config: Config, logger: Logger): Promise<void> {
  let client: SalesforceClient | undefined;
  // The org's daily API allowance is shared with every other integration of the org: watch it.
  gauge(host.metrics, {
    name: 'syncline_target_api_usage_ratio',
    help: "Share of the target's API request allowance used, as the target last reported it (Salesforce: Sforce-Limit-Info)",
    labelNames: ['target'],
    collect() {
      const usage = client?.apiUsage();
      if (usage && usage.limit > 0) this.set({ target: 'crm' }, usage.used / usage.limit);
    },
  });
  await startSink(
    host,
    config,
    logger,
    crmWritebackSinkFactory(process.env, (made) => (client = made)),
  );
}
