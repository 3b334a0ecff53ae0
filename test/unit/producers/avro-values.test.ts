/**
 * The conversions every connector relies on: exact decimal amounts to minor units, Unix seconds and
 * ISO timestamps to milliseconds, dates to days, unknown enum values to `unknown`, and the schema
 * check that names each wrong field.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  isoToMs,
  optDateToDays,
  optMinorUnits,
  schemaProblems,
  secondsToMs,
  symbol,
} from '../../../src/producers/avro-values.ts';

describe('optMinorUnits', () => {
  it.each([
    [12500.5, 'EUR', 1_250_050],
    ['12500.50', 'EUR', 1_250_050],
    [0.1, 'USD', 10],
    [1.005, 'USD', 1.005],
    [1999, 'JPY', 1999],
    ['12.345', 'KWD', 12_345],
    ['-3.20', 'EUR', -320],
    [null, 'EUR', null],
  ])('converts %s %s exactly to %s', (amount, currency, expected) => {
    expect(optMinorUnits(amount, currency)).toBe(expected);
  });

  it('never goes through floating point arithmetic (0.1 + 0.2 is not 30.000000000000004 cents)', () => {
    expect(optMinorUnits(0.1 + 0.2, 'EUR')).toBe(0.1 + 0.2); // 0.30000000000000004 has too many digits: kept, refused by the schema
    expect(optMinorUnits(0.3, 'EUR')).toBe(30);
  });

  it('keeps what it cannot convert, for the schema check to refuse', () => {
    expect(optMinorUnits('twelve', 'EUR')).toBe('twelve');
    expect(optMinorUnits({ amount: 1 }, 'EUR')).toEqual({ amount: 1 });
  });
});

describe('time conversions', () => {
  it('turns Unix seconds and ISO timestamps into epoch milliseconds, and dates into days', () => {
    expect(secondsToMs(1_767_600_000)).toBe(1_767_600_000_000);
    expect(isoToMs('2026-01-05T08:00:00.000Z')).toBe(Date.UTC(2026, 0, 5, 8));
    expect(optDateToDays('1970-01-11')).toBe(10);
    expect(optDateToDays(undefined)).toBeNull();
  });

  it('keeps malformed times for the schema to refuse', () => {
    expect(secondsToMs('yesterday')).toBe('yesterday');
    expect(isoToMs('not a date')).toBe('not a date');
    expect(optDateToDays('2026-13-45')).toBe('2026-13-45');
  });
});

describe('symbol', () => {
  it('keeps known symbols, maps new ones to the fallback and keeps non-strings', () => {
    expect(symbol('active', ['active'])).toBe('active');
    expect(symbol('paused_forever', ['active'])).toBe('unknown');
    expect(symbol(3, ['active'])).toBe(3);
  });
});

describe('schemaProblems', () => {
  const type = avro.Type.forSchema({
    type: 'record',
    name: 'T',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'long' },
      {
        name: 'items',
        type: {
          type: 'array',
          items: { type: 'record', name: 'I', fields: [{ name: 'sku', type: 'string' }] },
        },
      },
    ],
  });

  it('is empty for a value that fits', () => {
    expect(schemaProblems(type, { id: 'a', amount: 1, items: [{ sku: 'x' }] })).toEqual([]);
  });

  it('names every field that does not fit, with its path', () => {
    const problems = schemaProblems(type, { id: 7, amount: 1.5, items: [{ sku: 'x' }, { sku: null }] });
    expect(problems.map((problem) => problem.path)).toEqual(['id', 'amount', 'items.1.sku']);
    expect(problems[1]!.message).toBe('expected long, got the fraction 1.5');
  });
});
