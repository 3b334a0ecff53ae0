/**
 * What the CRM should learn from one canonical record, decided without I/O (so it is unit-tested on
 * its own): which Salesforce records it touches, which fields it sets, and under which entity key and
 * version the write is guarded.
 *
 * - `canonical.customer` → every Salesforce Account linked to the golden customer (its `sources`):
 *   the golden id (in the Account's unique External ID field, on one Account only, since a unique
 *   field cannot hold one value twice: the linked one holding it already, else the lowest id), the ERP customer number (the ERP source's id),
 *   the ERP credit status, and the sync status ("Synced" once the ERP knows the customer, "Pending"
 *   before). A golden id merged into another one, or retired, is ignored: the survivor's record
 *   carries the Accounts.
 * - `canonical.contract` from a closed-won Opportunity (a Salesforce opportunity in `sources`) → that
 *   Opportunity, by id: it takes the contract id into its External ID field, so that later invoices
 *   and renewals of the contract find it, and the contract status.
 * - `canonical.invoice` / `canonical.renewal`, and contracts from elsewhere (billing) → the
 *   Opportunity whose External ID is the record's contract id, if one is linked; ignored otherwise.
 *
 * Values are absolute (never increments) and stamped with the source's `occurredAt`, not the time of
 * writing: a redelivery or a replay writes exactly the same values.
 */
import type * as canonical from '../../schemas/generated/canonical.ts';
import type { SinkRecord } from '../sink.ts';

export type SObjectFields = Record<string, string | number | boolean | null>;

interface Guarded {
  /** The entity the version belongs to, e.g. `invoice:stripe:in_123`. */
  versionKey: string;
  version: number;
  fields: SObjectFields;
  /** A short description for logs (no personal data). */
  summary: string;
}

export type CrmPlan =
  | { kind: 'ignore'; reason: string }
  | (Guarded & {
      kind: 'accounts';
      /** 18- or 15-character Account ids, sorted (the first takes the golden id unless another holds it). */
      accountIds: string[];
      goldenId: string;
      /** When the customer change happened at its source: orders changes across golden ids. */
      occurredAt: number;
    })
  | (Guarded & {
      kind: 'opportunity';
      contractId: string;
      /** Known for contracts from a closed-won deal; otherwise found by External ID = contractId. */
      opportunityId?: string;
    });

/** Salesforce's Long Text Area and text limits we write into. */
const MESSAGE_LENGTH = 255;

export function planCrmWrite(record: SinkRecord): CrmPlan {
  switch (record.topic) {
    case 'canonical.customer':
      return customerPlan(record, record.value as unknown as canonical.Customer);
    case 'canonical.contract':
      return contractPlan(record, record.value as unknown as canonical.Contract);
    case 'canonical.invoice':
      return invoicePlan(record, record.value as unknown as canonical.Invoice);
    case 'canonical.renewal':
      return renewalPlan(record, record.value as unknown as canonical.Renewal);
    default:
      return { kind: 'ignore', reason: `the CRM write-back does not read ${record.topic}` };
  }
}

function customerPlan(record: SinkRecord, customer: canonical.Customer): CrmPlan {
  if (customer.status === 'MERGED') {
    return { kind: 'ignore', reason: `golden customer merged into ${customer.mergedInto ?? 'another'}` };
  }
  if (customer.status === 'DELETED') return { kind: 'ignore', reason: 'golden customer retired' };
  const accountIds = [
    ...new Set(
      customer.sources
        .filter((source) => source.system === 'salesforce' && source.entity === 'account')
        .map((source) => source.id),
    ),
  ].sort();
  if (accountIds.length === 0) {
    return { kind: 'ignore', reason: 'no Salesforce account is linked to the golden customer' };
  }
  const erpNumber =
    customer.sources
      .filter((source) => source.system === 'erp' && source.entity === 'customer')
      .map((source) => source.id)
      .sort()[0] ?? null;
  const credit = customer.creditStatus === 'UNKNOWN' ? null : customer.creditStatus;
  return {
    kind: 'accounts',
    accountIds,
    goldenId: customer.goldenId,
    occurredAt: record.occurredAt,
    versionKey: `customer:${customer.goldenId}`,
    version: record.sourceVersion,
    summary: `customer v${record.sourceVersion}`,
    fields: {
      ERP_Customer_Number__c: erpNumber,
      Credit_Status__c: credit,
      ERP_Sync_Status__c: erpNumber === null ? 'Pending' : 'Synced',
      ERP_Sync_Message__c: clip(
        erpNumber === null
          ? 'Golden customer known to Syncline; no ERP customer number yet'
          : `ERP customer ${erpNumber}${credit ? `, credit ${credit}` : ''}`,
      ),
      ERP_Last_Synced__c: isoOf(record.occurredAt),
    },
  };
}

function contractPlan(record: SinkRecord, contract: canonical.Contract): CrmPlan {
  const opportunityId = contract.sources.find(
    (source) => source.system === 'salesforce' && source.entity === 'opportunity',
  )?.id;
  const term =
    contract.startDate === null
      ? ''
      : ` ${dateOf(contract.startDate)}${contract.endDate === null ? '' : ` to ${dateOf(contract.endDate)}`}`;
  const value =
    contract.totalValueMinor === null ? '' : `, ${money(contract.totalValueMinor, contract.currency)}`;
  return {
    kind: 'opportunity',
    contractId: contract.contractId,
    ...(opportunityId === undefined ? {} : { opportunityId }),
    versionKey: `contract:${contract.contractId}`,
    version: record.sourceVersion,
    summary: `contract ${contract.status} v${record.sourceVersion}`,
    fields: {
      ...(opportunityId === undefined ? {} : { ExternalId__c: contract.contractId }),
      ...(contract.status === 'UNKNOWN' ? {} : { ERP_Contract_Status__c: contract.status }),
      ERP_Sync_Status__c: 'Synced',
      ERP_Sync_Message__c: clip(`Contract ${contract.status.toLowerCase()}${term}${value}`),
      ERP_Last_Synced__c: isoOf(record.occurredAt),
    },
  };
}

function invoicePlan(record: SinkRecord, invoice: canonical.Invoice): CrmPlan {
  if (invoice.contractId === null) {
    return { kind: 'ignore', reason: 'the invoice bills no contract, so no opportunity' };
  }
  const number = invoice.number ?? invoice.invoiceId;
  const paid =
    invoice.status === 'PAID'
      ? `paid ${money(invoice.amountPaidMinor, invoice.currency)}`
      : `${invoice.status.toLowerCase().replaceAll('_', ' ')}, due ${money(invoice.amountDueMinor, invoice.currency)}`;
  return {
    kind: 'opportunity',
    contractId: invoice.contractId,
    versionKey: `invoice:${invoice.invoiceId}`,
    version: record.sourceVersion,
    summary: `invoice ${invoice.status} v${record.sourceVersion}`,
    fields: {
      ...(invoice.status === 'UNKNOWN' ? {} : { ERP_Invoice_Status__c: invoice.status }),
      ERP_Invoice_Number__c: clip(number, 40),
      ERP_Sync_Status__c: 'Synced',
      ERP_Sync_Message__c: clip(
        `Invoice ${number} ${paid} of ${money(invoice.totalMinor, invoice.currency)}`,
      ),
      ERP_Last_Synced__c: isoOf(record.occurredAt),
    },
  };
}

function renewalPlan(record: SinkRecord, renewal: canonical.Renewal): CrmPlan {
  return {
    kind: 'opportunity',
    contractId: renewal.contractId,
    versionKey: `renewal:${renewal.renewalId}`,
    version: record.sourceVersion,
    summary: `renewal ${renewal.status} v${record.sourceVersion}`,
    fields: {
      ...(renewal.status === 'UNKNOWN' ? {} : { ERP_Renewal_Status__c: renewal.status }),
      ERP_Renewal_Date__c: dateOf(renewal.renewalDate),
      ERP_Sync_Status__c: 'Synced',
      ERP_Sync_Message__c: clip(
        `Renewal ${renewal.status.toLowerCase()} for ${dateOf(renewal.renewalDate)}${
          renewal.noticeDate === null ? '' : `, notice by ${dateOf(renewal.noticeDate)}`
        }`,
      ),
      ERP_Last_Synced__c: isoOf(record.occurredAt),
    },
  };
}

/** An Avro `date` (days since 1970-01-01) as Salesforce's `yyyy-MM-dd`. */
export function dateOf(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

function isoOf(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** An amount in minor units as text with the currency's own number of decimals, e.g. `1,200.00 EUR`. */
export function money(minor: number, currency: string): string {
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2;
  } catch {
    // An unknown currency code: two decimals, as most have.
  }
  const major = (minor / 10 ** digits).toLocaleString('en', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return `${major} ${currency}`;
}

function clip(text: string, length = MESSAGE_LENGTH): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
