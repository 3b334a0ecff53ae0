/**
 * The CRM write-back passes the shared sink conformance suite against the Salesforce double: per
 * golden customer an Account (entity 0: the customer), a closed-won Opportunity (entity 1: its
 * contract) and an invoice of that contract (entity 2, on the same Opportunity). What the target
 * holds is read from the records themselves (the per-entity versions in Syncline_Versions__c), and
 * the effects from the double's record of applied changes.
 */
import { randomUUID } from 'node:crypto';
import { CrmWritebackSink } from '../../../src/consumers/crm-writeback/crm-sink.ts';
import { SalesforceClient } from '../../../src/consumers/crm-writeback/salesforce-client.ts';
import type { SinkRecord } from '../../../src/consumers/sink.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import {
  startSalesforceSim,
  type SalesforceSim,
} from '../../../src/targets-sim/salesforce/salesforce-sim.ts';
import { contractRecord, customerRecord, invoiceRecord } from '../../support/canonical-records.ts';
import { builtOnce, guardChanges, versionsIn } from '../../support/saas-conformance.ts';
import { sinkConformance } from '../../support/sink-conformance.ts';

const APP = { clientId: 'syncline-crm-writeback', clientSecret: 'crm-app-secret-0123456789' };
const logger = createLogger({ level: 'silent' });

let sf: SalesforceSim | undefined;
const crm = new Map<string, { accountId: string; opportunityId: string }>();
/** Where each record lands: the sObject, its id and the entity key of the version guard. */
const landing = new WeakMap<SinkRecord, { type: string; id: string; versionKey: string }>();

function double(): SalesforceSim {
  if (!sf) throw new Error('the Salesforce double is not started');
  return sf;
}

function crmOf(key: string): { accountId: string; opportunityId: string } {
  let ids = crm.get(key);
  if (!ids) {
    const accountId = double().seed('Account', { Name: `Conformance ${key}` });
    const opportunityId = double().seed('Opportunity', {
      Name: `Deal ${key}`,
      StageName: 'Closed Won',
      CloseDate: '2026-01-01',
      AccountId: accountId,
    });
    ids = { accountId, opportunityId };
    crm.set(key, ids);
  }
  return ids;
}

function build(key: string, entity: number, version: number, erpNumber = 'C-1'): SinkRecord {
  const { accountId, opportunityId } = crmOf(key);
  const contractId = `salesforce:${opportunityId}`;
  const meta = { version, eventId: randomUUID() };
  if (entity === 0) {
    const record = customerRecord(
      {
        goldenId: key,
        sources: [
          { system: 'salesforce', instance: null, entity: 'account', id: accountId },
          { system: 'erp', instance: null, entity: 'customer', id: erpNumber },
        ],
      },
      meta,
    );
    landing.set(record, { type: 'Account', id: accountId, versionKey: `customer:${key}` });
    return record;
  }
  if (entity === 1) {
    const record = contractRecord(
      {
        goldenId: key,
        contractId,
        sources: [{ system: 'salesforce', instance: null, entity: 'opportunity', id: opportunityId }],
      },
      meta,
    );
    landing.set(record, { type: 'Opportunity', id: opportunityId, versionKey: `contract:${contractId}` });
    return record;
  }
  const invoiceId = `stripe:in_${key.slice(0, 8)}_${entity}`;
  const record = invoiceRecord({ goldenId: key, invoiceId, contractId, number: `INV-${entity}` }, meta);
  landing.set(record, { type: 'Opportunity', id: opportunityId, versionKey: `invoice:${invoiceId}` });
  return record;
}

function whereOf(record: SinkRecord): { type: string; id: string; versionKey: string } {
  const where = landing.get(record);
  if (!where) throw new Error('a record this file did not build');
  return where;
}

sinkConformance({
  name: 'CRM write-back (Salesforce)',
  async setup() {
    sf = await startSalesforceSim({ tokens: ['sf-admin-token-conformance'], oauth: APP, logger });
  },
  async teardown() {
    await sf?.close();
  },
  createSink: () =>
    new CrmWritebackSink(
      new SalesforceClient({ loginUrl: double().url, ...APP, apiVersion: 'v60.0', timeoutMs: 5_000 }, logger),
      logger,
    ),
  record: builtOnce(build),
  refused: (key) => build(key, 0, 1, 'C-'.padEnd(40, '0')),
  state: {
    version(record) {
      const where = whereOf(record);
      const fields = double().record(where.type, where.id)?.fields;
      return Promise.resolve(versionsIn(fields?.Syncline_Versions__c)[where.versionKey]);
    },
    effects(record) {
      const where = whereOf(record);
      const writes = double().recorder.writesTo(where.type, where.id);
      return Promise.resolve(guardChanges(writes, 'Syncline_Versions__c', where.versionKey));
    },
  },
  outage: {
    down: () => double().setFaults({ down: true }),
    up: () => double().clearFaults(),
  },
});
