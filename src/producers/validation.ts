/**
 * Payload validation shared by the connectors: a zod schema per platform shape, and its issues turned
 * into the field list a 422 answer carries.
 */
import type { z } from 'zod';
import type { FieldProblem } from './source.ts';

/** At most this many problems are reported; a body wrong everywhere does not need a page of them. */
const MAX_PROBLEMS = 20;

export function fieldProblems(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.slice(0, MAX_PROBLEMS).map((issue) => {
    const path = issue.path.map(String).join('.');
    return {
      path: prefix && path ? `${prefix}.${path}` : prefix || path || '(body)',
      message: issue.message,
    };
  });
}

/** One line: `data.object.customer: expected string; type: required`. */
export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
}

/** Epoch milliseconds of an ISO 8601 timestamp that zod has already checked. */
export function epochMs(isoTimestamp: string): number {
  return new Date(isoTimestamp).getTime();
}
