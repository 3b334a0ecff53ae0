/**
 * `raw.zendesk.organization` → an identity for match-merge (the support organisation), no drafts.
 * Zendesk sends the whole organisation with every event, so each one is a full snapshot. Deleted
 * organisations yield nothing: match-merge has no delete, the cross-reference stays.
 */
import type * as zendesk from '../../schemas/generated/raw/zendesk.ts';
import type { MatchSystem, SourceRecordInput } from '../match-merge/types.ts';
import { mappingFailed, text } from './mapping-support.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const ZENDESK_ORGANIZATION_TOPIC = 'raw.zendesk.organization';

/** Custom organisation field keys that carry identity evidence, most specific first. */
const TAX_ID_FIELDS = ['tax_id', 'vat_id', 'vat_number'];
const COUNTRY_FIELDS = ['country', 'country_code'];
const PLAN_FIELDS = ['support_plan', 'plan'];

export const mapZendeskOrganization: RawMapper = (value): MappingResult => {
  const record = value as unknown as zendesk.Organization;
  const organization = record.detail;
  if (organization.deleted_at !== null) return { drafts: [] };
  const name = text(organization.name);
  if (name === null) throw mappingFailed(ZENDESK_ORGANIZATION_TOPIC, 'detail.name', 'missing');
  const fields = organization.organization_fields;
  const externalRef = referenceOf(organization.external_id);
  const identity: SourceRecordInput = {
    system: 'zendesk',
    id: String(organization.id),
    entity: 'organization',
    instance: record.envelope.source.instance,
    name,
    taxId: firstField(fields, TAX_ID_FIELDS),
    country: firstField(fields, COUNTRY_FIELDS),
    domains: organization.domain_names
      .map((domain) => domain.trim())
      .filter(Boolean)
      .slice(0, 50),
    supportTier: firstField(fields, PLAN_FIELDS),
    externalRefs: externalRef ? [externalRef] : [],
    updatedAt: organization.updated_at,
    version: record.envelope.sourceVersion,
  };
  return { identity, drafts: [] };
};

function firstField(fields: Record<string, string | null>, keys: readonly string[]): string | null {
  for (const key of keys) {
    const found = text(fields[key]);
    if (found !== null) return found;
  }
  return null;
}

/**
 * `external_id` holds the organisation's id in another system when an admin or an integration set
 * it; recognised by the id formats of the systems we match (anything else is not evidence).
 */
function referenceOf(externalId: string | null): { system: MatchSystem; id: string } | null {
  const id = text(externalId);
  if (id === null) return null;
  if (/^001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/.test(id)) return { system: 'salesforce', id };
  if (/^cus_[A-Za-z0-9]+$/.test(id)) return { system: 'stripe', id };
  return null;
}
