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

/**
 * The bearer tokens of a served API from a comma-separated list (several, so a token can be rotated);
 * refuses to serve without one, naming where a token comes from.
 */
export function requireTokens(list: string | undefined, part: string, hint: string): string[] {
  const tokens = (list ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
  if (tokens.length === 0) {
    throw SynclineError.permanent(ErrorCodes.CONFIG_INVALID, hint, { part });
  }
  return tokens;
}
