/**
 * The sObjects the Salesforce double knows (Account and Opportunity, with the custom fields Syncline
 * writes back) and the checks Salesforce makes on a record body, with its own error codes:
 * INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE, REQUIRED_FIELD_MISSING, STRING_TOO_LONG,
 * JSON_PARSER_ERROR, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_EMAIL_ADDRESS, MALFORMED_ID,
 * FIELD_INTEGRITY_EXCEPTION, INVALID_CROSS_REFERENCE_KEY, DUPLICATE_VALUE.
 */
import { normalizeId } from './salesforce-ids.ts';

/** One entry of Salesforce's error array. */
export interface SalesforceError {
  message: string;
  errorCode: string;
  fields: string[];
}

export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'double'
  | 'currency'
  | 'percent'
  | 'int'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'reference'
  | 'url'
  | 'phone'
  | 'email';

export interface FieldDefinition {
  name: string;
  label: string;
  type: FieldType;
  length?: number;
  /** Settable through the API on create and on update. */
  writable: boolean;
  /** Must have a value on create (and cannot be set to null later). */
  required?: boolean;
  picklist?: readonly string[];
  /** A restricted picklist refuses values outside its list. */
  restricted?: boolean;
  /** An External ID field: usable in upsert and GET by external id, and unique here. */
  externalId?: boolean;
  referenceTo?: string;
}

export interface SObjectDefinition {
  name: string;
  keyPrefix: string;
  fields: readonly FieldDefinition[];
}

const SYNC_STATUSES = ['Not Synced', 'Pending', 'Synced', 'Error'] as const;

const systemFields: FieldDefinition[] = [
  { name: 'Id', label: 'Record ID', type: 'id', writable: false },
  { name: 'IsDeleted', label: 'Deleted', type: 'boolean', writable: false },
  { name: 'CreatedDate', label: 'Created Date', type: 'datetime', writable: false },
  { name: 'LastModifiedDate', label: 'Last Modified Date', type: 'datetime', writable: false },
  { name: 'SystemModstamp', label: 'System Modstamp', type: 'datetime', writable: false },
];

const syncFields: FieldDefinition[] = [
  {
    name: 'ExternalId__c',
    label: 'External Id',
    type: 'string',
    length: 255,
    writable: true,
    externalId: true,
  },
  {
    name: 'ERP_Customer_Number__c',
    label: 'ERP Customer Number',
    type: 'string',
    length: 20,
    writable: true,
  },
  {
    name: 'ERP_Sync_Status__c',
    label: 'ERP Sync Status',
    type: 'picklist',
    writable: true,
    picklist: SYNC_STATUSES,
    restricted: true,
  },
  { name: 'ERP_Sync_Message__c', label: 'ERP Sync Message', type: 'string', length: 255, writable: true },
  { name: 'ERP_Last_Synced__c', label: 'ERP Last Synced', type: 'datetime', writable: true },
  /**
   * A Long Text Area the integration owns: the last source version it applied per Syncline entity
   * (JSON), so that a write-back never takes an older version over a newer one.
   */
  {
    name: 'Syncline_Versions__c',
    label: 'Syncline Versions',
    type: 'textarea',
    length: 32768,
    writable: true,
  },
];

export const SOBJECTS: Readonly<Record<string, SObjectDefinition>> = {
  Account: {
    name: 'Account',
    keyPrefix: '001',
    fields: [
      ...systemFields,
      { name: 'Name', label: 'Account Name', type: 'string', length: 255, writable: true, required: true },
      { name: 'AccountNumber', label: 'Account Number', type: 'string', length: 40, writable: true },
      {
        name: 'Type',
        label: 'Account Type',
        type: 'picklist',
        writable: true,
        picklist: ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other'],
      },
      {
        name: 'Industry',
        label: 'Industry',
        type: 'picklist',
        writable: true,
        picklist: ['Technology', 'Manufacturing', 'Retail', 'Finance', 'Other'],
      },
      { name: 'BillingStreet', label: 'Billing Street', type: 'textarea', length: 255, writable: true },
      { name: 'BillingCity', label: 'Billing City', type: 'string', length: 40, writable: true },
      { name: 'BillingState', label: 'Billing State/Province', type: 'string', length: 80, writable: true },
      {
        name: 'BillingPostalCode',
        label: 'Billing Zip/Postal Code',
        type: 'string',
        length: 20,
        writable: true,
      },
      { name: 'BillingCountry', label: 'Billing Country', type: 'string', length: 80, writable: true },
      { name: 'Phone', label: 'Account Phone', type: 'phone', length: 40, writable: true },
      { name: 'Website', label: 'Website', type: 'url', length: 255, writable: true },
      { name: 'Description', label: 'Account Description', type: 'textarea', length: 32000, writable: true },
      ...syncFields,
      {
        name: 'Credit_Status__c',
        label: 'Credit Status',
        type: 'picklist',
        writable: true,
        picklist: ['CLEAR', 'WATCH', 'HOLD', 'BLOCKED'],
        restricted: true,
      },
    ],
  },
  Opportunity: {
    name: 'Opportunity',
    keyPrefix: '006',
    fields: [
      ...systemFields,
      { name: 'Name', label: 'Name', type: 'string', length: 120, writable: true, required: true },
      { name: 'AccountId', label: 'Account ID', type: 'reference', writable: true, referenceTo: 'Account' },
      { name: 'StageName', label: 'Stage', type: 'picklist', length: 255, writable: true, required: true },
      { name: 'CloseDate', label: 'Close Date', type: 'date', writable: true, required: true },
      { name: 'Amount', label: 'Amount', type: 'currency', writable: true },
      { name: 'Probability', label: 'Probability (%)', type: 'percent', writable: true },
      {
        name: 'Type',
        label: 'Opportunity Type',
        type: 'picklist',
        writable: true,
        picklist: ['New Business', 'Existing Business - Upgrade', 'Existing Business - Renewal'],
      },
      { name: 'Description', label: 'Description', type: 'textarea', length: 32000, writable: true },
      ...syncFields,
      { name: 'ERP_Order_Number__c', label: 'ERP Order Number', type: 'string', length: 20, writable: true },
      {
        name: 'ERP_Contract_Status__c',
        label: 'ERP Contract Status',
        type: 'picklist',
        writable: true,
        picklist: ['DRAFT', 'ACTIVE', 'AMENDED', 'SUSPENDED', 'CANCELLED', 'EXPIRED'],
        restricted: true,
      },
      {
        name: 'ERP_Invoice_Status__c',
        label: 'ERP Invoice Status',
        type: 'picklist',
        writable: true,
        picklist: ['DRAFT', 'ISSUED', 'PAID', 'PAYMENT_FAILED', 'VOID', 'UNCOLLECTIBLE'],
        restricted: true,
      },
      {
        name: 'ERP_Invoice_Number__c',
        label: 'ERP Invoice Number',
        type: 'string',
        length: 40,
        writable: true,
      },
      {
        name: 'ERP_Renewal_Status__c',
        label: 'ERP Renewal Status',
        type: 'picklist',
        writable: true,
        picklist: ['UPCOMING', 'DUE', 'RENEWED', 'LAPSED', 'CANCELLED'],
        restricted: true,
      },
      { name: 'ERP_Renewal_Date__c', label: 'ERP Renewal Date', type: 'date', writable: true },
    ],
  },
};

export function fieldOf(sobject: SObjectDefinition, name: string): FieldDefinition | undefined {
  return sobject.fields.find((field) => field.name === name);
}

/** Looks up a referenced record: its sObject type, or undefined, or 'deleted'. */
export type ReferenceLookup = (id18: string) => { type: string; deleted: boolean } | undefined;

/**
 * Checks a create or update body; returns the field values to store (ids in 18-character form) or
 * Salesforce's errors. `attributes` in the body is allowed and ignored, as Salesforce does.
 */
export function checkBody(
  sobject: SObjectDefinition,
  body: unknown,
  mode: 'create' | 'update',
  lookup: ReferenceLookup,
): { values: Record<string, unknown> } | { errors: SalesforceError[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      errors: [parserError('Cannot deserialize instance of sObject from a value that is not a JSON object')],
    };
  }
  const errors: SalesforceError[] = [];
  const values: Record<string, unknown> = {};
  const notWritable: string[] = [];
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (name === 'attributes') continue;
    const field = fieldOf(sobject, name);
    if (!field) {
      errors.push({
        message: `No such column '${name}' on sobject of type ${sobject.name}`,
        errorCode: 'INVALID_FIELD',
        fields: [],
      });
      continue;
    }
    if (!field.writable) {
      notWritable.push(name);
      continue;
    }
    if (value === null) {
      if (field.required) {
        errors.push({
          message: `Required fields are missing: [${name}]`,
          errorCode: 'REQUIRED_FIELD_MISSING',
          fields: [name],
        });
      } else {
        values[name] = null;
      }
      continue;
    }
    const checked = checkValue(field, value, lookup);
    if ('error' in checked) {
      // A wrong JSON type is a parse error in Salesforce and ends the request at once.
      if (checked.error.errorCode === 'JSON_PARSER_ERROR') return { errors: [checked.error] };
      errors.push(checked.error);
    } else {
      values[name] = checked.value;
    }
  }
  if (notWritable.length > 0) {
    errors.push({
      message: `Unable to create/update fields: ${notWritable.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
      fields: notWritable,
    });
  }
  if (mode === 'create') {
    const missing = sobject.fields
      .filter((field) => field.required && (values[field.name] === undefined || values[field.name] === null))
      .map((field) => field.name);
    const alreadyReported = new Set(
      errors.flatMap((error) => (error.errorCode === 'REQUIRED_FIELD_MISSING' ? error.fields : [])),
    );
    const unreported = missing.filter((name) => !alreadyReported.has(name));
    if (unreported.length > 0) {
      errors.push({
        message: `Required fields are missing: [${unreported.join(', ')}]`,
        errorCode: 'REQUIRED_FIELD_MISSING',
        fields: unreported,
      });
    }
  }
  return errors.length > 0 ? { errors } : { values };
}

function checkValue(
  field: FieldDefinition,
  value: unknown,
  lookup: ReferenceLookup,
): { value: unknown } | { error: SalesforceError } {
  switch (field.type) {
    case 'string':
    case 'textarea':
    case 'phone':
    case 'url':
    case 'email':
    case 'picklist': {
      if (typeof value !== 'string') {
        if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
        return { error: parserError(`Cannot deserialize instance of string from ${jsonToken(value)} value`) };
      }
      if (field.length !== undefined && value.length > field.length) {
        return {
          error: {
            message: `${field.label}: data value too large: ${value.slice(0, 40)}${value.length > 40 ? '...' : ''} (max length=${field.length})`,
            errorCode: 'STRING_TOO_LONG',
            fields: [field.name],
          },
        };
      }
      if (field.type === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
        return {
          error: {
            message: `${field.label}: invalid email address: ${value}`,
            errorCode: 'INVALID_EMAIL_ADDRESS',
            fields: [field.name],
          },
        };
      }
      if (field.restricted && !field.picklist?.includes(value)) {
        return {
          error: {
            message: `${field.label}: bad value for restricted picklist field: ${value}`,
            errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            fields: [field.name],
          },
        };
      }
      return { value };
    }
    case 'double':
    case 'currency':
    case 'percent':
    case 'int':
      if (typeof value === 'number' && Number.isFinite(value)) {
        if (field.type === 'int' && !Number.isInteger(value)) {
          return {
            error: parserError(`Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value ${value}`),
          };
        }
        return { value };
      }
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
        return { value: Number(value) };
      return {
        error: parserError(
          `Cannot deserialize instance of ${field.type === 'int' ? 'int' : 'double'} from ${jsonToken(value)} value ${String(value)}`,
        ),
      };
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      return {
        error: parserError(
          `Cannot deserialize instance of boolean from ${jsonToken(value)} value ${String(value)}`,
        ),
      };
    case 'date':
      if (
        typeof value === 'string' &&
        /^\d{4}-\d{2}-\d{2}$/.test(value) &&
        !Number.isNaN(Date.parse(`${value}T00:00:00Z`))
      )
        return { value };
      return {
        error: parserError(
          `Cannot deserialize value of type \`java.util.Date\` from String "${String(value)}": expected format "yyyy-MM-dd"`,
        ),
      };
    case 'datetime':
      if (
        typeof value === 'string' &&
        /^\d{4}-\d{2}-\d{2}T/.test(value) &&
        !Number.isNaN(Date.parse(value))
      ) {
        return { value: new Date(value).toISOString().replace('Z', '+0000') };
      }
      return {
        error: parserError(
          `Cannot deserialize value of type \`java.util.Calendar\` from String "${String(value)}": not a valid representation`,
        ),
      };
    case 'reference': {
      if (typeof value !== 'string')
        return { error: parserError(`Cannot deserialize instance of id from ${jsonToken(value)} value`) };
      const id = normalizeId(value);
      const target = field.referenceTo ? SOBJECTS[field.referenceTo] : undefined;
      if (!id || !target || !id.startsWith(target.keyPrefix)) {
        return {
          error: {
            message: `${field.label}: id value of incorrect type: ${value}`,
            errorCode: 'FIELD_INTEGRITY_EXCEPTION',
            fields: [field.name],
          },
        };
      }
      const found = lookup(id);
      if (!found || found.deleted) {
        return {
          error: {
            message: `invalid cross reference id`,
            errorCode: 'INVALID_CROSS_REFERENCE_KEY',
            fields: [field.name],
          },
        };
      }
      return { value: id };
    }
    case 'id':
      return {
        error: {
          message: `Unable to create/update fields: ${field.name}.`,
          errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
          fields: [field.name],
        },
      };
  }
}

function parserError(message: string): SalesforceError {
  return {
    message: `${message} or request may be missing a required field at [line:1, column:1]`,
    errorCode: 'JSON_PARSER_ERROR',
    fields: [],
  };
}

function jsonToken(value: unknown): string {
  if (typeof value === 'string') return 'VALUE_STRING';
  if (typeof value === 'number') return Number.isInteger(value) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  if (typeof value === 'boolean') return value ? 'VALUE_TRUE' : 'VALUE_FALSE';
  if (Array.isArray(value)) return 'START_ARRAY';
  return 'START_OBJECT';
}
