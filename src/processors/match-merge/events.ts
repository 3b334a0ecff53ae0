/**
 * The `mdm.*` events of the engine, built from its state. Pure. Event ids are name-based UUIDs of
 * what the event says (a golden record's id and version, a link's golden version, a review's state),
 * so the same state always yields the same event id: re-emitting after a crash, or after a
 * redelivered input, produces duplicates that every consumer recognises.
 */
import type * as common from '../../schemas/generated/common.ts';
import type * as mdm from '../../schemas/generated/mdm.ts';
import { uuidV5 } from '../../producers/envelope.ts';
import { memberSnapshotOf } from './member-snapshot.ts';
import { sourceRefOf, survive, type TrustRanking } from './survivorship.ts';
import type {
  GoldenAttributes,
  GoldenChange,
  GoldenEvent,
  ReviewEvent,
  XrefEvent,
  GoldenRecord,
  GoldenState,
  MemberLink,
  SourceRecord,
  Surviving,
} from './types.ts';
import { MdmTopics, sourceKey } from './types.ts';

/** Namespaces of the engine's name-based ids. */
export const GOLDEN_ID_NAMESPACE = '6f1c2a3e-8b4d-5c6e-9f70-1a2b3c4d5e6f';
const MDM_EVENT_NAMESPACE = '7a2d3b4f-9c5e-5d7f-8a81-2b3c4d5e6f70';
const CORRELATION_NAMESPACE = '8b3e4c5a-ad6f-5e80-9b92-3c4d5e6f7081';
const REVIEW_NAMESPACE = '9c4f5d6b-be70-5f91-aca3-4d5e6f708192';

/** `decidedBy` of automatic decisions. */
export const ENGINE_ACTOR = 'match-merge';

/**
 * The golden id a source record founds: a name-based UUID of its source key, so that resolving
 * the same records again from the start yields the same ids. `generation` > 1 when that id is
 * taken already (the record founded a golden record before and was merged away or split off).
 */
export function goldenIdFor(ref: string, generation = 1): string {
  return uuidV5(generation === 1 ? `golden:${ref}` : `golden:${ref}#${generation}`, GOLDEN_ID_NAMESPACE);
}

/** The id of the review task of a source record against a set of candidates. */
export function reviewIdFor(ref: string, candidateIds: readonly string[], openedAtVersion: number): string {
  return uuidV5(`review:${ref}:${openedAtVersion}:${[...candidateIds].sort().join(',')}`, REVIEW_NAMESPACE);
}

/** Where a derived event comes from: the input that caused it. */
export interface EventOrigin {
  source: common.EventSource;
  sourceEntityId: string;
  sourceVersion: number;
  occurredAt: number;
  ingestedAt: number;
  idempotencyKey: string;
  correlationId: string;
  causationId: string | null;
}

/** The origin of events caused by a source record. */
export function originOfRecord(
  record: SourceRecord,
  context: {
    correlationId?: string;
    causationId?: string | null;
    idempotencyKey?: string;
    ingestedAt?: number;
  },
  now: number,
): EventOrigin {
  const idempotencyKey = context.idempotencyKey ?? `${sourceKey(record)}:${record.version}`;
  return {
    source: { system: record.system, instance: record.instance ?? 'default' },
    sourceEntityId: record.id,
    sourceVersion: record.version,
    occurredAt: record.updatedAt,
    ingestedAt: context.ingestedAt ?? now,
    idempotencyKey,
    correlationId: context.correlationId ?? uuidV5(idempotencyKey, CORRELATION_NAMESPACE),
    causationId: context.causationId ?? null,
  };
}

/** The origin of events caused by a data steward's action on a golden record. */
export function originOfSteward(
  action: string,
  subject: string,
  version: number,
  now: number,
  correlationId?: string,
): EventOrigin {
  const idempotencyKey = `mdm:${action}:${subject}:${version}`;
  return {
    source: { system: 'syncline', instance: ENGINE_ACTOR },
    sourceEntityId: subject,
    sourceVersion: version,
    occurredAt: now,
    ingestedAt: now,
    idempotencyKey,
    correlationId: correlationId ?? uuidV5(idempotencyKey, CORRELATION_NAMESPACE),
    causationId: null,
  };
}

function envelope(eventType: string, identity: string, origin: EventOrigin): common.Envelope {
  return {
    eventId: uuidV5(identity, MDM_EVENT_NAMESPACE),
    eventType,
    source: origin.source,
    sourceEntityId: origin.sourceEntityId,
    sourceVersion: origin.sourceVersion,
    occurredAt: origin.occurredAt,
    ingestedAt: origin.ingestedAt,
    idempotencyKey: origin.idempotencyKey,
    correlationId: origin.correlationId,
    causationId: origin.causationId,
  };
}

/** A golden state with its surviving attributes. */
export function goldenRecordOf(state: GoldenState, trust?: TrustRanking): GoldenRecord {
  return {
    goldenId: state.goldenId,
    version: state.version,
    status: state.status,
    mergedInto: state.mergedInto,
    attributes: survive(state.members, trust),
    sources: state.members.map((member) => sourceRefOf(member)),
    members: state.members,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

/** `mdm.customer.golden`, keyed by golden id. */
export function goldenEvent(golden: GoldenRecord, change: GoldenChange, origin: EventOrigin): GoldenEvent {
  const a = golden.attributes;
  return {
    topic: MdmTopics.golden,
    key: golden.goldenId,
    value: {
      envelope: envelope(
        `mdm.customer.golden.${change}`,
        `golden:${golden.goldenId}:${golden.version}`,
        origin,
      ),
      goldenId: golden.goldenId,
      version: golden.version,
      status: golden.status,
      mergedInto: golden.mergedInto,
      legalName: surviving(a.legalName),
      displayName: surviving(a.displayName),
      domain: surviving(a.domain),
      taxId: surviving(a.taxId),
      taxCountry: surviving(a.taxCountry),
      countryCode: surviving(a.countryCode),
      address: a.address,
      email: surviving(a.email),
      phone: surviving(a.phone),
      industry: surviving(a.industry),
      currency: surviving(a.currency),
      creditStatus: a.creditStatus,
      sources: golden.sources,
      createdAt: golden.createdAt,
      updatedAt: golden.updatedAt,
      members: golden.members.map((member) => memberSnapshotOf(member)),
    },
  };
}

function surviving(value: Surviving<string> | null): mdm.SurvivingString | null {
  return value ? { value: value.value, provenance: value.provenance } : null;
}

/** `mdm.customer.xref`, keyed by `<system>:<id>`. */
export function xrefEvent(
  member: SourceRecord,
  goldenId: string,
  link: MemberLink,
  origin: EventOrigin,
): XrefEvent {
  const ref = sourceKey(member);
  return {
    topic: MdmTopics.xref,
    key: ref,
    value: {
      envelope: envelope(
        `mdm.customer.xref.${link.decision.toLowerCase()}`,
        `xref:${ref}:${goldenId}:${link.decision}:${link.decidedAt}`,
        origin,
      ),
      source: sourceRefOf(member),
      goldenId,
      previousGoldenId: link.previousGoldenId,
      decision: link.decision,
      score: link.score,
      decidedBy: link.decidedBy,
      decidedAt: link.decidedAt,
    },
  };
}

/** `mdm.customer.review`, keyed by `<system>:<id>`. */
export function reviewEvent(review: Omit<mdm.MatchCandidate, 'envelope'>, origin: EventOrigin): ReviewEvent {
  return {
    topic: MdmTopics.review,
    key: `${review.source.system}:${review.source.id}`,
    value: {
      ...review,
      envelope: envelope(
        `mdm.customer.review.${review.status.toLowerCase()}`,
        `review:${review.reviewId}:${review.status}`,
        origin,
      ),
    },
  };
}

/** The match attributes shown to a steward, as strings. */
export function reviewAttributes(attributes: GoldenAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  if (attributes.legalName) out['legalName'] = attributes.legalName.value;
  if (attributes.domain) out['domain'] = attributes.domain.value;
  if (attributes.taxId) out['taxId'] = attributes.taxId.value;
  if (attributes.taxCountry) out['taxCountry'] = attributes.taxCountry.value;
  if (attributes.countryCode) out['country'] = attributes.countryCode.value;
  if (attributes.address?.value.postalCode) out['postalCode'] = attributes.address.value.postalCode;
  if (attributes.address?.value.city) out['city'] = attributes.address.value.city;
  return out;
}
