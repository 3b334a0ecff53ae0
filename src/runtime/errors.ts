/**
 * Errors as values with a class. Every error Syncline raises is a {@link SynclineError} with a code
 * from one closed list, a `retriable` flag that steers the flow (back off and retry, or dead-letter at
 * once), and the context an operator needs (topic, partition, offset, schema id, connector, target).
 */

/** The closed list of error codes. Add a code here, never a free-form string at a throw site. */
export const ErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  INPUT_INVALID: 'INPUT_INVALID',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  BROKER_UNAVAILABLE: 'BROKER_UNAVAILABLE',
  /** The broker refused our credentials (SASL): a configuration problem, retrying will not help. */
  BROKER_AUTH_FAILED: 'BROKER_AUTH_FAILED',
  /** A topic we write to or read from does not exist: the topology has not been applied. */
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  REDIS_UNAVAILABLE: 'REDIS_UNAVAILABLE',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  SCHEMA_INCOMPATIBLE: 'SCHEMA_INCOMPATIBLE',
  SCHEMA_NOT_FOUND: 'SCHEMA_NOT_FOUND',
  DESERIALIZATION_FAILED: 'DESERIALIZATION_FAILED',
  SERIALIZATION_FAILED: 'SERIALIZATION_FAILED',
  MAPPING_FAILED: 'MAPPING_FAILED',
  TARGET_REJECTED: 'TARGET_REJECTED',
  TARGET_UNAVAILABLE: 'TARGET_UNAVAILABLE',
  TARGET_RATE_LIMITED: 'TARGET_RATE_LIMITED',
  TIMEOUT: 'TIMEOUT',
  TOPOLOGY_REFUSED: 'TOPOLOGY_REFUSED',
  INFRA_FAILED: 'INFRA_FAILED',
  RETRIES_EXHAUSTED: 'RETRIES_EXHAUSTED',
  /** The component is closing and takes no more work; the caller may retry against another instance. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  UNEXPECTED: 'UNEXPECTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What an operator needs to find the record or the part that failed. Never secrets or personal data. */
export interface ErrorContext {
  topic?: string;
  partition?: number;
  offset?: string;
  schemaId?: number;
  subject?: string;
  connector?: string;
  target?: string;
  group?: string;
  part?: string;
  logFile?: string;
  [key: string]: string | number | boolean | undefined;
}

export interface SynclineErrorOptions {
  retriable: boolean;
  context?: ErrorContext;
  cause?: unknown;
  /** For retriable errors: the earliest sensible retry, e.g. from a Retry-After header. */
  retryAfterMs?: number;
}

export class SynclineError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: SynclineErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'SynclineError';
    this.code = code;
    this.retriable = options.retriable;
    this.context = options.context ?? {};
    this.retryAfterMs = options.retryAfterMs;
  }

  /** A transient failure: back off and try again. */
  static retriable(code: ErrorCode, message: string, context?: ErrorContext, cause?: unknown): SynclineError {
    return new SynclineError(code, message, { retriable: true, context, cause });
  }

  /** A failure that will not go away by retrying: dead-letter or refuse at once. */
  static permanent(code: ErrorCode, message: string, context?: ErrorContext, cause?: unknown): SynclineError {
    return new SynclineError(code, message, { retriable: false, context, cause });
  }

  /** A plain object for logs and DLQ headers. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      context: this.context,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

/**
 * Classifies anything thrown into a SynclineError. Never throws itself, even on values it did not
 * create. Programmer errors (TypeError, RangeError) are permanent: retrying cannot fix a bug.
 * Errors from kafkajs carry `retriable`; we keep their verdict.
 */
export function classify(error: unknown, context?: ErrorContext): SynclineError {
  if (error instanceof SynclineError) {
    return context
      ? new SynclineError(error.code, error.message, {
          ...optionsOf(error),
          context: { ...error.context, ...context },
        })
      : error;
  }
  try {
    if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
      return SynclineError.permanent(ErrorCodes.UNEXPECTED, error.message, context, error);
    }
    if (error instanceof Error) {
      const retriable = (error as { retriable?: unknown }).retriable;
      if (typeof retriable === 'boolean') {
        return new SynclineError(
          retriable ? ErrorCodes.BROKER_UNAVAILABLE : ErrorCodes.UNEXPECTED,
          error.message,
          {
            retriable,
            context,
            cause: error,
          },
        );
      }
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && NETWORK_CODES.has(code)) {
        return SynclineError.retriable(ErrorCodes.TARGET_UNAVAILABLE, error.message, context, error);
      }
      return SynclineError.permanent(ErrorCodes.UNEXPECTED, error.message, context, error);
    }
    return SynclineError.permanent(
      ErrorCodes.UNEXPECTED,
      `non-error value thrown: ${String(error)}`,
      context,
    );
  } catch {
    return SynclineError.permanent(ErrorCodes.UNEXPECTED, 'unclassifiable error', context);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

function optionsOf(error: SynclineError): SynclineErrorOptions {
  return { retriable: error.retriable, cause: error.cause, retryAfterMs: error.retryAfterMs };
}
