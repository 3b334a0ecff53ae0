/**
 * Support connector: Zendesk event webhooks about organisations. Zendesk signs
 * `base64(HMAC-SHA256(secret, <timestamp> + <raw body>))` into `X-Zendesk-Webhook-Signature`, with
 * the timestamp (ISO 8601) in `X-Zendesk-Webhook-Signature-Timestamp`; we hold that timestamp to the
 * same five-minute replay window as the other platforms.
 *
 * Organisation events go to `raw.zendesk.organization`; records of the `entitlement` custom object
 * (plan, SLA policy, seats of an organisation) go to `raw.zendesk.entitlement`. A deleted
 * entitlement record is recorded as a cancelled entitlement.
 */
import { buildEnvelope } from '../envelope.ts';
import { DEFAULT_TOLERANCE_SECONDS, hmacSha256, safeEqual, withinWindow } from '../signatures.ts';
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
import { avroEnvelope } from '../avro-values.ts';
import { epochMs, fieldProblems } from '../validation.ts';
import {
  CustomFieldChange,
  CustomObjectRecord,
  EntitlementFields,
  isCustomObjectRecordEvent,
  isOrganizationEvent,
  ZendeskEventBase,
  ZendeskOrganizationDetail,
} from './zendesk-event-schema.ts';
import { entitlementDetail, eventMeta, organizationDetail } from './zendesk-records.ts';

export const ZENDESK_SIGNATURE_HEADER = 'x-zendesk-webhook-signature';
export const ZENDESK_TIMESTAMP_HEADER = 'x-zendesk-webhook-signature-timestamp';

export interface ZendeskEvent {
  base: ZendeskEventBase;
  entity: 'organization' | 'entitlement';
  /** The organisation or entitlement record id. */
  entityId: string;
  updatedAt: string;
}

export interface ZendeskSourceOptions {
  secrets: readonly string[];
  toleranceSeconds?: number;
  /** The key of the custom object that holds entitlements. Default `entitlement`. */
  entitlementObjectKey?: string;
}

export class ZendeskWebhookSource implements WebhookSource<ZendeskEvent> {
  readonly name = SourceSystems.ZENDESK;
  readonly route = '/webhooks/zendesk';
  private readonly secrets: readonly string[];
  private readonly toleranceSeconds: number;
  private readonly entitlementObjectKey: string;

  constructor(options: ZendeskSourceOptions) {
    this.secrets = options.secrets;
    this.toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    this.entitlementObjectKey = options.entitlementObjectKey ?? 'entitlement';
  }

  verify(request: InboundRequest): Verification {
    if (this.secrets.length === 0) {
      return {
        ok: false,
        rejection: SignatureRejections.NOT_CONFIGURED,
        reason: 'no webhook secret is configured for zendesk',
      };
    }
    const signature = request.headers[ZENDESK_SIGNATURE_HEADER];
    const timestamp = request.headers[ZENDESK_TIMESTAMP_HEADER];
    if (!signature || !timestamp) {
      return {
        ok: false,
        rejection: SignatureRejections.MISSING,
        reason: `missing ${signature ? 'X-Zendesk-Webhook-Signature-Timestamp' : 'X-Zendesk-Webhook-Signature'} header`,
      };
    }
    const signedAt = Date.parse(timestamp);
    const provided = /^[A-Za-z0-9+/]{43}=$/.test(signature.trim())
      ? Buffer.from(signature.trim(), 'base64')
      : undefined;
    if (!provided || !/^\d{4}-\d{2}-\d{2}T/.test(timestamp) || Number.isNaN(signedAt)) {
      return {
        ok: false,
        rejection: SignatureRejections.MALFORMED,
        reason: 'X-Zendesk-Webhook-Signature must be a base64 HMAC-SHA256 and its timestamp ISO 8601',
      };
    }
    const matched = this.secrets.some((secret) =>
      safeEqual(provided, hmacSha256(secret, timestamp, request.rawBody)),
    );
    if (!matched) {
      return {
        ok: false,
        rejection: SignatureRejections.MISMATCH,
        reason: 'signature does not match the body with any active secret',
      };
    }
    if (!withinWindow(signedAt / 1000, request.receivedAt, this.toleranceSeconds)) {
      return {
        ok: false,
        rejection: SignatureRejections.STALE,
        reason: `signature timestamp is outside the ${this.toleranceSeconds}s window`,
      };
    }
    return { ok: true };
  }

  parse(body: unknown): ParseOutcome<ZendeskEvent> {
    const base = ZendeskEventBase.safeParse(body);
    if (!base.success) return { kind: 'invalid', problems: fieldProblems(base.error) };
    const type = base.data.type;
    if (isOrganizationEvent(type)) {
      const organization = ZendeskOrganizationDetail.safeParse(base.data.detail);
      if (!organization.success)
        return { kind: 'invalid', problems: fieldProblems(organization.error, 'detail') };
      if (type === 'zen:event-type:organization.custom_field_changed') {
        const change = CustomFieldChange.safeParse(base.data.event);
        if (!change.success) return { kind: 'invalid', problems: fieldProblems(change.error, 'event') };
      }
      return {
        kind: 'event',
        event: {
          base: base.data,
          entity: 'organization',
          entityId: organization.data.id,
          updatedAt: organization.data.updated_at,
        },
      };
    }
    if (isCustomObjectRecordEvent(type)) {
      const record = CustomObjectRecord.safeParse(base.data.detail);
      if (!record.success) return { kind: 'invalid', problems: fieldProblems(record.error, 'detail') };
      if (record.data.custom_object_key !== this.entitlementObjectKey) {
        return { kind: 'ignored', eventType: `${type} (${record.data.custom_object_key})` };
      }
      const fields = EntitlementFields.safeParse(record.data.custom_object_fields);
      if (!fields.success)
        return { kind: 'invalid', problems: fieldProblems(fields.error, 'detail.custom_object_fields') };
      return {
        kind: 'event',
        event: {
          base: base.data,
          entity: 'entitlement',
          entityId: record.data.id,
          updatedAt: record.data.updated_at,
        },
      };
    }
    return { kind: 'ignored', eventType: type };
  }

  toRawEvents(event: ZendeskEvent, context: { receivedAt: Date }): RawEvent[] {
    const { base, entity, entityId } = event;
    const occurredAt = epochMs(base.time);
    const what = base.type.slice(base.type.lastIndexOf('.') + 1);
    const envelope = buildEnvelope({
      system: SourceSystems.ZENDESK,
      instance: String(base.account_id),
      eventType: entity === 'organization' ? `support.organization.${what}` : `support.entitlement.${what}`,
      sourceEventId: base.id,
      sourceEntityId: entityId,
      // Zendesk events carry no sequence; the record's update time is its version.
      sourceVersion: Math.max(epochMs(event.updatedAt), occurredAt),
      occurredAt,
      ingestedAt: context.receivedAt.getTime(),
    });
    const detail = entity === 'organization' ? organizationDetail(base) : entitlementDetail(base);
    return [
      {
        topic: rawTopic(SourceSystems.ZENDESK, entity),
        key: entityId,
        envelope,
        value: { envelope: avroEnvelope(envelope), event: eventMeta(base), detail },
      },
    ];
  }

  eventIdOf(event: ZendeskEvent): string {
    return event.base.id;
  }

  payloadPathOf(recordPath: string): string {
    if (recordPath.startsWith('event.changes')) return `event${recordPath.slice('event.changes'.length)}`;
    if (recordPath.startsWith('event.')) return recordPath.slice('event.'.length);
    // The entitlement's own fields sit in the custom object record's `custom_object_fields`.
    const field = recordPath.startsWith('detail.') ? recordPath.slice('detail.'.length) : undefined;
    if (field !== undefined && ENTITLEMENT_FIELDS.has(field.split('.')[0] ?? ''))
      return `detail.custom_object_fields.${field}`;
    return recordPath;
  }
}

const ENTITLEMENT_FIELDS = new Set([
  'organization_id',
  'product_code',
  'plan',
  'sla_policy_id',
  'sla_policy_title',
  'status',
  'total_units',
  'remaining_units',
  'unit',
  'start_date',
  'end_date',
]);
