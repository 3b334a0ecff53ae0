/**
 * The `sink-support` role's sink end to end on the real broker, registry and Redis: canonical
 * customer and entitlement records produced to (prefixed) canonical topics reach the Zendesk double
 * through the shared sink runner and the sink the role's factory makes; the entitlement may arrive before its
 * organization exists (another topic) and is applied once it does; the role's configuration is
 * validated before anything connects.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supportEntitlementSinkFactory } from '../../../src/consumers/support-entitlement/start-support-entitlement.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { Organization } from '../../../src/targets-sim/zendesk/organizations.ts';
import { startZendeskSim, type ZendeskSim } from '../../../src/targets-sim/zendesk/zendesk-sim.ts';
import { GroupIds } from '../../../src/topology/topics.ts';
import { configRefusal, startSinkRole, type SinkRoleHarness } from '../../support/sink-role.ts';
import { eventually } from '../../support/sink-topology.ts';
import { customerRecord, entitlementRecord } from '../../support/canonical-records.ts';

const TOKEN = 'zendesk-token-role-test';
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const GROUP = GroupIds.supportEntitlementSink;

let zd: ZendeskSim;
let role: SinkRoleHarness;

beforeAll(async () => {
  zd = await startZendeskSim({ tokens: [TOKEN], logger });
  // The role's own sink factory, in the shared runner, on an isolated topology.
  const sink = await supportEntitlementSinkFactory({
    ZENDESK_URL: zd.url,
    ZENDESK_OAUTH_TOKEN: TOKEN,
    ZENDESK_TIMEOUT_MS: '3000',
  })(config, logger);
  role = await startSinkRole({ label: 'support-role', group: GROUP, config, logger, sink });
}, 120_000);

afterAll(async () => {
  await role?.close();
  await zd?.close();
}, 120_000);

async function organizationOf(goldenId: string): Promise<Organization | undefined> {
  const response = await fetch(`${zd.apiUrl}/organizations/search.json?external_id=${goldenId}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await response.json()) as { organizations: Organization[] }).organizations[0];
}

describe('syncline run --role sink-support', () => {
  it('joins its group and keeps the organization and its entitlement in step, whichever topic is read first', async () => {
    expect(role.runner.groupId).toBe(`${role.topology.prefix}${GROUP}`);
    const goldenId = randomUUID();

    // The entitlement first: its organization does not exist yet; the runner retries it.
    await role.produce(
      entitlementRecord(
        { goldenId, entitlementId: 'zendesk:role-1', supportLevel: 'ENTERPRISE', seats: 12 },
        { version: 1 },
      ),
    );
    await role.produce(
      customerRecord({ goldenId, legalName: `Role Test ${goldenId.slice(0, 8)}` }, { version: 1 }),
    );

    const organization = await eventually(
      async () => {
        const found = await organizationOf(goldenId);
        return found?.organization_fields.support_level ? found : undefined;
      },
      45_000,
      'the organization with its entitlement',
    );
    expect(organization.organization_fields).toMatchObject({
      golden_customer_id: goldenId,
      support_level: 'enterprise',
      entitlement_seats: 12,
    });
  });

  it('refuses to start without its target configuration, one line per variable, secrets never shown', async () => {
    const message = await configRefusal(
      supportEntitlementSinkFactory({
        ZENDESK_URL: 'https://acme.zendesk.com',
        ZENDESK_API_TOKEN: 'shh-very-secret',
      }),
      config,
      logger,
    );
    expect(message).toContain('ZENDESK_EMAIL: required with ZENDESK_API_TOKEN');
    expect(message).not.toContain('shh-very-secret');
  });
});
