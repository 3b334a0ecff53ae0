/**
 * The shape of Zendesk event-subscribed webhooks (`zendesk_event_version` 2022-06-20 and later):
 * organisation events, and the records of the `entitlement` custom object, where the support plan,
 * SLA policy and seats of an organisation are kept (Zendesk has no entitlement object of its own).
 */
import { z } from 'zod';

export const ORGANIZATION_EVENT_TYPES = [
  'zen:event-type:organization.created',
  'zen:event-type:organization.deleted',
  'zen:event-type:organization.name_changed',
  'zen:event-type:organization.external_id_changed',
  'zen:event-type:organization.custom_field_changed',
  'zen:event-type:organization.tags_changed',
] as const;
export type OrganizationEventType = (typeof ORGANIZATION_EVENT_TYPES)[number];

export const CUSTOM_OBJECT_RECORD_EVENT_TYPES = [
  'zen:event-type:custom_object_record.created',
  'zen:event-type:custom_object_record.updated',
  'zen:event-type:custom_object_record.deleted',
] as const;
export type CustomObjectRecordEventType = (typeof CUSTOM_OBJECT_RECORD_EVENT_TYPES)[number];

export function isOrganizationEvent(type: string): type is OrganizationEventType {
  return (ORGANIZATION_EVENT_TYPES as readonly string[]).includes(type);
}

export function isCustomObjectRecordEvent(type: string): type is CustomObjectRecordEventType {
  return (CUSTOM_OBJECT_RECORD_EVENT_TYPES as readonly string[]).includes(type);
}

const isoTimestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' });

/** Zendesk sends numeric ids as strings in event payloads, older ones as numbers. */
export const zendeskId = z
  .union([
    z.string().regex(/^\d{1,16}$/, 'must be a numeric id'),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ])
  .transform(String);

/** What every Zendesk event webhook has, whatever its type. */
export const ZendeskEventBase = z.looseObject({
  type: z.string().min(1).max(200),
  id: z.string().min(1).max(100),
  account_id: z.number().int().nonnegative(),
  time: isoTimestamp,
  subject: z.string().min(1).max(200),
  zendesk_event_version: z.string().min(1).max(50),
  detail: z.record(z.string(), z.unknown()),
  event: z.record(z.string(), z.unknown()).optional(),
});
export type ZendeskEventBase = z.infer<typeof ZendeskEventBase>;

export const ZendeskOrganizationDetail = z.looseObject({
  id: zendeskId,
  name: z.string().min(1).max(500),
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
});
export type ZendeskOrganizationDetail = z.infer<typeof ZendeskOrganizationDetail>;

/** A custom object record; which object it belongs to is its `custom_object_key`. */
export const CustomObjectRecord = z.looseObject({
  id: z.string().min(1).max(64),
  custom_object_key: z.string().min(1).max(100),
  name: z.string().min(1).max(500),
  custom_object_fields: z.record(z.string(), z.unknown()),
  created_at: isoTimestamp,
  updated_at: isoTimestamp,
});
export type CustomObjectRecord = z.infer<typeof CustomObjectRecord>;

/** The fields of an `entitlement` record that must be there: which organisation, in what state. */
export const EntitlementFields = z.looseObject({
  organization_id: zendeskId,
  status: z.string().min(1).max(50),
});

export const CustomFieldChange = z.looseObject({
  current: z.unknown(),
  previous: z.unknown(),
  field: z.looseObject({
    id: zendeskId,
    title: z.string().max(200).optional(),
    key: z.string().min(1).max(200).optional(),
    type: z.string().max(50).optional(),
  }),
});
