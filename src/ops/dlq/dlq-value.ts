/**
 * DLQ records shown to people: values decoded through the registry when they are Avro in the
 * Confluent wire format (read with the writer's own schema: no reader schema is needed to look),
 * otherwise base64; header values as text when they are UTF-8, otherwise base64. Everything comes
 * out JSON-safe (bytes as base64, 64-bit integers as strings).
 *
 * DLQ values are by definition the records that failed, so a hostile body is expected: it is
 * bounds-checked against the writer schema before avsc decodes it (as the Serde does).
 */
import avro from 'avsc';
import { compileBoundsCheck } from '../../schemas/bounds-check.ts';
import { parseSchema, type SchemaJson } from '../../schemas/model.ts';
import type { SchemaSource } from '../../schemas/registry-client.ts';
import { HEADER_SIZE, MAGIC_BYTE } from '../../schemas/serde.ts';
import type { RecordHeaders } from './dlq-log.ts';

export type DisplayedValue =
  | { encoding: 'none' }
  | { encoding: 'avro'; schemaId: number; schema: string | null; value: unknown }
  | { encoding: 'base64'; base64: string; bytes: number; note?: string };

/** Decodes a value for display; never throws (a value that does not decode is shown as base64). */
export async function displayValue(registry: SchemaSource, value: Buffer | null): Promise<DisplayedValue> {
  if (value === null) return { encoding: 'none' };
  if (value.length < HEADER_SIZE || value[0] !== MAGIC_BYTE) return base64Of(value);
  const schemaId = value.readUInt32BE(1);
  try {
    const text = await registry.schemaById(schemaId);
    const json = JSON.parse(text) as SchemaJson;
    const node = parseSchema(json, { origin: `schema id ${schemaId}` });
    const malformed = compileBoundsCheck(node)(value, HEADER_SIZE);
    if (malformed) return base64Of(value, `not decodable with schema id ${schemaId}: ${malformed}`);
    const type = avro.Type.forSchema(json as avro.Schema);
    const decoded: unknown = type.fromBuffer(value.subarray(HEADER_SIZE));
    return {
      encoding: 'avro',
      schemaId,
      schema: node.kind === 'record' ? node.name : null,
      value: jsonSafe(decoded),
    };
  } catch (error) {
    return base64Of(value, `not decodable with schema id ${schemaId}: ${(error as Error).message}`);
  }
}

function base64Of(value: Buffer, note?: string): DisplayedValue {
  return {
    encoding: 'base64',
    base64: value.toString('base64'),
    bytes: value.length,
    ...(note ? { note } : {}),
  };
}

/** Header values as text when they are valid UTF-8, else `base64:<...>`; repeated headers as arrays. */
export function displayHeaders(headers: RecordHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Buffer.isBuffer(value) ? headerValueText(value) : value.map(headerValueText);
  }
  return out;
}

/** A key or header value as text when it is valid UTF-8, else `base64:<...>`. */
export function headerValueText(value: Buffer): string {
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? text : `base64:${value.toString('base64')}`;
}

/** Bytes as base64, bigints as strings, everything else as is (recursively). */
export function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = jsonSafe(field);
    return out;
  }
  return value;
}
