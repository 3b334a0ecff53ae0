/**
 * The `sink-crm` role: the CRM write-back sink (Salesforce, configured by SALESFORCE_* variables,
 * see crm-config.ts) inside the shared sink runner, group `crm-writeback-sink`.
 */
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { gauge } from '../../runtime/metrics.ts';
import type { ServiceHost } from '../../runtime/service-host.ts';
import type { SinkRunner } from '../runner/runner.ts';
import { loadCrmTargetConfig } from './crm-config.ts';
import { CrmWritebackSink } from './crm-sink.ts';
import { SalesforceClient } from './salesforce-client.ts';
import { runSinkRole, type SinkRoleOptions } from './sink-role.ts';

export async function startCrmWriteback(
  host: ServiceHost,
  config: Config,
  logger: Logger,
  options: SinkRoleOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<SinkRunner> {
  const log = logger.child({ role: 'sink-crm' });
  // Validated before anything connects: a missing variable stops the role with one clear line each.
  const target = loadCrmTargetConfig(options.env ?? process.env);
  const client = new SalesforceClient(target, log);
  const sink = new CrmWritebackSink(client, log);
  // The org's daily API allowance is shared with every other integration of the org: watch it.
  gauge(host.metrics, {
    name: 'syncline_target_api_usage_ratio',
    help: "Share of the target's API request allowance used, as the target last reported it (Salesforce: Sforce-Limit-Info)",
    labelNames: ['target'],
    collect() {
      const usage = client.apiUsage();
      if (usage && usage.limit > 0) this.set({ target: sink.target }, usage.used / usage.limit);
    },
  });
  return runSinkRole(host, config, log, sink, options);
}
