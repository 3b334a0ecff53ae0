/**
 * Topology as code against the real broker: a small private topology (unique names) is created with
 * the declared partitions and configs, a second apply changes nothing, a changed declaration shows up
 * in the diff and is applied without losing configs we do not manage, and lowering partitions is
 * refused without changing anything. The CLI is run as a child process on a private copy of the full
 * topology.
 */
import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { diffTopology, syncTopology } from '../../../src/topology/cluster.ts';
import { hasDrift } from '../../../src/topology/plan.ts';
import { groupTopicDeclarations } from '../../../src/topology/topics.ts';
import { resolveTopology } from '../../../src/topology/topology.ts';
import type { GroupDeclaration, TopicDeclaration, Topology } from '../../../src/topology/types.ts';
import { GroupRoles, KeyIdentities, TopicKinds } from '../../../src/topology/types.ts';
import { runCli } from '../../support/cli.ts';

const { ConfigResourceTypes } = kafkajs;
const DAY_MS = 86_400_000;

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const prefix = `it-topo-${randomBytes(4).toString('hex')}.`;
let admin: Admin;

const EVENTS: TopicDeclaration = {
  name: 'events',
  kind: TopicKinds.CANONICAL,
  owner: 'test',
  description: 'events of the private test topology',
  key: { format: 'string', identity: KeyIdentities.GOLDEN_CUSTOMER_ID },
  value: { format: 'avro', schema: 'syncline.test.Event' },
  partitions: { production: 6, local: 2 },
  cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
};
const STATE: TopicDeclaration = {
  ...EVENTS,
  name: 'state',
  kind: TopicKinds.MDM,
  cleanup: { policy: 'compact', deleteRetentionMs: DAY_MS },
};
const SINK: GroupDeclaration = {
  id: 'sink',
  role: GroupRoles.SINK,
  owner: 'test',
  description: 'a sink of the private test topology',
  reads: ['events'],
  retryPartitions: { production: 3, local: 1 },
  dlqPartitions: { production: 3, local: 1 },
};

/** The events declaration as the tests have changed it so far; each test starts from the last. */
let declaredEvents = EVENTS;

function privateTopology(events: TopicDeclaration = declaredEvents): Topology {
  return resolveTopology({
    profile: 'local',
    prefix,
    topics: [events, STATE, ...groupTopicDeclarations([SINK])],
    groups: [SINK],
  });
}

/** Partition count and topic-level config overrides, read straight from the broker. */
async function describeTopic(
  name: string,
): Promise<{ partitions: number; overrides: Record<string, string> }> {
  const metadata = await admin.fetchTopicMetadata({ topics: [name] });
  const configs = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name }],
    includeSynonyms: false,
  });
  const overrides: Record<string, string> = {};
  for (const entry of configs.resources[0]?.configEntries ?? []) {
    if (entry.configSource === kafkajs.ConfigSource.TOPIC_CONFIG)
      overrides[entry.configName] = entry.configValue;
  }
  return { partitions: metadata.topics[0]?.partitions.length ?? 0, overrides };
}

async function deleteTopicsUnder(topicPrefix: string): Promise<void> {
  const mine = (await admin.listTopics()).filter((name) => name.startsWith(topicPrefix));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
}

beforeAll(async () => {
  admin = createKafka(config, logger, 'it-topology').admin();
  await admin.connect();
});

afterAll(async () => {
  await deleteTopicsUnder(prefix);
  await admin.disconnect();
});

describe('topology apply against the broker', () => {
  it('creates every declared topic with its partitions and managed configs as topic overrides', async () => {
    const { plan } = await syncTopology(admin, privateTopology());

    expect(plan.actions.map((action) => `${action.type} ${action.topic}`)).toEqual([
      `create-topic ${prefix}events`,
      `create-topic ${prefix}state`,
      `create-topic ${prefix}sink.retry`,
      `create-topic ${prefix}sink.dlq`,
    ]);
    expect(await describeTopic(`${prefix}events`)).toEqual({
      partitions: 2,
      overrides: {
        'cleanup.policy': 'delete',
        'retention.ms': String(7 * DAY_MS),
        'min.insync.replicas': '1',
      },
    });
    expect(await describeTopic(`${prefix}state`)).toEqual({
      partitions: 2,
      overrides: {
        'cleanup.policy': 'compact',
        'delete.retention.ms': String(DAY_MS),
        'min.insync.replicas': '1',
      },
    });
    expect((await describeTopic(`${prefix}sink.dlq`)).overrides['retention.ms']).toBe('-1'); // DLQ records never expire by age
  });

  it('finds nothing to do on a second apply', async () => {
    const again = await syncTopology(admin, privateTopology());

    expect(again.plan.actions).toEqual([]);
    expect(again.plan.refusals).toEqual([]);
    expect(hasDrift(await diffTopology(admin, privateTopology()))).toBe(false);
  });

  it('shows a changed retention in the diff and applies it, keeping overrides it does not manage', async () => {
    const events = `${prefix}events`;
    // An operator's own override: AlterConfigs replaces all overrides, so apply must send it back.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: events,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'retention.ms', value: String(7 * DAY_MS) },
            { name: 'min.insync.replicas', value: '1' },
            { name: 'max.message.bytes', value: '2000000' },
          ],
        },
      ],
    });
    declaredEvents = { ...EVENTS, cleanup: { policy: 'delete', retentionMs: 3 * DAY_MS } };
    const changed = privateTopology();

    const diff = await diffTopology(admin, changed);
    expect(diff.actions).toMatchObject([
      {
        type: 'alter-config',
        topic: events,
        changes: [{ key: 'retention.ms', current: String(7 * DAY_MS), desired: String(3 * DAY_MS) }],
      },
    ]);

    const { after } = await syncTopology(admin, changed);
    expect(hasDrift(after)).toBe(false);
    expect((await describeTopic(events)).overrides).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': String(3 * DAY_MS),
      'min.insync.replicas': '1',
      'max.message.bytes': '2000000',
    });
  });

  it('raises partitions when the declaration asks for more', async () => {
    declaredEvents = { ...declaredEvents, partitions: { production: 6, local: 4 } };
    const more = privateTopology();

    const { plan } = await syncTopology(admin, more);

    expect(plan.actions).toMatchObject([
      { type: 'raise-partitions', topic: `${prefix}events`, from: 2, to: 4 },
    ]);
    expect((await describeTopic(`${prefix}events`)).partitions).toBe(4);
  });

  it('refuses to lower partitions and then changes nothing at all', async () => {
    const fewer = privateTopology({
      ...declaredEvents,
      partitions: { production: 6, local: 1 },
      cleanup: { policy: 'delete', retentionMs: DAY_MS },
    });

    const refusal = await syncTopology(admin, fewer).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(refusal).toBeInstanceOf(SynclineError);
    expect((refusal as SynclineError).code).toBe(ErrorCodes.TOPOLOGY_REFUSED);
    expect((refusal as SynclineError).message).toBe(
      `refused: topic ${prefix}events has 4 partitions but the declaration says 1: ` +
        'Kafka cannot remove partitions; declare 4 or recreate the topic',
    );
    const events = await describeTopic(`${prefix}events`);
    expect(events.partitions).toBe(4);
    expect(events.overrides['retention.ms']).toBe(String(3 * DAY_MS));
  });
});

/** With no topology profile from the environment: the tests name theirs with --profile. */
const runTopologyCli = (args: string[]) => runCli(args, { SYNCLINE_TOPOLOGY_PROFILE: '' });

describe('syncline topology (CLI) on a private copy of the full topology', () => {
  const cliPrefix = `it-topo-cli-${randomBytes(4).toString('hex')}.`;
  const common = ['--profile', 'local', '--prefix', cliPrefix, '--json'];

  afterAll(async () => {
    await deleteTopicsUnder(cliPrefix);
  });

  it('diff --check exits 1 before apply, apply creates everything, then diff --check exits 0', async () => {
    const before = await runTopologyCli(['topology', 'diff', '--check', ...common]);
    expect(before.code).toBe(1);
    const drift = JSON.parse(before.stdout) as { inSync: boolean; actions: { type: string }[] };
    expect(drift.inSync).toBe(false);
    expect(drift.actions).toHaveLength(29);
    expect(drift.actions.every((action) => action.type === 'create-topic')).toBe(true);
    expect(before.stderr).toMatch(
      /^syncline: topology: the cluster differs from the declaration \(29 differences\)$/m,
    );

    const applied = await runTopologyCli(['topology', 'apply', ...common]);
    expect(applied.code).toBe(0);
    expect((JSON.parse(applied.stdout) as { applied: unknown[]; inSync: boolean }).applied).toHaveLength(29);

    const after = await runTopologyCli(['topology', 'diff', '--check', ...common]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({
      command: 'topology diff',
      inSync: true,
      actions: [],
      refusals: [],
    });
  });

  it('apply exits non-zero with a one-line reason when partitions would have to be lowered', async () => {
    const audit = `${cliPrefix}ops.audit`;
    await admin.createPartitions({ topicPartitions: [{ topic: audit, count: 3 }] });

    const refused = await runTopologyCli(['topology', 'apply', '--profile', 'local', '--prefix', cliPrefix]);

    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(
      `syncline: topology: refused: topic ${audit} has 3 partitions but the declaration says 1: ` +
        'Kafka cannot remove partitions; declare 3 or recreate the topic',
    );
  });
});
