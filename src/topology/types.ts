/**
 * The vocabulary of topology as code: what a topic and a consumer group declaration say, and the
 * concrete, profile-resolved shape the planner compares against the cluster.
 *
 * A declaration is environment-independent (what the topic is for, who writes it, how it is keyed,
 * how long it keeps data). A {@link TopologyProfile} turns it into a {@link DesiredTopic}: partition
 * count, replication factor and the exact topic configs to pin on the cluster.
 */

/** What a topic is in the flow; the first segment of its name for everything but retry/DLQ topics. */
export const TopicKinds = {
  RAW: 'raw',
  CANONICAL: 'canonical',
  MDM: 'mdm',
  OPS: 'ops',
  RETRY: 'retry',
  DLQ: 'dlq',
} as const;
export type TopicKind = (typeof TopicKinds)[keyof typeof TopicKinds];

/** What the record key identifies. Consumers rely on it for ordering and compaction. */
export const KeyIdentities = {
  /** The entity id in the source system (Salesforce Account Id, Stripe customer id, ...). */
  SOURCE_ENTITY_ID: 'source-entity-id',
  /** The golden customer id from match-merge: all events of one customer share a partition. */
  GOLDEN_CUSTOMER_ID: 'golden-customer-id',
  /** `<system>:<source id>`, e.g. `stripe:cus_123`: one cross-reference entry per source record. */
  SOURCE_REFERENCE: 'source-reference',
  /** The correlation id of the business transaction. */
  CORRELATION_ID: 'correlation-id',
  /** The consumer group or topic an operator action applied to. */
  AUDIT_SUBJECT: 'audit-subject',
  /** Retry and DLQ records keep the key of the record that failed, unchanged. */
  ORIGINAL_KEY: 'original-key',
} as const;
export type KeyIdentity = (typeof KeyIdentities)[keyof typeof KeyIdentities];

export interface KeyDeclaration {
  /** How the key bytes are encoded. */
  format: 'string' | 'avro';
  identity: KeyIdentity;
}

/**
 * What the record value holds. Avro values name the full Avro record name the schemas helper
 * declares (the registry subject follows the topic name strategy: `<topic>-value`). Retry and DLQ
 * topics carry the failed record's value bytes unchanged, with its original schema id, so they have
 * no schema of their own.
 */
export type ValueDeclaration = { format: 'avro'; schema: string } | { format: 'original' };

/** Schema registry compatibility levels (the Confluent names, which Apicurio's ccompat API accepts). */
export const Compatibilities = {
  BACKWARD: 'BACKWARD',
  BACKWARD_TRANSITIVE: 'BACKWARD_TRANSITIVE',
  FORWARD: 'FORWARD',
  FORWARD_TRANSITIVE: 'FORWARD_TRANSITIVE',
  FULL: 'FULL',
  FULL_TRANSITIVE: 'FULL_TRANSITIVE',
  NONE: 'NONE',
} as const;
export type Compatibility = (typeof Compatibilities)[keyof typeof Compatibilities];

/**
 * How a topic gives up old data. `delete` keeps everything for `retentionMs`; `compact` keeps the
 * latest record per key forever and keeps tombstones for `deleteRetentionMs`, the longest a reader
 * may lag and still see a deletion.
 */
export type CleanupDeclaration =
  { policy: 'delete'; retentionMs: number } | { policy: 'compact'; deleteRetentionMs: number };

/** Partition counts per profile: production sized for throughput, local sized for a 2-core laptop. */
export interface PartitionCounts {
  production: number;
  local: number;
}

export interface TopicDeclaration {
  /** The topic name, part of the public contract for downstream subscribers. */
  name: string;
  kind: TopicKind;
  /** The component that writes the topic (the only writer). */
  owner: string;
  /** One line on what a record on this topic means; used for AsyncAPI documentation. */
  description: string;
  key: KeyDeclaration;
  value: ValueDeclaration;
  partitions: PartitionCounts;
  cleanup: CleanupDeclaration;
  /** Registry compatibility of the value subject when it is not the default BACKWARD_TRANSITIVE. */
  compatibility?: Compatibility;
}

export const GroupRoles = {
  PROCESSOR: 'processor',
  SINK: 'sink',
} as const;
export type GroupRole = (typeof GroupRoles)[keyof typeof GroupRoles];

/**
 * A consumer group: one per processor and per target. Each has its own `<id>.retry` topic (read by
 * that group only, so a redriven record is never seen twice by other groups) and `<id>.dlq` topic.
 */
export interface GroupDeclaration {
  id: string;
  role: GroupRole;
  /** The component that runs the group. */
  owner: string;
  description: string;
  /** The topics the group consumes, besides its own retry topic. */
  reads: string[];
  /** Partition counts of its retry and DLQ topics. */
  retryPartitions: PartitionCounts;
  dlqPartitions: PartitionCounts;
}

/** Topic configs Syncline pins on every topic it declares. Other topic configs are left as found. */
export const MANAGED_CONFIG_KEYS = [
  'cleanup.policy',
  'retention.ms',
  'delete.retention.ms',
  'min.insync.replicas',
] as const;
export type ManagedConfigKey = (typeof MANAGED_CONFIG_KEYS)[number];

/**
 * The managed configs a topic must carry as topic-level overrides. A managed key that is absent
 * must not be overridden on the topic (it inherits the broker default), e.g. `retention.ms` on a
 * compacted topic.
 */
export type ManagedConfig = Partial<Record<ManagedConfigKey, string>>;

/** The concrete state one topic should have on the cluster under a profile. */
export interface DesiredTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: ManagedConfig;
  /** Whether records are keyed: adding partitions then moves keys to other partitions. */
  keyed: boolean;
}

export const ProfileNames = ['local', 'production'] as const;
export type ProfileName = (typeof ProfileNames)[number];

/** How a declaration becomes concrete in one kind of environment. */
export interface TopologyProfile {
  name: ProfileName;
  replicationFactor: number;
  minInsyncReplicas: number;
  /** Which of the declared partition counts applies. */
  partitions: keyof PartitionCounts;
}

/** A consumer group as it is deployed: the topics it subscribes to include its own retry topic. */
export interface ResolvedGroup {
  id: string;
  role: GroupRole;
  owner: string;
  description: string;
  reads: string[];
  retryTopic: string;
  dlqTopic: string;
  /** `reads` plus the group's own retry topic: what its consumer subscribes to. */
  subscriptions: string[];
}

/** Everything the planner and the CLI need: the desired topics and groups under one profile. */
export interface Topology {
  profile: ProfileName;
  /** A name prefix applied to every topic and group, empty for the real topology. */
  prefix: string;
  topics: DesiredTopic[];
  groups: ResolvedGroup[];
}
