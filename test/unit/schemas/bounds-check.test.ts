import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { compileBoundsCheck } from '../../../src/schemas/bounds-check.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { parseSchema } from '../../../src/schemas/model.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';

describe('the structural check of Avro bodies', () => {
  const catalog = loadCatalog();

  it.each(catalog.topics.map((entry) => [entry.topic, entry] as const))(
    'accepts every well-formed %s record',
    (_topic, entry) => {
      const check = compileBoundsCheck(entry.node);
      for (const value of [
        ...sampleValues(entry.node, 20, 3),
        ...sampleValues(entry.node, 5, 4, { nullRate: 0 }),
      ]) {
        expect(check(entry.type.toBuffer(value), 0)).toBeUndefined();
      }
    },
  );

  it('refuses every truncation of a record', () => {
    const entry = catalog.topic('canonical.invoice');
    const check = compileBoundsCheck(entry.node);
    const bytes = entry.type.toBuffer(sampleValues(entry.node, 1, 9, { nullRate: 0 })[0]);
    for (let length = 0; length < bytes.length; length++)
      expect(check(bytes.subarray(0, length), 0)).toBeDefined();
  });

  it.each([
    [
      'a negative string length',
      { type: 'record', name: 'S', fields: [{ name: 's', type: 'string' }] },
      [0x01],
      /negative string length -1/,
    ],
    [
      'an enum index out of range',
      { type: 'enum', name: 'E', symbols: ['A', 'B'] },
      [0x04],
      /enum index 2 out of range for E/,
    ],
    ['a union branch out of range', ['null', 'string'], [0x04], /union branch 2 out of range/],
    [
      'a varint longer than 10 bytes',
      'long',
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
      /varint longer than 10 bytes/,
    ],
    [
      'a map block larger than the bytes left',
      { type: 'map', values: 'long' },
      [0x14, 0x00],
      /map block of 10 items cannot fit in the 1 bytes left/,
    ],
    [
      'too many items of a type that takes no bytes',
      { type: 'array', items: 'null' },
      [0x82, 0x89, 0x7a, 0x00],
      /array block of 1000001 items/,
    ],
  ])('refuses %s', (_name, schema, bytes, message) => {
    expect(compileBoundsCheck(parseSchema(schema as never))(Buffer.from(bytes), 0)).toMatch(message);
  });

  it('reads negative block counts (with a byte size) as avsc writes them for arrays', () => {
    const node = parseSchema({ type: 'array', items: 'string' });
    // Block of -2 items (zig-zag 3) with a byte size of 4 (zig-zag 8), two one-byte strings, then the end.
    const bytes = Buffer.from([0x03, 0x08, 0x02, 0x61, 0x02, 0x62, 0x00]);
    expect(avro.Type.forSchema({ type: 'array', items: 'string' }).fromBuffer(bytes)).toEqual(['a', 'b']);
    expect(compileBoundsCheck(node)(bytes, 0)).toBeUndefined();
  });

  it('handles recursive records', () => {
    const node = parseSchema({
      type: 'record',
      name: 'Tree',
      fields: [{ name: 'children', type: { type: 'array', items: 'Tree' } }],
    });
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'Tree',
      fields: [{ name: 'children', type: { type: 'array', items: 'Tree' } }],
    });
    const bytes = type.toBuffer({ children: [{ children: [] }, { children: [{ children: [] }] }] });
    expect(compileBoundsCheck(node)(bytes, 0)).toBeUndefined();
    expect(compileBoundsCheck(node)(bytes.subarray(0, bytes.length - 1), 0)).toBeDefined();
  });
});
