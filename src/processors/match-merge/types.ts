/**
 * The types of the match-merge (identity resolution) engine: what comes in (a {@link SourceRecord},
 * one customer record of one source system, as the canonical mapping produces it), what is kept
 * (a {@link GoldenState} per golden customer) and what goes out (the `mdm.*` events, typed as the
 * topics' Avro values so that a processor encodes them as they are).
 */
import { z } from 'zod';
import type * as common from '../../schemas/generated/common.ts';
import type * as mdm from '../../schemas/generated/mdm.ts';
import type * as canonical from '../../schemas/generated/canonical.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';

/** The source systems whose customer records are matched. */
export const MatchSystems = ['salesforce', 'stripe', 'zendesk', 'erp'] as const;
export type MatchSystem = (typeof MatchSystems)[number];

/** The entity each system's customer record is, when the record does not say. */
export const DEFAULT_ENTITY: Record<MatchSystem, string> = {
  salesforce: 'account',
  stripe: 'customer',
  zendesk: 'organization',
  erp: 'customer',
};

const text = z.string().trim().min(1).max(1000);
const optionalText = z
  .string()
  .max(1000)
  .nullish()
  .transform((value) => {
    const trimmed = value?.trim();
    return trimmed ? trimmed : null;
  });

const AddressSchema = z
  .object({
    line1: optionalText,
    line2: optionalText,
    city: optionalText,
    region: optionalText,
    postalCode: optionalText,
    country: optionalText,
  })
  .strict();

const SourceRefSchema = z.object({ system: z.enum(MatchSystems), id: text }).strict();

const CreditStatuses = ['CLEAR', 'WATCH', 'HOLD', 'BLOCKED', 'UNKNOWN'] as const;

/**
 * One customer record of one source system, as the canonical mapping hands it to match-merge.
 * Only `system`, `id`, `name` and `updatedAt` are required; every other field is whatever the
 * source knows, raw (normalisation is the engine's job, so that all sources are normalised alike).
 */
export const SourceRecordSchema = z
  .object({
    /** The source system. */
    system: z.enum(MatchSystems),
    /** The record's id at the source, exactly as the source writes it (`cus_...`, `001...`, `C-1234`). */
    id: text,
    /** The source entity (`account`, `customer`, `organization`); defaults per system, see {@link DEFAULT_ENTITY}. */
    entity: optionalText,
    /** The instance of the system (org id, account id, subdomain, company code), when there are several. */
    instance: optionalText,
    /** The company name as the source has it: legal suffixes, capitals and typos included. */
    name: text,
    /** Tax or VAT id in any common spelling (`DE 123 456 789`, `de123456789`, `123456789` with country DE). */
    taxId: optionalText,
    /** ISO 3166-1 alpha-2 (or alpha-3, or a common English or local name) of the company's seat. */
    country: optionalText,
    /** Website, with or without scheme, `www.` or path. */
    website: optionalText,
    /** Domains the source lists for the company (Zendesk's `domain_names`). */
    domains: z.array(z.string().trim().min(1).max(300)).max(50).nullish(),
    /** A contact email; its domain is matching evidence unless it is a free-mail domain. */
    email: optionalText,
    /** The billing email (survives from the billing system first). */
    billingEmail: optionalText,
    phone: optionalText,
    address: AddressSchema.nullish(),
    industry: optionalText,
    /** The account owner (the CRM's user id or name). */
    ownerId: optionalText,
    /** ISO 4217 currency the customer is billed in. */
    currency: optionalText,
    /** Support plan or tier (the support system owns it). */
    supportTier: optionalText,
    creditStatus: z.enum(CreditStatuses).nullish(),
    employees: z.number().int().min(0).nullish(),
    /**
     * Ids of the same customer in other systems, as this source records them (a Zendesk
     * organisation's `external_id` holding the CRM account id): strong matching evidence.
     */
    externalRefs: z.array(SourceRefSchema).max(20).nullish(),
    /** When the source last changed the record (ISO 8601 or epoch milliseconds). */
    updatedAt: z.union([z.string().datetime({ offset: true }), z.number().int().min(0)]),
    /**
     * Version or sequence of the record at the source, growing with every change; defaults to
     * `updatedAt` in milliseconds. An older version never replaces a newer one.
     */
    version: z.number().int().min(0).nullish(),
  })
  .strict();

/** The record as a caller writes it. */
export type SourceRecordInput = z.input<typeof SourceRecordSchema>;

/**
 * A validated source record, as the engine keeps it inside a golden record (its "member
 * snapshot"): every optional field present (null when unknown), `updatedAt` and `version` numbers.
 */
export interface SourceRecord {
  system: MatchSystem;
  id: string;
  entity: string;
  instance: string | null;
  name: string;
  taxId: string | null;
  country: string | null;
  website: string | null;
  domains: string[];
  email: string | null;
  billingEmail: string | null;
  phone: string | null;
  address: SourceAddress | null;
  industry: string | null;
  ownerId: string | null;
  currency: string | null;
  supportTier: string | null;
  creditStatus: canonical.CreditStatus | null;
  employees: number | null;
  externalRefs: SourceKeyRef[];
  /** Epoch milliseconds. */
  updatedAt: number;
  version: number;
}

export interface SourceAddress {
  line1: string | null;
  line2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  country: string | null;
}

/** A source record's identity: system and id. */
export interface SourceKeyRef {
  system: MatchSystem;
  id: string;
}

/** `<system>:<id>`: the key of the xref and review topics. */
export function sourceKey(ref: SourceKeyRef): string {
  return `${ref.system}:${ref.id}`;
}

/**
 * The normalised attributes of one source record that matching works on (see normalize.ts).
 * Stored beside each golden record so that scoring candidates never re-normalises them.
 */
export interface MatchProfile {
  /** `<system>:<id>` of the record. */
  ref: string;
  /** Folded name without legal form: `nordwind logistik`. */
  name: string;
  /** Significant tokens of `name`, in order. */
  tokens: string[];
  /** `<country>:<normalised id>` of a valid tax id, e.g. `DE:DE123456789`; null when missing or invalid. */
  tax: string | null;
  /** Registrable, non-free-mail domains. */
  domains: string[];
  country: string | null;
  postal: string | null;
  city: string | null;
  /** `<system>:<id>` of every id the record says the customer has in another system. */
  refs: string[];
}

/** The lifecycle of a golden record, as on `mdm.customer.golden`. */
export type GoldenStatus = 'ACTIVE' | 'MERGED' | 'RETIRED';

/** What the engine keeps per golden customer (in Redis, and on `mdm.customer.golden` as members). */
export interface GoldenState {
  goldenId: string;
  /** From 1, growing with every change. */
  version: number;
  status: GoldenStatus;
  /** The surviving golden id when status is MERGED. */
  mergedInto: string | null;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  /** What produced this version (the golden event's type: `mdm.customer.golden.<change>`). */
  change: GoldenChange;
  /** The latest snapshot of every source record linked to it, ordered by source key. */
  members: SourceRecord[];
  /** How each member came to be linked, by `<system>:<id>`: what its xref event says. */
  links: Record<string, MemberLink>;
}

/**
 * What produced a golden version: `created` (a record founded it), `merged` (a record or another
 * golden record joined it), `updated` (a member changed), `unmerged` (a member was split off, or
 * this one was split off another), `merged-away` (it was merged into `mergedInto`), `reviewed` (a
 * steward kept it apart from its candidates).
 */
export type GoldenChange = 'created' | 'merged' | 'updated' | 'unmerged' | 'merged-away' | 'reviewed';

/** The decision that linked a source record to its golden record (its `mdm.customer.xref` value). */
export interface MemberLink {
  decision: mdm.MatchDecision;
  score: number | null;
  previousGoldenId: string | null;
  /** `match-merge`, or the steward's user name. */
  decidedBy: string;
  decidedAt: number;
}

/** A surviving value with the source that contributed it and why it won. */
export interface Surviving<T> {
  value: T;
  provenance: mdm.Provenance;
}

/** The golden view of a customer: each attribute from the source that won it. */
export interface GoldenAttributes {
  legalName: Surviving<string> | null;
  displayName: Surviving<string> | null;
  domain: Surviving<string> | null;
  website: Surviving<string> | null;
  taxId: Surviving<string> | null;
  taxCountry: Surviving<string> | null;
  countryCode: Surviving<string> | null;
  address: Surviving<common.PostalAddress> | null;
  email: Surviving<string> | null;
  phone: Surviving<string> | null;
  industry: Surviving<string> | null;
  ownerId: Surviving<string> | null;
  currency: Surviving<string> | null;
  supportTier: Surviving<string> | null;
  creditStatus: Surviving<canonical.CreditStatus> | null;
  employees: Surviving<number> | null;
}

/** A golden record as the engine returns it: state, surviving attributes, linked sources. */
export interface GoldenRecord {
  goldenId: string;
  version: number;
  status: GoldenStatus;
  mergedInto: string | null;
  attributes: GoldenAttributes;
  sources: common.SourceRef[];
  members: SourceRecord[];
  createdAt: number;
  updatedAt: number;
}

/** The topics the engine's events are for. */
export const MdmTopics = {
  golden: 'mdm.customer.golden',
  xref: 'mdm.customer.xref',
  review: 'mdm.customer.review',
} as const;

/**
 * The value of `mdm.customer.golden`: the Avro GoldenCustomer, with the member snapshots (schema
 * version 2) that a rebuild needs to restore the blocking index and survivorship inputs exactly.
 * `members` is null in values written with version 1; a rebuild then falls back to the surviving
 * attributes (see engine.ts, `rebuild`).
 */
export type GoldenEventValue = mdm.GoldenCustomer;

/** A golden record's new version, keyed by golden id. */
export interface GoldenEvent {
  topic: typeof MdmTopics.golden;
  key: string;
  value: GoldenEventValue;
}

/** A source record's link to its golden record, keyed by `<system>:<id>`. */
export interface XrefEvent {
  topic: typeof MdmTopics.xref;
  key: string;
  value: mdm.CustomerXref;
}

/** A review task (opened or decided), keyed by `<system>:<id>` of the source record. */
export interface ReviewEvent {
  topic: typeof MdmTopics.review;
  key: string;
  value: mdm.MatchCandidate;
}

/** One record to publish, keyed as the topic's contract says. */
export type MdmEvent = GoldenEvent | XrefEvent | ReviewEvent;

/** How resolving one source record ended. */
export type ResolveOutcome = 'auto-merge' | 'review' | 'new' | 'update';

/**
 * For `update` (the source record was seen before): what happened to it.
 * `unchanged`: same version again (a redelivery); the current events are re-emitted with the same
 * event ids, so a crash between the Redis commit and the Kafka produce loses nothing.
 * `stale`: an older version than the one kept; nothing changes, nothing is emitted.
 * `updated`: the snapshot was replaced and the golden record recomputed.
 * `merged`: its golden record held only this record and now matched another one above the
 * auto-merge threshold: it was merged into it. `review`: it now matches one for a steward to decide.
 */
export type UpdateChange = 'unchanged' | 'stale' | 'updated' | 'merged' | 'review';

/** One candidate golden record with its score, best first. */
export interface ScoredCandidate {
  goldenId: string;
  score: number;
  features: Record<string, number>;
  /** Why it can never be an automatic match, when it cannot. */
  veto: MatchVeto | null;
  /** Evidence that identifies the company on its own (same tax id, domain or cross-reference). */
  strongEvidence: boolean;
}

export type MatchVeto = 'tax-id-conflict' | 'country-conflict' | 'kept-apart';

export interface ResolveResult {
  goldenId: string;
  outcome: ResolveOutcome;
  /** Set when outcome is `update`. */
  change: UpdateChange | null;
  /** The golden record the source record now belongs to. */
  golden: GoldenRecord;
  /** What to publish, in this order, keyed for the topics. Empty for a stale update. */
  events: MdmEvent[];
  /** The candidates considered, best first (empty for an unchanged or stale update). */
  candidates: ScoredCandidate[];
}

/** What an event derived by the engine needs from the input that caused it. */
export interface EventContext {
  /** Correlation id of the business transaction; default derived from the source record. */
  correlationId?: string;
  /** Event id of the input event; null when unknown. */
  causationId?: string | null;
  /** Idempotency key of the input; default `<system>:<id>:<version>`. */
  idempotencyKey?: string;
  /** When the input was ingested (epoch ms); default now. */
  ingestedAt?: number;
  /** When the decision is made (epoch ms); default now. Injected by tests for reproducible events. */
  now?: number;
}

/** A data steward's action. */
export interface StewardContext {
  /** The steward's user name: goes to `decidedBy`. */
  steward: string;
  now?: number;
  correlationId?: string;
  /**
   * When set, the result is committed with the state as outbox entry `outboxId` (see
   * RedisMatchStore.pendingOutbox): the caller publishes it, then acknowledges it.
   */
  outboxId?: string;
}

/**
 * Optional observation hooks: the engine calls them and knows nothing about Prometheus. Labels are
 * outcomes and key kinds, never ids.
 */
export interface MatchMetrics {
  resolved?(outcome: ResolveOutcome, change: UpdateChange | null, seconds: number): void;
  candidates?(count: number): void;
  /** A blocking key whose block was larger than the cap and was skipped (block purging). */
  oversizedBlock?(kind: string): void;
  lockWait?(seconds: number, attempts: number): void;
  /** An optimistic commit that lost a race and was retried. */
  conflict?(operation: string): void;
}

/**
 * Validates a record where it enters the engine and fills the defaults. Throws a permanent
 * INPUT_INVALID error naming every bad field: a record that cannot be matched goes to the DLQ.
 */
export function parseSourceRecord(input: unknown): SourceRecord {
  const parsed = SourceRecordSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`,
    );
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `invalid source record: ${problems.join('; ')}`, {
      part: 'match-merge',
    });
  }
  const r = parsed.data;
  const updatedAt = typeof r.updatedAt === 'number' ? r.updatedAt : Date.parse(r.updatedAt);
  return {
    system: r.system,
    id: r.id,
    entity: r.entity ?? DEFAULT_ENTITY[r.system],
    instance: r.instance,
    name: r.name,
    taxId: r.taxId,
    country: r.country,
    website: r.website,
    domains: r.domains ?? [],
    email: r.email,
    billingEmail: r.billingEmail,
    phone: r.phone,
    address: r.address ?? null,
    industry: r.industry,
    ownerId: r.ownerId,
    currency: r.currency,
    supportTier: r.supportTier,
    creditStatus: r.creditStatus ?? null,
    employees: r.employees ?? null,
    externalRefs: r.externalRefs ?? [],
    updatedAt,
    version: r.version ?? updatedAt,
  };
}

/** The optional fields of a {@link SourceRecord}, empty, in their canonical order. */
const RECORD_DEFAULTS: Omit<SourceRecord, 'system' | 'id' | 'entity' | 'name' | 'updatedAt' | 'version'> = {
  instance: null,
  taxId: null,
  country: null,
  website: null,
  domains: [],
  email: null,
  billingEmail: null,
  phone: null,
  address: null,
  industry: null,
  ownerId: null,
  currency: null,
  supportTier: null,
  creditStatus: null,
  employees: null,
  externalRefs: [],
};

/** A fresh copy of the empty optional fields (its arrays are new, so callers may fill them). */
export function emptyRecordFields(): typeof RECORD_DEFAULTS {
  return { ...RECORD_DEFAULTS, domains: [], externalRefs: [] };
}

/** A record without its empty fields: how members are stored (half the bytes in Redis). */
export function compactRecord(record: SourceRecord): Partial<SourceRecord> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    if (value === null || (Array.isArray(value) && value.length === 0)) continue;
    out[field] = value;
  }
  return out;
}

/** The inverse of {@link compactRecord}. */
export function expandRecord(stored: Partial<SourceRecord>): SourceRecord {
  return { ...emptyRecordFields(), ...stored } as SourceRecord;
}

/** Same content, field by field (key order and absent-vs-null do not matter). */
export function sameRecord(a: SourceRecord, b: SourceRecord): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const fa = compactRecord(a) as Record<string, unknown>;
  const fb = compactRecord(b) as Record<string, unknown>;
  return [...keys].every((key) => JSON.stringify(fa[key]) === JSON.stringify(fb[key]));
}
