/**
 * The support entitlement sink passes the shared sink conformance suite against the Zendesk double:
 * per golden customer its organization (entity 0: the customer, created by the sink) and two
 * entitlements on it (entities 1 and 2). What the target holds is read from the organization (the
 * per-entity versions in its syncline_versions field), the effects from the double's record of
 * applied changes.
 */
import { randomUUID } from 'node:crypto';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { SupportEntitlementSink } from '../../../src/consumers/support-entitlement/support-sink.ts';
import { ZendeskClient } from '../../../src/consumers/support-entitlement/zendesk-client.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Organization } from '../../../src/targets-sim/zendesk/organizations.ts';
import { startZendeskSim, type ZendeskSim } from '../../../src/targets-sim/zendesk/zendesk-sim.ts';
import { customerRecord, entitlementRecord } from '../../support/canonical-records.ts';
import { builtOnce, guardChanges, versionsIn } from '../../support/saas-conformance.ts';
import { sinkConformance } from '../../support/sink-conformance.ts';

const TOKEN = 'zendesk-oauth-token-conformance';
const logger = createLogger({ level: 'silent' });

let zd: ZendeskSim | undefined;
const versionKeys = new WeakMap<SinkRecord, { goldenId: string; versionKey: string }>();

function double(): ZendeskSim {
  if (!zd) throw new Error('the Zendesk double is not started');
  return zd;
}

function build(key: string, entity: number, version: number, name = `Conformance ${key}`): SinkRecord {
  const meta = { version, eventId: randomUUID() };
  if (entity === 0) {
    const record = customerRecord({ goldenId: key, legalName: name }, meta);
    versionKeys.set(record, { goldenId: key, versionKey: `customer:${key}` });
    return record;
  }
  const entitlementId = `zendesk:${key.slice(0, 8)}-${entity}`;
  const record = entitlementRecord({ goldenId: key, entitlementId, seats: 10 * version }, meta);
  versionKeys.set(record, { goldenId: key, versionKey: `entitlement:${entitlementId}` });
  return record;
}

async function organizationOf(goldenId: string): Promise<Organization | undefined> {
  const response = await fetch(`${double().apiUrl}/organizations/search.json?external_id=${goldenId}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await response.json()) as { organizations: Organization[] }).organizations[0];
}

function guardOf(record: SinkRecord): { goldenId: string; versionKey: string } {
  const guard = versionKeys.get(record);
  if (!guard) throw new Error('a record this file did not build');
  return guard;
}

sinkConformance({
  name: 'support entitlement (Zendesk)',
  async setup() {
    zd = await startZendeskSim({ tokens: [TOKEN], logger });
  },
  async teardown() {
    await zd?.close();
  },
  createSink: () =>
    new SupportEntitlementSink(
      new ZendeskClient({
        url: double().url,
        credentials: { kind: 'oauth', token: TOKEN },
        timeoutMs: 5_000,
      }),
      logger,
    ),
  record: builtOnce(build),
  refused(key) {
    // Zendesk refuses a blank organization name (422 RecordInvalid, BlankValue).
    return build(key, 0, 1, '   ');
  },
  state: {
    async version(record) {
      const guard = guardOf(record);
      const organization = await organizationOf(guard.goldenId);
      return versionsIn(organization?.organization_fields.syncline_versions)[guard.versionKey];
    },
    async effects(record) {
      const guard = guardOf(record);
      const organization = await organizationOf(guard.goldenId);
      if (!organization) return 0;
      const writes = double().recorder.writesTo('organization', String(organization.id));
      return guardChanges(writes, 'organization_fields.syncline_versions', guard.versionKey);
    },
  },
  outage: {
    down: () => double().setFaults({ down: true }),
    up: () => double().clearFaults(),
  },
});
