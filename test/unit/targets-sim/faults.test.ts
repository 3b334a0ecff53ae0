/**
 * The pieces the test doubles share: fault decisions that are exact and repeatable, a per-client
 * fixed-window limiter with an honest Retry-After, token comparison, Salesforce ids, and the change
 * sets the recorder keeps.
 */
import { describe, expect, it } from 'vitest';
import { FaultInjector, FaultSettingsSchema, mulberry32 } from '../../../src/targets-sim/common/faults.ts';
import {
  canonicalJson,
  clientIdOf,
  FixedWindowLimiter,
  tokenMatches,
} from '../../../src/targets-sim/common/http.ts';
import { diff, Recorder } from '../../../src/targets-sim/common/recorder.ts';
import { newId, normalizeId, to18 } from '../../../src/targets-sim/salesforce/salesforce-ids.ts';

describe('fault injector', () => {
  it('fails exactly failNext requests, then passes', () => {
    const faults = new FaultInjector();
    faults.set({ failNext: 2, errorStatus: 502 });

    const kinds = Array.from({ length: 4 }, () => faults.verdict());

    expect(kinds.map((verdict) => (verdict.kind === 'fail' ? verdict.status : 'pass'))).toEqual([
      502,
      502,
      'pass',
      'pass',
    ]);
  });

  it('draws the same failures from the same seed, and close to the rate over many requests', () => {
    const run = (seed: number) => {
      const faults = new FaultInjector();
      faults.set({ errorRate: 0.3, seed });
      return Array.from({ length: 1000 }, () => faults.verdict().kind);
    };
    const first = run(11);

    expect(run(11)).toEqual(first);
    expect(run(12)).not.toEqual(first);
    const failures = first.filter((kind) => kind === 'fail').length;
    expect(failures).toBeGreaterThan(240);
    expect(failures).toBeLessThan(360);
  });

  it('drops exactly dropResponseNext answers and forgets everything on reset', () => {
    const faults = new FaultInjector();
    faults.set({ dropResponseNext: 1, failNext: 3 });

    expect([faults.takeDrop(), faults.takeDrop()]).toEqual([true, false]);
    faults.reset();
    expect(faults.verdict().kind).toBe('pass');
    expect(faults.state(false).remaining).toEqual({ failNext: 0, dropResponseNext: 0 });
  });

  it('refuses settings it does not know or cannot honour', () => {
    expect(FaultSettingsSchema.safeParse({ errorRate: 1.5 }).success).toBe(false);
    expect(FaultSettingsSchema.safeParse({ errorStatus: 404 }).success).toBe(false);
    expect(FaultSettingsSchema.safeParse({ explode: true }).success).toBe(false);
    expect(
      FaultSettingsSchema.safeParse({ latencyMs: 10, rateLimit: { limit: 5, windowMs: 1000 } }).success,
    ).toBe(true);
  });

  it('generates numbers in [0, 1) deterministically', () => {
    const a = mulberry32(5);
    const b = mulberry32(5);
    const values = Array.from({ length: 100 }, () => a());

    expect(values).toEqual(Array.from({ length: 100 }, () => b()));
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
  });
});

describe('fixed-window limiter', () => {
  it('allows the limit per client and window, then says how long until the window ends', () => {
    const limiter = new FixedWindowLimiter();
    const t0 = 1_000_000;

    const allowed = [1, 2, 3].map(() => limiter.take('a', 3, 60_000, t0).allowed);
    const refused = limiter.take('a', 3, 60_000, t0 + 15_500);
    const otherClient = limiter.take('b', 3, 60_000, t0 + 15_500);
    const nextWindow = limiter.take('a', 3, 60_000, t0 + 60_000);

    expect(allowed).toEqual([true, true, true]);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 45 });
    expect(otherClient.allowed).toBe(true);
    expect(nextWindow).toMatchObject({ allowed: true, remaining: 2 });
  });
});

describe('credentials', () => {
  it('matches tokens exactly and names clients without revealing the token', () => {
    expect(tokenMatches('secret-a', ['secret-b', 'secret-a'])).toBe(true);
    expect(tokenMatches('secret-', ['secret-a'])).toBe(false);
    expect(tokenMatches(undefined, ['secret-a'])).toBe(false);
    expect(clientIdOf('secret-a')).toMatch(/^client-[0-9a-f]{8}$/);
    expect(clientIdOf('secret-a')).not.toContain('secret');
  });

  it('writes canonical JSON with sorted keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

describe('Salesforce ids', () => {
  it('computes the case-safe 18-character suffix', () => {
    expect(to18('0019000000B98de')).toBe('0019000000B98deAAB');
  });

  it('accepts 15 and 18 characters, refuses a wrong suffix or a malformed id', () => {
    expect(normalizeId('0019000000B98de')).toBe('0019000000B98deAAB');
    expect(normalizeId('0019000000B98deaab')).toBe('0019000000B98deAAB');
    expect(normalizeId('0019000000B98deAAC')).toBeUndefined();
    expect(normalizeId('001-bad')).toBeUndefined();
  });

  it('makes distinct ids with the object prefix', () => {
    const ids = Array.from({ length: 100 }, (_, n) => newId('006', n + 1));

    expect(new Set(ids).size).toBe(100);
    expect(ids.every((id) => id.startsWith('006') && normalizeId(id) === id)).toBe(true);
  });
});

describe('recorder', () => {
  it('keeps only changed fields, and counts real changes apart from repeated writes', () => {
    const recorder = new Recorder();
    const seq = recorder.request({
      method: 'PATCH',
      path: '/x',
      query: '',
      headers: { authorization: 'Bearer s', 'idempotency-key': 'k' },
      body: {},
      status: 204,
    });
    recorder.write({
      requestSeq: seq,
      kind: 'update',
      objectType: 'Opportunity',
      id: '1',
      changed: diff({ a: 1, b: 2 }, { a: 1, b: 3 }),
    });
    recorder.write({
      requestSeq: seq,
      kind: 'update',
      objectType: 'Opportunity',
      id: '1',
      changed: diff({ a: 1, b: 3 }, { a: 1, b: 3 }),
    });

    expect(recorder.requests[0]?.headers).toEqual({ 'idempotency-key': 'k' });
    expect(recorder.writesTo('Opportunity', '1').map((write) => write.changed)).toEqual([
      { b: { from: 2, to: 3 } },
      {},
    ]);
    expect(recorder.changeCounts('Opportunity', '1')).toEqual({ b: 1 });
  });
});
