/**
 * The envelope every raw record carries, and the deterministic identities in it. A platform that
 * redelivers an event (it always does, sooner or later) must produce byte-for-byte the same
 * `eventId`, `idempotencyKey` and `correlationId`, so that everything downstream can recognise the
 * second copy as the first: ids are derived from the source system and the source's own event id,
 * never drawn at random.
 */
import { createHash } from 'node:crypto';
import type { SourceSystem } from './source.ts';

export interface Envelope {
  /** UUID, derived from the idempotency key: the same source event always gets the same id. */
  eventId: string;
  /** What happened, e.g. `billing.subscription.activated`, `crm.opportunity.closed_won`. */
  eventType: string;
  source: {
    system: SourceSystem;
    /** Which account, org or company of that system, e.g. a Salesforce org id or Zendesk account id. */
    instance: string;
  };
  /** The entity id in the source system (Stripe customer id, Salesforce record id, ...). */
  sourceEntityId: string;
  /**
   * A number that grows with every change of the entity at the source (a commit number, a row
   * version, a timestamp in milliseconds), so that a sink never applies an older change over a
   * newer one.
   */
  sourceVersion: number;
  /** When it happened at the source, epoch milliseconds. */
  occurredAt: number;
  /** When Syncline accepted it, epoch milliseconds. Differs between redeliveries, by design. */
  ingestedAt: number;
  /** `<system>:<source event id>[:<entity id>]`, stable across redeliveries. */
  idempotencyKey: string;
  /** One per business transaction; every derived event carries it (the lineage thread). */
  correlationId: string;
}

/** UUID namespaces (RFC 9562 name-based, SHA-1) so that ids of different kinds never collide. */
const EVENT_ID_NAMESPACE = 'b8e4f6c2-3d1a-5e7f-9a0b-1c2d3e4f5a6b';
const CORRELATION_ID_NAMESPACE = 'c9f5a7d3-4e2b-5f80-8b1c-2d3e4f5a6b7c';

/**
 * A name-based UUID (version 5) of `name` in `namespace`: the same inputs always give the same id.
 * Exported for derived events elsewhere that need the same property.
 */
export function uuidV5(name: string, namespace: string): string {
  const namespaceBytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The idempotency key of a source event. When one source event becomes several records (a
 * Salesforce change event naming several record ids), each record gets its own key by appending the
 * entity id, so that the records stay distinct and each stays stable.
 */
export function idempotencyKeyOf(system: SourceSystem, sourceEventId: string, entityId?: string): string {
  return entityId === undefined ? `${system}:${sourceEventId}` : `${system}:${sourceEventId}:${entityId}`;
}

export function eventIdOf(idempotencyKey: string): string {
  return uuidV5(idempotencyKey, EVENT_ID_NAMESPACE);
}

/**
 * The correlation id that starts a business transaction at the source. `transactionKey` is what the
 * source says belongs together (a Salesforce transaction key spans every record changed in one
 * commit); without one, each source event is its own transaction.
 */
export function correlationIdOf(system: SourceSystem, transactionKey: string): string {
  return uuidV5(`${system}:${transactionKey}`, CORRELATION_ID_NAMESPACE);
}

export interface EnvelopeInput {
  system: SourceSystem;
  instance: string;
  eventType: string;
  sourceEventId: string;
  sourceEntityId: string;
  sourceVersion: number;
  occurredAt: number;
  ingestedAt: number;
  /** Set when the source event yields several records; see {@link idempotencyKeyOf}. */
  perEntity?: boolean;
  /** Defaults to the source event id. */
  transactionKey?: string;
}

export function buildEnvelope(input: EnvelopeInput): Envelope {
  const idempotencyKey = idempotencyKeyOf(
    input.system,
    input.sourceEventId,
    input.perEntity ? input.sourceEntityId : undefined,
  );
  return {
    eventId: eventIdOf(idempotencyKey),
    eventType: input.eventType,
    source: { system: input.system, instance: input.instance },
    sourceEntityId: input.sourceEntityId,
    sourceVersion: input.sourceVersion,
    occurredAt: input.occurredAt,
    ingestedAt: input.ingestedAt,
    idempotencyKey,
    correlationId: correlationIdOf(input.system, input.transactionKey ?? input.sourceEventId),
  };
}
