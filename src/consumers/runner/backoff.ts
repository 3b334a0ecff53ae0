/**
 * How long a sink waits before it tries a transiently failed record again: exponential back-off
 * with "equal jitter" (half the delay fixed, half random), so that many sinks failing at once do
 * not retry in lockstep, and never sooner than the target asked with Retry-After.
 */

export interface RetryPolicy {
  /** Delay before the first retry (ms). */
  baseDelayMs: number;
  /** Largest delay between two attempts (ms), Retry-After aside. */
  maxDelayMs: number;
  /**
   * Attempts of one record (the first included) before the runner asks the target whether it is
   * up at all: down → circuit open (no attempt is spent while it is); up → the record goes to the
   * DLQ as `retriable-exhausted`, since this record, not the target, is the problem.
   */
  maxAttempts: number;
  /** A Retry-After beyond this is capped (ms): a target asking for an hour is treated as down. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxAttempts: 8,
  maxRetryAfterMs: 120_000,
};

/**
 * The delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based). `random` is
 * injectable for tests.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential / 2 + random() * (exponential / 2);
  const asked = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return Math.round(Math.max(jittered, asked));
}

/** Delay between probes of a target whose circuit is open: 500 ms doubling to 5 s, with jitter. */
export function probeDelayMs(probes: number, random: () => number = Math.random): number {
  const base = Math.min(5000, 500 * 2 ** Math.max(0, probes - 1));
  return Math.round(base * (0.8 + random() * 0.4));
}
