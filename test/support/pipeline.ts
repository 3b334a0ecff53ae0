/**
 * Test harness of the processing pipeline: small real mappers for two raw topics (Stripe customer →
 * identity; Stripe subscription → canonical contract), raw records built through the Stripe webhook
 * source exactly as ingest builds them, and a private topology (raw, canonical, mdm, DLQ topics
 * under a random prefix, subjects registered under the same prefix). Used until the canonical
 * mapping's own `mapperFor` lands; the pipeline only sees the RawMapper contract either way.
 * The processor's retry topic (DLQ redrives) is created too.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { StripeWebhookSource } from '../../src/producers/stripe/stripe-webhook-source.ts';
import type { RawEvent } from '../../src/producers/source.ts';
import type { CanonicalDraft, RawMapper } from '../../src/processors/canonical-mapping/types.ts';
import type { PipelineMapping } from '../../src/processors/pipeline/processor.ts';
import type { GoldenRecord } from '../../src/processors/match-merge/types.ts';
import { loadCatalog } from '../../src/schemas/catalog.ts';
import { RegistryClient } from '../../src/schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../src/schemas/serde.ts';
import { createTopicsReady } from '../../src/topology/create-topics.ts';
import { dlqTopicOf, GroupIds, retryTopicOf, TopicNames } from '../../src/topology/topics.ts';
import { stripeCustomerCreated, stripeSubscriptionUpdated } from './webhook-samples.ts';

type Json = Record<string, unknown>;

const stripeCustomer: RawMapper = (value) => {
  const data = value.data as Json;
  const envelope = value.envelope as Json;
  if (typeof data.name !== 'string' || data.name.trim() === '') {
    throw new Error('stripe customer without a name'); // a permanent mapping failure (TypeError-like)
  }
  const address = data.address as Json | null;
  return {
    identity: {
      system: 'stripe',
      id: data.id as string,
      name: data.name,
      country: (address?.country as string | null) ?? null,
      updatedAt: envelope.occurredAt as number,
      version: envelope.sourceVersion as number,
    },
    drafts: [],
  };
};

/** The same, with the customer's email in the identity: a shared email domain is a match key. */
const stripeCustomerWithEmail: RawMapper = (value) => {
  const mapped = stripeCustomer(value);
  const email = (value.data as Json).email;
  return mapped.identity && typeof email === 'string'
    ? { ...mapped, identity: { ...mapped.identity, email } }
    : mapped;
};

const stripeSubscription: RawMapper = (value) => {
  const data = value.data as Json;
  const envelope = value.envelope as Json;
  const draft: CanonicalDraft = {
    entity: 'contract',
    customer: { system: 'stripe', id: data.customer as string },
    recordId: data.id as string,
    sourceVersion: envelope.sourceVersion as number,
    eventType: 'canonical.contract.updated',
    build: ({ goldenId, envelope: canonicalEnvelope }) => ({
      envelope: canonicalEnvelope,
      contractId: data.id,
      goldenId,
      status: 'ACTIVE',
      startDate: null,
      endDate: null,
      termMonths: null,
      autoRenew: true,
      billingInterval: 'MONTHLY',
      currency: String(data.currency).toUpperCase(),
      totalValueMinor: null,
      recurringValueMinor: null,
      lines: [],
      sources: [{ system: 'stripe', instance: null, entity: 'subscription', id: data.id }],
    }),
  };
  return { drafts: [draft] };
};

export const testMapping: PipelineMapping = {
  mapperFor: (topic) =>
    topic === TopicNames.raw.stripeCustomer
      ? stripeCustomer
      : topic === TopicNames.raw.stripeSubscription
        ? stripeSubscription
        : undefined,
  canonicalCustomerOf: (golden: GoldenRecord, context) => ({
    envelope: context.envelope,
    goldenId: golden.goldenId,
    goldenVersion: golden.version,
    status: golden.status === 'MERGED' ? 'MERGED' : 'ACTIVE',
    mergedInto: golden.mergedInto,
    legalName: golden.attributes.legalName?.value ?? '(unknown)',
    displayName: null,
    domain: null,
    taxId: null,
    taxCountry: null,
    countryCode: golden.attributes.countryCode?.value ?? null,
    address: null,
    email: golden.attributes.email?.value ?? null,
    phone: null,
    industry: null,
    currency: null,
    creditStatus: 'UNKNOWN',
    creditLimit: null,
    sources: golden.sources,
  }),
};

/** {@link testMapping}, with Stripe customers matched on their email domain too. */
export const testMappingWithEmail: PipelineMapping = {
  ...testMapping,
  mapperFor: (topic) =>
    topic === TopicNames.raw.stripeCustomer ? stripeCustomerWithEmail : testMapping.mapperFor(topic),
};

const stripe = new StripeWebhookSource({ secrets: ['whsec_test'] });

function rawOf(body: Json): RawEvent {
  const parsed = stripe.parse(body);
  if (parsed.kind !== 'event') throw new Error(`sample does not parse: ${JSON.stringify(parsed)}`);
  const [event] = stripe.toRawEvents(parsed.event, { receivedAt: new Date(1_767_800_000_000) });
  if (!event) throw new Error('no raw event');
  return event;
}

const COMPANY_NAMES = [
  'Quarzwerk Optik',
  'Nordwind Logistik',
  'Bergkristall Software',
  'Sonnenhof Agrar',
  'Rheinblick Medien',
  'Eisvogel Pharma',
  'Lindgrün Textil',
  'Falkenstein Bau',
  'Morgentau Kosmetik',
  'Tannhaus Energie',
];

/** The raw record of a Stripe customer event (distinct companies for distinct indexes below 10). */
export function customerEvent(index: number, eventSuffix = ''): RawEvent {
  return rawOf(
    stripeCustomerCreated({
      id: `evt_cust_${index}${eventSuffix}`,
      customerId: `cus_T${index}`,
      name: `${COMPANY_NAMES[index % COMPANY_NAMES.length]} ${index} GmbH`,
    }),
  );
}

/** The raw record of a Stripe customer event with the given ids, name and email (no tax id). */
export function stripeCustomerEvent(options: {
  eventId: string;
  customerId: string;
  name: string;
  email: string;
}): RawEvent {
  const body = stripeCustomerCreated({
    id: options.eventId,
    customerId: options.customerId,
    name: options.name,
  }) as Json & { data: { object: Json } };
  body.data.object.email = options.email;
  body.data.object.tax_ids = { object: 'list', data: [], has_more: false };
  return rawOf(body);
}

/** The raw record of update `version` of subscription `sub_T<customer>_<index>` of customer `cus_T<customer>`. */
export function subscriptionEvent(
  customer: number,
  index: number,
  version = 0,
  created = 1_767_700_000 + version,
): RawEvent {
  const body = stripeSubscriptionUpdated() as Json & { data: { object: Json } };
  body.id = `evt_sub_${customer}_${index}_${version}`;
  body.created = created;
  body.data.object.id = `sub_T${customer}_${index}`;
  body.data.object.customer = `cus_T${customer}`;
  return rawOf(body);
}

export interface PipelineTopology {
  prefix: string;
  serde: Serde;
  topicOf: (topic: string) => string;
  cleanup(): Promise<void>;
}

/** Every topic the processor reads or writes, under a fresh prefix, with subjects registered. */
export async function createPipelineTopology(
  kafka: Kafka,
  registryUrl: string,
  label: string,
): Promise<PipelineTopology> {
  const prefix = `it-${label}-${randomBytes(4).toString('hex')}.`;
  const catalog = loadCatalog({ prefix });
  const registry = new RegistryClient({ url: registryUrl });
  const wanted = [
    ...Object.values(TopicNames.raw),
    ...Object.values(TopicNames.canonical),
    ...Object.values(TopicNames.mdm),
  ].map((topic) => `${prefix}${topic}`);
  const dlq = `${prefix}${dlqTopicOf(GroupIds.processor)}`;
  const retry = `${prefix}${retryTopicOf(GroupIds.processor)}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(
    admin,
    [...wanted, dlq, retry].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
  );
  await admin.disconnect();
  const bindings = new Map([...bindingsFromCatalog(catalog)].filter(([topic]) => wanted.includes(topic)));
  for (const binding of bindings.values()) await registry.register(binding.subject, binding.writer.text);
  const serde = new Serde({ source: registry, bindings });
  return {
    prefix,
    serde,
    topicOf: (topic) => `${prefix}${topic}`,
    async cleanup() {
      const cleaner = kafka.admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: [...wanted, dlq, retry] }).catch(() => undefined);
      await cleaner.deleteGroups([`${prefix}${GroupIds.processor}`]).catch(() => undefined);
      await cleaner.disconnect();
      for (const binding of bindings.values()) {
        await registry.deleteSubject(binding.subject).catch(() => undefined);
        await registry.deleteSubject(binding.subject, true).catch(() => undefined);
      }
    },
  };
}
