/**
 * The `sink-crm` role's sink end to end on the real broker, registry and Redis: canonical records
 * produced to (prefixed) canonical topics reach the Salesforce double through the shared sink runner
 * and the sink the role's factory makes; a record Salesforce refuses for good lands in the group's
 * DLQ; the role's configuration is validated before anything connects. (The role itself is
 * `startSink` of src/consumers/sink-service.ts with this factory, which reads the unprefixed topics.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crmWritebackSinkFactory } from '../../../src/consumers/crm-writeback/start-crm-writeback.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import {
  startSalesforceSim,
  type SalesforceSim,
} from '../../../src/targets-sim/salesforce/salesforce-sim.ts';
import { GroupIds } from '../../../src/topology/topics.ts';
import { configRefusal, startSinkRole, type SinkRoleHarness } from '../../support/sink-role.ts';
import { eventually } from '../../support/sink-topology.ts';
import { contractRecord, customerRecord } from '../../support/canonical-records.ts';

const APP = { clientId: 'syncline-crm-role', clientSecret: 'crm-role-secret-0123456789' };
const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const GROUP = GroupIds.crmWritebackSink;

let sf: SalesforceSim;
let role: SinkRoleHarness;

beforeAll(async () => {
  sf = await startSalesforceSim({ tokens: ['sf-admin-token-role'], oauth: APP, logger });
  // The role's own sink factory, in the shared runner, on an isolated topology.
  const sink = await crmWritebackSinkFactory({
    SALESFORCE_LOGIN_URL: sf.url,
    SALESFORCE_CLIENT_ID: APP.clientId,
    SALESFORCE_CLIENT_SECRET: APP.clientSecret,
    SALESFORCE_TIMEOUT_MS: '3000',
  })(config, logger);
  role = await startSinkRole({ label: 'crm-role', group: GROUP, config, logger, sink });
}, 120_000);

afterAll(async () => {
  await role?.close();
  await sf?.close();
}, 120_000);

describe('syncline run --role sink-crm', () => {
  it('joins its group and carries canonical records from Kafka to the CRM', async () => {
    expect(role.runner.groupId).toBe(`${role.topology.prefix}${GROUP}`);
    const accountId = sf.seed('Account', { Name: 'Role Test Account' });
    const opportunityId = sf.seed('Opportunity', {
      Name: 'Role Test Deal',
      StageName: 'Closed Won',
      CloseDate: '2026-01-01',
      AccountId: accountId,
    });
    const goldenId = randomUUID();

    await role.produce(
      customerRecord(
        {
          goldenId,
          sources: [
            { system: 'salesforce', instance: null, entity: 'account', id: accountId },
            { system: 'erp', instance: null, entity: 'customer', id: 'C-77' },
          ],
        },
        { version: 1 },
      ),
    );
    await role.produce(
      contractRecord(
        {
          goldenId,
          contractId: `salesforce:${opportunityId}`,
          sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
        },
        { version: 1 },
      ),
    );

    const account = await eventually(
      () => Promise.resolve(sf.record('Account', accountId)?.fields.ERP_Customer_Number__c ?? undefined),
      45_000,
      'the Account to learn its ERP number',
    );
    const contract = await eventually(
      () =>
        Promise.resolve(sf.record('Opportunity', opportunityId)?.fields.ERP_Contract_Status__c ?? undefined),
      45_000,
      'the Opportunity to learn its contract status',
    );
    expect(account).toBe('C-77');
    expect(contract).toBe('ACTIVE');
    expect(sf.record('Account', accountId)?.fields.ExternalId__c).toBe(goldenId);
  });

  it('a record the CRM refuses for good goes to the group DLQ', async () => {
    const accountId = sf.seed('Account', { Name: 'Role Test Refused' });
    await role.produce(
      customerRecord(
        {
          goldenId: randomUUID(),
          sources: [
            { system: 'salesforce', instance: null, entity: 'account', id: accountId },
            { system: 'erp', instance: null, entity: 'customer', id: 'C-'.padEnd(30, '7') },
          ],
        },
        { version: 1 },
      ),
    );
    const depth = await eventually(
      async () => {
        const total = await role.dlqDepth();
        return total > 0 ? total : undefined;
      },
      45_000,
      'the DLQ entry',
    );
    expect(depth).toBe(1);
    expect(sf.record('Account', accountId)?.fields.ERP_Customer_Number__c).toBeNull();
  });

  it('refuses to start without its target configuration, one line per variable, secrets never shown', async () => {
    const message = await configRefusal(
      crmWritebackSinkFactory({
        SALESFORCE_LOGIN_URL: 'not a url',
        SALESFORCE_CLIENT_SECRET: 'shh-very-secret',
      }),
      config,
      logger,
    );
    expect(message).toContain('SALESFORCE_LOGIN_URL: must be a URL');
    expect(message).toContain('SALESFORCE_CLIENT_ID: required');
    expect(message).not.toContain('shh-very-secret');
  });
});
