/**
 * Graceful shutdown. On SIGTERM or SIGINT the process stops taking work (readiness turns false),
 * lets work in flight finish, commits, and closes its parts in the reverse order of their
 * registration, so what was started last (the HTTP server, the consumers) stops before what it
 * depends on (the producer, Redis, the database). Then it exits 0. If that takes longer than the
 * bound (SHUTDOWN_TIMEOUT_MS) it logs which part hung and exits 1, so the supervisor never waits on
 * a stuck process. A second signal during shutdown changes nothing.
 */
import { ErrorCodes, SynclineError, classify } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Readiness } from './readiness.ts';

export interface ShutdownOptions {
  logger: Logger;
  /** The whole shutdown must fit in this (config.shutdownTimeoutMs). */
  timeoutMs: number;
  /** Marked draining first, so /readyz turns 503 and no new work is routed here. */
  readiness?: Readiness;
  /** How the process ends; replaced in tests. Default `process.exit`. */
  exit?: (code: number) => void;
}

interface Part {
  name: string;
  close: () => Promise<void> | void;
}

export class Shutdown {
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #readiness: Readiness | undefined;
  readonly #exit: (code: number) => void;
  readonly #parts: Part[] = [];
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  #running: Promise<void> | undefined;

  constructor(options: ShutdownOptions) {
    this.#logger = options.logger.child({ component: 'shutdown' });
    this.#timeoutMs = options.timeoutMs;
    this.#readiness = options.readiness;
    this.#exit = options.exit ?? ((code) => process.exit(code));
  }

  /**
   * Registers a part to close on shutdown (after every part registered later). `close` should stop
   * taking work, finish what is in flight, commit and release. Returns a function that unregisters.
   */
  register(name: string, close: () => Promise<void> | void): () => void {
    const part: Part = { name, close };
    this.#parts.push(part);
    return () => {
      const index = this.#parts.indexOf(part);
      if (index >= 0) this.#parts.splice(index, 1);
    };
  }

  /** Shuts down on these signals from now on. */
  install(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): this {
    for (const signal of signals) {
      if (this.#signalHandlers.has(signal)) continue;
      const handler = (): void => {
        if (this.#running) {
          this.#logger.warn({ signal }, 'already shutting down; signal ignored');
          return;
        }
        void this.shutdown(`received ${signal}`);
      };
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
    return this;
  }

  /** Removes the signal handlers (tests, or a process handing over to another mechanism). */
  uninstall(): void {
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers.clear();
  }

  get inProgress(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Shuts down and exits: with `exitCode` (default 0) when every part closed in time, with 1 when
   * one failed or the bound was exceeded. Use exitCode 1 for a shutdown caused by a failure, e.g.
   * a consumer that crashed for good. Calling it again returns the shutdown already running.
   */
  shutdown(reason: string, exitCode = 0): Promise<void> {
    this.#running ??= this.#run(reason, exitCode);
    return this.#running;
  }

  async #run(reason: string, exitCode: number): Promise<void> {
    const started = Date.now();
    this.#logger.info({ reason, parts: this.#parts.length, timeoutMs: this.#timeoutMs }, 'shutting down');
    this.#readiness?.drain(reason);
    const order = [...this.#parts].reverse();
    let current: string | undefined;
    let done = false;
    const watchdog = setTimeout(() => {
      if (done) return;
      done = true;
      const waiting =
        current === undefined ? [] : order.slice(order.findIndex((part) => part.name === current));
      this.#logger.fatal(
        { hung: current, notClosed: waiting.map((part) => part.name), timeoutMs: this.#timeoutMs },
        `shutdown exceeded ${this.#timeoutMs}ms: "${current ?? '?'}" did not finish`,
      );
      this.#end(1);
    }, this.#timeoutMs);

    const failed: string[] = [];
    for (const part of order) {
      current = part.name;
      try {
        await part.close();
        this.#logger.debug({ part: part.name }, 'closed');
      } catch (error) {
        failed.push(part.name);
        this.#logger.error({ part: part.name, err: classify(error).toJSON() }, 'part failed to close');
      }
      if (done) return; // the watchdog has already ended the process
    }
    done = true;
    clearTimeout(watchdog);
    const code = failed.length > 0 ? 1 : exitCode;
    this.#logger.info({ durationMs: Date.now() - started, failed, exitCode: code }, 'shutdown complete');
    this.#end(code);
  }

  /** Flushes the log (bounded: a blocked stderr must not hold the exit) and exits. */
  #end(code: number): void {
    let exited = false;
    const exit = (): void => {
      if (exited) return;
      exited = true;
      this.#exit(code);
    };
    // Not unref'd: with nothing else left on the event loop, Node would exit 0 on its own first.
    setTimeout(exit, 500);
    try {
      this.#logger.flush(() => exit());
    } catch {
      exit();
    }
  }
}

/**
 * Work in flight, counted so that shutdown can wait for it: `run` refuses new work once `stop`ped,
 * `drain` stops and resolves when the last running task settles.
 */
export class InFlight {
  readonly #tasks = new Set<Promise<unknown>>();
  #stopped = false;
  #idle: (() => void) | undefined;

  get size(): number {
    return this.#tasks.size;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs `task` unless stopped; rejects with a retriable SHUTTING_DOWN error then. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#stopped) {
      return Promise.reject(
        SynclineError.retriable(ErrorCodes.SHUTTING_DOWN, 'shutting down: no new work is taken'),
      );
    }
    const running = Promise.resolve().then(task);
    const tracked = running.finally(() => {
      this.#tasks.delete(tracked);
      if (this.#tasks.size === 0) this.#idle?.();
    });
    // The caller handles the outcome of `running`; the tracked copy must not raise its own rejection.
    tracked.catch(() => undefined);
    this.#tasks.add(tracked);
    return running;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Stops taking work and resolves when nothing is in flight. */
  async drain(): Promise<void> {
    this.stop();
    if (this.#tasks.size === 0) return;
    await new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
  }
}
