/**
 * Structured logging with pino. Secrets and signatures are redacted by path, wherever they appear in a
 * logged object; a child logger carries the correlation id of the business transaction at hand.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths that must never reach a log line, at any depth we log them. */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'secrets',
  'token',
  'adminToken',
  'authorization',
  'signature',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.adminToken',
  '*.authorization',
  '*.signature',
  'headers.authorization',
  'headers["stripe-signature"]',
  'headers["x-syncline-signature"]',
  'headers["x-zendesk-webhook-signature"]',
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'req.headers["x-syncline-signature"]',
  'req.headers["x-zendesk-webhook-signature"]',
  'config.kafka.sasl.password',
  'config.webhookSecrets',
  'config.adminToken',
  'config.erp.token',
  'config.databaseUrl',
  'config.redisUrl',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where to write; defaults to stderr so that `--json` output on stdout stays machine-readable. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'syncline',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A child logger for one business transaction: every line carries its correlation id. */
export function withCorrelation(
  logger: Logger,
  correlationId: string,
  extra: Record<string, unknown> = {},
): Logger {
  return logger.child({ correlationId, ...extra });
}
