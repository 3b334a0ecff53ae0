/**
 * A small client of the Confluent Schema Registry REST API, as served by Confluent's registry and by
 * Apicurio's ccompat API (`/apis/ccompat/v7`). Only what Syncline needs: look up and register
 * schemas, read them by id and by version, and read and set per-subject compatibility.
 *
 * Failures are classed: the registry being unreachable or answering 5xx is retriable
 * (REGISTRY_UNAVAILABLE); an unknown schema id or subject is permanent (SCHEMA_NOT_FOUND); a refused
 * schema is permanent (SCHEMA_INCOMPATIBLE) with the registry's reason.
 *
 * Apicurio 3.3's ccompat API deviates from Confluent's in ways this client works around:
 * - `GET /config/{subject}` answers `NONE` for a subject without its own level, where Confluent
 *   answers 40408; we read it with `?defaultToGlobal=true` (the effective level) and set every
 *   subject's level explicitly, so no subject depends on the global default.
 * - `POST /compatibility/...?verbose=true` answers `is_compatible` without messages, and a refused
 *   registration names JSON pointers (`/fields/1/type/symbols`), not fields; {@link explainPointer}
 *   turns those into field paths for the message.
 */
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { CompatibilityLevel } from './compatibility.ts';
import { isCompatibilityLevel } from './compatibility.ts';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** What the serde needs from a registry: ids of our schemas, and schemas by id. */
export interface SchemaSource {
  /** The id under which `schema` is registered in `subject`; SCHEMA_NOT_FOUND when it is not. */
  idOf(subject: string, schema: string): Promise<number>;
  /** The schema text of an id; SCHEMA_NOT_FOUND when the id is unknown. */
  schemaById(id: number): Promise<string>;
  /** Registers `schema` under `subject` (idempotent) and returns its id. */
  register(subject: string, schema: string): Promise<number>;
}

export interface RegisteredVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

export interface RegistryClientOptions {
  /** Base URL, e.g. `http://localhost:8085/apis/ccompat/v7`. */
  url: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export class RegistryClient implements SchemaSource {
  readonly url: string;
  private readonly timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async idOf(subject: string, schema: string): Promise<number> {
    const found = await this.lookup(subject, schema);
    if (!found) {
      throw SynclineError.permanent(
        ErrorCodes.SCHEMA_NOT_FOUND,
        `the schema is not registered under subject ${subject}; run syncline schemas register`,
        { subject },
      );
    }
    return found.id;
  }

  /** The registered version of exactly this schema in the subject, or undefined. */
  async lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined> {
    const answer = await this.request(
      'POST',
      `/subjects/${encodeURIComponent(subject)}`,
      { schema },
      { subject },
      [404],
    );
    if (answer.status === 404) return undefined;
    return registeredVersion(answer.body, subject);
  }

  /**
   * Registers `schema` under `subject` (the registry returns the existing id for a schema it has). A
   * refusal is a permanent SCHEMA_INCOMPATIBLE whose message names the fields behind the registry's
   * JSON pointers.
   */
  async register(subject: string, schema: string): Promise<number> {
    const answer = await this.request(
      'POST',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      { schema },
      { subject },
    ).catch((error: unknown) => {
      if (error instanceof SynclineError && error.code === ErrorCodes.SCHEMA_INCOMPATIBLE) {
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_INCOMPATIBLE,
          explainPointer(error.message, parseOrUndefined(schema)),
          error.context,
          error,
        );
      }
      throw error;
    });
    const id = (answer.body as { id?: unknown }).id;
    if (typeof id !== 'number') throw unexpected(`register ${subject}`, answer.body);
    return id;
  }

  async schemaById(id: number): Promise<string> {
    const answer = await this.request('GET', `/schemas/ids/${id}`, undefined, { schemaId: id });
    const body = answer.body as { schema?: unknown; schemaType?: unknown };
    if (typeof body.schema !== 'string') throw unexpected(`schema ${id}`, answer.body);
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        `schema ${id} is ${JSON.stringify(body.schemaType)}, not Avro`,
        { schemaId: id },
      );
    }
    return body.schema;
  }

  async subjects(): Promise<string[]> {
    const answer = await this.request('GET', '/subjects', undefined, {});
    return stringArray(answer.body, 'subjects');
  }

  /** The subject's versions, oldest first; empty when the subject does not exist. */
  async versions(subject: string): Promise<number[]> {
    const answer = await this.request(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      undefined,
      { subject },
      [404],
    );
    if (answer.status === 404) return [];
    const versions = answer.body;
    if (!Array.isArray(versions) || versions.some((v) => typeof v !== 'number'))
      throw unexpected(`versions of ${subject}`, versions);
    return (versions as number[]).sort((a, b) => a - b);
  }

  async version(subject: string, version: number | 'latest'): Promise<RegisteredVersion> {
    const answer = await this.request(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
      undefined,
      { subject },
    );
    return registeredVersion(answer.body, subject);
  }

  /** Every version the subject holds, oldest first. */
  async allVersions(subject: string): Promise<RegisteredVersion[]> {
    const versions = await this.versions(subject);
    const out: RegisteredVersion[] = [];
    for (const version of versions) out.push(await this.version(subject, version));
    return out;
  }

  /** The compatibility level in force for the subject (its own, else the global one). */
  async compatibility(subject: string): Promise<CompatibilityLevel> {
    const answer = await this.request(
      'GET',
      `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`,
      undefined,
      { subject },
      [404],
    );
    if (answer.status === 404) return this.globalCompatibility();
    return levelOf(answer.body, subject);
  }

  /**
   * The subject's own level, or undefined when it has none (Confluent: 404). Apicurio answers NONE
   * for a subject without a level of its own, so NONE here may mean "unset" there.
   */
  async ownCompatibility(subject: string): Promise<CompatibilityLevel | undefined> {
    const answer = await this.request(
      'GET',
      `/config/${encodeURIComponent(subject)}`,
      undefined,
      { subject },
      [404],
    );
    if (answer.status === 404) return undefined;
    return levelOf(answer.body, subject);
  }

  async globalCompatibility(): Promise<CompatibilityLevel> {
    const answer = await this.request('GET', '/config', undefined, {});
    return levelOf(answer.body, 'global');
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.request(
      'PUT',
      `/config/${encodeURIComponent(subject)}`,
      { compatibility: level },
      { subject },
    );
  }

  /** The registry's own verdict on whether `schema` may be the subject's next version. */
  async isCompatible(subject: string, schema: string): Promise<boolean> {
    const answer = await this.request(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      { schema },
      { subject },
      [404],
    );
    if (answer.status === 404) return true; // no version yet: anything goes
    const verdict = (answer.body as { is_compatible?: unknown }).is_compatible;
    if (typeof verdict !== 'boolean') throw unexpected(`compatibility of ${subject}`, answer.body);
    return verdict;
  }

  /** Deletes a subject (soft, then hard when `permanent`). For tests and operators; never called by the sync. */
  async deleteSubject(subject: string, permanent = false): Promise<void> {
    await this.request('DELETE', `/subjects/${encodeURIComponent(subject)}`, undefined, { subject }, [404]);
    if (permanent)
      await this.request(
        'DELETE',
        `/subjects/${encodeURIComponent(subject)}?permanent=true`,
        undefined,
        { subject },
        [404],
      );
  }

  private async request(
    method: string,
    path: string,
    body: unknown,
    context: { subject?: string; schemaId?: number },
    tolerated: number[] = [],
  ): Promise<{ status: number; body: unknown }> {
    const where = `${method} ${path.split('?')[0] ?? path}`;
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { Accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'Content-Type': CONTENT_TYPE }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.cause instanceof Error
          ? error.cause.message
          : (error as Error).message;
      throw SynclineError.retriable(
        ErrorCodes.REGISTRY_UNAVAILABLE,
        `schema registry at ${this.url} unreachable (${where}): ${reason}`,
        { ...context, part: 'registry' },
        error,
      );
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // keep the text: error pages are not always JSON
    }
    if (response.ok || tolerated.includes(response.status)) return { status: response.status, body: parsed };
    throw classifyFailure(response.status, parsed, where, context);
  }
}

function classifyFailure(
  status: number,
  body: unknown,
  where: string,
  context: { subject?: string; schemaId?: number },
): SynclineError {
  const { message, code } = errorBody(body);
  const text = `schema registry ${where}: ${status}${code ? ` (${code})` : ''}: ${message}`;
  if (status >= 500 || status === 429 || status === 408) {
    return SynclineError.retriable(ErrorCodes.REGISTRY_UNAVAILABLE, text, { ...context, part: 'registry' });
  }
  if (status === 404) return SynclineError.permanent(ErrorCodes.SCHEMA_NOT_FOUND, text, context);
  if (status === 409 || status === 422)
    return SynclineError.permanent(ErrorCodes.SCHEMA_INCOMPATIBLE, text, context);
  return SynclineError.permanent(ErrorCodes.UNEXPECTED, text, { ...context, part: 'registry' });
}

function errorBody(body: unknown): { message: string; code?: number } {
  if (body && typeof body === 'object') {
    const { message, error_code: code } = body as { message?: unknown; error_code?: unknown };
    return {
      message: typeof message === 'string' ? message : JSON.stringify(body),
      ...(typeof code === 'number' ? { code } : {}),
    };
  }
  return { message: typeof body === 'string' ? body.slice(0, 300) : 'no body' };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function registeredVersion(body: unknown, subject: string): RegisteredVersion {
  const { id, version, schema } = (body ?? {}) as { id?: unknown; version?: unknown; schema?: unknown };
  if (typeof id !== 'number' || typeof version !== 'number' || typeof schema !== 'string')
    throw unexpected(`version of ${subject}`, body);
  return { subject, id, version, schema };
}

function levelOf(body: unknown, subject: string): CompatibilityLevel {
  const level =
    (body as { compatibilityLevel?: unknown; compatibility?: unknown } | undefined)?.compatibilityLevel ??
    (body as { compatibility?: unknown } | undefined)?.compatibility;
  if (typeof level !== 'string' || !isCompatibilityLevel(level))
    throw unexpected(`compatibility of ${subject}`, body);
  return level;
}

function stringArray(body: unknown, what: string): string[] {
  if (!Array.isArray(body) || body.some((item) => typeof item !== 'string')) throw unexpected(what, body);
  return body as string[];
}

function unexpected(what: string, body: unknown): SynclineError {
  return SynclineError.permanent(
    ErrorCodes.UNEXPECTED,
    `schema registry: unexpected answer for ${what}: ${JSON.stringify(body)?.slice(0, 200)}`,
    {
      part: 'registry',
    },
  );
}

/**
 * Turns the JSON pointers in a registry's refusal (`/fields/1/type/symbols`) into field paths of the
 * schema (`data.status`), so the message names the field. Pointers that do not resolve stay as they are.
 */
export function explainPointer(message: string, schema: unknown): string {
  return message.replace(/(\/fields\/\d+(?:\/[A-Za-z0-9_]+)*)/g, (pointer) => {
    const path = fieldPathOf(pointer, schema);
    return path ? `${pointer} (field ${path})` : pointer;
  });
}

function fieldPathOf(pointer: string, schema: unknown): string | undefined {
  const parts = pointer.split('/').slice(1);
  const names: string[] = [];
  let node: unknown = schema;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (node === null || typeof node !== 'object') return names.length > 0 ? names.join('.') : undefined;
    if (Array.isArray(node)) {
      node = node[Number(part)];
      continue;
    }
    const object = node as Record<string, unknown>;
    if (part === 'fields') {
      const field = (object.fields as unknown[] | undefined)?.[Number(parts[i + 1])] as
        { name?: unknown; type?: unknown } | undefined;
      if (!field || typeof field.name !== 'string') return names.length > 0 ? names.join('.') : undefined;
      names.push(field.name);
      node = field;
      i++;
      continue;
    }
    node = object[part];
  }
  return names.length > 0 ? names.join('.') : undefined;
}
