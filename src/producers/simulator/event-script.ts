/**
 * What happens to each simulated company, as the platforms would report it: the webhook bodies of a
 * customer's lifecycle (account and opportunity in the CRM, customer, subscription and invoices in
 * billing, organisation and support plan in support), in causal order, plus some event types
 * Syncline does not consume (platforms send many). The ERP side is a customer master to poll.
 */
import type { ErpCustomerInput } from '../erp-polling/erp-sandbox.ts';
import type { Company, Population } from './population.ts';
import { Random } from './random.ts';
import type { WebhookPlatform } from './webhook-signers.ts';

/** One webhook a platform will deliver. Bodies are final; signing happens at send time. */
export interface ScriptedWebhook {
  platform: WebhookPlatform;
  body: string;
  /** The platform's event id: redeliveries share it. */
  platformEventId: string;
  companyId: string;
  /** Position in the company's own history: a later step happened later at the source. */
  step: number;
  /** Whether Syncline consumes this event type (an ignored type is answered 200 and not published). */
  consumed: boolean;
}

/** Where the simulated history starts; fixed so that a seed always yields the same bodies. */
const EPOCH = Date.UTC(2026, 0, 5, 8, 0, 0);
const MINUTE = 60_000;

export function scriptWebhooks(population: Population, seed: string): ScriptedWebhook[] {
  const webhooks: ScriptedWebhook[] = [];
  population.companies.forEach((company, index) => {
    const random = new Random(`script:${seed}:${company.companyId}`);
    const start = EPOCH + index * 7 * MINUTE;
    const out: Draft[] = [];
    if (company.records.salesforce) out.push(...salesforceHistory(random, company, start));
    if (company.records.stripe) out.push(...stripeHistory(random, company, start + 90 * MINUTE));
    if (company.records.zendesk) out.push(...zendeskHistory(random, company, start + 120 * MINUTE));
    out.forEach((webhook, step) => webhooks.push({ ...webhook, step }));
  });
  return webhooks;
}

type Draft = Omit<ScriptedWebhook, 'step'>;

/** Salesforce's schema ids of the change event types, as the Pub/Sub API reports them. */
const SCHEMA_IDS = {
  Account: 'uYqQj5JrTkCSBvyzcR0Fbg',
  Opportunity: 'RQl0hy6s2M9y2ZpGuUTzqw',
  Contact: 'nBq3pQk0Cj7a1mR2x9Yz4w',
};

function salesforceHistory(random: Random, company: Company, start: number): Draft[] {
  const record = company.records.salesforce!;
  const orgId = '00D5g000004ZsYnEAK';
  const owner = `005${random.chars('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 15)}`;
  let commitNumber = 11_000_000_000_000 + Math.floor((start - EPOCH) / 1000) * 1000;
  const drafts: Draft[] = [];
  const change = (
    entityName: 'Account' | 'Opportunity' | 'Contact',
    recordId: string,
    changeType: 'CREATE' | 'UPDATE',
    at: number,
    fields: Record<string, unknown>,
    consumed = true,
    enriched: Record<string, unknown> = {},
  ): void => {
    commitNumber += random.int(1, 500);
    const transactionKey = random.uuid();
    // Enriched fields ride along unchanged, so they are not among the changed fields.
    const changedFields = changeType === 'UPDATE' ? [...Object.keys(fields), 'LastModifiedDate'] : [];
    const message = {
      orgId,
      schema: SCHEMA_IDS[entityName],
      payload: {
        ChangeEventHeader: {
          entityName,
          recordIds: [recordId],
          changeType,
          changeOrigin: 'com/salesforce/api/soap/61.0;client=SfdcInternalAPI/',
          transactionKey,
          sequenceNumber: 1,
          commitTimestamp: at,
          commitNumber,
          commitUser: owner,
          changedFields,
          nulledFields: [],
          diffFields: [],
        },
        ...enriched,
        ...fields,
        ...(changeType === 'CREATE' ? { CreatedDate: iso(at), OwnerId: owner } : {}),
        LastModifiedDate: iso(at),
      },
      event: { replayId: commitNumber % 100_000_000 },
    };
    drafts.push({
      platform: 'salesforce',
      body: JSON.stringify(message),
      platformEventId: `${transactionKey}:1`,
      companyId: company.companyId,
      consumed,
    });
  };

  change('Account', record.accountId, 'CREATE', start, {
    Name: record.name,
    Website: record.website,
    Industry: company.industry,
    NumberOfEmployees: company.employees,
    BillingStreet: company.address.street,
    BillingCity: company.address.city,
    BillingPostalCode: company.address.postalCode,
    BillingState: company.address.region,
    BillingCountry: company.address.countryCode,
    Tax_Id__c: record.taxId,
    CurrencyIsoCode: company.currency,
    Type: 'Prospect',
  });
  let at = start;
  for (const opportunityId of record.opportunityIds) {
    at += random.int(5, 60) * MINUTE;
    const amount = random.pick([12000, 24000, 48000, 96000, 150000]);
    const closeDate = new Date(at + random.int(20, 90) * 24 * 60 * MINUTE).toISOString().slice(0, 10);
    change('Opportunity', opportunityId, 'CREATE', at, {
      AccountId: record.accountId,
      Name: `${company.brand} - ${random.pick(['Platform', 'Enterprise', 'Growth', 'Support Plus'])} ${new Date(at).getUTCFullYear()}`,
      StageName: 'Prospecting',
      CloseDate: closeDate,
      Amount: amount,
      CurrencyIsoCode: company.currency,
      Probability: 10,
      IsClosed: false,
      IsWon: false,
      Type: 'New Business',
      ForecastCategoryName: 'Pipeline',
    });
    // Change Data Capture sends only the changed fields of an update; the org enriches the
    // Opportunity change events of Syncline's channel with the account, amount and currency
    // (PlatformEventChannelMember.EnrichedFields), which an order needs whatever changed.
    const enriched = { AccountId: record.accountId, Amount: amount, CurrencyIsoCode: company.currency };
    at += random.int(30, 240) * MINUTE;
    change(
      'Opportunity',
      opportunityId,
      'UPDATE',
      at,
      { StageName: 'Negotiation/Review', Probability: 80 },
      true,
      enriched,
    );
    at += random.int(30, 240) * MINUTE;
    const won = random.chance(0.7);
    change(
      'Opportunity',
      opportunityId,
      'UPDATE',
      at,
      {
        StageName: won ? 'Closed Won' : 'Closed Lost',
        Probability: won ? 100 : 0,
        IsClosed: true,
        IsWon: won,
        ForecastCategoryName: won ? 'Closed' : 'Omitted',
        // Closing a deal sets its close date to the day it closed.
        CloseDate: new Date(at).toISOString().slice(0, 10),
      },
      true,
      enriched,
    );
  }
  if (random.chance(0.5)) {
    at += random.int(60, 600) * MINUTE;
    change('Account', record.accountId, 'UPDATE', at, {
      Type: 'Customer',
      NumberOfEmployees: company.employees + random.int(1, 40),
    });
  }
  if (random.chance(0.2)) {
    // A Contact change: the callout forwards it, Syncline does not consume it.
    const contactId = `003${random.chars('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', 15)}`;
    change('Contact', contactId, 'UPDATE', at + MINUTE, { Email: `ops@${company.domain}` }, false);
  }
  return drafts;
}

function stripeHistory(random: Random, company: Company, start: number): Draft[] {
  const record = company.records.stripe!;
  const currency = company.currency.toLowerCase();
  const drafts: Draft[] = [];
  const event = (
    type: string,
    at: number,
    object: Record<string, unknown>,
    previous?: Record<string, unknown>,
    consumed = true,
  ): void => {
    const id = `evt_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 24)}`;
    drafts.push({
      platform: 'stripe',
      body: JSON.stringify({
        id,
        object: 'event',
        api_version: '2024-06-20',
        created: Math.floor(at / 1000),
        data: { object, ...(previous ? { previous_attributes: previous } : {}) },
        livemode: false,
        pending_webhooks: 1,
        request: {
          id: `req_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
          idempotency_key: random.uuid(),
        },
        type,
      }),
      platformEventId: id,
      companyId: company.companyId,
      consumed,
    });
  };
  const created = Math.floor(start / 1000);
  const customer = {
    id: record.customerId,
    object: 'customer',
    address: {
      city: company.address.city,
      country: company.address.countryCode,
      line1: company.address.street,
      line2: null,
      postal_code: company.address.postalCode,
      state: company.address.region,
    },
    balance: 0,
    created,
    currency,
    default_source: null,
    delinquent: false,
    description: null,
    email: record.email,
    invoice_prefix: random.chars('ABCDEF0123456789', 8),
    livemode: false,
    metadata: record.taxId ? {} : { source: 'self-serve' },
    name: record.name,
    phone: null,
    preferred_locales: [],
    tax_exempt: 'none',
    tax_ids: {
      object: 'list',
      data: record.taxId
        ? [
            {
              id: `txi_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
              object: 'tax_id',
              type: taxIdType(company.countryCode),
              value: record.taxId,
              country: company.countryCode,
            },
          ]
        : [],
      has_more: false,
    },
  };
  event('customer.created', start, customer);

  const unitAmount = random.pick([4900, 9900, 19900, 49900]);
  const quantity = random.int(1, 25);
  const periodStart = created + 120;
  const periodEnd = periodStart + 30 * 24 * 3600;
  const trialing = random.chance(0.2);
  const price = {
    id: `price_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
    object: 'price',
    active: true,
    currency,
    nickname: random.pick(['Team monthly', 'Business monthly', 'Enterprise monthly']),
    product: `prod_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
    recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' },
    type: 'recurring',
    unit_amount: unitAmount,
  };
  const subscription = {
    id: record.subscriptionId,
    object: 'subscription',
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    collection_method: 'charge_automatically',
    created: periodStart,
    currency,
    current_period_end: periodEnd,
    current_period_start: periodStart,
    customer: record.customerId,
    ended_at: null,
    items: {
      object: 'list',
      data: [
        {
          id: `si_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
          object: 'subscription_item',
          current_period_end: periodEnd,
          current_period_start: periodStart,
          price,
          quantity,
        },
      ],
      has_more: false,
    },
    latest_invoice: record.invoiceIds[0] ?? null,
    livemode: false,
    metadata: {},
    start_date: periodStart,
    status: trialing ? 'trialing' : 'active',
    trial_end: trialing ? periodStart + 14 * 24 * 3600 : null,
    trial_start: trialing ? periodStart : null,
  };
  event('customer.subscription.created', start + 2 * MINUTE, subscription);
  event(
    'payment_method.attached',
    start + 3 * MINUTE,
    {
      id: `pm_${random.chars('abcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
      object: 'payment_method',
      customer: record.customerId,
    },
    undefined,
    false,
  );

  record.invoiceIds.forEach((invoiceId, n) => {
    const issued = start + (n + 1) * 30 * 24 * 60 * MINUTE;
    const subtotal = unitAmount * quantity;
    const tax = company.countryCode === 'US' ? 0 : Math.round(subtotal * 0.19);
    const invoice = (
      status: 'open' | 'paid',
      paidAt: number | null,
      attempts: number,
    ): Record<string, unknown> => ({
      id: invoiceId,
      object: 'invoice',
      amount_due: subtotal + tax,
      amount_paid: status === 'paid' ? subtotal + tax : 0,
      amount_remaining: status === 'paid' ? 0 : subtotal + tax,
      attempt_count: attempts,
      attempted: attempts > 0,
      billing_reason: n === 0 ? 'subscription_create' : 'subscription_cycle',
      collection_method: 'charge_automatically',
      created: Math.floor(issued / 1000),
      currency,
      customer: record.customerId,
      customer_email: record.email,
      customer_name: record.name,
      due_date: null,
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_1Syncline/test_${invoiceId.slice(3)}`,
      lines: {
        object: 'list',
        data: [
          {
            id: `il_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
            object: 'line_item',
            amount: subtotal,
            currency,
            description: `${quantity} × ${price.nickname} (at ${(unitAmount / 100).toFixed(2)} / month)`,
            period: { start: Math.floor(issued / 1000), end: Math.floor(issued / 1000) + 30 * 24 * 3600 },
            price: { id: price.id, product: price.product },
            proration: false,
            quantity,
          },
        ],
        has_more: false,
      },
      livemode: false,
      metadata: {},
      number: `${customer.invoice_prefix}-${String(n + 1).padStart(4, '0')}`,
      period_end: Math.floor(issued / 1000),
      period_start: Math.floor(issued / 1000) - 30 * 24 * 3600,
      status,
      status_transitions: {
        finalized_at: Math.floor(issued / 1000),
        marked_uncollectible_at: null,
        paid_at: paidAt,
        voided_at: null,
      },
      subscription: record.subscriptionId,
      subtotal,
      tax,
      total: subtotal + tax,
    });
    event('invoice.finalized', issued, invoice('open', null, 0));
    if (random.chance(0.85)) {
      event(
        'invoice.paid',
        issued + 5 * MINUTE,
        invoice('paid', Math.floor((issued + 5 * MINUTE) / 1000), 1),
        { status: 'open', amount_paid: 0 },
      );
    } else {
      event('invoice.payment_failed', issued + 5 * MINUTE, invoice('open', null, 1), {
        attempt_count: 0,
        attempted: false,
      });
    }
  });
  if (random.chance(0.3)) {
    const email = `finance@${company.domain}`;
    event('customer.updated', start + 40 * 24 * 60 * MINUTE, { ...customer, email }, { email: record.email });
  }
  return drafts;
}

function zendeskHistory(random: Random, company: Company, start: number): Draft[] {
  const record = company.records.zendesk!;
  const accountId = 9_732_064;
  const drafts: Draft[] = [];
  let name = record.name;
  const createdAt = isoSeconds(start);
  const event = (type: string, at: number, event: Record<string, unknown>, consumed = true): void => {
    const id = random.uuid();
    drafts.push({
      platform: 'zendesk',
      body: JSON.stringify({
        type,
        account_id: accountId,
        id,
        time: isoSeconds(at),
        zendesk_event_version: '2022-06-20',
        subject: `zen:organization:${record.organizationId}`,
        detail: {
          created_at: createdAt,
          domain_names: record.domainNames,
          external_id: record.externalId,
          group_id: null,
          id: record.organizationId,
          name,
          shared_comments: false,
          shared_tickets: false,
          updated_at: isoSeconds(at),
        },
        event,
      }),
      platformEventId: id,
      companyId: company.companyId,
      consumed,
    });
  };
  event('zen:event-type:organization.created', start, {});
  let at = start;
  if (random.chance(0.3)) {
    at += random.int(10, 300) * MINUTE;
    const previous = name;
    name = name.trim().replace(/\s+/g, ' ');
    if (name === previous) name = `${company.brand} ${company.industry}`;
    event('zen:event-type:organization.name_changed', at, { current: name, previous });
  }
  at += random.int(10, 300) * MINUTE;
  const plan = random.pick(['standard', 'premium', 'enterprise']);
  event('zen:event-type:organization.custom_field_changed', at, {
    current: plan,
    previous: null,
    field: { id: '23897145', title: 'Support plan', key: 'support_plan', type: 'dropdown' },
  });
  // The entitlement behind the plan: a record of the `entitlement` custom object.
  at += random.int(1, 30) * MINUTE;
  const entitlementId = `01J${random.chars('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 23)}`;
  const startDate = new Date(at).toISOString().slice(0, 10);
  const endDate = `${Number(startDate.slice(0, 4)) + 1}${startDate.slice(4)}`;
  const seats = random.pick([5, 10, 25, 50, 100]);
  const entitlement = (type: string, when: number, status: string, remaining: number | null): void => {
    const id = random.uuid();
    drafts.push({
      platform: 'zendesk',
      body: JSON.stringify({
        type,
        account_id: accountId,
        id,
        time: isoSeconds(when),
        zendesk_event_version: '2022-06-20',
        subject: `zen:custom_object_record:${entitlementId}`,
        detail: {
          id: entitlementId,
          custom_object_key: 'entitlement',
          name: `${plan[0]!.toUpperCase()}${plan.slice(1)} Support ${startDate.slice(0, 4)}`,
          external_id: null,
          custom_object_fields: {
            organization_id: record.organizationId,
            product_code: `SUP-${plan.toUpperCase().slice(0, 4)}`,
            plan,
            sla_policy_id: plan === 'standard' ? 360001 : plan === 'premium' ? 360002 : 360003,
            sla_policy_title:
              plan === 'standard' ? 'Standard 24h' : plan === 'premium' ? 'Premium 8h' : 'Enterprise 1h',
            status,
            total_units: seats,
            remaining_units: remaining,
            unit: 'seat',
            start_date: startDate,
            end_date: endDate,
          },
          created_at: isoSeconds(at),
          updated_at: isoSeconds(when),
        },
        event: {},
      }),
      platformEventId: id,
      companyId: company.companyId,
      consumed: true,
    });
  };
  entitlement('zen:event-type:custom_object_record.created', at, 'active', seats);
  if (random.chance(0.4)) {
    at += random.int(60, 3000) * MINUTE;
    entitlement(
      'zen:event-type:custom_object_record.updated',
      at,
      random.chance(0.8) ? 'active' : 'suspended',
      Math.max(0, seats - random.int(1, seats)),
    );
  }
  if (random.chance(0.3)) {
    at += random.int(10, 300) * MINUTE;
    event('zen:event-type:organization.tags_changed', at, { tags_added: ['vip'], tags_removed: [] });
  }
  if (random.chance(0.2)) {
    // User events arrive on the same webhook; Syncline does not consume them.
    event('zen:event-type:user.created', at + MINUTE, {}, false);
  }
  return drafts;
}

/** The ERP customer master rows of the population, for the ERP sandbox. */
export function erpCustomersOf(population: Population, seed: string): ErpCustomerInput[] {
  return population.companies.flatMap((company) => {
    const record = company.records.erp;
    if (!record) return [];
    const random = new Random(`erp:${seed}:${company.companyId}`);
    const euVat = company.countryCode !== 'US';
    const input: ErpCustomerInput = {
      customerNumber: record.customerId,
      name: record.legalName,
      name2: random.chance(0.2) ? 'Accounts Payable' : null,
      legalForm: company.suffix.canonical,
      vatId: euVat ? record.taxId : null,
      taxNumber: euVat ? null : record.taxId,
      address: {
        line1: company.address.street,
        line2: null,
        postalCode: company.address.postalCode,
        city: company.address.city,
        region: company.address.region,
        countryCode: company.countryCode,
      },
      email: random.chance(0.6) ? `ap@${company.domain}` : null,
      phone: null,
      currency: company.currency,
      paymentTermsCode: random.pick(['NET30', 'NET45', 'NET60', 'DUE_ON_RECEIPT']),
      creditLimit: `${record.creditLimit}.00`,
      creditExposure: `${random.int(0, record.creditLimit)}.${random.digits(2)}`,
      creditStatus: random.pick(['CLEAR', 'CLEAR', 'CLEAR', 'WATCH', 'HOLD'] as const),
      accountGroup: 'SOLD_TO',
    };
    return [input];
  });
}

function taxIdType(countryCode: string): string {
  switch (countryCode) {
    case 'US':
      return 'us_ein';
    case 'GB':
      return 'gb_vat';
    case 'CH':
      return 'ch_vat';
    default:
      return 'eu_vat';
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
