/**
 * `raw.stripe.customer` → an identity for match-merge (the billing customer), no drafts.
 * Deleted customers yield nothing: match-merge has no delete, the cross-reference stays.
 */
import type * as stripe from '../../schemas/generated/raw/stripe.ts';
import type { MatchSystem, SourceRecordInput } from '../match-merge/types.ts';
import { mappingFailed, requireId, text } from './mapping-support.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const STRIPE_CUSTOMER_TOPIC = 'raw.stripe.customer';

/** Metadata keys account owners use for the customer's id in another system. */
const REFERENCE_KEYS: ReadonlyArray<readonly [string, MatchSystem]> = [
  ['crm_id', 'salesforce'],
  ['salesforce_id', 'salesforce'],
  ['salesforce_account_id', 'salesforce'],
  ['erp_id', 'erp'],
  ['erp_customer_number', 'erp'],
  ['zendesk_organization_id', 'zendesk'],
];

export const mapStripeCustomer: RawMapper = (value): MappingResult => {
  const record = value as unknown as stripe.Customer;
  const customer = record.data;
  const id = requireId(STRIPE_CUSTOMER_TOPIC, 'data.id', customer.id);
  if (customer.deleted) return { drafts: [] };
  // Self-serve customers often have no name: the description or the email still identify them.
  const name = text(customer.name) ?? text(customer.description) ?? text(customer.email);
  if (name === null) {
    throw mappingFailed(
      STRIPE_CUSTOMER_TOPIC,
      'data.name',
      'missing, and no description or email to name the customer',
    );
  }
  const taxId = customer.tax_ids.find((entry) => text(entry.value) !== null) ?? null;
  const address = customer.address;
  const identity: SourceRecordInput = {
    system: 'stripe',
    id,
    entity: 'customer',
    instance: record.envelope.source.instance,
    name,
    taxId: taxId?.value ?? null,
    country: taxId?.country ?? address?.country ?? null,
    email: customer.email,
    billingEmail: customer.email,
    phone: customer.phone,
    address: address
      ? {
          line1: address.line1,
          line2: address.line2,
          city: address.city,
          region: address.state,
          postalCode: address.postal_code,
          country: address.country,
        }
      : null,
    currency: customer.currency,
    externalRefs: externalRefs(customer.metadata),
    updatedAt: record.event.created,
    version: record.envelope.sourceVersion,
  };
  return { identity, drafts: [] };
};

function externalRefs(metadata: Record<string, string>): { system: MatchSystem; id: string }[] {
  const refs: { system: MatchSystem; id: string }[] = [];
  for (const [key, system] of REFERENCE_KEYS) {
    const id = text(metadata[key]);
    if (id && !refs.some((ref) => ref.system === system && ref.id === id)) refs.push({ system, id });
  }
  return refs;
}
