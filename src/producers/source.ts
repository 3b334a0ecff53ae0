/**
 * The one small interface every webhook connector implements. A connector knows its platform's
 * signature scheme, the shape of the platform's payloads and how one platform event becomes one or
 * more raw records; the webhook server does everything else (body limits, JSON, acknowledgement,
 * metrics) the same way for every platform. A new platform is a new folder implementing
 * {@link WebhookSource}, not an edit to the server.
 */
import type { Envelope } from './envelope.ts';

/** The source systems Syncline ingests from; the middle segment of every `raw.<system>.<entity>` topic. */
export const SourceSystems = {
  STRIPE: 'stripe',
  SALESFORCE: 'salesforce',
  ZENDESK: 'zendesk',
  ERP: 'erp',
} as const;
export type SourceSystem = (typeof SourceSystems)[keyof typeof SourceSystems];

/** An HTTP request as a connector sees it: the exact bytes that were signed and lower-cased headers. */
export interface InboundRequest {
  rawBody: Buffer;
  headers: Readonly<Record<string, string | undefined>>;
  /** When the request arrived; the replay window is measured against it. */
  receivedAt: Date;
}

/**
 * The verdict of a signature check. A rejection names its class (so metrics and tests can tell a
 * stale timestamp from a wrong secret) and a one-line reason safe to return to the caller: it never
 * contains the expected signature or a secret.
 */
export type Verification = { ok: true } | { ok: false; rejection: SignatureRejection; reason: string };

export const SignatureRejections = {
  /** The signature header is absent. */
  MISSING: 'missing',
  /** The header is there but cannot be read (no timestamp, no signature of the expected scheme). */
  MALFORMED: 'malformed',
  /** The timestamp is outside the replay window. */
  STALE: 'stale',
  /** No signature matches any active secret: wrong secret or tampered body. */
  MISMATCH: 'mismatch',
  /** No secret is configured for this source, so nothing can be verified. */
  NOT_CONFIGURED: 'not-configured',
} as const;
export type SignatureRejection = (typeof SignatureRejections)[keyof typeof SignatureRejections];

/** One thing wrong with a payload: where (a dotted path) and what. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** What a connector makes of a verified, JSON-parsed body. */
export type ParseOutcome<E> =
  /** A platform event Syncline consumes. */
  | { kind: 'event'; event: E }
  /** A well-formed event of a type Syncline does not consume: acknowledged, counted, not published. */
  | { kind: 'ignored'; eventType: string }
  /** Not of the platform's shape: refused with the list of fields. */
  | { kind: 'invalid'; problems: FieldProblem[] };

/**
 * One record bound for a raw topic: keyed by the source entity id, its value the raw topic's Avro
 * record (the Syncline envelope, the platform's event metadata and the entity with the platform's
 * field names). `envelope` is the same envelope, kept apart for headers, logs and the answer.
 */
export interface RawEvent {
  topic: string;
  key: string;
  envelope: Envelope;
  /** The Avro value of the record, as the raw topic's schema describes it. */
  value: Record<string, unknown>;
}

/** A webhook connector for one platform. */
export interface WebhookSource<E = unknown> {
  /** The source system, e.g. `stripe`; also the `source` label of the metrics. */
  readonly name: SourceSystem;
  /** The route it is mounted at, e.g. `/webhooks/stripe`. */
  readonly route: string;
  /** Checks the platform's signature over the exact raw body, against every active secret. */
  verify(request: InboundRequest): Verification;
  /** Validates the parsed JSON body against the platform's payload shape. Never throws. */
  parse(body: unknown): ParseOutcome<E>;
  /** The raw records of one event: usually one, several when one event names several entities. */
  toRawEvents(event: E, context: { receivedAt: Date }): RawEvent[];
  /** The platform's own event id, for logs and the acknowledgement body. */
  eventIdOf(event: E): string;
  /**
   * Where a field of the raw record came from in the platform's payload (`data.currency` of a
   * Stripe record is `data.object.currency` of the webhook), so that a 422 names the field the
   * sender knows.
   */
  payloadPathOf(recordPath: string): string;
}

/** The raw topic of a source entity: `raw.<system>.<entity>`. */
export function rawTopic(system: SourceSystem, entity: string): string {
  return `raw.${system}.${entity}`;
}
