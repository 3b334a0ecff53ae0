/**
 * The schema registry client. Syncline talks to any Confluent-compatible registry (Confluent,
 * Apicurio's ccompat API, Redpanda, Karapace) at `SCHEMA_REGISTRY_URL`; credentials may be given in
 * the URL (`https://user:secret@host/...`) and are sent as HTTP Basic auth, never logged.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config.ts';
import { ErrorCodes, SynclineError } from './errors.ts';

export interface SchemaRegistryOptions {
  /** Sent as the client id header; defaults to the Kafka client id. */
  clientId?: string;
  /** Retries of one registry call on network errors and 5xx. Default 3. */
  retries?: number;
}

/** A registry endpoint with the credentials taken out of the URL. */
export interface RegistryEndpoint {
  /** The base URL without credentials or trailing slash, e.g. `http://localhost:8085/apis/ccompat/v7`. */
  host: string;
  auth?: { username: string; password: string };
}

/** Splits credentials off a registry URL (fetch and the registry client refuse them in the URL). */
export function registryEndpoint(url: string): RegistryEndpoint {
  const parsed = new URL(url);
  const auth =
    parsed.username || parsed.password
      ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
      : undefined;
  parsed.username = '';
  parsed.password = '';
  const host = parsed.toString().replace(/\/+$/, '');
  return auth ? { host, auth } : { host };
}

/** The @kafkajs/confluent-schema-registry client for the configured registry. */
export function createSchemaRegistry(config: Config, options: SchemaRegistryOptions = {}): SchemaRegistry {
  const endpoint = registryEndpoint(config.schemaRegistryUrl);
  return new SchemaRegistry({
    host: endpoint.host,
    clientId: options.clientId ?? config.kafka.clientId,
    retry: { retries: options.retries ?? 3 },
    ...(endpoint.auth ? { auth: endpoint.auth } : {}),
  });
}

/**
 * Resolves when the registry answers its global config endpoint (`GET /config`, part of the
 * Confluent API every compatible registry serves) within `timeoutMs`; rejects with a retriable
 * REGISTRY_UNAVAILABLE otherwise. For readiness checks and start-up.
 */
export async function pingRegistry(url: string, timeoutMs = 3000): Promise<void> {
  const endpoint = registryEndpoint(url);
  const headers: Record<string, string> = {
    accept: 'application/vnd.schemaregistry.v1+json, application/json',
  };
  if (endpoint.auth) {
    const basic = Buffer.from(`${endpoint.auth.username}:${endpoint.auth.password}`).toString('base64');
    headers.authorization = `Basic ${basic}`;
  }
  let response: Response;
  try {
    response = await fetch(`${endpoint.host}/config`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs}ms`
        : describeFetchError(error);
    throw SynclineError.retriable(
      ErrorCodes.REGISTRY_UNAVAILABLE,
      `schema registry ${endpoint.host} not reachable: ${reason}`,
      { part: 'schema-registry' },
      error,
    );
  }
  // Drain the body so the connection is released to the pool.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) {
    throw new SynclineError(
      ErrorCodes.REGISTRY_UNAVAILABLE,
      `schema registry ${endpoint.host} answered HTTP ${response.status}`,
      // 401/403 are a configuration problem; anything else may pass.
      { retriable: response.status !== 401 && response.status !== 403, context: { part: 'schema-registry' } },
    );
  }
}

/** undici reports "fetch failed" and keeps the reason (ECONNREFUSED, ...) in the cause. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : `${error.message}: ${cause.message}`;
  }
  return error.message;
}
