/**
 * Building raw records from platform payloads, and checking them against their Avro schema.
 *
 * The mapping functions are total: they never throw, whatever the payload holds. A value of the
 * wrong kind is passed through unchanged so that the schema check catches it and names the field;
 * a missing optional value becomes null; a known unit change (Stripe's Unix seconds, ISO timestamps,
 * decimal amounts) is made exactly. The schema check is the last word on the shape: whatever passes
 * it can be encoded, so a signed event is either published or refused with a 422, never a 500.
 */
import type avro from 'avsc';
import type { Envelope } from './envelope.ts';
import type { FieldProblem } from './source.ts';

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or an empty one: for walking into optional parts. */
export function obj(value: unknown): Json {
  return isRecord(value) ? value : {};
}

/** A nullable field: undefined and null become null; anything else is kept for the schema to judge. */
export function opt(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Unix seconds to epoch milliseconds; other values are kept for the schema to refuse. */
export function secondsToMs(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1000) : value;
}

export function optSecondsToMs(value: unknown): unknown {
  return value === undefined || value === null ? null : secondsToMs(value);
}

/** An ISO 8601 timestamp to epoch milliseconds; numbers are taken as milliseconds already. */
export function isoToMs(value: unknown): unknown {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? value : ms;
  }
  return value;
}

export function optIsoToMs(value: unknown): unknown {
  return value === undefined || value === null ? null : isoToMs(value);
}

/** A `YYYY-MM-DD` date to days since 1970-01-01 (Avro `date`). */
export function optDateToDays(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(ms) ? value : Math.round(ms / 86_400_000);
  }
  return value;
}

/** A string id or an expanded object's id (Stripe expands references on request). */
export function idOf(value: unknown): unknown {
  return isRecord(value) && typeof value.id === 'string' ? value.id : value;
}

export function optIdOf(value: unknown): unknown {
  return value === undefined || value === null ? null : idOf(value);
}

/**
 * An enum value: a symbol the schema knows is kept, an unknown string becomes `fallback` (sources
 * add values; the schema's `unknown` symbol stands for them), anything else is kept for the schema
 * to refuse.
 */
export function symbol(value: unknown, symbols: readonly string[], fallback = 'unknown'): unknown {
  if (typeof value !== 'string') return value;
  return symbols.includes(value) ? value : fallback;
}

export function optSymbol(value: unknown, symbols: readonly string[], fallback = 'unknown'): unknown {
  return value === undefined || value === null ? null : symbol(value, symbols, fallback);
}

/** A map of strings, e.g. Stripe metadata; absent becomes empty. */
export function stringMap(value: unknown): unknown {
  return value === undefined || value === null ? {} : value;
}

/** Every value JSON-encoded, for `map<string>` fields that carry arbitrary values. */
export function jsonEncodedMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).map(([key, entry]) => [key, JSON.stringify(entry ?? null)]),
  );
}

/** The `data` array of a Stripe list object, or the array itself; absent becomes empty. */
export function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isRecord(value) && Array.isArray(value.data)) return value.data;
  return [];
}

/** Digits after the decimal point of ISO 4217 currencies that do not have two. */
const MINOR_DIGITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
};

/**
 * A decimal amount in major units to integer minor units of `currency`, exactly: through the
 * decimal digits, never through floating point arithmetic (12500.5 EUR is 1250050).
 * Amounts with more digits than the currency has are kept unchanged for the schema to refuse.
 */
export function optMinorUnits(amount: unknown, currency: unknown): unknown {
  if (amount === undefined || amount === null) return null;
  const digits = MINOR_DIGITS[typeof currency === 'string' ? currency.toUpperCase() : ''] ?? 2;
  const text =
    typeof amount === 'number' && Number.isFinite(amount)
      ? numberToPlain(amount)
      : typeof amount === 'string'
        ? amount.trim()
        : undefined;
  const match = text === undefined ? null : /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return amount;
  const [, sign, whole, fraction = ''] = match;
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > digits) return amount;
  const minor = BigInt(`${whole}${trimmed.padEnd(digits, '0')}`);
  const result = Number(sign === '-' ? -minor : minor);
  return Number.isSafeInteger(result) ? result : amount;
}

/** A number as plain decimal digits (no exponent), as JavaScript would print it otherwise. */
function numberToPlain(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** The Avro form of the envelope (derived-event fields empty: a raw event is not derived). */
export function avroEnvelope(envelope: Envelope): Json {
  return { ...envelope, source: { ...envelope.source }, causationId: null };
}

/**
 * Everything wrong with `value` according to `type`, as field paths (`data.status`,
 * `data.items.0.price.id`) with what was expected. Empty when the value can be encoded.
 */
export function schemaProblems(type: avro.Type, value: unknown, limit = 20): FieldProblem[] {
  const problems: FieldProblem[] = [];
  type.isValid(value, {
    errorHook: (path: string[], found: unknown, expected: avro.Type) => {
      if (problems.length >= limit) return;
      problems.push({
        path: path.join('.') || '(record)',
        message: `expected ${describeType(expected)}, got ${describeValue(found)}`,
      });
    },
  });
  return problems;
}

function describeType(type: avro.Type): string {
  const schema = type.schema() as unknown;
  if (typeof schema === 'string') return schema;
  if (Array.isArray(schema))
    return schema
      .map((branch) => (typeof branch === 'string' ? branch : ((branch as Json).type as string)))
      .join(' or ');
  if (isRecord(schema)) {
    if (schema.type === 'enum' && Array.isArray(schema.symbols))
      return `one of ${(schema.symbols as string[]).join(', ')}`;
    if (typeof schema.type === 'string') return schema.type;
  }
  return 'a valid value';
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : `the fraction ${value}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
