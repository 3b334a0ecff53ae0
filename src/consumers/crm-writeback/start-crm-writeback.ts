/**
 * The `sink-crm` role: the CRM write-back sink (Salesforce, configured by SALESFORCE_* variables,
 * see crm-config.ts) inside the shared sink runner, group `crm-writeback-sink`.
 */
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
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
  const sink = new CrmWritebackSink(new SalesforceClient(target, log), log);
  return runSinkRole(host, config, log, sink, options);
}
