/**
 * The planner: compares the desired topology with what the cluster has and says what to do. Pure, so
 * every rule (what is changed, what is only reported, what is refused) is unit-tested without a broker.
 *
 * - A missing topic is created with its partitions, replication factor and managed configs.
 * - Fewer partitions than declared are raised (with a warning: keys move to other partitions).
 * - More partitions than declared are refused: Kafka cannot remove partitions.
 * - Managed configs that differ, or that are only inherited from the broker, are pinned on the topic;
 *   a managed config the declaration leaves out loses its topic override.
 * - A different replication factor is reported, never changed: that is a partition reassignment.
 * - Topics on the cluster that nobody declared are listed for information only.
 */
import type { DesiredTopic, ManagedConfigKey, Topology } from './types.ts';
import { MANAGED_CONFIG_KEYS } from './types.ts';

/** One topic config as the cluster reports it. */
export interface ObservedConfigEntry {
  /** Null when the broker hides it (sensitive configs). */
  value: string | null;
  /** True when set on the topic itself; false when inherited from broker or cluster defaults. */
  override: boolean;
  sensitive: boolean;
}

export interface ObservedTopic {
  name: string;
  partitions: number;
  /** The replica count of the topic's partitions (the largest, should they differ). */
  replicationFactor: number;
  configs: Record<string, ObservedConfigEntry>;
}

/** What the cluster has: the declared topics that exist, and the names of all topics. */
export interface ClusterState {
  brokerCount: number;
  /** Details of the declared topics that exist on the cluster. */
  topics: ObservedTopic[];
  /** Every topic name on the cluster, internal ones included. */
  topicNames: string[];
}

/** A change of one managed config. `desired: null` removes the topic override (inherit the default). */
export interface ConfigChange {
  key: ManagedConfigKey;
  current: string | null;
  /** Whether the current value is a topic override or inherited. */
  currentIsOverride: boolean;
  desired: string | null;
}

export type PlanAction =
  | {
      type: 'create-topic';
      topic: string;
      partitions: number;
      replicationFactor: number;
      config: Record<string, string>;
    }
  | { type: 'raise-partitions'; topic: string; from: number; to: number; warning: string | undefined }
  | {
      type: 'alter-config';
      topic: string;
      changes: ConfigChange[];
      /**
       * Every topic override the topic must have afterwards: the managed ones plus the unmanaged
       * overrides found on the cluster. Kafka's (non-incremental) AlterConfigs replaces all overrides
       * of a topic, so what is not sent is removed.
       */
      configEntries: Record<string, string>;
    };

export type Refusal =
  | { type: 'lower-partitions'; topic: string; current: number; desired: number; message: string }
  | { type: 'replication-exceeds-brokers'; replicationFactor: number; brokers: number; message: string }
  | {
      type: 'min-insync-exceeds-replicas';
      topic: string;
      minInsyncReplicas: number;
      replicationFactor: number;
      message: string;
    }
  | { type: 'unreadable-override'; topic: string; key: string; message: string };

/** Drift that is reported but never changed by `apply`. */
export interface ReplicationDrift {
  type: 'replication-factor-differs';
  topic: string;
  current: number;
  desired: number;
  message: string;
}

export interface Plan {
  profile: Topology['profile'];
  actions: PlanAction[];
  /** Changes Syncline will not make; `apply` refuses to do anything while there are any. */
  refusals: Refusal[];
  /** Drift reported for an operator to fix by hand. */
  drift: ReplicationDrift[];
  /** Topics on the cluster (under the topology's prefix) that nobody declared. Information only. */
  undeclared: string[];
}

/** Computes the plan. Pure: same inputs, same plan, in declaration order. */
export function planTopology(topology: Topology, state: ClusterState): Plan {
  const observed = new Map(state.topics.map((topic) => [topic.name, topic]));
  const actions: PlanAction[] = [];
  const refusals: Refusal[] = [];
  const drift: ReplicationDrift[] = [];

  const neededReplicas = Math.max(0, ...topology.topics.map((topic) => topic.replicationFactor));
  if (neededReplicas > state.brokerCount) {
    refusals.push({
      type: 'replication-exceeds-brokers',
      replicationFactor: neededReplicas,
      brokers: state.brokerCount,
      message:
        `profile ${topology.profile} needs replication factor ${neededReplicas} but the cluster has ` +
        `${state.brokerCount} broker${state.brokerCount === 1 ? '' : 's'}; on a single-broker stack use --profile local`,
    });
  }

  for (const desired of topology.topics) {
    const current = observed.get(desired.name);
    if (!current) {
      actions.push(createAction(desired));
      continue;
    }

    if (current.partitions < desired.partitions) {
      actions.push({
        type: 'raise-partitions',
        topic: desired.name,
        from: current.partitions,
        to: desired.partitions,
        warning: raiseWarning(desired),
      });
    } else if (current.partitions > desired.partitions) {
      refusals.push({
        type: 'lower-partitions',
        topic: desired.name,
        current: current.partitions,
        desired: desired.partitions,
        message:
          `topic ${desired.name} has ${current.partitions} partitions but the declaration says ${desired.partitions}: ` +
          `Kafka cannot remove partitions; declare ${current.partitions} or recreate the topic`,
      });
    }

    if (current.replicationFactor !== desired.replicationFactor) {
      drift.push({
        type: 'replication-factor-differs',
        topic: desired.name,
        current: current.replicationFactor,
        desired: desired.replicationFactor,
        message:
          `topic ${desired.name} has replication factor ${current.replicationFactor}, the declaration says ` +
          `${desired.replicationFactor}: not changed here, it needs a partition reassignment`,
      });
    }

    const minIsr = Number(desired.config['min.insync.replicas'] ?? '1');
    if (minIsr > current.replicationFactor) {
      refusals.push({
        type: 'min-insync-exceeds-replicas',
        topic: desired.name,
        minInsyncReplicas: minIsr,
        replicationFactor: current.replicationFactor,
        message:
          `topic ${desired.name} has ${current.replicationFactor} replica(s); min.insync.replicas ${minIsr} ` +
          `would refuse every acks=all write`,
      });
    }

    const alter = alterAction(desired, current, refusals);
    if (alter) actions.push(alter);
  }

  const declared = new Set(topology.topics.map((topic) => topic.name));
  const undeclared = state.topicNames
    .filter((name) => !declared.has(name) && !isInternalTopic(name) && name.startsWith(topology.prefix))
    .sort();

  return { profile: topology.profile, actions, refusals, drift, undeclared };
}

/** True when the cluster differs from the declaration in any way `diff --check` should flag. */
export function hasDrift(plan: Plan): boolean {
  return plan.actions.length > 0 || plan.refusals.length > 0 || plan.drift.length > 0;
}

/** Kafka's own topics (`__consumer_offsets`, ...) and by convention `_`-prefixed ones (`_schemas`). */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('_');
}

function createAction(desired: DesiredTopic): PlanAction {
  return {
    type: 'create-topic',
    topic: desired.name,
    partitions: desired.partitions,
    replicationFactor: desired.replicationFactor,
    config: definedEntries(desired.config),
  };
}

function raiseWarning(desired: DesiredTopic): string | undefined {
  if (!desired.keyed) return undefined;
  const base =
    `keys of ${desired.name} move to other partitions: per-key order holds only among records written after ` +
    'the change, so let consumers catch up before producers write again';
  return desired.config['cleanup.policy']?.includes('compact')
    ? `${base}; compaction keeps each key's old value in its former partition, so readers rebuilding state may see stale values`
    : base;
}

function alterAction(
  desired: DesiredTopic,
  current: ObservedTopic,
  refusals: Refusal[],
): PlanAction | undefined {
  const changes: ConfigChange[] = [];
  for (const key of MANAGED_CONFIG_KEYS) {
    const want = desired.config[key];
    const have = current.configs[key];
    const haveValue = have?.value ?? null;
    const haveOverride = have?.override ?? false;
    if (want === undefined) {
      if (haveOverride) changes.push({ key, current: haveValue, currentIsOverride: true, desired: null });
    } else if (!haveOverride || haveValue === null || normalize(key, haveValue) !== normalize(key, want)) {
      changes.push({ key, current: haveValue, currentIsOverride: haveOverride, desired: want });
    }
  }
  if (changes.length === 0) return undefined;

  const managed = new Set<string>(MANAGED_CONFIG_KEYS);
  const configEntries: Record<string, string> = definedEntries(desired.config);
  for (const [key, entry] of Object.entries(current.configs)) {
    if (managed.has(key) || !entry.override) continue;
    if (entry.value === null || entry.sensitive) {
      refusals.push({
        type: 'unreadable-override',
        topic: desired.name,
        key,
        message:
          `topic ${desired.name} has an override of ${key} the broker does not reveal; altering its configs would ` +
          'erase it (AlterConfigs replaces all overrides), so set the managed configs by hand',
      });
      return undefined;
    }
    configEntries[key] = entry.value;
  }
  return { type: 'alter-config', topic: desired.name, changes, configEntries };
}

/** `cleanup.policy` is a list; "delete,compact" and "compact,delete" are the same policy. */
function normalize(key: ManagedConfigKey, value: string): string {
  if (key !== 'cleanup.policy') return value.trim();
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .sort()
    .join(',');
}

function definedEntries(config: DesiredTopic['config']): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const key of MANAGED_CONFIG_KEYS) {
    const value = config[key];
    if (value !== undefined) entries[key] = value;
  }
  return entries;
}
