/**
 * The `sink-support` role: the support entitlement sink (Zendesk, configured by the ZENDESK_*
 * variables of support-config.ts) inside the shared sink runner (src/consumers/sink-service.ts),
 * group `support-entitlement-sink`.
 */
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { ServiceHost } from '../../runtime/service-host.ts';
import { startSink, type SinkFactory } from '../sink-service.ts';
import { loadSupportTargetConfig } from './support-config.ts';
import { SupportEntitlementSink } from './support-sink.ts';
import { ZendeskClient } from './zendesk-client.ts';

/**
 * The role's sink, from the ZENDESK_* variables of `env`: validated before anything connects, so a
 * missing or bad variable stops the role with one clear line each.
 */
export function supportEntitlementSinkFactory(env: NodeJS.ProcessEnv = process.env): SinkFactory {
  // A configuration error rejects the promise, as any start-up failure of a role does.
  return (_config: Config, logger: Logger) =>
    Promise.resolve().then(() => {
      const target = loadSupportTargetConfig(env);
      return new SupportEntitlementSink(new ZendeskClient(target), logger.child({ role: 'sink-support' }));
    });
}

/** `syncline run --role sink-support`. */
export function startSupportEntitlement(host: ServiceHost, config: Config, logger: Logger): Promise<void> {
  return startSink(host, config, logger, supportEntitlementSinkFactory());
}
