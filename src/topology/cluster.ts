/**
 * The cluster side of topology as code: reads what the cluster has through the kafkajs admin client,
 * and carries out a plan (create topics, raise partitions, alter configs).
 *
 * Applying is idempotent: after the changes it reads the cluster again until it shows the declared
 * state, so a second apply finds nothing to do.
 */
import kafkajs from 'kafkajs';
import type { Admin, ConfigEntries } from 'kafkajs';
import { ErrorCodes, SynclineError, classify } from '../runtime/errors.ts';
import type { ClusterState, ObservedConfigEntry, ObservedTopic, Plan, PlanAction } from './plan.ts';
import { planTopology } from './plan.ts';
import type { Topology } from './types.ts';
import { createTopicsReady } from './create-topics.ts';

// kafkajs is CommonJS; Node's ESM loader only detects some of its named exports, so take the enums
// from the default export.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/** How long to wait for topic leaders after creating topics, and for the cluster to show changes. */
const ADMIN_TIMEOUT_MS = 30_000;
const CONVERGENCE_TIMEOUT_MS = 15_000;
const CONVERGENCE_POLL_MS = 250;

/** Reads broker count, all topic names, and partitions, replicas and configs of the given topics. */
export async function observeCluster(admin: Admin, topicNames: readonly string[]): Promise<ClusterState> {
  const [cluster, allNames] = await Promise.all([admin.describeCluster(), admin.listTopics()]);
  const onCluster = new Set(allNames);
  const present = topicNames.filter((name) => onCluster.has(name));
  if (present.length === 0) return { brokerCount: cluster.brokers.length, topics: [], topicNames: allNames };

  const [metadata, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      includeSynonyms: false,
    }),
  ]);
  const configsByTopic = new Map(configs.resources.map((resource) => [resource.resourceName, resource]));

  const topics: ObservedTopic[] = metadata.topics.map((topic) => {
    const described = configsByTopic.get(topic.name);
    if (!described || described.errorCode !== 0) {
      throw SynclineError.retriable(
        ErrorCodes.BROKER_UNAVAILABLE,
        `could not read the configs of topic ${topic.name}${described?.errorMessage ? `: ${described.errorMessage}` : ''}`,
        { topic: topic.name },
      );
    }
    return {
      name: topic.name,
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((partition) => partition.replicas.length)),
      configs: Object.fromEntries(
        described.configEntries.map((entry) => [entry.configName, observedEntry(entry)]),
      ),
    };
  });
  return { brokerCount: cluster.brokers.length, topics, topicNames: allNames };
}

function observedEntry(entry: ConfigEntries): ObservedConfigEntry {
  return {
    // kafkajs types say string, the protocol says nullable (sensitive values are null).
    value: typeof entry.configValue === 'string' ? entry.configValue : null,
    override: entry.configSource === ConfigSource.TOPIC_CONFIG,
    sensitive: entry.isSensitive,
  };
}

/** Observes the cluster and plans the changes that bring it to the declared topology. */
export async function diffTopology(admin: Admin, topology: Topology): Promise<Plan> {
  const state = await observeCluster(
    admin,
    topology.topics.map((topic) => topic.name),
  );
  return planTopology(topology, state);
}

export interface ApplyCallbacks {
  /** Called before each action is carried out, e.g. to report progress. */
  onAction?: (action: PlanAction, index: number, total: number) => void;
}

/**
 * Carries out a plan. Refuses (TOPOLOGY_REFUSED, nothing changed) when the plan has refusals.
 * Creates all missing topics in one request, then raises partitions, then alters configs topic by
 * topic, so a failure names its topic.
 */
export async function applyPlan(admin: Admin, plan: Plan, callbacks: ApplyCallbacks = {}): Promise<void> {
  if (plan.refusals.length > 0) throw refusedError(plan);
  const total = plan.actions.length;
  let index = 0;
  const report = (action: PlanAction) => callbacks.onAction?.(action, index++, total);

  const creates = plan.actions.filter((action) => action.type === 'create-topic');
  if (creates.length > 0) {
    creates.forEach(report);
    await attempt('create topics', undefined, () =>
      createTopicsReady(
        admin,
        creates.map((action) => ({
          topic: action.topic,
          numPartitions: action.partitions,
          replicationFactor: action.replicationFactor,
          configEntries: Object.entries(action.config).map(([name, value]) => ({ name, value })),
        })),
        { timeoutMs: ADMIN_TIMEOUT_MS },
      ),
    );
  }

  for (const action of plan.actions) {
    if (action.type !== 'raise-partitions') continue;
    report(action);
    await attempt(`raise partitions of ${action.topic} to ${action.to}`, action.topic, () =>
      admin.createPartitions({
        timeout: ADMIN_TIMEOUT_MS,
        topicPartitions: [{ topic: action.topic, count: action.to }],
      }),
    );
  }

  for (const action of plan.actions) {
    if (action.type !== 'alter-config') continue;
    report(action);
    await attempt(`alter configs of ${action.topic}`, action.topic, () =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: action.topic,
            configEntries: Object.entries(action.configEntries).map(([name, value]) => ({ name, value })),
          },
        ],
      }),
    );
  }
}

export interface SyncResult {
  /** The plan that was carried out (empty actions: nothing to do). */
  plan: Plan;
  /** The plan after applying: no actions; refusals none; drift and undeclared topics may remain. */
  after: Plan;
}

/**
 * Brings the cluster to the declared topology: diff, apply, then wait until the cluster shows the
 * result. Refuses without changing anything when the plan has refusals.
 */
export async function syncTopology(
  admin: Admin,
  topology: Topology,
  callbacks: ApplyCallbacks = {},
): Promise<SyncResult> {
  const plan = await diffTopology(admin, topology);
  return applyAndAwait(admin, topology, plan, callbacks);
}

/**
 * Carries out a plan made for this topology and waits until the cluster shows the result. Refuses
 * without changing anything when the plan has refusals.
 */
export async function applyAndAwait(
  admin: Admin,
  topology: Topology,
  plan: Plan,
  callbacks: ApplyCallbacks = {},
): Promise<SyncResult> {
  if (plan.refusals.length > 0) throw refusedError(plan);
  if (plan.actions.length === 0) return { plan, after: plan };
  await applyPlan(admin, plan, callbacks);
  const after = await awaitConvergence(admin, topology);
  return { plan, after };
}

/**
 * Metadata and config changes reach every broker asynchronously (KRaft metadata log); poll until the
 * cluster shows no pending action, so "applied" means visible.
 */
async function awaitConvergence(admin: Admin, topology: Topology): Promise<Plan> {
  const deadline = Date.now() + CONVERGENCE_TIMEOUT_MS;
  for (;;) {
    const plan = await diffTopology(admin, topology);
    if (plan.actions.length === 0 && plan.refusals.length === 0) return plan;
    if (Date.now() >= deadline) {
      const pending = [
        ...plan.actions.map((action) => `${action.type} ${action.topic}`),
        ...plan.refusals.map((r) => r.message),
      ];
      throw SynclineError.retriable(
        ErrorCodes.TIMEOUT,
        `changes applied, but after ${CONVERGENCE_TIMEOUT_MS / 1000}s the cluster still differs: ${pending.join('; ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, CONVERGENCE_POLL_MS));
  }
}

/** The one-line reason of a refused plan, naming the first refusal and how many more there are. */
export function refusedError(plan: Plan): SynclineError {
  const [first, ...rest] = plan.refusals;
  const more = rest.length > 0 ? ` (and ${rest.length} more refusal${rest.length === 1 ? '' : 's'})` : '';
  return SynclineError.permanent(
    ErrorCodes.TOPOLOGY_REFUSED,
    `refused: ${first?.message ?? 'unknown reason'}${more}`,
    {
      part: 'topology',
      ...(first && 'topic' in first ? { topic: first.topic } : {}),
    },
  );
}

async function attempt<T>(what: string, topic: string | undefined, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const failure = classify(error, topic ? { topic } : undefined);
    throw new SynclineError(failure.code, `could not ${what}: ${detail(error)}`, {
      retriable: failure.retriable,
      context: failure.context,
      cause: error,
    });
  }
}

/** kafkajs wraps per-topic errors in an aggregate whose own message says little. */
function detail(error: unknown): string {
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((inner: unknown) => {
        const topic = (inner as { topic?: unknown }).topic;
        const message = inner instanceof Error ? inner.message : String(inner);
        return typeof topic === 'string' ? `${topic}: ${message}` : message;
      })
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}
