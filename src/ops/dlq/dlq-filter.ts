/**
 * Which DLQ entries an operator means: by error code, reason, original topic, key and failure
 * time. Values of one field are alternatives (OR), different fields must all match (AND); an empty
 * filter matches everything. The CLI gives it as repeated `--filter field=value`, the admin API
 * as a JSON object; both end up as one {@link DlqFilter}.
 */
import { z } from 'zod';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { DlqEntry } from './dlq-log.ts';

export interface DlqFilter {
  codes?: string[];
  reasons?: string[];
  /** Original topics, by contract name (`canonical.invoice`) or as written. */
  topics?: string[];
  keys?: string[];
  /** Last failure at or after, epoch ms. */
  since?: number;
  /** Last failure before, epoch ms. */
  until?: number;
}

export const FILTER_FIELDS = ['code', 'reason', 'topic', 'key', 'since', 'until'] as const;
export const FILTER_HELP =
  'field=value, repeatable: code=<ERROR_CODE>, reason=<text>, topic=<original topic>, key=<record key>, ' +
  'since=<ISO time>, until=<ISO time> (same field: any of; different fields: all of)';

const isoTime = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'must be an ISO 8601 time' })
  .transform((value) => Date.parse(value));
const list = z.array(z.string().min(1)).min(1).optional();

/** The filter as a JSON body or query carries it. */
export const DlqFilterSchema = z
  .object({
    code: list,
    reason: list,
    topic: list,
    key: list,
    since: isoTime.optional(),
    until: isoTime.optional(),
  })
  .strict()
  .transform((raw): DlqFilter => ({
    ...(raw.code ? { codes: raw.code } : {}),
    ...(raw.reason ? { reasons: raw.reason } : {}),
    ...(raw.topic ? { topics: raw.topic } : {}),
    ...(raw.key ? { keys: raw.key } : {}),
    ...(raw.since === undefined ? {} : { since: raw.since }),
    ...(raw.until === undefined ? {} : { until: raw.until }),
  }));

export type DlqFilterInput = z.input<typeof DlqFilterSchema>;

/** Parses repeated `field=value` arguments. */
export function parseFilterArguments(values: readonly string[]): DlqFilter {
  const raw: Record<string, string[] | string> = {};
  for (const value of values) {
    const match = /^([a-z]+)=(.*)$/s.exec(value);
    const field = match?.[1];
    if (!match || !field || !(FILTER_FIELDS as readonly string[]).includes(field) || match[2] === '') {
      throw SynclineError.permanent(
        ErrorCodes.INPUT_INVALID,
        `--filter ${JSON.stringify(value)}: expected ${FILTER_FIELDS.join('|')}=<value>`,
      );
    }
    const text = match[2] as string;
    if (field === 'since' || field === 'until') {
      if (raw[field] !== undefined) {
        throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `--filter ${field}= given twice`);
      }
      raw[field] = text;
    } else {
      raw[field] = [...((raw[field] as string[] | undefined) ?? []), text];
    }
  }
  return parseFilterObject(raw, '--filter ');
}

/** Validates a filter object (API bodies and queries); INPUT_INVALID naming the bad field. */
export function parseFilterObject(value: unknown, where = 'filter.'): DlqFilter {
  const parsed = DlqFilterSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      `${where}${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** Whether the entry matches; `prefix` lets `topic=` name the contract topic in a prefixed topology. */
export function matchesFilter(entry: DlqEntry, filter: DlqFilter, prefix = ''): boolean {
  const context = entry.context;
  if (filter.codes && !filter.codes.includes(context.errorCode)) return false;
  if (filter.reasons && !filter.reasons.includes(context.reason)) return false;
  if (filter.topics) {
    const topic = context.originalTopic;
    const contract = prefix && topic.startsWith(prefix) ? topic.slice(prefix.length) : topic;
    if (!filter.topics.includes(topic) && !filter.topics.includes(contract)) return false;
  }
  if (filter.keys && (entry.key === null || !filter.keys.includes(entry.key))) return false;
  const failedAt = context.lastFailureAt ?? entry.timestamp;
  if (filter.since !== undefined && failedAt < filter.since) return false;
  if (filter.until !== undefined && failedAt >= filter.until) return false;
  return true;
}

/** True when the filter has no condition. */
export function isEmptyFilter(filter: DlqFilter): boolean {
  return Object.keys(filter).length === 0;
}

/** The filter as text, for audit records and logs. */
export function describeFilter(filter: DlqFilter): string {
  const parts: string[] = [];
  for (const code of filter.codes ?? []) parts.push(`code=${code}`);
  for (const reason of filter.reasons ?? []) parts.push(`reason=${reason}`);
  for (const topic of filter.topics ?? []) parts.push(`topic=${topic}`);
  for (const key of filter.keys ?? []) parts.push(`key=${key}`);
  if (filter.since !== undefined) parts.push(`since=${new Date(filter.since).toISOString()}`);
  if (filter.until !== undefined) parts.push(`until=${new Date(filter.until).toISOString()}`);
  return parts.length === 0 ? '(all)' : parts.join(' ');
}
