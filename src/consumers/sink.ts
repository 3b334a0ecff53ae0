/**
 * The one small interface every target implements (ERP REST, ERP SQL, CRM write-back, support
 * entitlements). A sink only knows how to apply canonical records to its target and how to tell
 * whether the target answers; everything around it (consumer group, decoding, retries with backoff,
 * circuit breaking, dead-lettering, parking of later records of a dead-lettered key, Redis
 * idempotency claims, metrics) is the sink runner's job, the same for every target.
 */
import type { SynclineError } from '../runtime/errors.ts';

/** Where a record was read from, for logs and DLQ context. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** One decoded canonical record, handed to a sink in partition (= golden customer) order. */
export interface SinkRecord {
  /** The contract topic name, without any test prefix: `canonical.customer`, `canonical.invoice`, ... */
  topic: string;
  /** The Kafka key: the golden customer id. */
  key: string;
  /** From the envelope: deterministic per derived event, so a redelivery carries the same id. */
  eventId: string;
  eventType: string;
  /** Stable across redelivery and replay: the target-side idempotency key. */
  idempotencyKey: string;
  correlationId: string;
  /** The source entity id and its version/sequence: a target never takes an older version over a newer one. */
  sourceEntityId: string;
  sourceVersion: number;
  /** Epoch ms at the source, for end-to-end latency. */
  occurredAt: number;
  /** The whole decoded Avro value (envelope included). */
  value: Readonly<Record<string, unknown>>;
  position: RecordPosition;
}

/** What became of one record at the target. */
export type SinkOutcome =
  /** Written now. */
  | { status: 'applied' }
  /** The target already had this idempotency key: nothing written twice. */
  | { status: 'duplicate' }
  /** The target holds a newer version of this entity: not overwritten. */
  | { status: 'stale' }
  /** Nothing for this target in the record (e.g. an event type it does not act on). */
  | { status: 'ignored'; reason: string }
  /** Not applied: retriable errors are retried by the runner, permanent ones dead-lettered. */
  | { status: 'failed'; error: SynclineError };

export interface Sink {
  /** The target label of metrics and logs: `erp-rest`, `erp-sql`, `crm`, `support`. */
  readonly target: string;
  /** The consumer group (one per target): `GroupIds.*`. */
  readonly groupId: string;
  /** The canonical topics it reads (contract names). */
  readonly topics: readonly string[];
  /**
   * Applies records of one partition, in the order given, and returns one outcome per record, in
   * the same order. A sink may write them in one batch (SQL) or one by one (HTTP); after the first
   * `failed` outcome it may leave the rest unattempted by returning fewer outcomes: the runner
   * hands the unanswered records over again. (The runner does not look at outcomes after the first
   * `failed` one either: those records are handed over again, so a sink that went on must answer
   * them as `duplicate` or `stale` the second time, which target-side idempotency gives anyway.) Never throws for a record's own problem: that is a
   * `failed` outcome; throwing means the target as a whole failed (treated like a retriable failure
   * of the first record).
   */
  apply(records: readonly SinkRecord[]): Promise<SinkOutcome[]>;
  /** Resolves when the target answers at all (the circuit breaker's probe); cheap, with a timeout. */
  probe(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
