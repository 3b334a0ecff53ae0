/**
 * `syncline topology apply|diff|show`: topics, partitions, retention, compaction and the retry and
 * DLQ topics of every consumer group, as declared in src/topology/, brought onto the cluster.
 */
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { loadConfig } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { createKafka } from '../../runtime/kafka.ts';
import { createLogger } from '../../runtime/logger.ts';
import { applyAndAwait, diffTopology, refusedError } from '../../topology/cluster.ts';
import type { Plan, PlanAction } from '../../topology/plan.ts';
import { hasDrift } from '../../topology/plan.ts';
import { PROFILE_ENV_VARIABLE, chooseProfile, resolveTopology } from '../../topology/topology.ts';
import type { Topology } from '../../topology/types.ts';
import { printJson, say } from '../output.ts';

interface CommonOptions {
  profile?: string;
  prefix?: string;
  json?: boolean;
}

interface DiffOptions extends CommonOptions {
  check?: boolean;
}

const PROFILE_HELP =
  `local (1 replica, min.insync.replicas 1, small partition counts) or production (3 replicas, ` +
  `min.insync.replicas 2); default from ${PROFILE_ENV_VARIABLE}, else production`;
const PREFIX_HELP =
  'prefix every topic and group name, for an isolated copy of the topology (tests); Syncline services use the unprefixed names';

export function registerTopology(program: Command): void {
  const topology = program
    .command('topology')
    .description(
      'Topics, partitions, retention, compaction, retry and DLQ topics as code: apply, diff, show.',
    );

  topology
    .command('apply')
    .description('Create missing topics, raise partition counts and pin topic configs to the declaration.')
    .option('--profile <name>', PROFILE_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: CommonOptions) => {
      await apply(options);
    });

  topology
    .command('diff')
    .description('Show how the cluster differs from the declaration, changing nothing.')
    .option('--profile <name>', PROFILE_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--check', 'exit 1 when there is any drift (for CI and readiness checks)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: DiffOptions) => {
      await diff(options);
    });

  topology
    .command('show')
    .description('Print the declared topology under a profile, without contacting the cluster.')
    .option('--profile <name>', PROFILE_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action((options: CommonOptions) => {
      show(options);
    });
}

function topologyFrom(options: CommonOptions): Topology {
  return resolveTopology({ profile: chooseProfile(options.profile), prefix: options.prefix ?? '' });
}

async function apply(options: CommonOptions): Promise<void> {
  const json = options.json === true;
  const topology = topologyFrom(options);
  await withAdmin(async (admin, brokers) => {
    say(
      `topology apply: profile ${topology.profile}, ${topology.topics.length} topics, brokers ${brokers}`,
      json,
    );
    const planned = await diffTopology(admin, topology);
    if (planned.refusals.length > 0) {
      // Machines get the whole plan on stdout, people the one-line reason on stderr (from main.ts).
      if (json) printJson(report('apply', topology, planned, { applied: [] }));
      throw refusedError(planned);
    }
    // Each change is reported as it is made: on stdout for people, on stderr as progress in --json mode.
    const { plan, after } = await applyAndAwait(admin, topology, planned, {
      onAction: (action, index, total) => {
        const [first = '', ...rest] = planLines([action]);
        say(`  [${index + 1}/${total}] ${first.trim()}`, json);
        for (const line of rest) say(line, json);
      },
    });
    if (json) {
      printJson(report('apply', topology, after, { applied: plan.actions }));
      return;
    }
    const manual =
      after.drift.length > 0 ? `; ${count(after.drift.length, 'difference')} left for an operator:` : '';
    if (plan.actions.length === 0)
      say(`nothing to do: the ${count(topology.topics.length, 'declared topic')} are as declared${manual}`);
    else say(`applied ${count(plan.actions.length, 'change')}; the cluster shows them${manual}`);
    for (const line of driftLines(after)) say(line);
    if (after.undeclared.length > 0) {
      say(
        `${count(after.undeclared.length, 'topic')} on the cluster not declared here (left alone; see topology diff)`,
      );
    }
  });
}

async function diff(options: DiffOptions): Promise<void> {
  const json = options.json === true;
  const topology = topologyFrom(options);
  await withAdmin(async (admin, brokers) => {
    say(
      `topology diff: profile ${topology.profile}, ${topology.topics.length} topics, brokers ${brokers}`,
      json,
    );
    const plan = await diffTopology(admin, topology);
    const drifted = hasDrift(plan);
    if (json) printJson(report('diff', topology, plan, {}));
    else {
      if (!drifted) say(`no drift: the ${count(topology.topics.length, 'declared topic')} are as declared`);
      for (const refusal of plan.refusals) say(`  ✗ refused: ${refusal.message}`);
      for (const line of planLines(plan.actions)) say(line);
      for (const line of driftLines(plan)) say(line);
      if (plan.undeclared.length > 0) {
        say(`not declared here (information only): ${plan.undeclared.join(', ')}`);
      }
    }
    if (options.check && drifted) {
      const total = plan.actions.length + plan.refusals.length + plan.drift.length;
      process.stderr.write(
        `syncline: topology: the cluster differs from the declaration (${count(total, 'difference')})\n`,
      );
      process.exitCode = 1;
    }
  });
}

function show(options: CommonOptions): void {
  const topology = topologyFrom(options);
  if (options.json) {
    printJson({
      command: 'topology show',
      profile: topology.profile,
      prefix: topology.prefix,
      topics: topology.topics,
      groups: topology.groups,
    });
    return;
  }
  say(
    `profile ${topology.profile}: ${topology.topics.length} topics, ${topology.groups.length} consumer groups`,
  );
  for (const topic of topology.topics) {
    say(
      `  ${topic.name}  partitions ${topic.partitions}, replication ${topic.replicationFactor}, ${configText(topic.config)}`,
    );
  }
  for (const group of topology.groups) {
    say(
      `  group ${group.id} (${group.role}) reads ${group.subscriptions.join(', ')}; dead letters to ${group.dlqTopic}`,
    );
  }
}

/** Connects an admin client, runs the work, and always disconnects. */
async function withAdmin(work: (admin: Admin, brokers: string) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const brokers = config.kafka.brokers.join(',');
  const admin = createKafka(config, logger, 'topology').admin();
  try {
    await admin.connect();
  } catch (error) {
    throw SynclineError.retriable(
      ErrorCodes.BROKER_UNAVAILABLE,
      `cannot reach Kafka at ${brokers} (KAFKA_BROKERS): ${error instanceof Error ? error.message : String(error)}`,
      { part: 'topology' },
      error,
    );
  }
  try {
    await work(admin, brokers);
  } finally {
    await admin.disconnect();
  }
}

function report(
  command: 'apply' | 'diff',
  topology: Topology,
  plan: Plan,
  extra: { applied?: PlanAction[] },
) {
  return {
    command: `topology ${command}`,
    profile: topology.profile,
    prefix: topology.prefix,
    topics: topology.topics.length,
    inSync: !hasDrift(plan),
    ...extra,
    ...(command === 'diff' ? { actions: plan.actions } : {}),
    refusals: plan.refusals,
    drift: plan.drift,
    undeclared: plan.undeclared,
  };
}

function planLines(actions: PlanAction[]): string[] {
  return actions.flatMap((action) => {
    const line = `  ${describeAction(action)}`;
    return action.type === 'raise-partitions' && action.warning
      ? [line, `      warning: ${action.warning}`]
      : [line];
  });
}

function describeAction(action: PlanAction): string {
  switch (action.type) {
    case 'create-topic':
      return `+ create ${action.topic} (partitions ${action.partitions}, replication ${action.replicationFactor}, ${configText(action.config)})`;
    case 'raise-partitions':
      return `↑ raise ${action.topic} partitions ${action.from} → ${action.to}`;
    case 'alter-config':
      return `~ alter ${action.topic}: ${action.changes
        .map((change) => {
          if (!change.currentIsOverride && change.current === change.desired) {
            return `${change.key} ${change.current} (inherited) → pinned on the topic`;
          }
          const from =
            change.current === null
              ? 'unset'
              : `${change.current}${change.currentIsOverride ? '' : ' (inherited)'}`;
          const to = change.desired ?? 'inherit the broker default';
          return `${change.key} ${from} → ${to}`;
        })
        .join('; ')}`;
  }
}

function driftLines(plan: Plan): string[] {
  return plan.drift.map((drift) => `  ! ${drift.message}`);
}

function configText(config: Record<string, string | undefined>): string {
  return Object.entries(config)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
