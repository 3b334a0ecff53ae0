/**
 * kafkajs errors as SynclineErrors. kafkajs wraps the error that matters (a protocol error such as
 * UNKNOWN_TOPIC_OR_PARTITION, a refused connection) in `KafkaJSNumberOfRetriesExceeded` or
 * `KafkaJSNonRetriableError`, whose own `retriable` flag only says that kafkajs stopped retrying.
 * We look down the cause chain and decide from what actually went wrong. Never throws.
 */
import { classify, ErrorCodes, SynclineError, type ErrorContext } from '../errors.ts';

/** Signs that the cluster, or the path to it, is down or busy: worth trying again later. */
const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

const AUTH_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const INVALID_RECORD_TYPES = new Set(['INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
}

/** Maps anything a kafkajs call threw to a SynclineError with the Kafka context of the call. */
export function mapKafkaError(error: unknown, context: ErrorContext = {}): SynclineError {
  const where: ErrorContext = { part: 'kafka', ...context };
  try {
    if (error instanceof SynclineError) return classify(error, where);
    const chain = causeChain(error);
    const names = new Set(chain.map((e) => String(e.name)));
    const types = new Set(chain.map((e) => e.type).filter((t): t is string => typeof t === 'string'));
    const codes = new Set(chain.map((e) => e.code).filter((c): c is string => typeof c === 'string'));
    const message = describe(chain);
    const has = (set: ReadonlySet<string>, values: ReadonlySet<string>): boolean =>
      [...values].some((value) => set.has(value));

    if (chain.length === 0 || isProgrammerError(chain[0])) return classify(error, where);
    if (types.has('UNKNOWN_TOPIC_OR_PARTITION')) {
      // Our topics are created from topology/, never on demand: the topology was not applied (yet).
      return SynclineError.retriable(
        ErrorCodes.TOPIC_NOT_FOUND,
        `topic does not exist (apply the topology): ${message}`,
        where,
        error,
      );
    }
    if (names.has('KafkaJSSASLAuthenticationError') || has(AUTH_TYPES, types)) {
      return SynclineError.permanent(ErrorCodes.BROKER_AUTH_FAILED, message, where, error);
    }
    if (has(TOO_LARGE_TYPES, types)) {
      return SynclineError.permanent(ErrorCodes.PAYLOAD_TOO_LARGE, message, where, error);
    }
    if (has(INVALID_RECORD_TYPES, types)) {
      return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, where, error);
    }
    const anyRetriable = chain.some((e) => e.retriable === true);
    if (
      has(UNAVAILABLE_NAMES, names) ||
      has(NETWORK_CODES, codes) ||
      names.has('KafkaJSNumberOfRetriesExceeded') ||
      anyRetriable
    ) {
      return SynclineError.retriable(ErrorCodes.BROKER_UNAVAILABLE, message, where, error);
    }
    return SynclineError.permanent(ErrorCodes.UNEXPECTED, message, where, error);
  } catch {
    return classify(error, where);
  }
}

function causeChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  // Bounded: a cause cycle must not hang error handling.
  while (current !== null && typeof current === 'object' && chain.length < 8) {
    const link: ErrorLike = current;
    chain.push(link);
    current = link.cause;
  }
  return chain;
}

function isProgrammerError(error: ErrorLike | undefined): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError;
}

/** The outer message, plus the root cause's when it says something the outer one does not. */
function describe(chain: ErrorLike[]): string {
  const outer = typeof chain[0]?.message === 'string' ? chain[0].message : 'Kafka error';
  const root = chain[chain.length - 1];
  const inner = typeof root?.message === 'string' ? root.message : '';
  return inner && !outer.includes(inner) ? `${outer}: ${inner}` : outer;
}
