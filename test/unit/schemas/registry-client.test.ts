import { describe, expect, it } from 'vitest';
import { explainPointer } from '../../../src/schemas/registry-client.ts';

describe("turning a registry refusal's JSON pointers into field paths", () => {
  const schema = {
    type: 'record',
    name: 'Customer',
    fields: [
      { name: 'envelope', type: 'string' },
      {
        name: 'data',
        type: {
          type: 'record',
          name: 'Data',
          fields: [
            { name: 'id', type: 'string' },
            { name: 'balance', type: 'string' },
          ],
        },
      },
      { name: 'status', type: ['null', { type: 'enum', name: 'S', symbols: ['A'] }], default: null },
    ],
  };

  it('names nested fields (what Apicurio answers: /fields/1/type/fields/1/type)', () => {
    expect(
      explainPointer(
        'reader type: STRING not compatible with writer type: LONG at /fields/1/type/fields/1/type',
        schema,
      ),
    ).toBe(
      'reader type: STRING not compatible with writer type: LONG at /fields/1/type/fields/1/type (field data.balance)',
    );
  });

  it('follows union branches and keeps pointers it cannot resolve', () => {
    expect(explainPointer('[Z] at /fields/2/type/1/symbols', schema)).toBe(
      '[Z] at /fields/2/type/1/symbols (field status)',
    );
    expect(explainPointer('x at /fields/9', schema)).toBe('x at /fields/9');
  });
});
