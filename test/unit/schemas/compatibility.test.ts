import { describe, expect, it } from 'vitest';
import type { CompatibilityLevel, PreviousVersion } from '../../../src/schemas/compatibility.ts';
import { CompatibilityRules, checkReadable, checkSubject } from '../../../src/schemas/compatibility.ts';
import type { AvroNode } from '../../../src/schemas/model.ts';
import { parseSchema } from '../../../src/schemas/model.ts';

const SUBJECT = 'raw.test.thing-value';

function record(fields: unknown[], extra: Record<string, unknown> = {}): AvroNode {
  return parseSchema({
    type: 'record',
    name: 'Thing',
    namespace: 'syncline.test',
    fields,
    ...extra,
  });
}

function v(version: number, schema: AvroNode, source: PreviousVersion['source'] = 'repo'): PreviousVersion {
  return { source, version, schema };
}

const id = { name: 'id', type: 'string' };
const status = (symbols: string[], fallback?: string): unknown => ({
  name: 'status',
  type: { type: 'enum', name: 'Status', symbols, ...(fallback ? { default: fallback } : {}) },
});

function only(violations: ReturnType<typeof checkSubject>) {
  expect(violations).toHaveLength(1);
  return violations[0]!;
}

describe('the compatibility checker refuses each kind of breaking change, naming subject, field and rule', () => {
  it('a field added without a default breaks BACKWARD: the new schema cannot read old records', () => {
    const old = record([id]);
    const next = record([id, { name: 'email', type: 'string' }]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD'));
    expect(violation).toMatchObject({
      rule: 'READER_FIELD_MISSING_DEFAULT_VALUE',
      field: 'email',
      direction: 'backward',
      against: 'repo v1',
    });
    expect(violation.message).toBe(
      'raw.test.thing-value: field email: READER_FIELD_MISSING_DEFAULT_VALUE: field "email" was added without a default, so records written with v1 cannot be read (BACKWARD, against repo v1)',
    );
  });

  it('a field added with a default is backward compatible', () => {
    const old = record([id]);
    const next = record([id, { name: 'email', type: ['null', 'string'], default: null }]);
    expect(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD')).toEqual([]);
  });

  it('a field removed without a default in the old version breaks FORWARD: old consumers cannot read new records', () => {
    const old = record([id, { name: 'email', type: 'string' }]);
    const next = record([id]);
    expect(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD')).toEqual([]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'FORWARD'));
    expect(violation).toMatchObject({
      rule: 'READER_FIELD_MISSING_DEFAULT_VALUE',
      field: 'email',
      direction: 'forward',
    });
    expect(violation.message).toContain(
      'field "email" was removed (or renamed), but v1 declares it without a default, so consumers on v1 cannot read new records',
    );
  });

  it('a changed type is refused with both types named', () => {
    const old = record([id, { name: 'amount', type: 'long' }]);
    const next = record([id, { name: 'amount', type: 'string' }]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD'));
    expect(violation.rule).toBe('TYPE_MISMATCH');
    expect(violation.message).toBe(
      'raw.test.thing-value: field amount: TYPE_MISMATCH: type changed from long in v1 to string, which cannot read it (BACKWARD, against repo v1)',
    );
  });

  it('an enum symbol removed breaks BACKWARD when the new enum has no default', () => {
    const old = record([id, status(['OPEN', 'PAID', 'VOID'])]);
    const next = record([id, status(['OPEN', 'PAID'])]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD'));
    expect(violation).toMatchObject({ rule: 'MISSING_ENUM_SYMBOLS', field: 'status' });
    expect(violation.message).toBe(
      'raw.test.thing-value: field status: MISSING_ENUM_SYMBOLS: enum symbol(s) VOID of syncline.test.Status were removed and the new enum has no default, so records written with v1 may hold them (BACKWARD, against repo v1)',
    );
  });

  it('an enum symbol removed is allowed when the new enum has a default to read it as', () => {
    const old = record([id, status(['OPEN', 'PAID', 'VOID', 'UNKNOWN'], 'UNKNOWN')]);
    const next = record([id, status(['OPEN', 'PAID', 'UNKNOWN'], 'UNKNOWN')]);
    expect(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD')).toEqual([]);
  });

  it('an enum symbol added breaks FORWARD when the old enum has no default, and not when it has one', () => {
    const next = record([id, status(['OPEN', 'PAID', 'REFUNDED'])]);
    const violation = only(
      checkSubject(SUBJECT, next, [v(2, record([id, status(['OPEN', 'PAID'])]))], 'FORWARD'),
    );
    expect(violation.message).toContain(
      "enum symbol(s) REFUNDED were added to syncline.test.Status, but v2's enum has no default, so consumers on v2 cannot read them",
    );
    const withDefault = record([id, status(['OPEN', 'PAID', 'UNKNOWN'], 'UNKNOWN')]);
    const grown = record([id, status(['OPEN', 'PAID', 'REFUNDED', 'UNKNOWN'], 'UNKNOWN')]);
    expect(checkSubject(SUBJECT, grown, [v(1, withDefault)], 'FULL')).toEqual([]);
  });

  it('a renamed record without an alias is a NAME_MISMATCH; with the old name as an alias it is fine', () => {
    const old = record([id]);
    const renamed = parseSchema({ type: 'record', name: 'Thing2', namespace: 'syncline.test', fields: [id] });
    const violation = only(checkSubject(SUBJECT, renamed, [v(1, old)], 'BACKWARD'));
    expect(violation.rule).toBe('NAME_MISMATCH');
    expect(violation.message).toContain(
      'type renamed from syncline.test.Thing in v1 to syncline.test.Thing2 without an alias for the old name',
    );
    const aliased = parseSchema({
      type: 'record',
      name: 'Thing2',
      namespace: 'syncline.test',
      aliases: ['Thing'],
      fields: [id],
    });
    expect(checkSubject(SUBJECT, aliased, [v(1, old)], 'BACKWARD')).toEqual([]);
  });

  it('a field renamed with the old name as an alias is read from the old field', () => {
    const old = record([id, { name: 'mail', type: 'string' }]);
    const next = record([id, { name: 'email', type: 'string', aliases: ['mail'] }]);
    expect(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD')).toEqual([]);
  });

  it('a changed fixed size is a FIXED_SIZE_MISMATCH', () => {
    const fixed = (size: number): unknown => ({ name: 'hash', type: { type: 'fixed', name: 'Hash', size } });
    const violation = only(
      checkSubject(SUBJECT, record([fixed(32)]), [v(1, record([fixed(16)]))], 'BACKWARD'),
    );
    expect(violation).toMatchObject({ rule: 'FIXED_SIZE_MISMATCH', field: 'hash' });
    expect(violation.message).toContain('fixed size changed from fixed(16) in v1 to fixed(32)');
  });

  it('a union that loses a branch old records may hold is a MISSING_UNION_BRANCH', () => {
    const old = record([{ name: 'ref', type: ['null', 'string', 'long'], default: null }]);
    const next = record([{ name: 'ref', type: ['null', 'string'], default: null }]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD'));
    expect(violation).toMatchObject({ rule: 'MISSING_UNION_BRANCH', field: 'ref' });
    expect(violation.message).toContain(
      'the union no longer accepts long, which records written with v1 may hold',
    );
  });

  it('a field made required from optional breaks BACKWARD (old records may hold null)', () => {
    const old = record([{ name: 'email', type: ['null', 'string'], default: null }]);
    const next = record([{ name: 'email', type: 'string' }]);
    const violation = only(checkSubject(SUBJECT, next, [v(1, old)], 'BACKWARD'));
    expect(violation.rule).toBe('TYPE_MISMATCH');
    expect(violation.message).toContain('type changed from union [null, string] in v1 to string');
  });

  it('a changed logical type is refused although the bytes would decode', () => {
    const ts = (logicalType: string): unknown => ({ name: 'at', type: { type: 'long', logicalType } });
    const violation = only(
      checkSubject(
        SUBJECT,
        record([ts('timestamp-micros')]),
        [v(1, record([ts('timestamp-millis')]))],
        'BACKWARD',
      ),
    );
    expect(violation).toMatchObject({ rule: 'LOGICAL_TYPE_MISMATCH', field: 'at' });
    expect(violation.message).toContain(
      'logical type changed from timestamp-millis in v1 to timestamp-micros',
    );
  });

  it('names the full path of a nested field, through records, arrays and optional unions', () => {
    const line = (amountType: string): unknown => ({
      name: 'data',
      type: {
        type: 'record',
        name: 'Data',
        fields: [
          {
            name: 'lines',
            type: {
              type: 'array',
              items: { type: 'record', name: 'Line', fields: [{ name: 'amount', type: amountType }] },
            },
          },
          {
            name: 'address',
            type: ['null', { type: 'record', name: 'Addr', fields: [{ name: 'country', type: amountType }] }],
            default: null,
          },
        ],
      },
    });
    const violations = checkSubject(
      SUBJECT,
      record([line('string')]),
      [v(1, record([line('long')]))],
      'BACKWARD',
    );
    expect(violations.map((violation) => violation.field)).toEqual([
      'data.lines[].amount',
      'data.address.country',
    ]);
  });
});

describe('the checker follows the Avro specification where data stays readable', () => {
  it.each([
    ['int', 'long'],
    ['int', 'float'],
    ['int', 'double'],
    ['long', 'float'],
    ['long', 'double'],
    ['float', 'double'],
    ['string', 'bytes'],
    ['bytes', 'string'],
  ])('a writer %s is read as %s (promotion)', (writer, reader) => {
    expect(checkReadable(parseSchema(reader), parseSchema(writer))).toEqual([]);
  });

  it.each([
    ['long', 'int'],
    ['double', 'float'],
    ['string', 'int'],
    ['boolean', 'string'],
  ])('a writer %s is not read as %s', (writer, reader) => {
    expect(checkReadable(parseSchema(reader), parseSchema(writer))[0]?.rule).toBe(
      CompatibilityRules.TYPE_MISMATCH,
    );
  });

  it('a plain value is read into a union that has its type, and a promoted branch when there is no exact one', () => {
    expect(checkReadable(parseSchema(['null', 'string']), parseSchema('string'))).toEqual([]);
    expect(checkReadable(parseSchema(['null', 'double']), parseSchema('int'))).toEqual([]);
    expect(checkReadable(parseSchema(['null', 'boolean']), parseSchema('int'))[0]?.rule).toBe(
      CompatibilityRules.MISSING_UNION_BRANCH,
    );
  });

  it('checks recursive records without looping', () => {
    const tree = (extra: unknown[]): AvroNode =>
      parseSchema({
        type: 'record',
        name: 'Node',
        fields: [{ name: 'children', type: { type: 'array', items: 'Node' } }, ...extra],
      });
    expect(checkReadable(tree([]), tree([]))).toEqual([]);
    const problems = checkReadable(tree([{ name: 'label', type: 'string' }]), tree([]));
    expect(problems.map((problem) => problem.path)).toEqual(['label']);
  });

  it('array items and map values are checked', () => {
    expect(
      checkReadable(
        parseSchema({ type: 'array', items: 'long' }),
        parseSchema({ type: 'array', items: 'int' }),
      ),
    ).toEqual([]);
    expect(
      checkReadable(
        parseSchema({ type: 'map', values: 'int' }),
        parseSchema({ type: 'map', values: 'string' }),
      )[0],
    ).toMatchObject({
      rule: 'TYPE_MISMATCH',
      path: '{}',
    });
  });
});

describe('compatibility levels', () => {
  const v1 = record([id]);
  const v2 = record([id, { name: 'email', type: 'string', default: '' }]);
  // v3 drops the default: readable against v2 (which always has email) but not against v1.
  const v3 = record([id, { name: 'email', type: 'string' }]);

  it.each<[CompatibilityLevel, number]>([
    ['BACKWARD', 0],
    ['BACKWARD_TRANSITIVE', 1],
    ['FULL', 0],
    ['FULL_TRANSITIVE', 1],
    ['NONE', 0],
  ])('%s: v3 against v1 and v2 gives %i violation(s)', (level, expected) => {
    expect(checkSubject(SUBJECT, v3, [v(1, v1), v(2, v2)], level)).toHaveLength(expected);
  });

  it('FORWARD_TRANSITIVE checks every old reader, FORWARD only the latest', () => {
    const old = record([id, { name: 'legacy', type: 'string' }]);
    const middle = record([id, { name: 'legacy', type: 'string', default: '' }]);
    const next = record([id]);
    expect(checkSubject(SUBJECT, next, [v(1, old), v(2, middle)], 'FORWARD')).toEqual([]);
    expect(only(checkSubject(SUBJECT, next, [v(1, old), v(2, middle)], 'FORWARD_TRANSITIVE')).against).toBe(
      'repo v1',
    );
  });

  it('non-transitive levels check the latest version of the repository and of the registry each', () => {
    const violations = checkSubject(
      SUBJECT,
      v3,
      [v(1, v1, 'repo'), v(1, v1, 'registry'), v(2, v2, 'registry')],
      'BACKWARD',
    );
    expect(violations.map((violation) => violation.against)).toEqual(['repo v1']);
  });

  it('a subject without earlier versions accepts anything', () => {
    expect(checkSubject(SUBJECT, v3, [], 'FULL_TRANSITIVE')).toEqual([]);
  });
});
