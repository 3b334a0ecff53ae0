/**
 * `raw.stripe.subscription` → a contract draft, and a renewal draft when the event is about a
 * renewal: the billing period rolled over (RENEWED), the subscription was set to end at the period
 * end or was cancelled (CANCELLED), or a scheduled end was taken back (UPCOMING again).
 *
 * One contract per subscription (`stripe:<sub id>`); one term is one billing interval. A renewal is
 * identified by its contract and the first day of the term it renews, so the events about the same
 * renewal (scheduled, cancelled, taken back) are versions of one record.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type * as stripe from '../../schemas/generated/raw/stripe.ts';
import {
  asRecord,
  currencyOf,
  DAY_MS,
  dayOf,
  envelopeOf,
  instanceOf,
  lastDayBefore,
  mappingFailed,
  nonNegative,
  requireId,
  requireOrder,
  sourceRef,
} from './mapping-support.ts';
import type { CanonicalDraft, MappingResult, RawMapper } from './types.ts';

export const STRIPE_SUBSCRIPTION_TOPIC = 'raw.stripe.subscription';

const CONTRACT_STATUS: Record<stripe.SubscriptionStatus, canonical.ContractStatus> = {
  incomplete: 'DRAFT',
  incomplete_expired: 'CANCELLED',
  trialing: 'ACTIVE',
  active: 'ACTIVE',
  // Still a contract in force; collecting the payment is the invoice's story.
  past_due: 'ACTIVE',
  unpaid: 'SUSPENDED',
  paused: 'SUSPENDED',
  canceled: 'CANCELLED',
  unknown: 'UNKNOWN',
};

/** The contract id of a Stripe subscription (also what invoices of it point to). */
export function stripeContractId(subscriptionId: string): string {
  return `stripe:${subscriptionId}`;
}

export const mapStripeSubscription: RawMapper = (value): MappingResult => {
  const record = value as unknown as stripe.Subscription;
  const topic = STRIPE_SUBSCRIPTION_TOPIC;
  const subscription = record.data;
  const subscriptionId = requireId(topic, 'data.id', subscription.id);
  const customerId = requireId(topic, 'data.customer', subscription.customer);
  const currency = currencyOf(topic, 'data.currency', subscription.currency);
  requireOrder(
    topic,
    'data.current_period_end',
    subscription.current_period_end,
    'data.current_period_start',
    subscription.current_period_start,
  );
  requireOrder(topic, 'data.ended_at', subscription.ended_at, 'data.start_date', subscription.start_date);
  requireOrder(topic, 'data.trial_end', subscription.trial_end, 'data.trial_start', subscription.trial_start);

  const lines = subscription.items.map((item, index): canonical.LineItem => {
    const field = `data.items.${index}`;
    if (currencyOf(topic, `${field}.price.currency`, item.price.currency) !== currency) {
      throw mappingFailed(
        topic,
        `${field}.price.currency`,
        `${item.price.currency} differs from the subscription's ${currency}`,
      );
    }
    // Licensed prices default to one unit; tiered and metered prices have no unit amount to state.
    const quantity = nonNegative(topic, `${field}.quantity`, item.quantity ?? 1);
    const unitPrice = nonNegative(topic, `${field}.price.unit_amount`, item.price.unit_amount ?? 0);
    return {
      lineId: item.id,
      productCode: item.price.product,
      description: item.price.nickname,
      quantity,
      unitPriceMinor: unitPrice,
      amountMinor: unitPrice * quantity,
    };
  });
  const recurringValue = subscription.items.every((item) => item.price.unit_amount !== null)
    ? lines.reduce((sum, line) => sum + line.amountMinor, 0)
    : null;
  const { interval, termMonths } = billingOf(subscription.items);
  const status = CONTRACT_STATUS[subscription.status];
  const ended = status === 'CANCELLED' || subscription.ended_at !== null;
  const endsAtPeriodEnd = subscription.cancel_at_period_end || subscription.cancel_at !== null;
  const autoRenew = !ended && !endsAtPeriodEnd && status !== 'DRAFT';
  const startDate = dayOf(subscription.start_date);
  const termEndMs = subscription.ended_at ?? subscription.cancel_at ?? subscription.current_period_end;
  const endDate = termEndMs === null ? null : Math.max(startDate, lastDayBefore(termEndMs));

  const envelope = record.envelope;
  const contractId = stripeContractId(subscriptionId);
  const sources = [sourceRef('stripe', instanceOf(envelope), 'subscription', subscriptionId)];
  const customer = { system: 'stripe', id: customerId } as const;

  const contract: CanonicalDraft = {
    entity: 'contract',
    customer,
    recordId: contractId,
    sourceVersion: envelope.sourceVersion,
    eventType: `canonical.contract.${contractChange(envelope.eventType, status)}`,
    build: (context) =>
      asRecord<canonical.Contract>({
        envelope: envelopeOf(context),
        contractId,
        goldenId: context.goldenId,
        status,
        startDate,
        endDate,
        termMonths,
        autoRenew,
        billingInterval: interval,
        currency,
        totalValueMinor: recurringValue,
        recurringValueMinor: recurringValue,
        lines,
        sources,
      }),
  };
  const drafts: CanonicalDraft[] = [contract];

  const renewalStatus = renewalStatusOf(record, ended, endsAtPeriodEnd);
  if (renewalStatus !== null) {
    // A renewed term starts where the new period starts; an unrenewed one would have started at the period end.
    const renewalStartMs =
      renewalStatus === 'RENEWED'
        ? subscription.current_period_start
        : (subscription.current_period_end ?? subscription.cancel_at ?? subscription.ended_at);
    if (renewalStartMs === null) {
      throw mappingFailed(
        topic,
        'data.current_period_end',
        `missing: no date for the ${renewalStatus.toLowerCase()} renewal`,
      );
    }
    const renewalDate = dayOf(renewalStartMs);
    const renewalId = `${contractId}:${new Date(renewalDate * DAY_MS).toISOString().slice(0, 10)}`;
    drafts.push({
      entity: 'renewal',
      customer,
      recordId: renewalId,
      sourceVersion: envelope.sourceVersion,
      eventType: `canonical.renewal.${renewalStatus.toLowerCase()}`,
      build: (context) =>
        asRecord<canonical.Renewal>({
          envelope: envelopeOf(context),
          renewalId,
          goldenId: context.goldenId,
          contractId,
          status: renewalStatus,
          renewalDate,
          // Stripe takes a cancellation until the period ends: the day before the new term.
          noticeDate: renewalStatus === 'RENEWED' ? null : renewalDate - 1,
          termMonths,
          autoRenew: renewalStatus === 'UPCOMING' || renewalStatus === 'RENEWED' ? autoRenew : false,
          currency,
          expectedValueMinor: recurringValue,
          renewedValueMinor: renewalStatus === 'RENEWED' ? recurringValue : null,
          sources,
        }),
    });
  }
  return { drafts };
};

/** The billing interval and term of the items (Stripe requires one interval per subscription). */
function billingOf(items: readonly stripe.SubscriptionItem[]): {
  interval: canonical.BillingInterval;
  termMonths: number | null;
} {
  const recurring = items[0]?.price.recurring ?? null;
  if (items.length === 0) return { interval: 'UNKNOWN', termMonths: null };
  if (recurring === null) return { interval: 'ONE_TIME', termMonths: null };
  const months =
    recurring.interval === 'month'
      ? recurring.interval_count
      : recurring.interval === 'year'
        ? 12 * recurring.interval_count
        : null;
  const interval: canonical.BillingInterval =
    months === 1 ? 'MONTHLY' : months === 3 ? 'QUARTERLY' : months === 12 ? 'YEARLY' : 'UNKNOWN';
  return { interval, termMonths: months };
}

function contractChange(rawEventType: string, status: canonical.ContractStatus): string {
  if (status === 'CANCELLED') return 'cancelled';
  if (rawEventType.endsWith('.activated')) return 'activated';
  if (rawEventType.endsWith('.created')) return 'created';
  return 'updated';
}

/**
 * Whether this event is about a renewal, and which way: the period rolled over (RENEWED), the
 * subscription ended or will end at the period end (CANCELLED), or a scheduled end was withdrawn
 * (UPCOMING). Null for every other event.
 */
function renewalStatusOf(
  record: stripe.Subscription,
  ended: boolean,
  endsAtPeriodEnd: boolean,
): canonical.RenewalStatus | null {
  const previous = record.event.previous_attributes ?? {};
  const subscription = record.data;
  // A subscription whose first payment never went through never had a term to renew.
  if (subscription.status === 'incomplete' || subscription.status === 'incomplete_expired') return null;
  if (ended) return 'CANCELLED';
  const endChanged = 'cancel_at_period_end' in previous || 'cancel_at' in previous;
  if (endChanged) return endsAtPeriodEnd ? 'CANCELLED' : 'UPCOMING';
  if (periodRolledOver(previous, subscription)) return 'RENEWED';
  if (endsAtPeriodEnd && record.event.type === 'customer.subscription.created') return 'CANCELLED';
  return null;
}

/** True when the previous period start (top level, or on the items since API 2025-03-31) is earlier. */
function periodRolledOver(
  previous: Record<string, string>,
  subscription: stripe.SubscriptionObject,
): boolean {
  const current = subscription.current_period_start;
  if (current === null) return false;
  const before = previousPeriodStart(previous);
  return before !== null && before < current;
}

function previousPeriodStart(previous: Record<string, string>): number | null {
  const parse = (json: string | undefined): unknown => {
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json) as unknown;
    } catch {
      return undefined;
    }
  };
  // Stripe writes Unix seconds in previous_attributes.
  const topLevel = parse(previous['current_period_start']);
  if (typeof topLevel === 'number') return topLevel * 1000;
  const items = parse(previous['items']);
  const data = typeof items === 'object' && items !== null ? (items as { data?: unknown }).data : undefined;
  const first: unknown = Array.isArray(data) ? data[0] : undefined;
  const start =
    typeof first === 'object' && first !== null
      ? (first as { current_period_start?: unknown }).current_period_start
      : undefined;
  return typeof start === 'number' ? start * 1000 : null;
}
