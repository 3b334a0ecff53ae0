/**
 * Canonical mapping: one pure mapper per raw topic (see types.ts for the contract), and the
 * `canonical.customer` value of a golden record.
 *
 * ```ts
 * const { identity, drafts } = mapperFor('raw.stripe.subscription')(decodedValue);
 * ```
 *
 * What yields nothing on purpose (the pipeline records the input as processed, no output):
 * deleted source customers (match-merge has no delete; the cross-reference stays), open and lost
 * opportunities, and sparse Salesforce account updates that do not carry the account name: match-
 * merge replaces a member's snapshot whole, and a pure mapper cannot merge a partial change into it.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { GoldenRecord } from '../match-merge/types.ts';
import { ERP_CUSTOMER_TOPIC, mapErpCustomer } from './erp-customer.ts';
import { asRecord, mappingFailed } from './mapping-support.ts';
import { SALESFORCE_ACCOUNT_TOPIC, mapSalesforceAccount } from './salesforce-account.ts';
import { SALESFORCE_OPPORTUNITY_TOPIC, mapSalesforceOpportunity } from './salesforce-opportunity.ts';
import { STRIPE_CUSTOMER_TOPIC, mapStripeCustomer } from './stripe-customer.ts';
import { STRIPE_INVOICE_TOPIC, mapStripeInvoice } from './stripe-invoice.ts';
import { STRIPE_SUBSCRIPTION_TOPIC, mapStripeSubscription } from './stripe-subscription.ts';
import type { BuildContext, RawMapper } from './types.ts';
import { ZENDESK_ENTITLEMENT_TOPIC, mapZendeskEntitlement } from './zendesk-entitlement.ts';
import { ZENDESK_ORGANIZATION_TOPIC, mapZendeskOrganization } from './zendesk-organization.ts';

export * from './types.ts';

/** The mapper of each raw topic (topic names without any test prefix). */
export const MAPPERS: Readonly<Record<string, RawMapper>> = {
  [SALESFORCE_ACCOUNT_TOPIC]: mapSalesforceAccount,
  [SALESFORCE_OPPORTUNITY_TOPIC]: mapSalesforceOpportunity,
  [STRIPE_CUSTOMER_TOPIC]: mapStripeCustomer,
  [STRIPE_SUBSCRIPTION_TOPIC]: mapStripeSubscription,
  [STRIPE_INVOICE_TOPIC]: mapStripeInvoice,
  [ZENDESK_ORGANIZATION_TOPIC]: mapZendeskOrganization,
  [ZENDESK_ENTITLEMENT_TOPIC]: mapZendeskEntitlement,
  [ERP_CUSTOMER_TOPIC]: mapErpCustomer,
};

/** The mapper of a raw topic, or undefined when there is none. */
export function findMapper(topic: string): RawMapper | undefined {
  return Object.hasOwn(MAPPERS, topic) ? MAPPERS[topic] : undefined;
}

/** The mapper of a raw topic; throws a permanent MAPPING_FAILED error for a topic without one. */
export function mapperFor(topic: string): RawMapper {
  const mapper = findMapper(topic);
  if (!mapper) {
    throw SynclineError.permanent(ErrorCodes.MAPPING_FAILED, `no canonical mapper for topic ${topic}`, {
      topic,
    });
  }
  return mapper;
}

const CUSTOMER_TOPIC = 'canonical.customer';

/**
 * The `canonical.customer` value of a golden record: its surviving attributes, its status and
 * every linked source record. A golden record that is not merged away is ACTIVE, or ON_HOLD while
 * the ERP holds or blocks its credit; a retired one is DELETED.
 */
export function canonicalCustomerOf(golden: GoldenRecord, context: BuildContext): Record<string, unknown> {
  if (context.goldenId !== golden.goldenId) {
    throw mappingFailed(
      CUSTOMER_TOPIC,
      'goldenId',
      `context names ${context.goldenId}, the golden record is ${golden.goldenId}`,
    );
  }
  const a = golden.attributes;
  const legalName = a.legalName?.value ?? golden.members.find((member) => member.name.trim())?.name.trim();
  if (!legalName)
    throw mappingFailed(CUSTOMER_TOPIC, 'legalName', `golden record ${golden.goldenId} has no name`);
  const creditStatus = a.creditStatus?.value ?? 'UNKNOWN';
  const status: canonical.CustomerStatus =
    golden.status === 'MERGED'
      ? 'MERGED'
      : golden.status === 'RETIRED'
        ? 'DELETED'
        : creditStatus === 'HOLD' || creditStatus === 'BLOCKED'
          ? 'ON_HOLD'
          : 'ACTIVE';
  return asRecord<canonical.Customer>({
    envelope: context.envelope as unknown as canonical.Customer['envelope'],
    goldenId: golden.goldenId,
    goldenVersion: golden.version,
    status,
    mergedInto: golden.status === 'MERGED' ? golden.mergedInto : null,
    legalName,
    displayName: a.displayName?.value ?? null,
    domain: a.domain?.value ?? null,
    taxId: a.taxId?.value ?? null,
    taxCountry: a.taxCountry?.value ?? null,
    countryCode: a.countryCode?.value ?? null,
    address: a.address ? { ...a.address.value } : null,
    email: a.email?.value ?? null,
    phone: a.phone?.value ?? null,
    industry: a.industry?.value ?? null,
    currency: a.currency?.value ?? null,
    creditStatus,
    // The credit limit is not part of the golden record's attributes yet (the ERP record has it).
    creditLimit: null,
    sources: golden.sources.map((source) => ({ ...source })),
  });
}
