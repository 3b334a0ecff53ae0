/**
 * The `sink-support` role: the support entitlement sink (Zendesk, configured by ZENDESK_* variables,
 * see support-config.ts) inside the shared sink runner, group `support-entitlement-sink`.
 */
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { ServiceHost } from '../../runtime/service-host.ts';
import { runSinkRole, type SinkRoleOptions } from '../crm-writeback/sink-role.ts';
import type { SinkRunner } from '../runner/runner.ts';
import { loadSupportTargetConfig } from './support-config.ts';
import { SupportEntitlementSink } from './support-sink.ts';
import { ZendeskClient } from './zendesk-client.ts';

export async function startSupportEntitlement(
  host: ServiceHost,
  config: Config,
  logger: Logger,
  options: SinkRoleOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<SinkRunner> {
  const log = logger.child({ role: 'sink-support' });
  const target = loadSupportTargetConfig(options.env ?? process.env);
  const sink = new SupportEntitlementSink(new ZendeskClient(target), log);
  return runSinkRole(host, config, log, sink, options);
}
