/**
 * Billing connector: Stripe webhooks. The signature is checked with Stripe's own library
 * (`Stripe-Signature: t=...,v1=...`, HMAC-SHA256 over `"<t>.<raw body>"`, several v1 values while a
 * secret rolls), against each active secret in turn.
 */
import Stripe from 'stripe';
import { avroEnvelope } from '../avro-values.ts';
import { buildEnvelope } from '../envelope.ts';
import { DEFAULT_TOLERANCE_SECONDS, parseTimestampedHeader, withinWindow } from '../signatures.ts';
import {
  rawTopic,
  SignatureRejections,
  SourceSystems,
  type InboundRequest,
  type ParseOutcome,
  type RawEvent,
  type Verification,
  type WebhookSource,
} from '../source.ts';
import { fieldProblems } from '../validation.ts';
import {
  isConsumedStripeType,
  STRIPE_EVENT_ENTITIES,
  STRIPE_OBJECT_SCHEMAS,
  StripeEventBase,
  type StripeEntity,
  type StripeEventType,
} from './stripe-event-schema.ts';
import { customerObject, eventMeta, invoiceObject, subscriptionObject } from './stripe-records.ts';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

export interface StripeEvent {
  base: StripeEventBase;
  type: StripeEventType;
  entity: StripeEntity;
  object: Record<string, unknown> & { id: string };
}

export interface StripeSourceOptions {
  secrets: readonly string[];
  toleranceSeconds?: number;
}

export class StripeWebhookSource implements WebhookSource<StripeEvent> {
  readonly name = SourceSystems.STRIPE;
  readonly route = '/webhooks/stripe';
  private readonly secrets: readonly string[];
  private readonly toleranceSeconds: number;

  constructor(options: StripeSourceOptions) {
    this.secrets = options.secrets;
    this.toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  }

  verify(request: InboundRequest): Verification {
    if (this.secrets.length === 0) {
      return {
        ok: false,
        rejection: SignatureRejections.NOT_CONFIGURED,
        reason: 'no webhook secret is configured for stripe',
      };
    }
    const header = request.headers[STRIPE_SIGNATURE_HEADER];
    if (header === undefined || header === '') {
      return { ok: false, rejection: SignatureRejections.MISSING, reason: 'missing Stripe-Signature header' };
    }
    // Stripe's library reads the header leniently; a header it cannot use is answered "malformed"
    // before any HMAC is computed.
    const parsed = parseTimestampedHeader(header);
    if (!parsed) {
      return {
        ok: false,
        rejection: SignatureRejections.MALFORMED,
        reason: 'Stripe-Signature header must look like t=<unix seconds>,v1=<hex HMAC-SHA256>',
      };
    }
    if (request.rawBody.length === 0) {
      return {
        ok: false,
        rejection: SignatureRejections.MISMATCH,
        reason: 'empty body: there is nothing signed',
      };
    }
    let stale = false;
    for (const secret of this.secrets) {
      try {
        Stripe.webhooks.signature?.verifyHeader(
          request.rawBody,
          header,
          secret,
          this.toleranceSeconds,
          undefined,
          request.receivedAt.getTime(),
        );
        // Stripe's library only refuses old timestamps; one from too far in the future is refused
        // here, with the same tolerance, so the replay window is the same for every platform.
        if (!withinWindow(parsed.timestamp, request.receivedAt, this.toleranceSeconds)) {
          stale = true;
          continue;
        }
        return { ok: true };
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('Timestamp outside the tolerance zone'))
          stale = true;
      }
    }
    return stale
      ? {
          ok: false,
          rejection: SignatureRejections.STALE,
          reason: `signature timestamp is outside the ${this.toleranceSeconds}s window`,
        }
      : {
          ok: false,
          rejection: SignatureRejections.MISMATCH,
          reason: 'signature does not match the body with any active secret',
        };
  }

  parse(body: unknown): ParseOutcome<StripeEvent> {
    const base = StripeEventBase.safeParse(body);
    if (!base.success) return { kind: 'invalid', problems: fieldProblems(base.error) };
    const type = base.data.type;
    if (!isConsumedStripeType(type)) return { kind: 'ignored', eventType: type };
    const entity = STRIPE_EVENT_ENTITIES[type];
    const object = STRIPE_OBJECT_SCHEMAS[entity].safeParse(base.data.data.object);
    if (!object.success) return { kind: 'invalid', problems: fieldProblems(object.error, 'data.object') };
    return { kind: 'event', event: { base: base.data, type, entity, object: object.data } };
  }

  toRawEvents(event: StripeEvent, context: { receivedAt: Date }): RawEvent[] {
    const { base, entity, object } = event;
    const occurredAt = base.created * 1000;
    const envelope = buildEnvelope({
      system: SourceSystems.STRIPE,
      instance: base.account ?? (base.livemode ? 'live' : 'test'),
      eventType: syncline(event),
      sourceEventId: base.id,
      sourceEntityId: object.id,
      // Stripe objects carry no version; the event's creation second is the best order it gives.
      sourceVersion: occurredAt,
      occurredAt,
      ingestedAt: context.receivedAt.getTime(),
    });
    return [
      {
        topic: rawTopic(SourceSystems.STRIPE, entity),
        key: object.id,
        envelope,
        value: {
          envelope: avroEnvelope(envelope),
          event: eventMeta(base),
          data: OBJECT_MAPPERS[entity](object, base),
        },
      },
    ];
  }

  eventIdOf(event: StripeEvent): string {
    return event.base.id;
  }

  payloadPathOf(recordPath: string): string {
    if (recordPath.startsWith('data.')) return `data.object.${recordPath.slice('data.'.length)}`;
    if (recordPath === 'event.request_id') return 'request.id';
    if (recordPath === 'event.request_idempotency_key') return 'request.idempotency_key';
    if (recordPath.startsWith('event.previous_attributes'))
      return `data.${recordPath.slice('event.'.length)}`;
    if (recordPath.startsWith('event.')) return recordPath.slice('event.'.length);
    return recordPath;
  }
}

const OBJECT_MAPPERS = {
  customer: customerObject,
  subscription: subscriptionObject,
  invoice: invoiceObject,
} as const;

const ACTIVE_STATUSES = new Set(['active', 'trialing']);

/** Syncline's name for what happened: `billing.<entity>.<what>`. */
function syncline(event: StripeEvent): string {
  const { type, object, base } = event;
  switch (type) {
    case 'customer.created':
      return 'billing.customer.created';
    case 'customer.updated':
      return 'billing.customer.updated';
    case 'customer.deleted':
      return 'billing.customer.deleted';
    case 'customer.subscription.created':
      return ACTIVE_STATUSES.has(String(object.status))
        ? 'billing.subscription.activated'
        : 'billing.subscription.created';
    case 'customer.subscription.updated': {
      const before = base.data.previous_attributes?.status;
      const now = String(object.status);
      if (typeof before === 'string' && !ACTIVE_STATUSES.has(before) && ACTIVE_STATUSES.has(now)) {
        return 'billing.subscription.activated';
      }
      if (typeof before === 'string' && now === 'canceled') return 'billing.subscription.canceled';
      return 'billing.subscription.updated';
    }
    case 'customer.subscription.deleted':
      return 'billing.subscription.canceled';
    case 'invoice.finalized':
      return 'billing.invoice.finalized';
    case 'invoice.paid':
      return 'billing.invoice.paid';
    case 'invoice.payment_failed':
      return 'billing.invoice.payment_failed';
  }
}
