/**
 * Readiness: whether this process should be given work now. Modules register a named check (the
 * broker, the registry, Redis, ...); `/readyz` runs them all at once, each bounded by its timeout,
 * and is ready only when every one passes and the process is not shutting down. A check that
 * changes state is logged once, so an outage shows as two log lines, not one per probe.
 */
import { classify, ErrorCodes, SynclineError } from './errors.ts';
import type { Logger } from './logger.ts';
import { gauge, type Gauge, type Registry } from './metrics.ts';

/** One dependency or condition the process needs to do its work. */
export interface ReadinessCheck {
  /** Short, stable, shown in /readyz and as the `check` metric label: `kafka`, `redis`, ... */
  name: string;
  /** Resolves when healthy; rejects (ideally with a SynclineError) with the reason otherwise. */
  check: () => Promise<void>;
  /** Default: the registry's `defaultTimeoutMs`. */
  timeoutMs?: number;
}

export type CheckState = 'up' | 'down' | 'timeout';

export interface CheckResult {
  name: string;
  state: CheckState;
  durationMs: number;
  /** Why the check failed; a one-line reason, never a secret. */
  reason?: string;
}

export interface ReadinessReport {
  ready: boolean;
  /** Set while the process is shutting down: it takes no new work whatever the checks say. */
  draining?: string;
  checks: CheckResult[];
}

export interface ReadinessOptions {
  logger: Logger;
  /** Default 2000 ms. Keep it under the orchestrator's probe timeout. */
  defaultTimeoutMs?: number;
  /** When given, `syncline_readiness_check_up{check}` is 1 or 0 after every evaluation. */
  metrics?: Registry;
}

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #lastState = new Map<string, CheckState>();
  readonly #logger: Logger;
  readonly #defaultTimeoutMs: number;
  readonly #gauge: Gauge<'check'> | undefined;
  #draining: string | undefined;

  constructor(options: ReadinessOptions) {
    this.#logger = options.logger.child({ component: 'readiness' });
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 2000;
    this.#gauge = options.metrics
      ? gauge(options.metrics, {
          name: 'syncline_readiness_check_up',
          help: 'Whether a readiness check passed at its last evaluation (1) or not (0).',
          labelNames: ['check'],
        })
      : undefined;
  }

  /** Registers a check; returns a function that removes it. Names are unique. */
  add(check: ReadinessCheck): () => void {
    if (this.#checks.has(check.name)) {
      throw SynclineError.permanent(
        ErrorCodes.UNEXPECTED,
        `readiness check ${check.name} is registered twice`,
      );
    }
    this.#checks.set(check.name, check);
    return () => {
      if (this.#checks.get(check.name) === check) {
        this.#checks.delete(check.name);
        this.#lastState.delete(check.name);
        this.#gauge?.remove({ check: check.name });
      }
    };
  }

  /** From now on the process reports not ready, e.g. because it is shutting down. */
  drain(reason: string): void {
    this.#draining ??= reason;
  }

  get draining(): string | undefined {
    return this.#draining;
  }

  /** Runs every check concurrently, each within its timeout. Never rejects. */
  async evaluate(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.#checks.values()].map((check) => this.#run(check)));
    const ready = this.#draining === undefined && checks.every((result) => result.state === 'up');
    return { ready, ...(this.#draining === undefined ? {} : { draining: this.#draining }), checks };
  }

  async #run(check: ReadinessCheck): Promise<CheckResult> {
    const timeoutMs = check.timeoutMs ?? this.#defaultTimeoutMs;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = Symbol('timeout');
    let result: CheckResult;
    try {
      const outcome = await Promise.race([
        // A check that throws synchronously is a failed check, not a failed evaluation.
        Promise.resolve().then(check.check),
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), timeoutMs);
        }),
      ]);
      const durationMs = Math.round(performance.now() - started);
      result =
        outcome === timedOut
          ? { name: check.name, state: 'timeout', durationMs, reason: `no answer within ${timeoutMs}ms` }
          : { name: check.name, state: 'up', durationMs };
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      result = { name: check.name, state: 'down', durationMs, reason: oneLine(classify(error).message) };
    } finally {
      clearTimeout(timer);
    }
    this.#record(result);
    return result;
  }

  #record(result: CheckResult): void {
    this.#gauge?.set({ check: result.name }, result.state === 'up' ? 1 : 0);
    const previous = this.#lastState.get(result.name);
    this.#lastState.set(result.name, result.state);
    if (previous === result.state) return;
    if (result.state === 'up') {
      if (previous !== undefined) this.#logger.info({ check: result.name }, 'readiness check passes again');
    } else {
      this.#logger.warn(
        { check: result.name, state: result.state, reason: result.reason },
        'readiness check fails',
      );
    }
  }
}

function oneLine(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
