/**
 * The declared topology is a public contract (DESIGN.md, "Topics"): names, keys, compaction, the retry
 * and DLQ topics of every group, and the profile rules that make it fit production or the local stack.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import {
  ALL_TOPICS,
  GROUPS,
  TOPICS,
  compatibilityOf,
  dlqTopicOf,
  retryTopicOf,
  valueSubjectOf,
} from '../../../src/topology/topics.ts';
import { PROFILES, chooseProfile, resolveTopology } from '../../../src/topology/topology.ts';
import type { TopicDeclaration } from '../../../src/topology/types.ts';
import { KeyIdentities } from '../../../src/topology/types.ts';

const DAY_MS = 86_400_000;

/** The names DESIGN.md and the brief promise to downstream subscribers. */
const CONTRACT_TOPICS = [
  'raw.salesforce.account',
  'raw.salesforce.opportunity',
  'raw.stripe.customer',
  'raw.stripe.subscription',
  'raw.stripe.invoice',
  'raw.zendesk.organization',
  'raw.zendesk.entitlement',
  'raw.erp.customer',
  'canonical.customer',
  'canonical.contract',
  'canonical.order',
  'canonical.invoice',
  'canonical.entitlement',
  'canonical.renewal',
  'mdm.customer.golden',
  'mdm.customer.xref',
  'mdm.customer.review',
  'ops.lineage',
  'ops.audit',
];
const CONTRACT_GROUPS = [
  'syncline-processor',
  'erp-rest-sink',
  'erp-sql-sink',
  'crm-writeback-sink',
  'support-entitlement-sink',
];

function topic(name: string): TopicDeclaration {
  const found = ALL_TOPICS.find((declaration) => declaration.name === name);
  if (!found) throw new Error(`${name} is not declared`);
  return found;
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function retentionOf(declaration: TopicDeclaration): number {
  if (declaration.cleanup.policy !== 'delete') throw new Error(`${declaration.name} is compacted`);
  return declaration.cleanup.retentionMs;
}

describe('the declared topics', () => {
  it('are exactly the topics named in DESIGN.md plus a retry and a DLQ topic per consumer group', () => {
    const expected = [
      ...CONTRACT_TOPICS,
      ...CONTRACT_GROUPS.flatMap((group) => [`${group}.retry`, `${group}.dlq`]),
    ];
    expect(ALL_TOPICS.map((declaration) => declaration.name).sort()).toEqual(expected.sort());
    expect(TOPICS.map((declaration) => declaration.name)).toEqual(CONTRACT_TOPICS);
  });

  it('follow raw.<system>.<entity> and canonical.<entity> and sit in the kind their name says', () => {
    for (const declaration of ALL_TOPICS) {
      if (declaration.kind === 'raw') expect(declaration.name).toMatch(/^raw\.[a-z]+\.[a-z]+$/);
      if (declaration.kind === 'canonical') expect(declaration.name).toMatch(/^canonical\.[a-z]+$/);
      if (declaration.kind === 'retry') expect(declaration.name).toMatch(/\.retry$/);
      if (declaration.kind === 'dlq') expect(declaration.name).toMatch(/\.dlq$/);
    }
  });

  it('key every canonical topic and the golden record by golden customer id', () => {
    const canonical = ALL_TOPICS.filter((declaration) => declaration.kind === 'canonical');
    expect(canonical).toHaveLength(6);
    for (const declaration of [...canonical, topic('mdm.customer.golden')]) {
      expect(declaration.key, declaration.name).toEqual({
        format: 'string',
        identity: KeyIdentities.GOLDEN_CUSTOMER_ID,
      });
    }
  });

  it('key every raw topic by source entity id and the cross-reference by source reference', () => {
    for (const declaration of ALL_TOPICS.filter((d) => d.kind === 'raw')) {
      expect(declaration.key.identity, declaration.name).toBe(KeyIdentities.SOURCE_ENTITY_ID);
    }
    expect(topic('mdm.customer.xref').key.identity).toBe(KeyIdentities.SOURCE_REFERENCE);
  });

  it('compact the golden record and the cross-reference, and only those', () => {
    const compacted = ALL_TOPICS.filter((declaration) => declaration.cleanup.policy === 'compact').map(
      (d) => d.name,
    );
    expect(compacted.sort()).toEqual(['mdm.customer.golden', 'mdm.customer.xref']);

    const local = resolveTopology({ profile: 'local' });
    for (const name of compacted) {
      const config = local.topics.find((t) => t.name === name)?.config;
      expect(config).toEqual({
        'cleanup.policy': 'compact',
        'delete.retention.ms': String(7 * DAY_MS),
        'min.insync.replicas': '1',
      });
    }
  });

  it('carry Avro values with a schema name on every topic but retry and DLQ ones, which keep the original value', () => {
    for (const declaration of ALL_TOPICS) {
      if (declaration.kind === 'retry' || declaration.kind === 'dlq') {
        expect(declaration.value, declaration.name).toEqual({ format: 'original' });
        expect(valueSubjectOf(declaration)).toBeUndefined();
      } else {
        expect(declaration.value.format === 'avro' && declaration.value.schema, declaration.name).toMatch(
          /^syncline\.[a-z.]+\.[A-Z]\w+$/,
        );
        expect(valueSubjectOf(declaration)).toBe(`${declaration.name}-value`);
      }
    }
    expect(topic('raw.stripe.customer').value).toEqual({
      format: 'avro',
      schema: 'syncline.raw.stripe.Customer',
    });
    expect(topic('canonical.customer').value).toEqual({
      format: 'avro',
      schema: 'syncline.canonical.Customer',
    });
  });

  it('default to BACKWARD_TRANSITIVE compatibility; canonical contracts are FULL_TRANSITIVE', () => {
    expect(compatibilityOf(topic('raw.stripe.invoice'))).toBe('BACKWARD_TRANSITIVE');
    expect(compatibilityOf(topic('mdm.customer.golden'))).toBe('BACKWARD_TRANSITIVE');
    for (const declaration of ALL_TOPICS.filter((d) => d.kind === 'canonical')) {
      expect(compatibilityOf(declaration), declaration.name).toBe('FULL_TRANSITIVE');
    }
  });

  it('never delete a DLQ record by age (nothing is silently lost), and keep retries a week', () => {
    for (const declaration of ALL_TOPICS.filter((d) => d.kind === 'dlq')) {
      expect(retentionOf(declaration), declaration.name).toBe(-1);
    }
    expect(retentionOf(topic('erp-rest-sink.retry'))).toBe(7 * DAY_MS);
  });

  it('have an owner and a one-line description each', () => {
    for (const declaration of ALL_TOPICS) {
      expect(declaration.owner, declaration.name).not.toBe('');
      expect(declaration.description, declaration.name).toMatch(/^[^\n]{10,200}$/);
    }
  });
});

describe('the declared consumer groups', () => {
  it('are the processor and the four sinks', () => {
    expect(GROUPS.map((group) => group.id)).toEqual(CONTRACT_GROUPS);
  });

  it('each get their own retry and DLQ topics, and only they read their retry topic', () => {
    const topology = resolveTopology({ profile: 'local' });
    const names = new Set(topology.topics.map((t) => t.name));
    for (const group of topology.groups) {
      expect(group.retryTopic).toBe(retryTopicOf(group.id));
      expect(group.dlqTopic).toBe(dlqTopicOf(group.id));
      expect(names.has(group.retryTopic) && names.has(group.dlqTopic), group.id).toBe(true);
      expect(group.subscriptions).toContain(group.retryTopic);
      for (const other of topology.groups.filter((g) => g.id !== group.id)) {
        expect(other.subscriptions).not.toContain(group.retryTopic);
      }
      expect(group.subscriptions).not.toContain(group.dlqTopic);
    }
  });

  it('have the processor read every raw topic and the sinks read canonical topics only', () => {
    const topology = resolveTopology({ profile: 'local' });
    const processor = topology.groups.find((group) => group.role === 'processor');
    expect(processor?.reads.sort()).toEqual(CONTRACT_TOPICS.filter((name) => name.startsWith('raw.')).sort());
    for (const sink of topology.groups.filter((group) => group.role === 'sink')) {
      expect(sink.reads.length, sink.id).toBeGreaterThan(0);
      for (const read of sink.reads) expect(read, sink.id).toMatch(/^canonical\./);
    }
  });
});

describe('profiles', () => {
  it('replicate three times with two in sync in production, once on the local stack', () => {
    const production = resolveTopology({ profile: 'production' });
    const local = resolveTopology({ profile: 'local' });
    for (const t of production.topics) {
      expect([t.replicationFactor, t.config['min.insync.replicas']], t.name).toEqual([3, '2']);
    }
    for (const t of local.topics) {
      expect([t.replicationFactor, t.config['min.insync.replicas']], t.name).toEqual([1, '1']);
    }
  });

  it('size partitions for throughput in production and small for a 2-core laptop locally', () => {
    const partitions = (profile: 'local' | 'production', name: string) =>
      resolveTopology({ profile }).topics.find((t) => t.name === name)?.partitions;
    expect(partitions('production', 'canonical.customer')).toBe(6);
    expect(partitions('production', 'raw.stripe.customer')).toBe(3);
    expect(partitions('local', 'canonical.customer')).toBe(3);
    const localTotal = resolveTopology({ profile: 'local' }).topics.reduce((sum, t) => sum + t.partitions, 0);
    expect(localTotal).toBeLessThanOrEqual(60);
  });

  it('are chosen by flag, then SYNCLINE_TOPOLOGY_PROFILE, then default to production', () => {
    expect(chooseProfile('local', { SYNCLINE_TOPOLOGY_PROFILE: 'production' })).toBe('local');
    expect(chooseProfile(undefined, { SYNCLINE_TOPOLOGY_PROFILE: 'local' })).toBe('local');
    expect(chooseProfile(undefined, {})).toBe('production');
    expect(PROFILES.production.replicationFactor).toBe(3);
  });

  it('refuse an unknown profile, naming where it came from', () => {
    const attempt = (flag: string | undefined, env: NodeJS.ProcessEnv) => () => chooseProfile(flag, env);
    expect(attempt('staging', {})).toThrow('--profile: must be one of local, production (got "staging")');
    expect(attempt(undefined, { SYNCLINE_TOPOLOGY_PROFILE: 'prod' })).toThrow(
      /^SYNCLINE_TOPOLOGY_PROFILE: must be one of/,
    );
    const error = caught(attempt('x', {}));
    expect(error).toBeInstanceOf(SynclineError);
    expect((error as SynclineError).code).toBe(ErrorCodes.CONFIG_INVALID);
  });
});

describe('resolveTopology', () => {
  it('prefixes every topic, group and group subscription for an isolated copy', () => {
    const topology = resolveTopology({ profile: 'local', prefix: 'it-abc.' });
    expect(topology.topics.every((t) => t.name.startsWith('it-abc.'))).toBe(true);
    const sink = topology.groups.find((group) => group.id === 'it-abc.erp-rest-sink');
    expect(sink?.retryTopic).toBe('it-abc.erp-rest-sink.retry');
    expect(sink?.reads).toContain('it-abc.canonical.customer');
  });

  it('takes its own topic and group lists, so tests can apply a small private topology', () => {
    const small = resolveTopology({
      profile: 'local',
      prefix: 'p.',
      topics: [topic('ops.audit')],
      groups: [],
    });
    expect(small.topics.map((t) => t.name)).toEqual(['p.ops.audit']);
  });

  it('refuses inconsistent declarations with the reason', () => {
    const audit = topic('ops.audit');
    const refused = (options: Parameters<typeof resolveTopology>[0]) => () => resolveTopology(options);
    expect(refused({ profile: 'local', topics: [audit, audit], groups: [] })).toThrow(
      /topic ops.audit is declared twice/,
    );
    expect(refused({ profile: 'local', topics: [audit], groups: GROUPS.slice(0, 1) })).toThrow(
      /group syncline-processor uses topic raw.salesforce.account, which is not declared/,
    );
    expect(refused({ profile: 'local', prefix: 'bad prefix/' })).toThrow(
      /prefix "bad prefix\/" may only contain/,
    );
    expect(
      refused({
        profile: 'local',
        topics: [{ ...audit, partitions: { production: 1, local: 0 } }],
        groups: [],
      }),
    ).toThrow(/needs at least one partition/);
  });
});
