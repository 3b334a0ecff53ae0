import { describe, expect, it } from 'vitest';
import { interpretExisting } from '../../../../src/processors/pipeline/idempotency.ts';
import { isStale } from '../../../../src/processors/pipeline/ordering.ts';

describe('idempotency claims', () => {
  it('reads a done key as a duplicate with its output event ids', () => {
    expect(interpretExisting('done:["a","b"]', 1000)).toEqual({ status: 'done', eventIds: ['a', 'b'] });
  });
  it('reads a live claim of another instance as held, never as done', () => {
    expect(interpretExisting('claim:1234', 800)).toEqual({ status: 'held', leaseLeftMs: 800 });
  });
  it('reads a key that vanished between SET NX and GET as held for 0 ms (retry at once)', () => {
    expect(interpretExisting(null, -2)).toEqual({ status: 'held', leaseLeftMs: 0 });
  });
});

describe('source order', () => {
  it('calls only an older version stale; equal is the redelivery, unknown is first', () => {
    expect(isStale(4, 5)).toBe(true);
    expect(isStale(5, 5)).toBe(false);
    expect(isStale(6, 5)).toBe(false);
    expect(isStale(1, null)).toBe(false);
  });
});
