/**
 * Helpers for commands that run a server in the foreground (`erp serve`, `targets serve`): wait for
 * the signal that ends them, and read integer flags with a one-line reason when they are wrong.
 */
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/** A commander argument parser for an integer flag within [min, max]. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw SynclineError.permanent(
        ErrorCodes.CONFIG_INVALID,
        `${flag} must be an integer from ${min} to ${max} (got "${value}")`,
      );
    }
    return Number(value);
  };
}
