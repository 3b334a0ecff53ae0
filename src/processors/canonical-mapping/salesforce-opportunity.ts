/**
 * `raw.salesforce.opportunity` → for a closed-won opportunity, an order draft
 * (`salesforce:<opportunity id>`) and, when the deal states a contract term
 * (`ContractTermMonths__c`), a contract draft (same id) that the order fulfils. Open and lost
 * opportunities, and deletions, yield nothing: they are not lifecycle events for the targets.
 *
 * Change Data Capture sends only the changed fields on UPDATE; the CRM callout must send the
 * account, amount and currency with the stage change that wins the deal, or the order has no
 * customer and no value: such a record is dead-lettered with the missing field named.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type * as salesforce from '../../schemas/generated/raw/salesforce.ts';
import {
  addMonths,
  asRecord,
  currencyOf,
  DAY_MS,
  envelopeOf,
  instanceOf,
  mappingFailed,
  nonNegative,
  requireId,
  sourceRef,
} from './mapping-support.ts';
import type { CanonicalDraft, MappingResult, RawMapper } from './types.ts';

export const SALESFORCE_OPPORTUNITY_TOPIC = 'raw.salesforce.opportunity';

/** The stage name Salesforce orgs ship with for won deals; `IsWon` says it for custom stages. */
const WON_STAGE = 'Closed Won';

export const mapSalesforceOpportunity: RawMapper = (value): MappingResult => {
  const opportunity = value as unknown as salesforce.Opportunity;
  const topic = SALESFORCE_OPPORTUNITY_TOPIC;
  const header = opportunity.ChangeEventHeader;
  const opportunityId = requireId(topic, 'Id', opportunity.Id);
  if (header.changeType === 'DELETE' || opportunity.IsDeleted === true) return { drafts: [] };
  const won =
    opportunity.IsWon === true || (opportunity.IsWon === null && opportunity.StageName === WON_STAGE);
  if (!won) return { drafts: [] };

  const accountId = requireId(topic, 'AccountId', opportunity.AccountId);
  const currency = currencyOf(topic, 'CurrencyIsoCode', opportunity.CurrencyIsoCode);
  const lines = (opportunity.LineItems ?? []).map((item, index): canonical.LineItem => ({
    lineId: item.Id,
    productCode: item.ProductCode ?? item.Product2Id,
    description: item.Name,
    quantity: nonNegative(topic, `LineItems.${index}.Quantity`, item.Quantity),
    unitPriceMinor: item.UnitPriceMinor,
    amountMinor: item.TotalPriceMinor,
  }));
  const total =
    opportunity.AmountMinor ??
    (lines.length > 0 ? lines.reduce((sum, line) => sum + line.amountMinor, 0) : null);
  if (total === null) throw mappingFailed(topic, 'AmountMinor', 'missing, and no line items to add up');
  nonNegative(topic, 'AmountMinor', total);
  const term = opportunity.ContractTermMonths__c;
  if (term !== null && term <= 0) {
    throw mappingFailed(topic, 'ContractTermMonths__c', `must be a positive number of months, got ${term}`);
  }

  const envelope = opportunity.envelope;
  const recordId = `salesforce:${opportunityId}`;
  const sources = [sourceRef('salesforce', instanceOf(envelope), 'opportunity', opportunityId)];
  const customer = { system: 'salesforce', id: accountId } as const;
  // The close date of a won deal is the day it was won; the commit time when the event lacks it.
  const orderedAt = opportunity.CloseDate === null ? header.commitTimestamp : opportunity.CloseDate * DAY_MS;
  const contractId = term === null ? null : recordId;

  const drafts: CanonicalDraft[] = [];
  if (term !== null) {
    const startDate =
      opportunity.ContractStartDate__c ??
      opportunity.CloseDate ??
      Math.floor(header.commitTimestamp / DAY_MS);
    const endDate = addMonths(startDate, term) - 1;
    drafts.push({
      entity: 'contract',
      customer,
      recordId,
      sourceVersion: envelope.sourceVersion,
      eventType: 'canonical.contract.signed',
      build: (context) =>
        asRecord<canonical.Contract>({
          envelope: envelopeOf(context),
          contractId: recordId,
          goldenId: context.goldenId,
          status: 'ACTIVE',
          startDate,
          endDate,
          termMonths: term,
          // The deal does not say whether it renews, nor how it is billed: the billing system does.
          autoRenew: false,
          billingInterval: 'UNKNOWN',
          currency,
          totalValueMinor: total,
          recurringValueMinor: null,
          lines,
          sources,
        }),
    });
  }
  drafts.push({
    entity: 'order',
    customer,
    recordId,
    sourceVersion: envelope.sourceVersion,
    eventType: 'canonical.order.confirmed',
    build: (context) =>
      asRecord<canonical.Order>({
        envelope: envelopeOf(context),
        orderId: recordId,
        goldenId: context.goldenId,
        contractId,
        status: 'CONFIRMED',
        orderedAt,
        purchaseOrderNumber: null,
        currency,
        lines,
        totalMinor: total,
        sources,
      }),
  });
  return { drafts };
};
