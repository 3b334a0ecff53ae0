/**
 * `raw.stripe.invoice` → an invoice draft (`stripe:<invoice id>`), linked to the contract of its
 * subscription when it bills one. Amounts are Stripe's integer minor units, taken as they are.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type * as stripe from '../../schemas/generated/raw/stripe.ts';
import {
  asRecord,
  currencyOf,
  envelopeOf,
  instanceOf,
  mappingFailed,
  nonNegative,
  requireId,
  requireOrder,
  sourceRef,
} from './mapping-support.ts';
import { stripeContractId } from './stripe-subscription.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const STRIPE_INVOICE_TOPIC = 'raw.stripe.invoice';

const INVOICE_STATUS: Record<stripe.InvoiceStatus, canonical.InvoiceStatus> = {
  draft: 'DRAFT',
  open: 'ISSUED',
  paid: 'PAID',
  uncollectible: 'UNCOLLECTIBLE',
  void: 'VOID',
  unknown: 'UNKNOWN',
};

const CHANGE: Record<canonical.InvoiceStatus, string> = {
  DRAFT: 'drafted',
  ISSUED: 'issued',
  PAID: 'paid',
  PAYMENT_FAILED: 'payment_failed',
  VOID: 'voided',
  UNCOLLECTIBLE: 'uncollectible',
  UNKNOWN: 'updated',
};

export const mapStripeInvoice: RawMapper = (value): MappingResult => {
  const record = value as unknown as stripe.Invoice;
  const topic = STRIPE_INVOICE_TOPIC;
  const invoice = record.data;
  const invoiceId = requireId(topic, 'data.id', invoice.id);
  const customerId = requireId(topic, 'data.customer', invoice.customer);
  const currency = currencyOf(topic, 'data.currency', invoice.currency);
  requireOrder(topic, 'data.period_end', invoice.period_end, 'data.period_start', invoice.period_start);
  const transitions = invoice.status_transitions;
  requireOrder(
    topic,
    'data.status_transitions.paid_at',
    transitions.paid_at,
    'data.status_transitions.finalized_at',
    transitions.finalized_at,
  );
  requireOrder(topic, 'data.due_date', invoice.due_date, 'data.created', invoice.created);
  nonNegative(topic, 'data.amount_paid', invoice.amount_paid);
  nonNegative(topic, 'data.amount_due', invoice.amount_due);

  // An open invoice whose collection just failed: the status Stripe keeps is still `open`.
  const failed = record.event.type === 'invoice.payment_failed' && invoice.status === 'open';
  const status: canonical.InvoiceStatus = failed ? 'PAYMENT_FAILED' : INVOICE_STATUS[invoice.status];
  const lines = invoice.lines.map((line, index): canonical.LineItem => {
    const field = `data.lines.${index}`;
    if (currencyOf(topic, `${field}.currency`, line.currency) !== currency) {
      throw mappingFailed(
        topic,
        `${field}.currency`,
        `${line.currency} differs from the invoice's ${currency}`,
      );
    }
    const quantity = nonNegative(topic, `${field}.quantity`, line.quantity ?? 1);
    return {
      lineId: line.id,
      productCode: line.product,
      description: line.description,
      quantity,
      // The raw line has its amount only; the unit price is derived (exact for whole-unit prices).
      unitPriceMinor: quantity === 0 ? 0 : Math.round(line.amount / quantity),
      amountMinor: line.amount,
    };
  });

  const envelope = record.envelope;
  const sources = [sourceRef('stripe', instanceOf(envelope), 'invoice', invoiceId)];
  const contractId = invoice.subscription ? stripeContractId(invoice.subscription) : null;
  const recordId = `stripe:${invoiceId}`;
  return {
    drafts: [
      {
        entity: 'invoice',
        customer: { system: 'stripe', id: customerId },
        recordId,
        sourceVersion: envelope.sourceVersion,
        eventType: `canonical.invoice.${CHANGE[status]}`,
        build: (context) =>
          asRecord<canonical.Invoice>({
            envelope: envelopeOf(context),
            invoiceId: recordId,
            goldenId: context.goldenId,
            contractId,
            number: invoice.number,
            status,
            currency,
            subtotalMinor: invoice.subtotal,
            taxMinor: invoice.tax ?? 0,
            totalMinor: invoice.total,
            amountDueMinor: invoice.amount_due,
            amountPaidMinor: invoice.amount_paid,
            issuedAt: transitions.finalized_at,
            dueAt: invoice.due_date,
            paidAt: transitions.paid_at,
            paymentAttempts: invoice.attempt_count,
            lines,
            sources,
          }),
      },
    ],
  };
};
