/**
 * One realistic webhook body per platform and kind, as the platform sends it, for tests to sign,
 * send and take apart. Each builder takes overrides so a test can say exactly what it changes.
 */

export function stripeCustomerCreated(
  overrides: { id?: string; customerId?: string; name?: string } = {},
): Record<string, unknown> {
  return {
    id: overrides.id ?? 'evt_1PqRsTuVwXyZ0123456789ab',
    object: 'event',
    api_version: '2024-06-20',
    created: 1_767_600_000,
    data: {
      object: {
        id: overrides.customerId ?? 'cus_QwErTy12345678',
        object: 'customer',
        address: {
          city: 'München',
          country: 'DE',
          line1: 'Industriestraße 12',
          line2: null,
          postal_code: '80331',
          state: 'BY',
        },
        balance: 0,
        created: 1_767_600_000,
        currency: 'eur',
        delinquent: false,
        description: null,
        email: 'billing@nordwind.de',
        invoice_prefix: 'A1B2C3D4',
        livemode: false,
        metadata: { crm_id: '0015g00000AbCdEAAX' },
        name: overrides.name ?? 'Nordwind Logistik GmbH',
        phone: null,
        tax_exempt: 'none',
        tax_ids: {
          object: 'list',
          data: [{ id: 'txi_1', object: 'tax_id', type: 'eu_vat', value: 'DE123456789', country: 'DE' }],
          has_more: false,
        },
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: 'req_abc', idempotency_key: 'f0e1d2c3-b4a5-4968-8776-655443322110' },
    type: 'customer.created',
  };
}

export function stripeSubscriptionUpdated(): Record<string, unknown> {
  return {
    id: 'evt_1SubUpdated000000000000',
    object: 'event',
    api_version: '2024-06-20',
    created: 1_767_700_000,
    data: {
      object: {
        id: 'sub_1AbCdEfGhIjKlM',
        object: 'subscription',
        cancel_at: null,
        cancel_at_period_end: false,
        canceled_at: null,
        collection_method: 'charge_automatically',
        created: 1_767_600_000,
        currency: 'eur',
        current_period_end: 1_770_278_400,
        current_period_start: 1_767_600_000,
        customer: 'cus_QwErTy12345678',
        ended_at: null,
        items: {
          object: 'list',
          data: [
            {
              id: 'si_1',
              object: 'subscription_item',
              price: {
                id: 'price_1',
                object: 'price',
                product: 'prod_1',
                nickname: 'Team monthly',
                currency: 'eur',
                unit_amount: 4900,
                recurring: { interval: 'month', interval_count: 1 },
              },
              quantity: 5,
            },
          ],
        },
        latest_invoice: 'in_1',
        livemode: false,
        metadata: {},
        start_date: 1_767_600_000,
        status: 'active',
        trial_end: null,
        trial_start: null,
      },
      previous_attributes: { status: 'incomplete' },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'customer.subscription.updated',
  };
}

export function salesforceAccountChange(
  overrides: { recordIds?: string[]; transactionKey?: string; name?: string } = {},
): Record<string, unknown> {
  return {
    orgId: '00D5g000004ZsYnEAK',
    schema: 'uYqQj5JrTkCSBvyzcR0Fbg',
    payload: {
      ChangeEventHeader: {
        entityName: 'Account',
        recordIds: overrides.recordIds ?? ['0015g00000AbCdEAAX'],
        changeType: 'CREATE',
        changeOrigin: 'com/salesforce/api/soap/61.0;client=SfdcInternalAPI/',
        transactionKey: overrides.transactionKey ?? '0004e5b6-9b1c-4f7e-a1d2-3c4b5a697887',
        sequenceNumber: 1,
        commitTimestamp: 1_767_600_000_000,
        commitNumber: 11_000_000_123_456,
        commitUser: '0055g00000XyZaBAAV',
        changedFields: [],
        nulledFields: [],
        diffFields: [],
      },
      Name: overrides.name ?? 'Nordwind Logistik GmbH',
      Website: 'https://www.nordwind.de',
      BillingCity: 'München',
      BillingCountry: 'DE',
      Tax_Id__c: 'DE123456789',
      CurrencyIsoCode: 'EUR',
      CreatedDate: '2026-01-05T08:00:00.000Z',
      LastModifiedDate: '2026-01-05T08:00:00.000Z',
    },
    event: { replayId: 4242 },
  };
}

export function salesforceOpportunityClosedWon(): Record<string, unknown> {
  return {
    orgId: '00D5g000004ZsYnEAK',
    payload: {
      ChangeEventHeader: {
        entityName: 'Opportunity',
        recordIds: ['0065g00000QrStUAAV'],
        changeType: 'UPDATE',
        transactionKey: '00051d7e-1111-4f7e-a1d2-3c4b5a697887',
        sequenceNumber: 1,
        commitTimestamp: 1_767_700_000_000,
        commitNumber: 11_000_000_223_456,
        commitUser: '0055g00000XyZaBAAV',
        changedFields: ['StageName', 'IsClosed', 'IsWon', 'Probability', 'LastModifiedDate'],
        nulledFields: [],
        diffFields: [],
      },
      StageName: 'Closed Won',
      IsClosed: true,
      IsWon: true,
      Probability: 100,
      Amount: 12500.5,
      CurrencyIsoCode: 'EUR',
      CloseDate: '2026-02-27',
      LastModifiedDate: '2026-01-06T11:46:40.000Z',
    },
  };
}

export function zendeskOrganizationCreated(
  overrides: { id?: string; organizationId?: string } = {},
): Record<string, unknown> {
  return {
    type: 'zen:event-type:organization.created',
    account_id: 9_732_064,
    id: overrides.id ?? 'a540ab78-88f2-49e1-93a7-16152a6f782c',
    time: '2026-01-05T08:00:00Z',
    zendesk_event_version: '2022-06-20',
    subject: `zen:organization:${overrides.organizationId ?? '16034491183005'}`,
    detail: {
      created_at: '2026-01-05T08:00:00Z',
      external_id: null,
      group_id: null,
      id: overrides.organizationId ?? '16034491183005',
      name: 'Nordwind Logistik',
      shared_comments: false,
      shared_tickets: false,
      updated_at: '2026-01-05T08:00:00Z',
    },
    event: {},
  };
}

export function zendeskEntitlementCreated(): Record<string, unknown> {
  return {
    type: 'zen:event-type:custom_object_record.created',
    account_id: 9_732_064,
    id: 'b1c2d3e4-0000-4000-8000-000000000001',
    time: '2026-01-05T09:00:00Z',
    zendesk_event_version: '2022-06-20',
    subject: 'zen:custom_object_record:01JABCDEFGHJKMNPQRSTVWXYZ0',
    detail: {
      id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
      custom_object_key: 'entitlement',
      name: 'Premium Support 2026',
      external_id: null,
      custom_object_fields: {
        organization_id: '16034491183005',
        product_code: 'SUP-PREM',
        plan: 'premium',
        sla_policy_id: 360002,
        sla_policy_title: 'Premium 8h',
        status: 'active',
        total_units: 25,
        remaining_units: 25,
        unit: 'seat',
        start_date: '2026-01-05',
        end_date: '2027-01-05',
      },
      created_at: '2026-01-05T09:00:00Z',
      updated_at: '2026-01-05T09:00:00Z',
    },
    event: {},
  };
}
