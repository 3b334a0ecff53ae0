/**
 * The contract between canonical mapping and the processing pipeline. A mapper turns one decoded raw
 * record (as its `raw.<system>.<entity>` schema shapes it) into
 * - an identity, when the record describes a customer (CRM account, billing customer, support
 *   organisation, ERP customer): the match-merge engine resolves it to a golden customer, and the
 *   pipeline emits `canonical.customer` from the resulting golden record;
 * - drafts of the other canonical records (contract, order, invoice, entitlement, renewal), each
 *   naming the source customer it belongs to, which the pipeline resolves to a golden id through the
 *   cross-reference before it builds and publishes the record.
 *
 * Mappers are pure: no I/O, no clock, no randomness. A record that cannot be mapped throws a permanent
 * SynclineError with code MAPPING_FAILED naming the field; the pipeline dead-letters it.
 */
import type { SourceKeyRef, SourceRecordInput } from '../match-merge/types.ts';

export const CanonicalEntities = [
  'customer',
  'contract',
  'order',
  'invoice',
  'entitlement',
  'renewal',
] as const;
export type CanonicalEntity = (typeof CanonicalEntities)[number];

/** What the pipeline knows when it completes a draft. */
export interface BuildContext {
  /** The golden customer the record belongs to. */
  goldenId: string;
  /** The canonical envelope, already derived by the pipeline (deterministic eventId, correlation id kept). */
  envelope: Record<string, unknown>;
}

export interface CanonicalDraft {
  entity: Exclude<CanonicalEntity, 'customer'>;
  /** The source customer this record belongs to (e.g. the Stripe customer of a subscription). */
  customer: SourceKeyRef;
  /** The id of the canonical record itself (contract id, order id, ...), stable across versions. */
  recordId: string;
  /** Source version or sequence: a sink never applies an older one over a newer one. */
  sourceVersion: number;
  /** The canonical event type, e.g. `canonical.contract.activated`. */
  eventType: string;
  /** The complete Avro value of `canonical.<entity>`, valid against its schema. */
  build(context: BuildContext): Record<string, unknown>;
}

export interface MappingResult {
  identity?: SourceRecordInput;
  drafts: CanonicalDraft[];
}

/** One mapper per raw topic; the registry of them is `mapperFor(topic)` in index.ts. */
export type RawMapper = (value: Record<string, unknown>) => MappingResult;

/** Bumped when a mapping changes meaning: part of every derived event id. */
export const MAPPING_VERSION = 1;
