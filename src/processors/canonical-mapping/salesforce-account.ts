/**
 * `raw.salesforce.account` → an identity for match-merge (the CRM account), no drafts.
 *
 * Salesforce UPDATE change events are sparse: only changed fields are set. Match-merge keeps each
 * source record as a full snapshot, so an update that does not even carry the account name cannot
 * be turned into a snapshot by a pure mapper; it yields nothing (see the README note in index.ts).
 * Deleted accounts yield nothing either: match-merge has no delete, the cross-reference stays.
 * GAP_* events announce changes Salesforce could not capture: the record must be re-read, which a
 * mapper cannot do, so they are dead-lettered with that reason rather than lost.
 */
import type * as salesforce from '../../schemas/generated/raw/salesforce.ts';
import type { SourceRecordInput } from '../match-merge/types.ts';
import { mappingFailed, requireId, text } from './mapping-support.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const SALESFORCE_ACCOUNT_TOPIC = 'raw.salesforce.account';

export const mapSalesforceAccount: RawMapper = (value): MappingResult => {
  const account = value as unknown as salesforce.Account;
  const header = account.ChangeEventHeader;
  const id = requireId(SALESFORCE_ACCOUNT_TOPIC, 'Id', account.Id);
  if (header.changeType.startsWith('GAP_')) {
    throw mappingFailed(
      SALESFORCE_ACCOUNT_TOPIC,
      'ChangeEventHeader.changeType',
      `${header.changeType}: Salesforce could not capture the change; re-read account ${id} from the CRM`,
    );
  }
  if (header.changeType === 'DELETE' || account.IsDeleted === true) return { drafts: [] };
  const name = text(account.Name);
  if (name === null) {
    if (header.changeType === 'UPDATE') return { drafts: [] };
    throw mappingFailed(SALESFORCE_ACCOUNT_TOPIC, 'Name', `missing on a ${header.changeType} event`);
  }
  const { street1, street2 } = splitStreet(account.BillingStreet);
  const identity: SourceRecordInput = {
    system: 'salesforce',
    id,
    entity: 'account',
    instance: account.envelope.source.instance,
    name,
    taxId: account.Tax_Id__c,
    country: account.BillingCountryCode ?? account.BillingCountry,
    website: account.Website,
    phone: account.Phone,
    address: {
      line1: street1,
      line2: street2,
      city: account.BillingCity,
      region: account.BillingState,
      postalCode: account.BillingPostalCode,
      country: account.BillingCountryCode ?? account.BillingCountry,
    },
    industry: account.Industry,
    ownerId: account.OwnerId,
    currency: account.CurrencyIsoCode,
    employees:
      account.NumberOfEmployees !== null && account.NumberOfEmployees >= 0 ? account.NumberOfEmployees : null,
    updatedAt: account.LastModifiedDate ?? header.commitTimestamp,
    version: account.envelope.sourceVersion,
  };
  return { identity, drafts: [] };
};

/** Salesforce keeps the street in one multi-line field: the first line and the rest. */
function splitStreet(street: string | null): { street1: string | null; street2: string | null } {
  const lines = (street ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  return { street1: lines[0] ?? null, street2: lines.length > 1 ? lines.slice(1).join(', ') : null };
}
