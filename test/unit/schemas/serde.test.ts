import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import type { ResolvedSchema } from '../../../src/schemas/catalog.ts';
import { SCHEMAS_ROOT, loadCatalog } from '../../../src/schemas/catalog.ts';
import type { raw_stripe } from '../../../src/schemas/generated/index.ts';
import type { SchemaJson } from '../../../src/schemas/model.ts';
import type { SchemaSource } from '../../../src/schemas/registry-client.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';
import {
  HEADER_SIZE,
  InMemorySchemaSource,
  Serde,
  bindingsFromCatalog,
  schemaFromJson,
} from '../../../src/schemas/serde.ts';

const catalog = loadCatalog();

function historyVersion(subject: string, version: number): ResolvedSchema {
  const file = join(SCHEMAS_ROOT, 'history', subject, `v${version}.avsc`);
  return schemaFromJson(JSON.parse(readFileSync(file, 'utf8')) as SchemaJson, file);
}

/** A value as JSON, so records decoded into avsc's record classes compare equal to plain objects. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

async function failureOf(promise: Promise<unknown>): Promise<SynclineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SynclineError);
    return error as SynclineError;
  }
  throw new Error('expected a failure');
}

describe('round trip of every schema in the Confluent wire format', () => {
  const source = new InMemorySchemaSource();
  const serde = new Serde({ source, bindings: bindingsFromCatalog(catalog), autoRegister: true });

  it.each(catalog.topics.map((entry) => [entry.topic, entry] as const))(
    '%s: sample records decode to what was encoded',
    async (topic, entry) => {
      const values = [
        ...sampleValues(entry.node, 25, 7),
        ...sampleValues(entry.node, 5, 8, { nullRate: 1 }),
        ...sampleValues(entry.node, 5, 9, { nullRate: 0 }),
      ];
      for (const value of values) {
        expect(entry.type.isValid(value)).toBe(true);
        const bytes = await serde.encode(topic, value);
        expect(bytes[0]).toBe(0);
        expect(bytes.readUInt32BE(1)).toBe(await serde.writerId(topic));
        expect(plain(await serde.decode(topic, bytes))).toEqual(plain(value));
      }
    },
  );

  it.each(catalog.topics.map((entry) => [entry.topic, entry] as const))(
    '%s: avsc random records decode to what was encoded',
    async (topic, entry) => {
      for (let i = 0; i < 10; i++) {
        const value: unknown = entry.type.random();
        const bytes = await serde.encode(topic, value);
        // avsc cannot compare maps; equal re-encodings are equal values.
        const decoded: unknown = await serde.decode(topic, bytes);
        expect(entry.type.toBuffer(decoded).equals(bytes.subarray(HEADER_SIZE))).toBe(true);
        expect(entry.type.isValid(decoded)).toBe(true);
      }
    },
  );

  it('the body after the 5-byte header is plain Avro binary of the writer schema', async () => {
    const entry = catalog.topic('canonical.order');
    const [value] = sampleValues(entry.node, 1, 3);
    const bytes = await serde.encode('canonical.order', value);
    expect(bytes.subarray(HEADER_SIZE).equals(entry.type.toBuffer(value))).toBe(true);
  });

  it('the same seed gives the same sample records', () => {
    const node = catalog.topic('canonical.invoice').node;
    expect(sampleValues(node, 3, 11)).toEqual(sampleValues(node, 3, 11));
    expect(sampleValues(node, 3, 11)).not.toEqual(sampleValues(node, 3, 12));
  });
});

describe('schema evolution: v1 and v2 of the Stripe customer coexist', () => {
  const topic = 'raw.stripe.customer';
  const subject = 'raw.stripe.customer-value';
  const v1 = historyVersion(subject, 1);
  const v2 = historyVersion(subject, 2);
  const source = new InMemorySchemaSource();
  const producerV1 = new Serde({
    source,
    bindings: new Map([[topic, { subject, writer: v1 }]]),
    autoRegister: true,
  });
  const producerV2 = new Serde({
    source,
    bindings: new Map([[topic, { subject, writer: v2 }]]),
    autoRegister: true,
  });
  const consumerV1 = new Serde({ source, bindings: new Map([[topic, { subject, writer: v1 }]]) });
  const consumerV2 = new Serde({ source, bindings: new Map([[topic, { subject, writer: v2 }]]) });

  it('the live schema is v2, which adds the optional data.preferred_locales', () => {
    expect(catalog.topic(topic).text).toBe(v2.text);
    expect(v1.text).not.toContain('preferred_locales');
  });

  it('a consumer built on v1 reads records written with v2, without the new field', async () => {
    const [value] = sampleValues(v2.node, 1, 21, { nullRate: 0 }) as raw_stripe.Customer[];
    value!.data.preferred_locales = ['de-DE', 'en'];
    const decoded = await consumerV1.decode(topic, await producerV2.encode(topic, value!));
    expect(decoded.data.id).toBe(value!.data.id);
    expect(decoded.data).not.toHaveProperty('preferred_locales');
    expect(decoded.envelope.eventId).toBe(value!.envelope.eventId);
  });

  it('a consumer built on v2 reads records written with v1, the new field null', async () => {
    const [value] = sampleValues(v1.node, 1, 22, { nullRate: 0 }) as raw_stripe.Customer[];
    const decoded = await consumerV2.decode(topic, await producerV1.encode(topic, value));
    expect(decoded.data.preferred_locales).toBeNull();
    expect(plain({ ...decoded.data, preferred_locales: undefined })).toEqual(plain(value!.data));
  });

  it('the two versions have two schema ids in the subject', async () => {
    expect(await producerV1.writerId(topic)).not.toBe(await producerV2.writerId(topic));
  });
});

describe('a record that cannot be decoded is a permanent, classed error with its position, never a crash', () => {
  const topic = 'canonical.customer';
  const position = { partition: 2, offset: '41' };
  let serde: Serde;
  let good: Buffer;

  beforeAll(async () => {
    serde = new Serde({
      source: new InMemorySchemaSource(),
      bindings: bindingsFromCatalog(catalog),
      autoRegister: true,
    });
    good = await serde.encode(topic, sampleValues(catalog.topic(topic).node, 1, 5)[0]);
  });

  it.each<[string, () => Buffer | null, string, RegExp]>([
    ['an empty value', () => Buffer.alloc(0), ErrorCodes.DESERIALIZATION_FAILED, /empty value/],
    ['a null value', () => null, ErrorCodes.DESERIALIZATION_FAILED, /empty value/],
    [
      'a JSON value (wrong magic byte)',
      () => Buffer.from('{"id":1}'),
      ErrorCodes.DESERIALIZATION_FAILED,
      /wrong magic byte 0x7b: not the Confluent wire format \(the value looks like JSON\)/,
    ],
    [
      'a truncated header',
      () => good.subarray(0, 3),
      ErrorCodes.DESERIALIZATION_FAILED,
      /truncated value: 3 bytes/,
    ],
    [
      'a truncated body',
      () => good.subarray(0, good.length - 10),
      ErrorCodes.DESERIALIZATION_FAILED,
      /malformed Avro body .* runs past the end/,
    ],
    [
      'trailing garbage',
      () => Buffer.concat([good, Buffer.from([1, 2, 3])]),
      ErrorCodes.DESERIALIZATION_FAILED,
      /malformed Avro body .*: 3 bytes of trailing data after the value/,
    ],
    [
      'a garbage body',
      () => Buffer.concat([good.subarray(0, 5), Buffer.from('ffffffffffffffffffff', 'hex')]),
      ErrorCodes.DESERIALIZATION_FAILED,
      /malformed Avro body/,
    ],
    [
      'an unknown schema id',
      () => Buffer.from([0, 0x7f, 0, 0, 1, 2]),
      ErrorCodes.SCHEMA_NOT_FOUND,
      /unknown schema id 2130706433/,
    ],
  ])('%s', async (_name, bytes, code, message) => {
    const error = await failureOf(serde.decode(topic, bytes(), position));
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(message);
    expect(error.context).toMatchObject({ topic, partition: 2, offset: '41' });
    const result = await serde.tryDecode(topic, bytes(), position);
    expect(result.ok).toBe(false);
  });

  it('a few bytes claiming a huge array are refused before anything is allocated (avsc alone runs out of memory)', async () => {
    const source = new InMemorySchemaSource();
    const lines = schemaFromJson({
      type: 'record',
      name: 'Lines',
      namespace: 'it',
      fields: [{ name: 'lines', type: { type: 'array', items: 'string' } }],
    });
    const writer = new Serde({
      source,
      bindings: new Map([['t', { subject: 't-value', writer: lines }]]),
      autoRegister: true,
    });
    const header = (await writer.encode('t', { lines: [] })).subarray(0, HEADER_SIZE);
    // A zig-zag varint block count of 10^8, and nothing after it.
    const count: number[] = [];
    for (let n = 2 * 100_000_000; ; n = Math.floor(n / 128)) {
      if (n < 0x80) {
        count.push(n);
        break;
      }
      count.push((n % 128) | 0x80);
    }
    const poison = Buffer.concat([header, Buffer.from(count)]);
    const error = await failureOf(writer.decode('t', poison, position));
    expect(error.code).toBe(ErrorCodes.DESERIALIZATION_FAILED);
    expect(error.message).toContain('array block of 100000000 items cannot fit in the 0 bytes left');
  });

  it('the schema id is in the context once the header was read', async () => {
    const error = await failureOf(serde.decode(topic, Buffer.from([0, 0, 0, 0, 99, 1]), position));
    expect(error.context.schemaId).toBe(99);
  });

  it('a writer schema the reader cannot read is SCHEMA_INCOMPATIBLE, naming the field and rule', async () => {
    const source = new InMemorySchemaSource();
    const odd = schemaFromJson({
      type: 'record',
      name: 'Customer',
      namespace: 'syncline.canonical',
      fields: [{ name: 'goldenId', type: 'long' }],
    });
    const writer = new Serde({
      source,
      bindings: new Map([[topic, { subject: 'x-value', writer: odd }]]),
      autoRegister: true,
    });
    const reader = new Serde({ source, bindings: bindingsFromCatalog(catalog) });
    const error = await failureOf(
      reader.decode(topic, await writer.encode(topic, { goldenId: 5 }), position),
    );
    expect(error.code).toBe(ErrorCodes.SCHEMA_INCOMPATIBLE);
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(
      /cannot be read as syncline\.canonical\.Customer: .*goldenId: TYPE_MISMATCH/,
    );
    expect(error.message).toMatch(/envelope: READER_FIELD_MISSING_DEFAULT_VALUE/);
  });

  it('a registry that cannot be reached is retriable, and the next attempt asks again', async () => {
    let calls = 0;
    const flaky: SchemaSource = {
      idOf: () => Promise.reject(new Error('unused')),
      register: () => Promise.reject(new Error('unused')),
      schemaById: () => {
        calls++;
        return Promise.reject(SynclineError.retriable(ErrorCodes.REGISTRY_UNAVAILABLE, 'registry down'));
      },
    };
    const reader = new Serde({ source: flaky, bindings: bindingsFromCatalog(catalog) });
    const first = await failureOf(reader.decode(topic, good, position));
    expect(first.code).toBe(ErrorCodes.REGISTRY_UNAVAILABLE);
    expect(first.retriable).toBe(true);
    await failureOf(reader.decode(topic, good, position));
    expect(calls).toBe(2);
  });

  it('an unknown schema id is remembered for a while, so a poisoned partition does not flood the registry', async () => {
    let calls = 0;
    const empty: SchemaSource = {
      idOf: () => Promise.reject(new Error('unused')),
      register: () => Promise.reject(new Error('unused')),
      schemaById: (id) => {
        calls++;
        return Promise.reject(
          SynclineError.permanent(ErrorCodes.SCHEMA_NOT_FOUND, `Schema ${id} not found.`),
        );
      },
    };
    const reader = new Serde({ source: empty, bindings: bindingsFromCatalog(catalog) });
    for (let i = 0; i < 3; i++) expect((await reader.tryDecode(topic, good, position)).ok).toBe(false);
    expect(calls).toBe(1);
  });

  it('tryDecode returns a decoded record with its schema id', async () => {
    const result = await serde.tryDecode(topic, good, position);
    expect(result.ok && result.schemaId).toBe(good.readUInt32BE(1));
  });
});

describe('encoding refuses values that do not fit the schema', () => {
  const serde = new Serde({
    source: new InMemorySchemaSource(),
    bindings: bindingsFromCatalog(catalog),
    autoRegister: true,
  });

  it('with SERIALIZATION_FAILED naming the fields', async () => {
    const entry = catalog.topic('canonical.invoice');
    const [value] = sampleValues(entry.node, 1, 4) as Array<Record<string, unknown>>;
    const bad = { ...value, totalMinor: '12.50', currency: 42 };
    const error = await failureOf(serde.encode('canonical.invoice', bad));
    expect(error.code).toBe(ErrorCodes.SERIALIZATION_FAILED);
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('value does not fit syncline.canonical.Invoice');
    expect(error.message).toContain('currency: expected string, got number 42');
    expect(error.message).toContain('totalMinor: expected long, got a string');
    expect(error.context.topic).toBe('canonical.invoice');
  });

  it('with SCHEMA_NOT_FOUND when the schema is not registered and auto-registration is off', async () => {
    const strict = new Serde({ source: new InMemorySchemaSource(), bindings: bindingsFromCatalog(catalog) });
    const error = await failureOf(strict.encode('canonical.order', {}));
    expect(error.code).toBe(ErrorCodes.SCHEMA_NOT_FOUND);
    expect(error.context).toMatchObject({ topic: 'canonical.order', subject: 'canonical.order-value' });
  });

  it('for a topic without an Avro schema', async () => {
    const error = await failureOf(serde.encode('erp-rest-sink.dlq', {}));
    expect(error.code).toBe(ErrorCodes.SCHEMA_NOT_FOUND);
  });
});
