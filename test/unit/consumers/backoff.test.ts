/**
 * Back-off of the sink runner: exponential with equal jitter, capped, never sooner than the
 * target's Retry-After (itself capped), and the circuit's probe delays growing to a ceiling.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, probeDelayMs, retryDelayMs } from '../../../src/consumers/runner/backoff.ts';

const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe('retry delay', () => {
  it('doubles per attempt, between half and all of the exponential step', () => {
    expect(retryDelayMs(1, policy, undefined, () => 0)).toBe(50);
    expect(retryDelayMs(1, policy, undefined, () => 1)).toBe(100);
    expect(retryDelayMs(3, policy, undefined, () => 0)).toBe(200);
    expect(retryDelayMs(3, policy, undefined, () => 1)).toBe(400);
  });

  it('is capped at maxDelayMs', () => {
    expect(retryDelayMs(30, policy, undefined, () => 1)).toBe(1000);
  });

  it('waits at least what Retry-After asks, capped at maxRetryAfterMs', () => {
    expect(retryDelayMs(1, policy, 3000, () => 1)).toBe(3000);
    expect(retryDelayMs(1, policy, 60_000, () => 1)).toBe(5000);
    expect(retryDelayMs(5, policy, 10, () => 1)).toBe(1000);
  });
});

describe('probe delay', () => {
  it('grows from about 500 ms to about 5 s', () => {
    expect(probeDelayMs(1, () => 0.5)).toBe(500);
    expect(probeDelayMs(2, () => 0.5)).toBe(1000);
    expect(probeDelayMs(10, () => 0.5)).toBe(5000);
    expect(probeDelayMs(10, () => 1)).toBe(6000);
  });
});
