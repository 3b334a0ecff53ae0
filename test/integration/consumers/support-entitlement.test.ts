/**
 * The support entitlement sink against the Zendesk double: the golden customer's organization is
 * created or adopted (external_id = golden id) and its entitlement fields (plan, seats, support
 * level, status, valid until) follow the canonical entitlements. A redelivery writes nothing, an older
 * version is refused, and every kind of answer becomes the outcome the runner needs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppliedVersions } from '../../../src/consumers/saas/applied-versions.ts';
import type { SinkOutcome } from '../../../src/consumers/sink.ts';
import { SupportEntitlementSink } from '../../../src/consumers/support-entitlement/support-sink.ts';
import { ZendeskClient } from '../../../src/consumers/support-entitlement/zendesk-client.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Organization } from '../../../src/targets-sim/zendesk/organizations.ts';
import { startZendeskSim, type ZendeskSim } from '../../../src/targets-sim/zendesk/zendesk-sim.ts';
import { customerRecord, entitlementRecord } from '../../support/canonical-records.ts';

const TOKEN = 'zendesk-oauth-token-for-tests';
const API_TOKEN = { email: 'integrations@acme.example', token: 'zendesk-api-token-0123' };
const logger = createLogger({ level: 'silent' });

let zd: ZendeskSim;

function sinkFor(
  overrides: Partial<{ token: string; timeoutMs: number; apiToken: boolean }> = {},
): SupportEntitlementSink {
  const client = new ZendeskClient({
    url: zd.url,
    credentials: overrides.apiToken
      ? { kind: 'api-token', ...API_TOKEN }
      : { kind: 'oauth', token: overrides.token ?? TOKEN },
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
  return new SupportEntitlementSink(client, logger);
}

function failure(outcome: SinkOutcome | undefined): SynclineError {
  if (outcome?.status !== 'failed')
    throw new Error(`expected a failed outcome, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

async function organizationsWith(externalId: string): Promise<Organization[]> {
  const response = await fetch(`${zd.apiUrl}/organizations/search.json?external_id=${externalId}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await response.json()) as { organizations: Organization[] }).organizations;
}

function writes(): number {
  return zd.recorder.requests.filter((request) => request.method === 'PUT' || request.method === 'POST')
    .length;
}

function uniqueName(): string {
  return `Acme ${randomUUID().slice(0, 8)} GmbH`;
}

beforeAll(async () => {
  zd = await startZendeskSim({ tokens: [TOKEN], apiTokens: [API_TOKEN], logger });
});

beforeEach(() => {
  zd.recorder.clear();
});

afterEach(async () => {
  await zd.clearFaults();
});

afterAll(async () => {
  await zd?.close();
});

describe('the support desk learns the customer and its entitlement', () => {
  it('creates the organization of a new golden customer and keeps its entitlement fields in step', async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    const name = uniqueName();
    const renamed = uniqueName();

    const outcomes = await sink.apply([
      customerRecord({ goldenId, legalName: name, domain: 'acme.example' }, { version: 1 }),
      entitlementRecord(
        { goldenId, entitlementId: 'zendesk:ent-1', supportLevel: 'STANDARD', seats: 10, status: 'ACTIVE' },
        { version: 10 },
      ),
      entitlementRecord(
        {
          goldenId,
          entitlementId: 'zendesk:ent-1',
          productName: 'Enterprise Support',
          supportLevel: 'ENTERPRISE',
          seats: 50,
          status: 'ACTIVE',
          endsAt: Date.UTC(2027, 5, 1),
        },
        { version: 11 },
      ),
      customerRecord(
        {
          goldenId,
          legalName: renamed,
          domain: 'acme.example',
          sources: [{ system: 'erp', instance: '1000', entity: 'customer', id: 'C-10042' }],
        },
        { version: 2 },
      ),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied', 'applied', 'applied']);
    const found = await organizationsWith(goldenId);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      name: renamed,
      external_id: goldenId,
      domain_names: ['acme.example'],
      tags: ['syncline_managed'],
      organization_fields: {
        golden_customer_id: goldenId,
        erp_customer_number: 'C-10042',
        support_level: 'enterprise',
        entitlement_status: 'active',
        entitlement_product: 'Enterprise Support',
        entitlement_seats: 50,
        // The canonical end is the first instant no longer covered: valid until the day before.
        entitlement_ends_at: '2027-05-31',
      },
    });
  });

  it('adopts the organization the support team made (linked as a source): it takes the golden id, keeps its name, and no second one is created', async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    const teamName = uniqueName();
    const orgId = zd.seed({ name: teamName, tags: ['vip'] });

    const outcomes = await sink.apply([
      customerRecord(
        {
          goldenId,
          legalName: 'Acme Corporation Legal Name',
          sources: [{ system: 'zendesk', instance: 'acme', entity: 'organization', id: String(orgId) }],
        },
        { version: 3 },
      ),
      entitlementRecord(
        { goldenId, entitlementId: 'zendesk:ent-7', supportLevel: 'PREMIUM' },
        { version: 1 },
      ),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied']);
    expect(zd.organization(orgId)).toMatchObject({
      name: teamName,
      external_id: goldenId,
      tags: ['vip'],
      organization_fields: { golden_customer_id: goldenId, support_level: 'premium' },
    });
    expect((await organizationsWith(goldenId)).map((organization) => organization.id)).toEqual([orgId]);
  });

  it('keeps the current name when the surviving name is taken by another organization, and applies the rest', async () => {
    const goldenId = randomUUID();
    const first = uniqueName();
    const taken = uniqueName();
    zd.seed({ name: taken });
    const outcomes = await sinkFor().apply([
      customerRecord({ goldenId, legalName: first }, { version: 1 }),
      customerRecord({ goldenId, legalName: taken }, { version: 2 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'applied']);
    const [organization] = await organizationsWith(goldenId);
    expect(organization?.name).toBe(first);
    expect(
      AppliedVersions.parse(organization?.organization_fields.syncline_versions).get(`customer:${goldenId}`),
    ).toBe(2);
  });

  it('ignores merged and retired golden ids', async () => {
    const outcomes = await sinkFor().apply([
      customerRecord({ goldenId: randomUUID(), status: 'MERGED', mergedInto: randomUUID() }, { version: 1 }),
      customerRecord({ goldenId: randomUUID(), status: 'DELETED' }, { version: 1 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['ignored', 'ignored']);
    expect(writes()).toBe(0);
  });

  it('authenticates with an API token (Basic email/token) as well as with OAuth', async () => {
    const outcomes = await sinkFor({ apiToken: true }).apply([
      customerRecord({ goldenId: randomUUID(), legalName: uniqueName() }, { version: 1 }),
    ]);
    expect(outcomes).toEqual([{ status: 'applied' }]);
  });
});

describe('exactly once in effect, and never backwards', () => {
  it('a redelivery is a duplicate at the target: nothing is written again, no second organization', async () => {
    const goldenId = randomUUID();
    const records = [
      customerRecord({ goldenId, legalName: uniqueName() }, { version: 5 }),
      entitlementRecord({ goldenId, entitlementId: 'zendesk:ent-2' }, { version: 8 }),
    ];
    expect((await sinkFor().apply(records)).map((outcome) => outcome.status)).toEqual(['applied', 'applied']);
    const before = await organizationsWith(goldenId);
    const writesBefore = writes();

    const again = await sinkFor().apply(records);

    expect(again.map((outcome) => outcome.status)).toEqual(['duplicate', 'duplicate']);
    expect(writes()).toBe(writesBefore);
    expect(await organizationsWith(goldenId)).toEqual(before);
  });

  it('after a merge or unmerge moved an organization to another golden id, a late record of the old one does not take it back', async () => {
    const sink = sinkFor();
    const orgId = zd.seed({ name: uniqueName() });
    const linked = [
      { system: 'zendesk' as const, instance: 'acme', entity: 'organization', id: String(orgId) },
    ];
    const [older, holder, newer] = [randomUUID(), randomUUID(), randomUUID()];
    const at = (minute: number) => Date.UTC(2026, 10, 1, 12, minute);
    const customer = (goldenId: string, minute: number) =>
      customerRecord(
        { goldenId, legalName: uniqueName(), sources: linked },
        { version: 3, occurredAt: at(minute) },
      );

    const held = await sink.apply([customer(holder, 20)]);
    const late = await sink.apply([customer(older, 10)]);
    const heldAfterLate = zd.organization(orgId)?.external_id;
    const moved = await sink.apply([customer(newer, 30)]);

    expect([held, late, moved]).toEqual([
      [{ status: 'applied' }],
      [{ status: 'stale' }],
      [{ status: 'applied' }],
    ]);
    expect(heldAfterLate).toBe(holder);
    expect(zd.organization(orgId)?.external_id).toBe(newer);
  });

  it("an organization's customer and entitlement records applied at once (two partitions) all keep their version", async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    await sink.apply([customerRecord({ goldenId, legalName: uniqueName() }, { version: 1 })]);
    const entitlements = [1, 2, 3].map((n) =>
      entitlementRecord({ goldenId, entitlementId: `zendesk:c${n}` }, { version: n }),
    );
    const customer = customerRecord({ goldenId, legalName: uniqueName() }, { version: 2 });

    // As the runner does with partitions of different topics: separate calls, at the same time.
    const outcomes = await Promise.all([customer, ...entitlements].map((record) => sink.apply([record])));

    expect(outcomes.flat().map((outcome) => outcome.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const versions = JSON.parse(
      String((await organizationsWith(goldenId))[0]?.organization_fields.syncline_versions),
    ) as Record<string, number>;
    expect(versions).toMatchObject({
      [`customer:${goldenId}`]: 2,
      'entitlement:zendesk:c1': 1,
      'entitlement:zendesk:c2': 2,
      'entitlement:zendesk:c3': 3,
    });
  });

  it('an older entitlement version after a newer one is stale and changes nothing', async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    await sink.apply([customerRecord({ goldenId, legalName: uniqueName() }, { version: 1 })]);
    const newer = await sink.apply([
      entitlementRecord({ goldenId, entitlementId: 'zendesk:ent-3', seats: 40 }, { version: 20 }),
    ]);
    const older = await sink.apply([
      entitlementRecord({ goldenId, entitlementId: 'zendesk:ent-3', seats: 5 }, { version: 19 }),
    ]);

    expect(newer).toEqual([{ status: 'applied' }]);
    expect(older).toEqual([{ status: 'stale' }]);
    expect((await organizationsWith(goldenId))[0]?.organization_fields.entitlement_seats).toBe(40);
  });

  it('an entitlement before its organization exists is retriable, and applies once the customer record is in', async () => {
    const sink = sinkFor();
    const goldenId = randomUUID();
    const entitlement = entitlementRecord({ goldenId, entitlementId: 'zendesk:ent-4' }, { version: 1 });

    const early = failure((await sink.apply([entitlement]))[0]);
    await sink.apply([customerRecord({ goldenId, legalName: uniqueName() }, { version: 1 })]);
    const later = await sink.apply([entitlement]);

    expect(early).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_REJECTED, retryAfterMs: 5_000 });
    expect(later).toEqual([{ status: 'applied' }]);
  });
});

describe('every answer has a class', () => {
  const customer = () => customerRecord({ goldenId: randomUUID(), legalName: uniqueName() }, { version: 1 });

  it('429 APIRateLimitExceeded: retriable as rate limited, with the Retry-After Zendesk sends', async () => {
    await zd.setFaults({ rateLimit: { limit: 0, windowMs: 30_000 } });
    const error = failure((await sinkFor().apply([customer()]))[0]);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_RATE_LIMITED });
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(error.context).toMatchObject({
      status: 429,
      errorCode: 'APIRateLimitExceeded',
      target: 'support',
    });
  });

  it('5xx: retriable, with Retry-After when sent', async () => {
    await zd.setFaults({ failNext: 1, errorStatus: 503, retryAfterSeconds: 3 });
    const unavailable = failure((await sinkFor().apply([customer()]))[0]);
    await zd.setFaults({ failNext: 1, errorStatus: 500 });
    const broken = failure((await sinkFor().apply([customer()]))[0]);

    expect(unavailable).toMatchObject({
      retriable: true,
      code: ErrorCodes.TARGET_UNAVAILABLE,
      retryAfterMs: 3_000,
    });
    expect(broken).toMatchObject({
      retriable: true,
      code: ErrorCodes.TARGET_UNAVAILABLE,
      retryAfterMs: undefined,
    });
  });

  it('422 RecordInvalid is permanent and names the attribute and its error', async () => {
    const blank = '   ';
    const error = failure(
      (
        await sinkFor().apply([customerRecord({ goldenId: randomUUID(), legalName: blank }, { version: 1 })])
      )[0],
    );
    expect(error).toMatchObject({ retriable: false, code: ErrorCodes.TARGET_REJECTED });
    expect(error.context).toMatchObject({ status: 422, errorCode: 'RecordInvalid', fields: 'name' });
    expect(error.message).toContain('name: Name: cannot be blank (BlankValue)');
  });

  it('a customer named like an organization not linked to it is ignored, not created twice nor dead-lettered', async () => {
    // Usually the company's own support organization, whose record match-merge has not linked yet:
    // a later customer record carrying the link adopts it.
    const taken = uniqueName();
    const existing = zd.seed({ name: taken });
    const goldenId = randomUUID();
    const outcomes = await sinkFor().apply([customerRecord({ goldenId, legalName: taken }, { version: 1 })]);
    expect(outcomes).toEqual([
      {
        status: 'ignored',
        reason: 'an organization of this name exists and is not linked to this golden customer yet',
      },
    ]);
    expect(zd.organization(existing)?.external_id ?? null).toBeNull();
  });

  it('401 (credentials refused) is retriable, names the variables to check and never the token', async () => {
    const error = failure((await sinkFor({ token: 'not-the-token' }).apply([customer()]))[0]);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_UNAVAILABLE });
    expect(error.message).toContain('ZENDESK_OAUTH_TOKEN');
    expect(error.message).not.toContain('not-the-token');
  });

  it('a call that gets no answer in time is a retriable TIMEOUT', async () => {
    await zd.setFaults({ latencyMs: 2_000 });
    const error = failure((await sinkFor({ timeoutMs: 300 }).apply([customer()]))[0]);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TIMEOUT });
  });

  it('stops at the first failure and leaves the rest for the runner', async () => {
    const outcomes = await sinkFor().apply([
      customer(),
      customerRecord({ goldenId: randomUUID(), legalName: '   ' }, { version: 1 }),
      customer(),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['applied', 'failed']);
  });
});

describe('one call stays within its time budget', () => {
  it('past the budget the rest of the records is left unanswered (at least one is always attempted)', async () => {
    const client = new ZendeskClient({
      url: zd.url,
      credentials: { kind: 'oauth', token: TOKEN },
      timeoutMs: 5_000,
    });
    const sink = new SupportEntitlementSink(client, logger, { applyBudgetMs: 0 });
    const records = [1, 2, 3].map(() =>
      customerRecord({ goldenId: randomUUID(), legalName: uniqueName() }, { version: 1 }),
    );
    expect(await sink.apply(records)).toEqual([{ status: 'applied' }]);
  });
});

describe('probe', () => {
  it('resolves while Zendesk answers with every field the sink writes, rejects retriably while it is down', async () => {
    const sink = sinkFor();
    await expect(sink.probe()).resolves.toBeUndefined();
    await zd.setFaults({ down: true });
    const error = await sink.probe().then(
      () => undefined,
      (problem: unknown) => problem,
    );
    expect(error).toBeInstanceOf(SynclineError);
    expect(error).toMatchObject({ retriable: true, code: ErrorCodes.TARGET_UNAVAILABLE });
    await zd.clearFaults();
    await expect(sink.probe()).resolves.toBeUndefined();
  });
});
