/**
 * What every mapper shares: the one way to fail a record, currency and date checks, and the
 * provenance references of canonical records. Pure.
 */
import type * as common from '../../schemas/generated/common.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { MatchSystem } from '../match-merge/types.ts';

/** One day in milliseconds: Avro `date` values are days since 1970-01-01. */
export const DAY_MS = 86_400_000;

/**
 * The permanent error of a record that cannot be mapped: `<topic>: <field>: <what is wrong>`.
 * The pipeline dead-letters the record with this message.
 */
export function mappingFailed(topic: string, field: string, problem: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.MAPPING_FAILED, `${topic}: ${field}: ${problem}`, { topic });
}

/** ISO 4217 codes the runtime knows (ICU's list, which tracks the standard). */
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** A currency as canonical records carry it (ISO 4217, upper case); throws when it is not one. */
export function currencyOf(topic: string, field: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value.trim() === '') {
    throw mappingFailed(topic, field, 'missing currency');
  }
  const code = value.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code) || !KNOWN_CURRENCIES.has(code)) {
    throw mappingFailed(topic, field, `unknown currency '${value}' (expected an ISO 4217 code)`);
  }
  return code;
}

/** The day (days since 1970-01-01) an instant falls on, in UTC. */
export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

/** The last day of a period whose end instant is exclusive (a period ending at midnight ends the day before). */
export function lastDayBefore(exclusiveEndMs: number): number {
  return Math.floor((exclusiveEndMs - 1) / DAY_MS);
}

/** The day `months` calendar months after `day`, clamped to the end of a shorter month (Jan 31 + 1 → Feb 28/29). */
export function addMonths(day: number, months: number): number {
  const date = new Date(day * DAY_MS);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastOfTarget = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return dayOf(Date.UTC(year, month, Math.min(date.getUTCDate(), lastOfTarget)));
}

/** Throws when `later` is before `earlier` (both present): dates a source cannot have meant. */
export function requireOrder(
  topic: string,
  laterField: string,
  later: number | null | undefined,
  earlierField: string,
  earlier: number | null | undefined,
): void {
  if (later === null || later === undefined || earlier === null || earlier === undefined) return;
  if (later < earlier) throw mappingFailed(topic, laterField, `is before ${earlierField}`);
}

/** A non-negative amount; throws on a negative one. */
export function nonNegative(topic: string, field: string, value: number): number {
  if (value < 0) throw mappingFailed(topic, field, `must not be negative, got ${value}`);
  return value;
}

/** A reference to a source record, for a canonical record's `sources`. */
export function sourceRef(
  system: MatchSystem,
  instance: string | null,
  entity: string,
  id: string,
): common.SourceRef {
  return { system, instance, entity, id };
}

/** The instance of the envelope's source, for provenance. */
export function instanceOf(envelope: common.Envelope): string | null {
  return envelope.source.instance || null;
}

/** A required id; throws when it is empty. */
export function requireId(topic: string, field: string, value: string | null | undefined): string {
  const id = value?.trim();
  if (!id) throw mappingFailed(topic, field, 'missing customer reference');
  return id;
}

/** An empty string becomes null, other strings are trimmed. */
export function text(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

/** A canonical value typed by its generated interface, as the contract's plain record. */
export function asRecord<T extends object>(value: T): Record<string, unknown> {
  return value as unknown as Record<string, unknown>;
}

/** The envelope the pipeline derived for a canonical record. */
export function envelopeOf(context: { envelope: Record<string, unknown> }): common.Envelope {
  return context.envelope as unknown as common.Envelope;
}
