/**
 * The shape of a Salesforce Change Data Capture event as our CRM callout delivers it: the event as
 * the Pub/Sub API or CometD hands it over (`payload` with its `ChangeEventHeader` and the changed
 * fields, `event` with the replay id), plus the org id. Update events are sparse: only changed fields
 * are present, which is why only the header is required.
 */
import { z } from 'zod';

/** Entities Syncline consumes, and the raw topic suffix of each. */
export const SALESFORCE_ENTITIES = {
  Account: 'account',
  Opportunity: 'opportunity',
} as const;
export type SalesforceEntityName = keyof typeof SALESFORCE_ENTITIES;

export function isConsumedSalesforceEntity(name: string): name is SalesforceEntityName {
  return Object.hasOwn(SALESFORCE_ENTITIES, name);
}

export const CHANGE_TYPES = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'UNDELETE',
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
  'GAP_OVERFLOW',
] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

/** A 15- or 18-character Salesforce record id. */
export const salesforceId = z
  .string()
  .regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a 15- or 18-character Salesforce id');

export const ChangeEventHeader = z.looseObject({
  entityName: z.string().min(1).max(100),
  recordIds: z.array(salesforceId).min(1).max(2000),
  // Kept open: a change type Salesforce adds later is recorded as UNKNOWN, not refused.
  changeType: z.string().min(1).max(50),
  changeOrigin: z.string().optional(),
  transactionKey: z.string().min(1).max(100),
  sequenceNumber: z.number().int().nonnegative(),
  commitTimestamp: z.number().int().nonnegative(),
  commitNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  commitUser: z.string().min(1),
  changedFields: z.array(z.string()).optional(),
  nulledFields: z.array(z.string()).optional(),
  diffFields: z.array(z.string()).optional(),
});
export type ChangeEventHeader = z.infer<typeof ChangeEventHeader>;

export const ChangeEventMessage = z.looseObject({
  orgId: z
    .string()
    .regex(/^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/, 'must be a Salesforce org id (00D...)')
    .optional(),
  schema: z.string().optional(),
  payload: z.looseObject({ ChangeEventHeader }),
  event: z.looseObject({ replayId: z.union([z.number(), z.string()]).optional() }).optional(),
});
export type ChangeEventMessage = z.infer<typeof ChangeEventMessage>;
