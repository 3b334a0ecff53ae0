/**
 * `raw.zendesk.entitlement` → an entitlement draft (`zendesk:<record id>`) of the organisation it
 * names. Entitlement dates are whole days: it starts at the start of its first day and ends at the
 * end of its last day (the start of the day after, as the canonical instant).
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type * as zendesk from '../../schemas/generated/raw/zendesk.ts';
import {
  asRecord,
  DAY_MS,
  envelopeOf,
  instanceOf,
  mappingFailed,
  requireId,
  requireOrder,
  sourceRef,
  text,
} from './mapping-support.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const ZENDESK_ENTITLEMENT_TOPIC = 'raw.zendesk.entitlement';

const STATUS: Record<zendesk.EntitlementStatus, canonical.EntitlementStatus> = {
  active: 'ACTIVE',
  pending: 'PENDING',
  suspended: 'SUSPENDED',
  expired: 'EXPIRED',
  cancelled: 'REVOKED',
  unknown: 'UNKNOWN',
};

const CHANGE: Record<canonical.EntitlementStatus, string> = {
  ACTIVE: 'updated',
  PENDING: 'pending',
  SUSPENDED: 'suspended',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  UNKNOWN: 'updated',
};

/** Support plans by the names support desks give them. */
const SUPPORT_LEVEL: Record<string, canonical.SupportLevel> = {
  none: 'NONE',
  free: 'NONE',
  basic: 'STANDARD',
  standard: 'STANDARD',
  business: 'PREMIUM',
  premium: 'PREMIUM',
  professional: 'PREMIUM',
  enterprise: 'ENTERPRISE',
};

export const mapZendeskEntitlement: RawMapper = (value): MappingResult => {
  const record = value as unknown as zendesk.Entitlement;
  const topic = ZENDESK_ENTITLEMENT_TOPIC;
  const detail = record.detail;
  const entitlementId = requireId(topic, 'detail.id', detail.id);
  if (!Number.isSafeInteger(detail.organization_id) || detail.organization_id <= 0) {
    throw mappingFailed(
      topic,
      'detail.organization_id',
      `missing customer reference (got ${detail.organization_id})`,
    );
  }
  const plan = text(detail.plan);
  const productCode = text(detail.product_code) ?? plan;
  if (productCode === null)
    throw mappingFailed(topic, 'detail.product_code', 'missing, and no plan to stand for it');
  requireOrder(topic, 'detail.end_date', detail.end_date, 'detail.start_date', detail.start_date);
  if (detail.total_units !== null && detail.total_units < 0) {
    throw mappingFailed(topic, 'detail.total_units', `must not be negative, got ${detail.total_units}`);
  }
  const status = STATUS[detail.status];
  const supportLevel = plan === null ? 'UNKNOWN' : (SUPPORT_LEVEL[plan.toLowerCase()] ?? 'UNKNOWN');
  const envelope = record.envelope;
  const recordId = `zendesk:${entitlementId}`;
  const sources = [sourceRef('zendesk', instanceOf(envelope), 'entitlement', entitlementId)];
  const created = record.event.type.endsWith('.created') && status === 'ACTIVE';
  return {
    drafts: [
      {
        entity: 'entitlement',
        customer: { system: 'zendesk', id: String(detail.organization_id) },
        recordId,
        sourceVersion: envelope.sourceVersion,
        eventType: `canonical.entitlement.${created ? 'granted' : CHANGE[status]}`,
        build: (context) =>
          asRecord<canonical.Entitlement>({
            envelope: envelopeOf(context),
            entitlementId: recordId,
            goldenId: context.goldenId,
            contractId: null,
            productCode,
            productName: text(detail.name),
            supportLevel,
            seats: detail.total_units,
            status,
            startsAt: detail.start_date === null ? null : detail.start_date * DAY_MS,
            endsAt: detail.end_date === null ? null : (detail.end_date + 1) * DAY_MS,
            sources,
          }),
      },
    ],
  };
};
