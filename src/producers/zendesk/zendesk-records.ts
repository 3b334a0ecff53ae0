/**
 * Zendesk event → raw record value (`syncline.raw.zendesk.Organization|Entitlement`): Zendesk's
 * webhook envelope with its `event` object JSON-encoded, and the organisation or entitlement with
 * Zendesk's field names, ids as numbers, times as epoch milliseconds and dates as days.
 */
import {
  isRecord,
  jsonEncodedMap,
  obj,
  opt,
  optDateToDays,
  optIsoToMs,
  isoToMs,
  symbol,
  type Json,
} from '../avro-values.ts';
import type { ZendeskEventBase } from './zendesk-event-schema.ts';

const ENTITLEMENT_STATUSES = ['active', 'pending', 'suspended', 'expired', 'cancelled'];

/** Zendesk's webhook envelope (`syncline.raw.zendesk.EventMeta`). */
export function eventMeta(base: ZendeskEventBase): Json {
  return {
    id: base.id,
    type: base.type,
    account_id: base.account_id,
    subject: base.subject,
    time: isoToMs(base.time),
    zendesk_event_version: base.zendesk_event_version,
    changes: jsonEncodedMap(base.event),
  };
}

/** A numeric id sent as a string, as a number; anything else is kept for the schema to refuse. */
export function numericId(value: unknown): unknown {
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const id = Number(value);
    return Number.isSafeInteger(id) ? id : value;
  }
  return value;
}

function optNumericId(value: unknown): unknown {
  return value === undefined || value === null ? null : numericId(value);
}

/** Custom field values as strings, the way the record keeps them (numbers and booleans as JSON). */
function fieldValues(value: unknown): Record<string, string | null> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, renderField(entry)]));
}

function renderField(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function organizationDetail(base: ZendeskEventBase): Json {
  const detail = base.detail;
  const fields = fieldValues(detail.organization_fields);
  // A custom field change carries the new value in `event`, not in `detail`: keep it with the others.
  if (base.type === 'zen:event-type:organization.custom_field_changed') {
    const change = obj(base.event);
    const field = obj(change.field);
    const key =
      typeof field.key === 'string'
        ? field.key
        : typeof field.id === 'string' || typeof field.id === 'number'
          ? String(field.id)
          : undefined;
    if (key) fields[key] = renderField(change.current);
  }
  const deleted = base.type === 'zen:event-type:organization.deleted';
  return {
    id: numericId(detail.id),
    name: detail.name,
    external_id: opt(detail.external_id),
    domain_names: detail.domain_names ?? [],
    group_id: optNumericId(detail.group_id),
    shared_tickets: opt(detail.shared_tickets),
    shared_comments: opt(detail.shared_comments),
    tags: detail.tags ?? [],
    details: opt(detail.details),
    notes: opt(detail.notes),
    organization_fields: fields,
    created_at: isoToMs(detail.created_at),
    updated_at: isoToMs(detail.updated_at),
    deleted_at: deleted ? optIsoToMs(detail.deleted_at ?? base.time) : optIsoToMs(detail.deleted_at),
    url: opt(detail.url),
  };
}

export function entitlementDetail(base: ZendeskEventBase): Json {
  const record = base.detail;
  const fields = obj(record.custom_object_fields);
  return {
    id: record.id,
    organization_id: numericId(fields.organization_id),
    name: record.name,
    product_code: opt(fields.product_code),
    plan: opt(fields.plan),
    sla_policy_id: optNumericId(fields.sla_policy_id),
    sla_policy_title: opt(fields.sla_policy_title),
    status:
      base.type === 'zen:event-type:custom_object_record.deleted'
        ? 'cancelled'
        : symbol(fields.status, ENTITLEMENT_STATUSES),
    total_units: opt(fields.total_units),
    remaining_units: opt(fields.remaining_units),
    unit: opt(fields.unit),
    start_date: optDateToDays(fields.start_date),
    end_date: optDateToDays(fields.end_date),
    created_at: isoToMs(record.created_at),
    updated_at: isoToMs(record.updated_at),
  };
}
