/**
 * What the support desk learns from each canonical record is decided without I/O: the organization
 * of the golden customer, and the entitlement fields in Zendesk's own values.
 */
import { describe, expect, it } from 'vitest';
import { planSupportWrite, validUntil } from '../../../src/consumers/support-entitlement/entitlement-plan.ts';
import { customerRecord, entitlementRecord } from '../../support/canonical-records.ts';

const GOLDEN = '6f1c2c1e-6a51-4c2b-9a8e-0c1d2e3f4a5b';

describe('customer → organization', () => {
  it('names the linked Zendesk organizations, the display name and domain, the golden id and ERP number', () => {
    const plan = planSupportWrite(
      customerRecord(
        {
          goldenId: GOLDEN,
          legalName: 'Acme Corporation GmbH',
          displayName: 'Acme',
          domain: 'acme.example',
          sources: [
            { system: 'zendesk', instance: 'acme', entity: 'organization', id: '360000000002' },
            { system: 'zendesk', instance: 'acme', entity: 'organization', id: '360000000001' },
            { system: 'erp', instance: null, entity: 'customer', id: 'C-5' },
          ],
        },
        { version: 4, occurredAt: Date.UTC(2026, 10, 30) },
      ),
    );
    expect(plan).toEqual({
      kind: 'organization',
      goldenId: GOLDEN,
      occurredAt: Date.UTC(2026, 10, 30),
      linkedOrganizationIds: ['360000000001', '360000000002'],
      name: 'Acme',
      domain: 'acme.example',
      fields: { golden_customer_id: GOLDEN, erp_customer_number: 'C-5' },
      versionKey: `customer:${GOLDEN}`,
      version: 4,
      summary: 'customer v4',
    });
  });

  it('ignores merged and retired golden ids', () => {
    expect(
      planSupportWrite(
        customerRecord({ goldenId: GOLDEN, status: 'MERGED', mergedInto: GOLDEN }, { version: 1 }),
      ),
    ).toMatchObject({
      kind: 'ignore',
    });
    expect(
      planSupportWrite(customerRecord({ goldenId: GOLDEN, status: 'DELETED' }, { version: 1 })),
    ).toMatchObject({
      kind: 'ignore',
    });
  });
});

describe('entitlement → organization fields', () => {
  it("writes plan, seats, support level, status and the last valid day in Zendesk's values", () => {
    const plan = planSupportWrite(
      entitlementRecord(
        {
          goldenId: GOLDEN,
          entitlementId: 'zendesk:9',
          productName: null,
          productCode: 'SUP-ENT',
          supportLevel: 'ENTERPRISE',
          status: 'SUSPENDED',
          seats: null,
          endsAt: Date.UTC(2027, 0, 1),
        },
        { version: 7 },
      ),
    );
    expect(plan).toMatchObject({
      kind: 'entitlement',
      versionKey: 'entitlement:zendesk:9',
      version: 7,
      fields: {
        support_level: 'enterprise',
        entitlement_status: 'suspended',
        entitlement_product: 'SUP-ENT',
        entitlement_seats: null,
        entitlement_ends_at: '2026-12-31',
      },
    });
  });

  it('leaves UNKNOWN level and status out instead of writing a value Zendesk would refuse', () => {
    const plan = planSupportWrite(
      entitlementRecord(
        { goldenId: GOLDEN, entitlementId: 'e', supportLevel: 'UNKNOWN', status: 'UNKNOWN' },
        { version: 1 },
      ),
    );
    const fields = (plan as { fields: Record<string, unknown> }).fields;
    expect(fields).not.toHaveProperty('support_level');
    expect(fields).not.toHaveProperty('entitlement_status');
  });

  it('an open-ended entitlement has no last day', () => {
    expect(validUntil(null)).toBeNull();
    expect(validUntil(Date.UTC(2026, 5, 1))).toBe('2026-05-31');
  });
});
