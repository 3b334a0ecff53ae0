/**
 * Fault switches shared by the reference ERP and the SaaS test doubles: what tests turn on to see how
 * a sink behaves when its target is slow, failing, throttling, ambiguous or gone.
 *
 * Every switch is deterministic where a test needs it to be: `failNext` and `dropResponseNext` count
 * requests exactly, and `errorRate` draws from a seeded generator in request arrival order, so the
 * same seed and the same request sequence give the same failures. A POST of new settings replaces the
 * old ones (anything not named is off); the admin routes themselves are never faulted.
 */
import { z } from 'zod';

/** The fault settings as the admin route `POST /_faults` accepts them. */
export const FaultSettingsSchema = z.strictObject({
  /** Every API request waits this long before it is handled. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** Share of API requests answered with `errorStatus` (0..1), drawn from the seeded generator. */
  errorRate: z.number().min(0).max(1).optional(),
  /** Seed of the generator behind `errorRate`; the same seed gives the same sequence. Default 1. */
  seed: z.number().int().optional(),
  /** The status of injected failures: 500, 502, 503 (the default) or 504. */
  errorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
  /** Retry-After (seconds) sent with injected failures, when set. */
  retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
  /** The next N API requests fail with `errorStatus`, before anything else is looked at. */
  failNext: z.number().int().min(0).max(1_000_000).optional(),
  /**
   * The next N API requests are carried out in full (a write is committed) and then the connection
   * is reset instead of answered: the client cannot know whether its write happened.
   */
  dropResponseNext: z.number().int().min(0).max(1_000_000).optional(),
  /**
   * Refuse connections: the listener is closed and open connections are reset. Over HTTP the down
   * time must be bounded with `downForMs` (nothing could reach the server to bring it back); in
   * process `down: true` lasts until the faults are changed.
   */
  down: z.boolean().optional(),
  downForMs: z.number().int().min(1).max(3_600_000).optional(),
  /** A request limit per client and window that replaces the configured one while set. */
  rateLimit: z
    .strictObject({
      limit: z.number().int().min(0),
      windowMs: z.number().int().min(100).max(86_400_000),
    })
    .optional(),
});

export type FaultSettings = z.infer<typeof FaultSettingsSchema>;

/** What the injector decided for one request before it is handled. */
export type FaultVerdict =
  | { kind: 'pass' }
  | { kind: 'fail'; status: number; retryAfterSeconds: number | undefined; reason: 'failNext' | 'errorRate' };

/** The state a GET of `/_faults` shows: the settings and what is left of the counters. */
export interface FaultState {
  settings: FaultSettings;
  remaining: { failNext: number; dropResponseNext: number };
  down: boolean;
}

export class FaultInjector {
  private settings: FaultSettings = {};
  private failNextLeft = 0;
  private dropNextLeft = 0;
  private random: () => number = mulberry32(1);

  /** Replaces every setting; anything not named is off. */
  set(settings: FaultSettings): void {
    this.settings = { ...settings };
    this.failNextLeft = settings.failNext ?? 0;
    this.dropNextLeft = settings.dropResponseNext ?? 0;
    this.random = mulberry32(settings.seed ?? 1);
  }

  reset(): void {
    this.set({});
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  state(down: boolean): FaultState {
    return {
      settings: this.current,
      remaining: { failNext: this.failNextLeft, dropResponseNext: this.dropNextLeft },
      down,
    };
  }

  get latencyMs(): number {
    return this.settings.latencyMs ?? 0;
  }

  /** The request limit that overrides the configured one, if any. */
  get rateLimit(): { limit: number; windowMs: number } | undefined {
    return this.settings.rateLimit;
  }

  /** Decides whether this API request fails before it is handled; consumes a `failNext` or a draw. */
  verdict(): FaultVerdict {
    const status = this.settings.errorStatus ?? 503;
    const retryAfterSeconds = this.settings.retryAfterSeconds;
    if (this.failNextLeft > 0) {
      this.failNextLeft -= 1;
      return { kind: 'fail', status, retryAfterSeconds, reason: 'failNext' };
    }
    const rate = this.settings.errorRate ?? 0;
    if (rate > 0 && this.random() < rate) {
      return { kind: 'fail', status, retryAfterSeconds, reason: 'errorRate' };
    }
    return { kind: 'pass' };
  }

  /** True when this handled request's answer must be dropped (the connection reset instead). */
  takeDrop(): boolean {
    if (this.dropNextLeft <= 0) return false;
    this.dropNextLeft -= 1;
    return true;
  }
}

/** A small, fast, seeded generator (mulberry32): the same seed gives the same sequence everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
