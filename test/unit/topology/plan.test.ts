/**
 * The planner decides what `topology apply` changes, what it only reports and what it refuses. These
 * cases pin each rule down against hand-made cluster states; no broker is involved.
 */
import { describe, expect, it } from 'vitest';
import type {
  ClusterState,
  ObservedConfigEntry,
  ObservedTopic,
  PlanAction,
} from '../../../src/topology/plan.ts';
import { hasDrift, planTopology } from '../../../src/topology/plan.ts';
import { resolveTopology } from '../../../src/topology/topology.ts';
import type { DesiredTopic, TopicDeclaration, Topology } from '../../../src/topology/types.ts';
import { KeyIdentities, TopicKinds } from '../../../src/topology/types.ts';

const DAY_MS = 86_400_000;

function declaration(name: string, overrides: Partial<TopicDeclaration> = {}): TopicDeclaration {
  return {
    name,
    kind: TopicKinds.CANONICAL,
    owner: 'test',
    description: 'a test topic',
    key: { format: 'string', identity: KeyIdentities.GOLDEN_CUSTOMER_ID },
    value: { format: 'avro', schema: 'syncline.test.Thing' },
    partitions: { production: 6, local: 3 },
    cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
    ...overrides,
  };
}

const EVENTS = declaration('events');
const STATE = declaration('state', { cleanup: { policy: 'compact', deleteRetentionMs: DAY_MS } });

function topology(
  declarations: TopicDeclaration[] = [EVENTS, STATE],
  profile: 'local' | 'production' = 'local',
): Topology {
  return resolveTopology({ profile, topics: declarations, groups: [] });
}

/** The topic exactly as `apply` leaves it: managed configs as topic overrides, broker defaults for the rest. */
function asApplied(topic: DesiredTopic): ObservedTopic {
  const configs: Record<string, ObservedConfigEntry> = {
    'cleanup.policy': inherited('delete'),
    'retention.ms': inherited(String(7 * DAY_MS)),
    'delete.retention.ms': inherited(String(DAY_MS)),
    'min.insync.replicas': inherited('1'),
    'max.message.bytes': inherited('1048588'),
  };
  for (const [key, value] of Object.entries(topic.config)) configs[key] = override(value);
  return {
    name: topic.name,
    partitions: topic.partitions,
    replicationFactor: topic.replicationFactor,
    configs,
  };
}

function inherited(value: string): ObservedConfigEntry {
  return { value, override: false, sensitive: false };
}

function override(value: string): ObservedConfigEntry {
  return { value, override: true, sensitive: false };
}

function cluster(topics: ObservedTopic[], extraNames: string[] = [], brokerCount = 1): ClusterState {
  return { brokerCount, topics, topicNames: [...topics.map((topic) => topic.name), ...extraNames] };
}

function desired(t: Topology, name: string): DesiredTopic {
  const found = t.topics.find((topic) => topic.name === name);
  if (!found) throw new Error(`no topic ${name} in the test topology`);
  return found;
}

function only<T extends PlanAction['type']>(
  actions: PlanAction[],
  type: T,
): Extract<PlanAction, { type: T }>[] {
  return actions.filter((action): action is Extract<PlanAction, { type: T }> => action.type === type);
}

describe('planTopology', () => {
  it('creates a missing topic with its partitions, replication factor and managed configs', () => {
    const t = topology();
    const plan = planTopology(t, cluster([asApplied(desired(t, 'state'))]));

    expect(plan.actions).toEqual([
      {
        type: 'create-topic',
        topic: 'events',
        partitions: 3,
        replicationFactor: 1,
        config: {
          'cleanup.policy': 'delete',
          'retention.ms': String(7 * DAY_MS),
          'min.insync.replicas': '1',
        },
      },
    ]);
    expect(plan.refusals).toEqual([]);
    expect(hasDrift(plan)).toBe(true);
  });

  it('plans nothing when the cluster is exactly as declared', () => {
    const t = topology();
    const plan = planTopology(t, cluster(t.topics.map(asApplied)));

    expect(plan).toEqual({ profile: 'local', actions: [], refusals: [], drift: [], undeclared: [] });
    expect(hasDrift(plan)).toBe(false);
  });

  it('raises a partition count below the declaration and warns that keys move', () => {
    const t = topology();
    const events = { ...asApplied(desired(t, 'events')), partitions: 2 };
    const plan = planTopology(t, cluster([events, asApplied(desired(t, 'state'))]));

    const [raise] = only(plan.actions, 'raise-partitions');
    expect(plan.actions).toHaveLength(1);
    expect(raise).toMatchObject({ topic: 'events', from: 2, to: 3 });
    expect(raise?.warning).toMatch(/keys of events move to other partitions/);
    expect(raise?.warning).not.toMatch(/compaction/);
  });

  it('warns that a compacted topic keeps stale values in former partitions when raised', () => {
    const t = topology();
    const state = { ...asApplied(desired(t, 'state')), partitions: 1 };
    const plan = planTopology(t, cluster([asApplied(desired(t, 'events')), state]));

    expect(only(plan.actions, 'raise-partitions')[0]?.warning).toMatch(
      /compaction keeps each key's old value/,
    );
  });

  it('refuses to lower partitions, naming the topic and both counts', () => {
    const t = topology();
    const events = { ...asApplied(desired(t, 'events')), partitions: 8 };
    const plan = planTopology(t, cluster([events, asApplied(desired(t, 'state'))]));

    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([
      {
        type: 'lower-partitions',
        topic: 'events',
        current: 8,
        desired: 3,
        message: expect.stringMatching(
          /^topic events has 8 partitions but the declaration says 3: Kafka cannot remove partitions/,
        ) as unknown,
      },
    ]);
    expect(hasDrift(plan)).toBe(true);
  });

  it('alters a changed retention and keeps the overrides it does not manage', () => {
    const t = topology();
    const events = asApplied(desired(t, 'events'));
    events.configs['retention.ms'] = override(String(DAY_MS));
    events.configs['max.message.bytes'] = override('2000000');
    const plan = planTopology(t, cluster([events, asApplied(desired(t, 'state'))]));

    expect(plan.actions).toEqual([
      {
        type: 'alter-config',
        topic: 'events',
        changes: [
          {
            key: 'retention.ms',
            current: String(DAY_MS),
            currentIsOverride: true,
            desired: String(7 * DAY_MS),
          },
        ],
        configEntries: {
          'cleanup.policy': 'delete',
          'retention.ms': String(7 * DAY_MS),
          'min.insync.replicas': '1',
          'max.message.bytes': '2000000',
        },
      },
    ]);
  });

  it('pins a managed config that only matches through the broker default', () => {
    const t = topology();
    const events = asApplied(desired(t, 'events'));
    events.configs['min.insync.replicas'] = inherited('1');
    const plan = planTopology(t, cluster([events, asApplied(desired(t, 'state'))]));

    expect(only(plan.actions, 'alter-config')[0]?.changes).toEqual([
      { key: 'min.insync.replicas', current: '1', currentIsOverride: false, desired: '1' },
    ]);
  });

  it('removes an override of a managed config the declaration leaves out', () => {
    const t = topology();
    const state = asApplied(desired(t, 'state'));
    state.configs['retention.ms'] = override('1000');
    const plan = planTopology(t, cluster([asApplied(desired(t, 'events')), state]));

    const [alter] = only(plan.actions, 'alter-config');
    expect(alter?.changes).toEqual([
      { key: 'retention.ms', current: '1000', currentIsOverride: true, desired: null },
    ]);
    expect(alter?.configEntries).not.toHaveProperty('retention.ms');
  });

  it('treats the same cleanup policies in another order as no change', () => {
    const declared = declaration('both', { cleanup: { policy: 'compact', deleteRetentionMs: DAY_MS } });
    const t = topology([declared]);
    const observed = asApplied(desired(t, 'both'));
    const desiredBoth: DesiredTopic = {
      ...desired(t, 'both'),
      config: { ...desired(t, 'both').config, 'cleanup.policy': 'delete,compact' },
    };
    observed.configs['cleanup.policy'] = override('compact, delete');

    const plan = planTopology({ ...t, topics: [desiredBoth] }, cluster([observed]));

    expect(plan.actions).toEqual([]);
  });

  it('reports a different replication factor without planning to change it', () => {
    const t = topology([EVENTS], 'production');
    const events = asApplied(desired(t, 'events'));
    const plan = planTopology(t, cluster([{ ...events, replicationFactor: 2 }], [], 3));

    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([]);
    expect(plan.drift).toEqual([
      {
        type: 'replication-factor-differs',
        topic: 'events',
        current: 2,
        desired: 3,
        message: expect.stringContaining('needs a partition reassignment') as unknown,
      },
    ]);
    expect(hasDrift(plan)).toBe(true);
  });

  it('refuses a profile whose replication factor exceeds the broker count, pointing at --profile local', () => {
    const t = topology([EVENTS], 'production');
    const plan = planTopology(t, cluster([], [], 1));

    expect(plan.refusals).toEqual([
      {
        type: 'replication-exceeds-brokers',
        replicationFactor: 3,
        brokers: 1,
        message:
          'profile production needs replication factor 3 but the cluster has 1 broker; on a single-broker stack use --profile local',
      },
    ]);
  });

  it('refuses a min.insync.replicas above the replicas an existing topic has', () => {
    const t = topology([EVENTS], 'production');
    const events = { ...asApplied(desired(t, 'events')), replicationFactor: 1 };
    const plan = planTopology(t, cluster([events], [], 3));

    expect(plan.refusals.map((refusal) => refusal.type)).toEqual(['min-insync-exceeds-replicas']);
    expect(plan.refusals[0]?.message).toMatch(
      /events has 1 replica\(s\); min.insync.replicas 2 would refuse every acks=all write/,
    );
  });

  it('refuses to alter configs when an unmanaged override cannot be read back', () => {
    const t = topology([EVENTS]);
    const events = asApplied(desired(t, 'events'));
    events.configs['retention.ms'] = override('1');
    events.configs['some.secret'] = { value: null, override: true, sensitive: true };
    const plan = planTopology(t, cluster([events]));

    expect(only(plan.actions, 'alter-config')).toEqual([]);
    expect(plan.refusals).toMatchObject([
      { type: 'unreadable-override', topic: 'events', key: 'some.secret' },
    ]);
  });

  it('lists undeclared topics for information only, ignoring internal ones', () => {
    const t = topology();
    const plan = planTopology(
      t,
      cluster(t.topics.map(asApplied), ['zeta', '__consumer_offsets', '_schemas', 'alpha']),
    );

    expect(plan.undeclared).toEqual(['alpha', 'zeta']);
    expect(hasDrift(plan)).toBe(false);
  });

  it('looks only under its own prefix for undeclared topics', () => {
    const t = resolveTopology({ profile: 'local', prefix: 'it-1.', topics: [EVENTS], groups: [] });
    const plan = planTopology(t, cluster([], ['it-1.stray', 'it-2.events', 'events']));

    expect(plan.undeclared).toEqual(['it-1.stray']);
    expect(only(plan.actions, 'create-topic').map((action) => action.topic)).toEqual(['it-1.events']);
  });

  it('plans the same thing twice from the same inputs, without changing them', () => {
    const t = topology();
    const state = cluster([{ ...asApplied(desired(t, 'events')), partitions: 1 }]);
    const before = JSON.stringify({ t, state });

    expect(planTopology(t, state)).toEqual(planTopology(t, state));
    expect(JSON.stringify({ t, state })).toBe(before);
  });
});
