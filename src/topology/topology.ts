/**
 * Turns the declarations into the concrete topology of one environment.
 *
 * The profile is chosen explicitly (`--profile` or `SYNCLINE_TOPOLOGY_PROFILE`) and defaults to
 * `production`. A production topology on a cluster with fewer brokers than its replication factor is
 * refused by the planner with a message that names `--profile local`, so the safe setting is the
 * default and the local stack is one flag away; never the other way round, where a forgotten flag
 * would create unreplicated topics in production.
 */
import { z } from 'zod';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { ALL_TOPICS, GROUPS, dlqTopicOf, retryTopicOf } from './topics.ts';
import type {
  DesiredTopic,
  GroupDeclaration,
  ManagedConfig,
  ProfileName,
  ResolvedGroup,
  TopicDeclaration,
  Topology,
  TopologyProfile,
} from './types.ts';
import { ProfileNames } from './types.ts';

/**
 * - production: three replicas, two of which must acknowledge an `acks=all` write, so one broker
 *   can be down without losing an acknowledged record or refusing writes.
 * - local: the single-node stack; one replica is all there is.
 */
export const PROFILES: Record<ProfileName, TopologyProfile> = {
  production: { name: 'production', replicationFactor: 3, minInsyncReplicas: 2, partitions: 'production' },
  local: { name: 'local', replicationFactor: 1, minInsyncReplicas: 1, partitions: 'local' },
};

export const DEFAULT_PROFILE: ProfileName = 'production';
export const PROFILE_ENV_VARIABLE = 'SYNCLINE_TOPOLOGY_PROFILE';

const profileName = z.enum(ProfileNames);

/**
 * The profile to use: the command-line flag if given, else `SYNCLINE_TOPOLOGY_PROFILE`, else
 * production. Throws CONFIG_INVALID naming where the bad value came from.
 */
export function chooseProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ProfileName {
  const fromEnv = env[PROFILE_ENV_VARIABLE];
  const [value, origin] =
    flag !== undefined
      ? [flag, '--profile']
      : fromEnv
        ? [fromEnv, PROFILE_ENV_VARIABLE]
        : [DEFAULT_PROFILE, 'default'];
  const parsed = profileName.safeParse(value);
  if (!parsed.success) {
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `${origin}: must be one of ${ProfileNames.join(', ')} (got ${JSON.stringify(value)})`,
    );
  }
  return parsed.data;
}

export interface ResolveOptions {
  profile: ProfileName;
  /** Prepended to every topic name and group id; for isolated test topologies. Default empty. */
  prefix?: string;
  /** The topic declarations; default every Syncline topic ({@link ALL_TOPICS}). */
  topics?: readonly TopicDeclaration[];
  /** The group declarations; default every Syncline group ({@link GROUPS}). */
  groups?: readonly GroupDeclaration[];
}

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
const LEGAL_PREFIX = /^[a-zA-Z0-9._-]*$/;
const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * The desired topology under a profile. Pure. Throws TOPOLOGY_REFUSED when the declarations are
 * inconsistent (duplicate names, a group reading an undeclared topic, an illegal name).
 */
export function resolveTopology(options: ResolveOptions): Topology {
  const profile = PROFILES[options.profile];
  const prefix = options.prefix ?? '';
  const declarations = options.topics ?? ALL_TOPICS;
  const groups = options.groups ?? GROUPS;
  if (!LEGAL_PREFIX.test(prefix)) {
    throw invalid(`prefix ${JSON.stringify(prefix)} may only contain letters, digits, ".", "_" and "-"`);
  }

  const topics = declarations.map((declaration) => desiredTopic(declaration, profile, prefix));
  const resolvedGroups = groups.map((group) => resolvedGroup(group, prefix));

  const problems = [
    ...topicProblems(topics, declarations),
    ...groupProblems(resolvedGroups, new Set(topics.map((t) => t.name))),
  ];
  if (problems.length > 0) throw invalid(problems.join('; '));

  return { profile: profile.name, prefix, topics, groups: resolvedGroups };
}

/** The managed topic configs a declaration pins under a profile. */
export function managedConfigOf(declaration: TopicDeclaration, profile: TopologyProfile): ManagedConfig {
  const cleanup = declaration.cleanup;
  const config: ManagedConfig = {
    'cleanup.policy': cleanup.policy,
    'min.insync.replicas': String(profile.minInsyncReplicas),
  };
  if (cleanup.policy === 'delete') config['retention.ms'] = String(cleanup.retentionMs);
  else config['delete.retention.ms'] = String(cleanup.deleteRetentionMs);
  return config;
}

function desiredTopic(declaration: TopicDeclaration, profile: TopologyProfile, prefix: string): DesiredTopic {
  return {
    name: `${prefix}${declaration.name}`,
    partitions: declaration.partitions[profile.partitions],
    replicationFactor: profile.replicationFactor,
    config: managedConfigOf(declaration, profile),
    // Every Syncline topic is keyed; the flag keeps the planner honest for any that is not.
    keyed: true,
  };
}

function resolvedGroup(group: GroupDeclaration, prefix: string): ResolvedGroup {
  const id = `${prefix}${group.id}`;
  const reads = group.reads.map((topic) => `${prefix}${topic}`);
  const retryTopic = retryTopicOf(id);
  return {
    id,
    role: group.role,
    owner: group.owner,
    description: group.description,
    reads,
    retryTopic,
    dlqTopic: dlqTopicOf(id),
    subscriptions: [...reads, retryTopic],
  };
}

function topicProblems(topics: DesiredTopic[], declarations: readonly TopicDeclaration[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const topic of topics) {
    if (seen.has(topic.name)) problems.push(`topic ${topic.name} is declared twice`);
    seen.add(topic.name);
    if (
      !LEGAL_NAME.test(topic.name) ||
      topic.name.length > MAX_TOPIC_NAME_LENGTH ||
      topic.name === '.' ||
      topic.name === '..'
    ) {
      problems.push(`topic name ${JSON.stringify(topic.name)} is not a legal Kafka topic name`);
    }
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1) {
      problems.push(`topic ${topic.name} needs at least one partition (declared ${topic.partitions})`);
    }
    const minIsr = Number(topic.config['min.insync.replicas']);
    if (minIsr > topic.replicationFactor) {
      problems.push(
        `topic ${topic.name}: min.insync.replicas ${minIsr} exceeds replication factor ${topic.replicationFactor}`,
      );
    }
  }
  for (const declaration of declarations) {
    const retention =
      declaration.cleanup.policy === 'delete'
        ? declaration.cleanup.retentionMs
        : declaration.cleanup.deleteRetentionMs;
    // -1 is Kafka's "forever".
    if (!Number.isInteger(retention) || (retention < 1 && retention !== -1)) {
      problems.push(
        `topic ${declaration.name}: retention must be a positive number of milliseconds or -1 (got ${retention})`,
      );
    }
  }
  return problems;
}

function groupProblems(groups: ResolvedGroup[], topicNames: Set<string>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    if (seen.has(group.id)) problems.push(`group ${group.id} is declared twice`);
    seen.add(group.id);
    for (const topic of [...group.subscriptions, group.dlqTopic]) {
      if (!topicNames.has(topic))
        problems.push(`group ${group.id} uses topic ${topic}, which is not declared`);
    }
  }
  return problems;
}

function invalid(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.TOPOLOGY_REFUSED, `invalid topology declaration: ${message}`);
}
