/**
 * Every topic and consumer group of Syncline, declared once. Topic names are part of the public
 * contract for downstream subscribers (DESIGN.md, "Topics"); change them only on purpose.
 *
 * Retention choices, and why:
 * - raw: 7 days. Raw topics are the replay source when canonical mapping changes; a week covers a
 *   bad deploy noticed late.
 * - canonical: 30 days, at least the DLQ retention, so the original offset of any record still in
 *   a DLQ can be replayed from its source topic.
 * - mdm golden/xref: compacted (latest state per key, forever); tombstones (unmerges) kept 7 days,
 *   the longest a rebuilding reader may lag and still see them.
 * - retry: 7 days; a redriven record is picked up within seconds. DLQ: kept until someone acts
 *   (retention.ms -1): a DLQ record holds the original key, value and headers, so it needs no source
 *   topic to be redriven, and a record that expired unseen would be silently lost. Alert on the age
 *   of the oldest DLQ record instead.
 * - ops.lineage: 30 days, so any record still in a DLQ keeps its trace; ops.audit: one year.
 */
import type { CleanupDeclaration, GroupDeclaration, PartitionCounts, TopicDeclaration } from './types.ts';
import { Compatibilities, GroupRoles, KeyIdentities, TopicKinds } from './types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Kafka's retention.ms for "never delete by age". */
const UNLIMITED = -1;

/** Names of the declared topics, for typed references from producers, processors and sinks. */
export const TopicNames = {
  raw: {
    salesforceAccount: 'raw.salesforce.account',
    salesforceOpportunity: 'raw.salesforce.opportunity',
    stripeCustomer: 'raw.stripe.customer',
    stripeSubscription: 'raw.stripe.subscription',
    stripeInvoice: 'raw.stripe.invoice',
    zendeskOrganization: 'raw.zendesk.organization',
    zendeskEntitlement: 'raw.zendesk.entitlement',
    erpCustomer: 'raw.erp.customer',
  },
  canonical: {
    customer: 'canonical.customer',
    contract: 'canonical.contract',
    order: 'canonical.order',
    invoice: 'canonical.invoice',
    entitlement: 'canonical.entitlement',
    renewal: 'canonical.renewal',
  },
  mdm: {
    golden: 'mdm.customer.golden',
    xref: 'mdm.customer.xref',
    review: 'mdm.customer.review',
  },
  ops: {
    lineage: 'ops.lineage',
    audit: 'ops.audit',
  },
} as const;

/** Ids of the declared consumer groups. */
export const GroupIds = {
  processor: 'syncline-processor',
  erpRestSink: 'erp-rest-sink',
  erpSqlSink: 'erp-sql-sink',
  crmWritebackSink: 'crm-writeback-sink',
  supportEntitlementSink: 'support-entitlement-sink',
} as const;

/** The retry topic of a consumer group: read by that group only. */
export function retryTopicOf(groupId: string): string {
  return `${groupId}.retry`;
}

/** The dead-letter topic of a consumer group. */
export function dlqTopicOf(groupId: string): string {
  return `${groupId}.dlq`;
}

const RAW_PARTITIONS: PartitionCounts = { production: 3, local: 2 };
const CANONICAL_PARTITIONS: PartitionCounts = { production: 6, local: 3 };
const RAW_CLEANUP: CleanupDeclaration = { policy: 'delete', retentionMs: 7 * DAY_MS };
const CANONICAL_CLEANUP: CleanupDeclaration = { policy: 'delete', retentionMs: 30 * DAY_MS };
const COMPACTED: CleanupDeclaration = { policy: 'compact', deleteRetentionMs: 7 * DAY_MS };

function raw(name: string, owner: string, schema: string, description: string): TopicDeclaration {
  return {
    name,
    kind: TopicKinds.RAW,
    owner,
    description,
    key: { format: 'string', identity: KeyIdentities.SOURCE_ENTITY_ID },
    value: { format: 'avro', schema },
    partitions: RAW_PARTITIONS,
    cleanup: RAW_CLEANUP,
  };
}

/**
 * Canonical topics are the contract downstream subscribers build on, and we do not control when
 * they upgrade. FULL_TRANSITIVE lets producers and consumers upgrade in either order (only optional
 * fields with defaults may come and go), where BACKWARD_TRANSITIVE would force every subscriber to
 * upgrade before Syncline may publish a new version.
 */
function canonical(name: string, schema: string, description: string): TopicDeclaration {
  return {
    name,
    kind: TopicKinds.CANONICAL,
    owner: 'processors (syncline-processor)',
    description,
    key: { format: 'string', identity: KeyIdentities.GOLDEN_CUSTOMER_ID },
    value: { format: 'avro', schema },
    partitions: CANONICAL_PARTITIONS,
    cleanup: CANONICAL_CLEANUP,
    compatibility: Compatibilities.FULL_TRANSITIVE,
  };
}

const N = TopicNames;

/** Source, canonical, master-data and operations topics. Retry and DLQ topics come from {@link GROUPS}. */
export const TOPICS: readonly TopicDeclaration[] = [
  raw(
    N.raw.salesforceAccount,
    'producers/salesforce',
    'syncline.raw.salesforce.Account',
    'A Salesforce Account created or changed, as the CRM callout sent it.',
  ),
  raw(
    N.raw.salesforceOpportunity,
    'producers/salesforce',
    'syncline.raw.salesforce.Opportunity',
    'A Salesforce Opportunity changed stage (e.g. closed won), as the CRM callout sent it.',
  ),
  raw(
    N.raw.stripeCustomer,
    'producers/stripe',
    'syncline.raw.stripe.Customer',
    'A Stripe customer.* webhook event, signature verified.',
  ),
  raw(
    N.raw.stripeSubscription,
    'producers/stripe',
    'syncline.raw.stripe.Subscription',
    'A Stripe customer.subscription.* webhook event (activated, changed, cancelled), signature verified.',
  ),
  raw(
    N.raw.stripeInvoice,
    'producers/stripe',
    'syncline.raw.stripe.Invoice',
    'A Stripe invoice.* webhook event (finalized, paid, payment failed), signature verified.',
  ),
  raw(
    N.raw.zendeskOrganization,
    'producers/zendesk',
    'syncline.raw.zendesk.Organization',
    'A support organization created or changed, from the support platform webhook.',
  ),
  raw(
    N.raw.zendeskEntitlement,
    'producers/zendesk',
    'syncline.raw.zendesk.Entitlement',
    'A support-side change relevant to entitlements (plan, SLA policy, seats) for an organization.',
  ),
  raw(
    N.raw.erpCustomer,
    'producers/erp (poller)',
    'syncline.raw.erp.Customer',
    'An ERP customer master record or credit status change, found by the polling connector.',
  ),
  canonical(
    N.canonical.customer,
    'syncline.canonical.Customer',
    'A golden customer was created or its surviving attributes changed.',
  ),
  canonical(
    N.canonical.contract,
    'syncline.canonical.Contract',
    'A customer contract was signed, amended or ended (from CRM and billing).',
  ),
  canonical(
    N.canonical.order,
    'syncline.canonical.Order',
    'An order to fulfil and book, derived from a closed-won deal or a new subscription.',
  ),
  canonical(
    N.canonical.invoice,
    'syncline.canonical.Invoice',
    'An invoice was issued, paid or failed payment, for the ERP ledger and the CRM.',
  ),
  canonical(
    N.canonical.entitlement,
    'syncline.canonical.Entitlement',
    'What a customer is entitled to (product, seats, support level) changed.',
  ),
  canonical(
    N.canonical.renewal,
    'syncline.canonical.Renewal',
    'A contract or subscription renewal came due, was renewed or lapsed.',
  ),
  {
    name: N.mdm.golden,
    kind: TopicKinds.MDM,
    owner: 'processors/match-merge',
    description:
      'The current golden record of one customer, with the contributing source of each value; a tombstone when merged away.',
    key: { format: 'string', identity: KeyIdentities.GOLDEN_CUSTOMER_ID },
    value: { format: 'avro', schema: 'syncline.mdm.GoldenCustomer' },
    partitions: CANONICAL_PARTITIONS,
    cleanup: COMPACTED,
  },
  {
    name: N.mdm.xref,
    kind: TopicKinds.MDM,
    owner: 'processors/match-merge',
    description:
      'Which golden customer a source record (system and id) belongs to; a tombstone when unlinked.',
    key: { format: 'string', identity: KeyIdentities.SOURCE_REFERENCE },
    value: { format: 'avro', schema: 'syncline.mdm.CustomerXref' },
    partitions: CANONICAL_PARTITIONS,
    cleanup: COMPACTED,
  },
  {
    name: N.mdm.review,
    kind: TopicKinds.MDM,
    owner: 'processors/match-merge',
    description: 'A candidate match scored between the thresholds, waiting for a data steward to decide.',
    key: { format: 'string', identity: KeyIdentities.SOURCE_REFERENCE },
    value: { format: 'avro', schema: 'syncline.mdm.MatchCandidate' },
    partitions: { production: 3, local: 1 },
    cleanup: { policy: 'delete', retentionMs: 90 * DAY_MS },
  },
  {
    name: N.ops.lineage,
    kind: TopicKinds.OPS,
    owner: 'every stage (lineage recorder)',
    description: 'One hop of one business transaction: stage, topic, partition, offset, outcome.',
    key: { format: 'string', identity: KeyIdentities.CORRELATION_ID },
    value: { format: 'avro', schema: 'syncline.ops.LineageHop' },
    partitions: { production: 6, local: 2 },
    cleanup: { policy: 'delete', retentionMs: 30 * DAY_MS },
  },
  {
    name: N.ops.audit,
    kind: TopicKinds.OPS,
    // One partition: the audit trail is a single, totally ordered log, and its volume is tiny.
    owner: 'ops (CLI and admin API)',
    description: 'An operator action (replay, redrive, discard, unmerge): who, when, which range, how many.',
    key: { format: 'string', identity: KeyIdentities.AUDIT_SUBJECT },
    value: { format: 'avro', schema: 'syncline.ops.AuditEvent' },
    partitions: { production: 1, local: 1 },
    cleanup: { policy: 'delete', retentionMs: 365 * DAY_MS },
  },
];

const RETRY_PARTITIONS: PartitionCounts = { production: 3, local: 1 };
const DLQ_PARTITIONS: PartitionCounts = { production: 3, local: 1 };
const C = TopicNames.canonical;

/** One consumer group per processor and per target. */
export const GROUPS: readonly GroupDeclaration[] = [
  {
    id: GroupIds.processor,
    role: GroupRoles.PROCESSOR,
    owner: 'processors',
    description: 'Maps source records to canonical ones and resolves them to golden customers (match-merge).',
    reads: Object.values(TopicNames.raw),
    retryPartitions: RETRY_PARTITIONS,
    dlqPartitions: DLQ_PARTITIONS,
  },
  {
    id: GroupIds.erpRestSink,
    role: GroupRoles.SINK,
    owner: 'consumers/erp-rest',
    description: 'Writes customers, contracts, orders and invoices to an ERP through its REST API.',
    reads: [C.customer, C.contract, C.order, C.invoice],
    retryPartitions: RETRY_PARTITIONS,
    dlqPartitions: DLQ_PARTITIONS,
  },
  {
    id: GroupIds.erpSqlSink,
    role: GroupRoles.SINK,
    owner: 'consumers/erp-sql',
    description: 'Writes customers, orders and invoices into ERP staging tables in one SQL transaction each.',
    reads: [C.customer, C.order, C.invoice],
    retryPartitions: RETRY_PARTITIONS,
    dlqPartitions: DLQ_PARTITIONS,
  },
  {
    id: GroupIds.crmWritebackSink,
    role: GroupRoles.SINK,
    owner: 'consumers/crm-writeback',
    description: 'Writes golden ids, contract, billing and renewal status back to the CRM.',
    reads: [C.customer, C.contract, C.invoice, C.renewal],
    retryPartitions: RETRY_PARTITIONS,
    dlqPartitions: DLQ_PARTITIONS,
  },
  {
    id: GroupIds.supportEntitlementSink,
    role: GroupRoles.SINK,
    owner: 'consumers/support-entitlement',
    description:
      'Keeps support organizations and their entitlements in step with contracts and subscriptions.',
    reads: [C.customer, C.entitlement],
    retryPartitions: RETRY_PARTITIONS,
    dlqPartitions: DLQ_PARTITIONS,
  },
];

/** The retry and DLQ topic declarations of consumer groups. */
export function groupTopicDeclarations(groups: readonly GroupDeclaration[]): TopicDeclaration[] {
  return groups.flatMap((group): TopicDeclaration[] => [
    {
      name: retryTopicOf(group.id),
      kind: TopicKinds.RETRY,
      owner: group.owner,
      description: `Records redriven from ${dlqTopicOf(group.id)}, read again by ${group.id} only.`,
      key: { format: 'string', identity: KeyIdentities.ORIGINAL_KEY },
      value: { format: 'original' },
      partitions: group.retryPartitions,
      cleanup: { policy: 'delete', retentionMs: 7 * DAY_MS },
    },
    {
      name: dlqTopicOf(group.id),
      kind: TopicKinds.DLQ,
      owner: group.owner,
      description: `Records ${group.id} gave up on: original key, value and headers plus the failure context.`,
      key: { format: 'string', identity: KeyIdentities.ORIGINAL_KEY },
      value: { format: 'original' },
      partitions: group.dlqPartitions,
      cleanup: { policy: 'delete', retentionMs: UNLIMITED },
    },
  ]);
}

/** Every topic Syncline declares: {@link TOPICS} plus each group's retry and DLQ topics. */
export const ALL_TOPICS: readonly TopicDeclaration[] = [...TOPICS, ...groupTopicDeclarations(GROUPS)];

/** The registry compatibility a topic's value subject must have. */
export function compatibilityOf(topic: TopicDeclaration): NonNullable<TopicDeclaration['compatibility']> {
  return topic.compatibility ?? Compatibilities.BACKWARD_TRANSITIVE;
}

/** The registry subject of a topic's values (topic name strategy), or undefined for retry/DLQ topics. */
export function valueSubjectOf(topic: Pick<TopicDeclaration, 'name' | 'value'>): string | undefined {
  return topic.value.format === 'avro' ? `${topic.name}-value` : undefined;
}
