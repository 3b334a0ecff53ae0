/**
 * What the support desk should learn from one canonical record, decided without I/O:
 *
 * - `canonical.customer` → the customer's Zendesk organization (external_id = golden id): its golden
 *   id and ERP customer number fields; for an organization Syncline created, also its name and
 *   domain (an organization the support team made keeps the name they gave it). Merged or retired
 *   golden ids are ignored: the survivor's record carries the organization.
 * - `canonical.entitlement` → the entitlement fields of that organization: plan (the product),
 *   seats, support level, status and the last day it is valid. An organization shows one entitlement:
 *   the one whose change was applied last.
 *
 * Values are absolute: a redelivery writes the same values again, and the version guard (see
 * saas/applied-versions.ts) stops it before it is written at all.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type { SinkRecord } from '../sink.ts';

export type OrganizationFields = Record<string, string | number | null>;

export type SupportPlan =
  | { kind: 'ignore'; reason: string }
  | {
      kind: 'organization';
      goldenId: string;
      /** When the customer change happened at its source: orders changes across golden ids. */
      occurredAt: number;
      /** Zendesk organizations linked to the golden customer as sources (ids as text), sorted. */
      linkedOrganizationIds: string[];
      /** The name and domain for an organization Syncline creates or manages. */
      name: string;
      domain: string | null;
      fields: OrganizationFields;
      versionKey: string;
      version: number;
      summary: string;
    }
  | {
      kind: 'entitlement';
      goldenId: string;
      fields: OrganizationFields;
      versionKey: string;
      version: number;
      summary: string;
    };

/** Zendesk organization names are at most 255 characters. */
const NAME_LENGTH = 255;

const SUPPORT_LEVELS: Record<canonical.SupportLevel, string | undefined> = {
  NONE: 'none',
  STANDARD: 'standard',
  PREMIUM: 'premium',
  ENTERPRISE: 'enterprise',
  UNKNOWN: undefined,
};

const STATUSES: Record<canonical.EntitlementStatus, string | undefined> = {
  PENDING: 'pending',
  ACTIVE: 'active',
  SUSPENDED: 'suspended',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  UNKNOWN: undefined,
};

export function planSupportWrite(record: SinkRecord): SupportPlan {
  switch (record.topic) {
    case 'canonical.customer':
      return customerPlan(record, record.value as unknown as canonical.Customer);
    case 'canonical.entitlement':
      return entitlementPlan(record, record.value as unknown as canonical.Entitlement);
    default:
      return { kind: 'ignore', reason: `the support sink does not read ${record.topic}` };
  }
}

function customerPlan(record: SinkRecord, customer: canonical.Customer): SupportPlan {
  if (customer.status === 'MERGED') {
    return { kind: 'ignore', reason: `golden customer merged into ${customer.mergedInto ?? 'another'}` };
  }
  if (customer.status === 'DELETED') return { kind: 'ignore', reason: 'golden customer retired' };
  const linkedOrganizationIds = [
    ...new Set(
      customer.sources
        .filter((source) => source.system === 'zendesk' && source.entity === 'organization')
        .map((source) => source.id)
        .filter((id) => /^\d+$/.test(id)),
    ),
  ].sort();
  const erpNumber =
    customer.sources
      .filter((source) => source.system === 'erp' && source.entity === 'customer')
      .map((source) => source.id)
      .sort()[0] ?? null;
  return {
    kind: 'organization',
    goldenId: customer.goldenId,
    occurredAt: record.occurredAt,
    linkedOrganizationIds,
    name: (customer.displayName ?? customer.legalName).slice(0, NAME_LENGTH),
    domain: customer.domain,
    fields: { golden_customer_id: customer.goldenId, erp_customer_number: erpNumber },
    versionKey: `customer:${customer.goldenId}`,
    version: record.sourceVersion,
    summary: `customer v${record.sourceVersion}`,
  };
}

function entitlementPlan(record: SinkRecord, entitlement: canonical.Entitlement): SupportPlan {
  const level = SUPPORT_LEVELS[entitlement.supportLevel];
  const status = STATUSES[entitlement.status];
  return {
    kind: 'entitlement',
    goldenId: entitlement.goldenId,
    fields: {
      ...(level === undefined ? {} : { support_level: level }),
      ...(status === undefined ? {} : { entitlement_status: status }),
      entitlement_product: entitlement.productName ?? entitlement.productCode,
      entitlement_seats: entitlement.seats,
      entitlement_ends_at: validUntil(entitlement.endsAt),
    },
    versionKey: `entitlement:${entitlement.entitlementId}`,
    version: record.sourceVersion,
    summary: `entitlement ${entitlement.status} v${record.sourceVersion}`,
  };
}

/**
 * The last day an entitlement is valid, as Zendesk's date field wants it (`yyyy-MM-dd`). The
 * canonical `endsAt` is the first instant it no longer holds (the start of the day after).
 */
export function validUntil(endsAt: number | null): string | null {
  if (endsAt === null) return null;
  return new Date(endsAt - 1).toISOString().slice(0, 10);
}
