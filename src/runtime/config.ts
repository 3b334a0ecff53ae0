/**
 * Configuration from the environment, validated once at start-up. Every bad value gets its own line
 * in the error, naming the variable and what was wrong; the rest of the code only ever sees the typed,
 * defaulted {@link Config}.
 */
import { z } from 'zod';
import { ErrorCodes, SynclineError } from './errors.ts';

const brokerList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'each broker must be host:port'))
      .min(1, 'at least one broker is needed'),
  );

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** A comma-separated list of secrets, so a secret can be rotated with old and new both active. */
const secretList = z.string().transform((value) =>
  value
    .split(',')
    .map((secret) => secret.trim())
    .filter(Boolean),
);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0' })
  .transform((value) => value === 'true' || value === '1');

const portMessage = 'must be a port number from 1 to 65535';
const port = z.coerce
  .number({ error: portMessage })
  .int(portMessage)
  .min(1, portMessage)
  .max(65535, portMessage);

const EnvSchema = z.object({
  KAFKA_BROKERS: brokerList.default(['localhost:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).default('syncline'),
  KAFKA_SSL: booleanFlag.default(false),
  KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512', 'plain']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  SCHEMA_REGISTRY_URL: url(['http:', 'https:']).default('http://localhost:8085/apis/ccompat/v7'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/syncline'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_PORT: port.default(9464),
  /** The admin server binds to loopback unless told otherwise: /metrics and /readyz are unauthenticated. */
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  WEBHOOK_PORT: port.default(8080),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  STRIPE_WEBHOOK_SECRET: secretList.default([]),
  SALESFORCE_WEBHOOK_SECRET: secretList.default([]),
  ZENDESK_WEBHOOK_SECRET: secretList.default([]),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** The ERP customer-master API the polling connector pages through; polling is off without it. */
  ERP_API_URL: url(['http:', 'https:']).optional(),
  ERP_API_TOKEN: z.string().min(1).optional(),
  ERP_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  kafka: {
    brokers: string[];
    clientId: string;
    ssl: boolean;
    sasl?: { mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain'; username: string; password: string };
  };
  schemaRegistryUrl: string;
  redisUrl: string;
  databaseUrl: string;
  adminToken?: string;
  adminPort: number;
  adminHost: string;
  webhookPort: number;
  logLevel: Env['LOG_LEVEL'];
  webhookSecrets: { stripe: string[]; salesforce: string[]; zendesk: string[] };
  shutdownTimeoutMs: number;
  /** Set when ERP_API_URL is: the ERP polling connector's API. */
  erp?: { apiUrl: string; token?: string; pollIntervalMs: number };
}

/**
 * Reads and validates the configuration. Throws one permanent CONFIG_INVALID error whose message has
 * one line per bad variable, e.g. `KAFKA_BROKERS: each broker must be host:port (got "kafka")`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, so `FOO= syncline ...` falls back to the default.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  // Checked on the raw values so that they are reported together with every other bad value.
  const saslProblems = saslCredentialProblems(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '?');
      const shown = SECRET_VARIABLES.has(variable) ? '' : describeValue(present[variable]);
      return `${variable}: ${issue.message}${shown}`;
    });
    lines.push(...saslProblems);
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `invalid configuration:\n  ${lines.join('\n  ')}`,
    );
  }
  const e = parsed.data;
  if (saslProblems.length > 0) {
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `invalid configuration:\n  ${saslProblems.join('\n  ')}`,
    );
  }
  return {
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      ssl: e.KAFKA_SSL,
      ...(e.KAFKA_SASL_MECHANISM && e.KAFKA_SASL_USERNAME && e.KAFKA_SASL_PASSWORD
        ? {
            sasl: {
              mechanism: e.KAFKA_SASL_MECHANISM,
              username: e.KAFKA_SASL_USERNAME,
              password: e.KAFKA_SASL_PASSWORD,
            },
          }
        : {}),
    },
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    ...(e.ADMIN_TOKEN ? { adminToken: e.ADMIN_TOKEN } : {}),
    adminPort: e.ADMIN_PORT,
    adminHost: e.ADMIN_HOST,
    webhookPort: e.WEBHOOK_PORT,
    logLevel: e.LOG_LEVEL,
    webhookSecrets: {
      stripe: e.STRIPE_WEBHOOK_SECRET,
      salesforce: e.SALESFORCE_WEBHOOK_SECRET,
      zendesk: e.ZENDESK_WEBHOOK_SECRET,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    ...(e.ERP_API_URL
      ? {
          erp: {
            apiUrl: e.ERP_API_URL,
            ...(e.ERP_API_TOKEN ? { token: e.ERP_API_TOKEN } : {}),
            pollIntervalMs: e.ERP_POLL_INTERVAL_MS,
          },
        }
      : {}),
  };
}

/** SASL needs both halves of the credentials; one line per missing variable. */
function saslCredentialProblems(env: Record<string, string | undefined>): string[] {
  if (!env.KAFKA_SASL_MECHANISM) return [];
  return ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']
    .filter((variable) => !env[variable])
    .map((variable) => `${variable}: required when KAFKA_SASL_MECHANISM is set`);
}

const SECRET_VARIABLES = new Set([
  'ADMIN_TOKEN',
  'KAFKA_SASL_PASSWORD',
  'STRIPE_WEBHOOK_SECRET',
  'SALESFORCE_WEBHOOK_SECRET',
  'ZENDESK_WEBHOOK_SECRET',
  'ERP_API_TOKEN',
  'DATABASE_URL',
  'REDIS_URL',
]);

function describeValue(value: string | undefined): string {
  if (value === undefined) return '';
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return ` (got ${JSON.stringify(shown)})`;
}
