/**
 * Reading a SaaS target's settings from the environment, the way src/runtime/config.ts reads the
 * core ones: validated once at start, one line per bad variable naming it and what was wrong, the
 * value shown only when it is not a secret. Each sink declares its own small schema (its variables
 * are only needed by the role that runs it, so a process of another role does not require them).
 */
import type { z } from 'zod';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';

export function readTargetConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  secretVariables: ReadonlySet<string>,
  what: string,
): z.infer<S> {
  // Empty strings count as unset, as in the core configuration.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '?');
    const value = present[variable];
    const shown =
      value === undefined || secretVariables.has(variable)
        ? ''
        : ` (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)})`;
    return `${variable}: ${issue.message}${shown}`;
  });
  throw SynclineError.permanent(
    ErrorCodes.CONFIG_INVALID,
    `invalid ${what} configuration:\n  ${lines.join('\n  ')}`,
  );
}

/** An http(s) URL without a trailing slash. */
export function httpUrl(value: string): boolean {
  try {
    const protocol = new URL(value).protocol;
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
