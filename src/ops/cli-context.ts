/**
 * What the `dlq` and `replay` commands share: the common flags and an {@link OpsContext} for the
 * length of one command, closed afterwards whatever happens. Kafka's own log lines are kept to
 * errors (a CLI run is short, its warnings are noise on the operator's terminal); audit log lines
 * go to stderr at the configured level, so `--json` output on stdout stays clean.
 */
import { loadConfig } from '../runtime/config.ts';
import { createKafka } from '../runtime/kafka.ts';
import { createLogger } from '../runtime/logger.ts';
import { knownGroupNames } from './groups.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from './ops-context.ts';

export interface CommonOpsOptions {
  group: string;
  prefix?: string;
  actor?: string;
  json?: boolean;
}

export const GROUP_HELP = `the consumer group: ${knownGroupNames().join(', ')}`;
export const PREFIX_HELP =
  'topic and group name prefix of an isolated topology (tests); services use the unprefixed names';
export const ACTOR_HELP = 'who acts, for the audit trail (default: the OS user)';

export async function withOpsContext<T>(
  options: Pick<CommonOpsOptions, 'prefix'>,
  work: (context: OpsContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'syncline-ops' });
  const kafka = createKafka(config, createLogger({ level: 'error', name: 'syncline-ops' }), 'ops-cli');
  const context = createOpsContext(config, logger, { prefix: options.prefix ?? '', kafka });
  try {
    return await work(context);
  } finally {
    await closeOpsContext(context).catch(() => undefined);
    logger.flush();
  }
}

/** Commander's collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
