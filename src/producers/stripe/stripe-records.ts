/**
 * Stripe event → raw record value (`syncline.raw.stripe.Customer|Subscription|Invoice`): Stripe's
 * field names kept, Unix seconds turned into milliseconds, expanded references reduced to their ids,
 * and the shapes of older and newer API versions read alike (`invoice.subscription` moved under
 * `parent.subscription_details`, `tax` became `total_taxes`, period dates moved to the items).
 */
import {
  idOf,
  isRecord,
  jsonEncodedMap,
  listOf,
  obj,
  opt,
  optIdOf,
  optSecondsToMs,
  optSymbol,
  secondsToMs,
  stringMap,
  symbol,
  type Json,
} from '../avro-values.ts';
import type { StripeEventBase } from './stripe-event-schema.ts';

const COLLECTION_METHODS = ['charge_automatically', 'send_invoice'];
const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'canceled',
  'unpaid',
  'paused',
];
const INVOICE_STATUSES = ['draft', 'open', 'paid', 'uncollectible', 'void'];
const TAX_EXEMPT = ['none', 'exempt', 'reverse'];
const INTERVALS = ['day', 'week', 'month', 'year'];

/** Stripe's event metadata (`syncline.raw.stripe.EventMeta`). */
export function eventMeta(event: StripeEventBase): Json {
  const request = obj(event.request);
  return {
    id: event.id,
    type: event.type,
    api_version: opt(event.api_version),
    created: secondsToMs(event.created),
    livemode: event.livemode,
    account: opt(event.account),
    request_id: opt(request.id),
    request_idempotency_key: opt(request.idempotency_key),
    previous_attributes: event.data.previous_attributes
      ? jsonEncodedMap(event.data.previous_attributes)
      : null,
  };
}

function address(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) return value;
  return {
    line1: opt(value.line1),
    line2: opt(value.line2),
    city: opt(value.city),
    state: opt(value.state),
    postal_code: opt(value.postal_code),
    country: opt(value.country),
  };
}

export function customerObject(object: Json, event: StripeEventBase): Json {
  return {
    id: object.id,
    name: opt(object.name),
    email: opt(object.email),
    description: opt(object.description),
    phone: opt(object.phone),
    address: address(object.address),
    currency: opt(object.currency),
    balance: object.balance ?? 0,
    delinquent: opt(object.delinquent),
    deleted: object.deleted === true || event.type === 'customer.deleted',
    invoice_prefix: opt(object.invoice_prefix),
    tax_exempt: optSymbol(object.tax_exempt, TAX_EXEMPT),
    tax_ids: listOf(object.tax_ids).map((entry) => {
      const taxId = obj(entry);
      return { id: taxId.id, type: taxId.type, value: taxId.value, country: opt(taxId.country) };
    }),
    metadata: stringMap(object.metadata),
    created: secondsToMs(object.created),
    livemode: object.livemode ?? event.livemode,
  };
}

export function subscriptionObject(object: Json, event: StripeEventBase): Json {
  const items = listOf(object.items).map((entry) => {
    const item = obj(entry);
    const price = obj(item.price);
    const recurring = price.recurring;
    return {
      id: item.id,
      price: {
        id: price.id,
        product: idOf(price.product),
        nickname: opt(price.nickname),
        currency: price.currency,
        unit_amount: opt(price.unit_amount),
        recurring: isRecord(recurring)
          ? { interval: symbol(recurring.interval, INTERVALS), interval_count: recurring.interval_count ?? 1 }
          : opt(recurring),
      },
      quantity: opt(item.quantity),
      current_period_start: optSecondsToMs(item.current_period_start),
      current_period_end: optSecondsToMs(item.current_period_end),
    };
  });
  // Since API version 2025-03-31 the billing period lives on the items only.
  const firstItem = obj(listOf(object.items)[0]);
  return {
    id: object.id,
    customer: idOf(object.customer),
    status: symbol(object.status, SUBSCRIPTION_STATUSES),
    currency: object.currency,
    collection_method: symbol(object.collection_method ?? 'charge_automatically', COLLECTION_METHODS),
    cancel_at_period_end: object.cancel_at_period_end ?? false,
    cancel_at: optSecondsToMs(object.cancel_at),
    canceled_at: optSecondsToMs(object.canceled_at),
    ended_at: optSecondsToMs(object.ended_at),
    start_date: secondsToMs(object.start_date),
    current_period_start: optSecondsToMs(object.current_period_start ?? firstItem.current_period_start),
    current_period_end: optSecondsToMs(object.current_period_end ?? firstItem.current_period_end),
    trial_start: optSecondsToMs(object.trial_start),
    trial_end: optSecondsToMs(object.trial_end),
    items,
    latest_invoice: optIdOf(object.latest_invoice),
    metadata: stringMap(object.metadata),
    created: secondsToMs(object.created),
    livemode: object.livemode ?? event.livemode,
  };
}

export function invoiceObject(object: Json, event: StripeEventBase): Json {
  const transitions = obj(object.status_transitions);
  const subscriptionDetails = obj(obj(object.parent).subscription_details);
  return {
    id: object.id,
    customer: idOf(object.customer),
    customer_name: opt(object.customer_name),
    customer_email: opt(object.customer_email),
    subscription: optIdOf(object.subscription ?? subscriptionDetails.subscription),
    number: opt(object.number),
    status: symbol(object.status ?? 'unknown', INVOICE_STATUSES),
    billing_reason: opt(object.billing_reason),
    collection_method: symbol(object.collection_method ?? 'charge_automatically', COLLECTION_METHODS),
    currency: object.currency,
    subtotal: object.subtotal,
    tax: object.tax !== undefined ? opt(object.tax) : totalTaxes(object.total_taxes),
    total: object.total,
    amount_due: object.amount_due,
    amount_paid: object.amount_paid,
    amount_remaining: object.amount_remaining,
    attempt_count: object.attempt_count ?? 0,
    attempted: object.attempted ?? false,
    due_date: optSecondsToMs(object.due_date),
    period_start: secondsToMs(object.period_start),
    period_end: secondsToMs(object.period_end),
    status_transitions: {
      finalized_at: optSecondsToMs(transitions.finalized_at),
      paid_at: optSecondsToMs(transitions.paid_at),
      voided_at: optSecondsToMs(transitions.voided_at),
      marked_uncollectible_at: optSecondsToMs(transitions.marked_uncollectible_at),
    },
    lines: listOf(object.lines).map((entry) => {
      const line = obj(entry);
      const price = obj(line.price);
      const pricing = obj(obj(line.pricing).price_details);
      const period = obj(line.period);
      return {
        id: line.id,
        description: opt(line.description),
        amount: line.amount,
        currency: line.currency ?? object.currency,
        quantity: opt(line.quantity),
        price_id: optIdOf(line.price ?? pricing.price),
        product: optIdOf(price.product ?? pricing.product),
        proration: line.proration ?? false,
        period_start: optSecondsToMs(period.start),
        period_end: optSecondsToMs(period.end),
      };
    }),
    hosted_invoice_url: opt(object.hosted_invoice_url),
    metadata: stringMap(object.metadata),
    created: secondsToMs(object.created),
    livemode: object.livemode ?? event.livemode,
  };
}

/** The sum of `total_taxes[].amount` (API 2025-03-31 and later); null when there is none. */
function totalTaxes(value: unknown): unknown {
  if (!Array.isArray(value)) return null;
  let sum = 0;
  for (const tax of value) {
    const amount = obj(tax).amount;
    if (typeof amount !== 'number') return amount;
    sum += amount;
  }
  return sum;
}
