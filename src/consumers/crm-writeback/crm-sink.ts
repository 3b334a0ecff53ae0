/**
 * The CRM write-back sink (group `crm-writeback-sink`): the CRM learns, on the Account, its golden
 * id and ERP customer number, and on the Opportunity, its contract, invoice and renewal status (see
 * writeback-plan.ts for what goes where), through the Salesforce REST API.
 *
 * Each record is read-check-write on the target record:
 * 1. read the record's `Syncline_Versions__c` (the last applied version per entity) and its
 *    LastModifiedDate;
 * 2. the same version already applied → `duplicate`, a higher one → `stale`: nothing is written;
 * 3. PATCH the absolute values and the raised version in one request, conditional on
 *    `If-Unmodified-Since` the read: if another writer got in between, Salesforce answers 412 and the
 *    record is retried, i.e. read and decided again.
 * So a redelivery, a replay, or a write whose answer was lost has no second effect, even with the
 * runner's Redis keys gone; and an older version never overwrites a newer one.
 *
 * Upsert by external id is not used to write: the Accounts and Opportunities are the CRM's own
 * records (the sources of Syncline's data), and an upsert that misses creates a new record, which here
 * would be a duplicate Account or an Opportunity without its required fields. External ids serve to
 * *find* records (an Opportunity by its contract id); writes go to the record found, by id.
 *
 * Records of one partition are applied one by one, in order, stopping at the first failure (the
 * runner hands the rest over again).
 */
import type { ErrorContext } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { GroupIds } from '../../topology/topics.ts';
import { AppliedVersions } from '../saas/applied-versions.ts';
import { SaasSink, type SaasSinkOptions } from '../saas/saas-sink.ts';
import type { SinkOutcome, SinkRecord } from '../sink.ts';
import { errorsOf, refusal, type SalesforceClient } from './salesforce-client.ts';
import { planCrmWrite, type CrmPlan, type SObjectFields } from './writeback-plan.ts';

export const CRM_TARGET = 'crm';

/** The fields read before a write: the guard, and the stamp the conditional write is made against. */
const GUARD_FIELDS = 'ExternalId__c,Syncline_Versions__c,LastModifiedDate';

interface TargetRecord {
  id: string;
  /** The External ID it holds: the golden id on an Account, the contract id on an Opportunity. */
  externalId: string | null;
  versions: AppliedVersions;
  lastModified: string | undefined;
}

type WriteResult = 'applied' | 'duplicate' | 'stale';

export class CrmWritebackSink extends SaasSink<CrmPlan> {
  private readonly client: SalesforceClient;

  constructor(client: SalesforceClient, logger: Logger, options: SaasSinkOptions = {}) {
    super(
      { target: CRM_TARGET, groupId: GroupIds.crmWritebackSink, logMessage: 'crm write-back' },
      logger,
      options,
    );
    this.client = client;
  }

  probe(): Promise<void> {
    return this.client.probe();
  }

  protected plan(record: SinkRecord): CrmPlan {
    return planCrmWrite(record);
  }

  protected async carryOut(plan: CrmPlan, context: ErrorContext): Promise<SinkOutcome> {
    if (plan.kind === 'ignore') return { status: 'ignored', reason: plan.reason };
    if (plan.kind === 'accounts') return this.applyToAccounts(plan, context);
    // Locked by the contract: its own record names the Opportunity by id, its invoices and renewals
    // by contract id; both are the same contract.
    const lockKey = `Opportunity:${plan.contractId}`;
    return this.lock.run(lockKey, async (): Promise<SinkOutcome> => {
      const opportunity = plan.opportunityId
        ? await this.read('Opportunity', `/${encodeURIComponent(plan.opportunityId)}`, context, 'by-id')
        : await this.read(
            'Opportunity',
            `/ExternalId__c/${encodeURIComponent(plan.contractId)}`,
            context,
            'may-be-missing',
          );
      if (opportunity === 'deleted') {
        return { status: 'ignored', reason: 'the opportunity is deleted in the CRM' };
      }
      if (opportunity === 'missing') {
        return { status: 'ignored', reason: 'no CRM opportunity is linked to the contract' };
      }
      return outcomeOf([await this.write('Opportunity', opportunity, plan, plan.fields, context)]);
    });
  }

  /**
   * A customer record to every Account the golden customer links. The golden id can sit on one
   * Account only (External ID fields are unique), so first: which Account holds it now? One of ours
   * keeps it (a newly linked Account with a lower id must not take it, or Salesforce refuses the
   * duplicate); one the golden customer no longer links (an unmerge moved it elsewhere) gives it up,
   * unless it holds this golden customer's version already or a newer one (then this record is late).
   */
  private async applyToAccounts(
    plan: Extract<CrmPlan, { kind: 'accounts' }>,
    context: ErrorContext,
  ): Promise<SinkOutcome> {
    const holder = await this.read(
      'Account',
      `/ExternalId__c/${encodeURIComponent(plan.goldenId)}`,
      context,
      'may-be-missing',
    );
    let order = plan.accountIds;
    if (holder !== 'missing' && holder !== 'deleted') {
      const ours = plan.accountIds.find((id) => sameRecordId(id, holder.id));
      if (ours !== undefined) {
        order = [ours, ...plan.accountIds.filter((id) => id !== ours)];
      } else {
        const verdict = holder.versions.verdict(plan.versionKey, plan.version);
        if (verdict !== 'new') return { status: verdict };
        await this.lock.run(`Account:${sameRecordKey(holder.id)}`, () =>
          this.client.request(
            {
              method: 'PATCH',
              path: `/sobjects/Account/${encodeURIComponent(holder.id)}`,
              json: { ExternalId__c: null },
            },
            context,
          ),
        );
      }
    }
    const results: WriteResult[] = [];
    let goldenIdPlaced = false;
    for (const accountId of order) {
      const result = await this.lock.run(`Account:${sameRecordKey(accountId)}`, async () => {
        const account = await this.read('Account', `/${encodeURIComponent(accountId)}`, context, 'by-id');
        if (account === 'deleted') return 'deleted';
        const takesGoldenId = !goldenIdPlaced;
        goldenIdPlaced = true;
        if (
          takesGoldenId &&
          account.versions.takeoverVerdict(plan.goldenId, account.externalId, plan.occurredAt) === 'stale'
        ) {
          // Another golden id took this Account over with a newer change (a merge or an unmerge).
          return 'stale';
        }
        const fields = takesGoldenId ? { ...plan.fields, ExternalId__c: plan.goldenId } : plan.fields;
        return this.write('Account', account, plan, fields, context, plan.occurredAt);
      });
      if (result !== 'deleted') results.push(result);
    }
    if (results.length === 0) {
      return { status: 'ignored', reason: 'every linked Salesforce account is deleted in the CRM' };
    }
    return outcomeOf(results);
  }

  /**
   * The record with its version guard. A record the CRM deleted (404 ENTITY_IS_DELETED) is
   * `deleted`: nothing to write back to, which is no reason to dead-letter the record and park its
   * customer. A record that never existed (404 NOT_FOUND) is a permanent failure when it was named
   * by id (the data is wrong), and `missing` when it was looked up by an external id that may not
   * be linked yet.
   */
  private async read(
    type: 'Account' | 'Opportunity',
    locator: string,
    context: ErrorContext,
    lookup: 'by-id',
  ): Promise<TargetRecord | 'deleted'>;
  private async read(
    type: 'Account' | 'Opportunity',
    locator: string,
    context: ErrorContext,
    lookup: 'may-be-missing',
  ): Promise<TargetRecord | 'deleted' | 'missing'>;
  private async read(
    type: 'Account' | 'Opportunity',
    locator: string,
    context: ErrorContext,
    lookup: 'by-id' | 'may-be-missing',
  ): Promise<TargetRecord | 'deleted' | 'missing'> {
    const request = {
      method: 'GET' as const,
      path: `/sobjects/${type}${locator}?fields=${GUARD_FIELDS}`,
      notFoundIsAnswer: true,
    };
    const answer = await this.client.request(request, context);
    if (answer.status === 404) {
      if (errorsOf(answer.body).some((error) => error.errorCode === 'ENTITY_IS_DELETED')) return 'deleted';
      if (lookup === 'may-be-missing') return 'missing';
      throw refusal(answer, request, context);
    }
    const body = answer.body as Record<string, unknown>;
    const versions = AppliedVersions.parse(body.Syncline_Versions__c);
    if (versions.unreadable) {
      this.logger.warn(
        { sobject: type },
        'Syncline_Versions__c is not readable (edited by hand?): treated as empty',
      );
    }
    return {
      id: String(body.Id),
      externalId: typeof body.ExternalId__c === 'string' ? body.ExternalId__c : null,
      versions,
      lastModified: typeof body.LastModifiedDate === 'string' ? body.LastModifiedDate : undefined,
    };
  }

  private async write(
    type: 'Account' | 'Opportunity',
    record: TargetRecord,
    plan: Exclude<CrmPlan, { kind: 'ignore' }>,
    fields: SObjectFields,
    context: ErrorContext,
    customerChangeAt?: number,
  ): Promise<WriteResult> {
    const verdict = record.versions.verdict(plan.versionKey, plan.version);
    if (verdict !== 'new') return verdict;
    const raised = record.versions.with(plan.versionKey, plan.version);
    const versions = customerChangeAt === undefined ? raised : raised.withCustomerChange(customerChangeAt);
    const since = httpDateOf(record.lastModified);
    await this.client.request(
      {
        method: 'PATCH',
        path: `/sobjects/${type}/${encodeURIComponent(record.id)}`,
        json: {
          ...fields,
          Syncline_Versions__c: versions.toText(),
        },
        ...(since === undefined ? {} : { headers: { 'if-unmodified-since': since } }),
      },
      context,
    );
    return 'applied';
  }
}

/** One outcome for a record that touched several target records: any write makes it applied. */
function outcomeOf(results: readonly WriteResult[]): SinkOutcome {
  if (results.includes('applied')) return { status: 'applied' };
  if (results.includes('stale')) return { status: 'stale' };
  return { status: 'duplicate' };
}

/** Salesforce ids in 15- or 18-character form name the same record when their first 15 agree. */
function sameRecordId(a: string, b: string): boolean {
  return sameRecordKey(a) === sameRecordKey(b);
}

function sameRecordKey(id: string): string {
  return id.slice(0, 15);
}

/** Salesforce's `2024-01-31T12:00:00.000+0000` as an HTTP date, or undefined when unreadable. */
export function httpDateOf(salesforceDateTime: string | undefined): string | undefined {
  if (salesforceDateTime === undefined) return undefined;
  const at = Date.parse(salesforceDateTime.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(at) ? undefined : new Date(at).toUTCString();
}
