/**
 * The shape of the Stripe webhook events Syncline consumes (snapshot events, API versions 2020 and
 * later): the event around `data.object`, and the identity of each object.
 */
import { z } from 'zod';

/** The event types Syncline consumes, and the raw entity (topic suffix) each one is about. */
export const STRIPE_EVENT_ENTITIES = {
  'customer.created': 'customer',
  'customer.updated': 'customer',
  'customer.deleted': 'customer',
  'customer.subscription.created': 'subscription',
  'customer.subscription.updated': 'subscription',
  'customer.subscription.deleted': 'subscription',
  'invoice.finalized': 'invoice',
  'invoice.paid': 'invoice',
  'invoice.payment_failed': 'invoice',
} as const;
export type StripeEventType = keyof typeof STRIPE_EVENT_ENTITIES;
export type StripeEntity = (typeof STRIPE_EVENT_ENTITIES)[StripeEventType];

export function isConsumedStripeType(type: string): type is StripeEventType {
  return Object.hasOwn(STRIPE_EVENT_ENTITIES, type);
}

/** What every Stripe event has, whatever its type. */
export const StripeEventBase = z.looseObject({
  id: z.string().regex(/^evt_\w+$/, 'must be a Stripe event id (evt_...)'),
  object: z.literal('event'),
  type: z.string().min(1).max(200),
  created: z.number().int().nonnegative(),
  livemode: z.boolean(),
  account: z.string().optional(),
  data: z.looseObject({
    object: z.looseObject({ id: z.string().min(1), object: z.string().min(1) }),
    previous_attributes: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type StripeEventBase = z.infer<typeof StripeEventBase>;

/**
 * Per entity, the identity checks zod is better at than Avro (id formats); the full shape is checked
 * against the raw topic's Avro schema once the record is built.
 */
export const StripeCustomer = z.looseObject({
  id: z.string().regex(/^cus_\w+$/, 'must be a Stripe customer id (cus_...)'),
  object: z.literal('customer'),
});

const customerReference = z.union([
  z.string().regex(/^cus_\w+$/, 'must be a Stripe customer id (cus_...)'),
  z.looseObject({ id: z.string().regex(/^cus_\w+$/, 'must be a Stripe customer id (cus_...)') }),
]);

export const StripeSubscription = z.looseObject({
  id: z.string().regex(/^sub_\w+$/, 'must be a Stripe subscription id (sub_...)'),
  object: z.literal('subscription'),
  customer: customerReference,
});

export const StripeInvoice = z.looseObject({
  id: z.string().regex(/^in_\w+$/, 'must be a Stripe invoice id (in_...)'),
  object: z.literal('invoice'),
  customer: customerReference,
});

export const STRIPE_OBJECT_SCHEMAS = {
  customer: StripeCustomer,
  subscription: StripeSubscription,
  invoice: StripeInvoice,
} as const satisfies Record<StripeEntity, z.ZodType>;
