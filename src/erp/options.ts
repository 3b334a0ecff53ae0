/**
 * Options of the reference ERP server, validated once (unknown options refused, each bad value named
 * by its path) and completed with defaults, so the rest of the code never sees `undefined`.
 */
import { z } from 'zod';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';

const rateLimit = z.strictObject({
  limit: z.number().int().min(1),
  windowMs: z.number().int().min(100).max(86_400_000),
});

export const ErpServerOptionsSchema = z.strictObject({
  /** PostgreSQL URL; the database is created when missing. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  /** The schema holding the ERP's tables (one ERP per schema). */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('erp'),
  /** Accepted bearer tokens (several, so a token can be rotated). */
  tokens: z.array(z.string().min(8, 'must be at least 8 characters')).min(1, 'at least one token is needed'),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Name of the company (legal entity) the API serves; created on first start. */
  companyName: z.string().min(1).max(30).default('SYNCLINE'),
  /** The company's local currency: the default currency of new customers. */
  currencyCode: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
    .default('EUR'),
  /** Requests per client (token) and window; null for none. Business Central allows 6000 per 5 minutes. */
  rateLimit: rateLimit.nullable().default({ limit: 6000, windowMs: 300_000 }),
  /** Largest page of a list (server-driven paging); clients ask for less with `Prefer: odata.maxpagesize`. */
  maxPageSize: z.number().int().min(1).max(20_000).default(1000),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 << 20)
    .default(1 << 20),
  /** How long an Idempotency-Key and its stored answer are kept. */
  idempotencyRetentionMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3_600_000),
  poolSize: z.number().int().min(2).max(100).default(10),
  /** Create the database when it does not exist (needs CREATEDB). */
  createDatabase: z.boolean().default(true),
});

export type ErpServerInput = z.input<typeof ErpServerOptionsSchema> & { logger?: Logger };
export type ErpServerSettings = z.output<typeof ErpServerOptionsSchema>;

export function resolveErpOptions(input: Omit<ErpServerInput, 'logger'>): ErpServerSettings {
  const parsed = ErpServerOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(options)'}: ${issue.message}`,
    );
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `invalid ERP server options: ${lines.join('; ')}`,
      {
        part: 'erp',
      },
    );
  }
  return parsed.data;
}
