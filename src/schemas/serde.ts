/**
 * Avro serde in the Confluent wire format, used by every stage: magic byte 0, the writer's schema id
 * as a 4-byte big-endian integer, then the Avro binary body. Any Confluent-compatible client can read
 * what we write, and we read what they write.
 *
 * - Encoding uses the schema id registered for the topic's value subject (looked up once, cached).
 * - Decoding reads the writer's schema by the id in the record (fetched once, cached) and resolves it
 *   to the reader's schema (the consumer's own version), so old and new producers can coexist. The
 *   resolver is built once per (writer id, topic) and cached.
 * - Before avsc decodes a body, every length and block count in it is checked against the bytes
 *   left (bounds-check.ts): avsc trusts them, and a few bytes claiming a huge array would otherwise
 *   exhaust memory and abort the process.
 * - A record that cannot be decoded (wrong magic byte, truncated, garbage, unknown schema id, writer
 *   schema the reader cannot read) is a permanent, classed {@link SynclineError} with the topic,
 *   partition, offset and schema id: the caller dead-letters it. Only an unreachable registry is
 *   retriable. Nothing here crashes a consumer loop; {@link Serde.tryDecode} never throws at all.
 */
import avro from 'avsc';
import { ErrorCodes, SynclineError, classify } from '../runtime/errors.ts';
import type { Catalog, ResolvedSchema } from './catalog.ts';
import { resolveSchema } from './catalog.ts';
import type { BoundsCheck } from './bounds-check.ts';
import { compileBoundsCheck } from './bounds-check.ts';
import { checkReadable } from './compatibility.ts';
import type { TopicValues } from './generated/topics.ts';
import type { SchemaJson } from './model.ts';
import { parseSchema, toSchemaText } from './model.ts';
import type { SchemaSource } from './registry-client.ts';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

/** How one topic's values are written and read. */
export interface TopicBinding {
  /** The registry subject of the values, `<topic>-value`. */
  subject: string;
  /** The schema this process writes with. */
  writer: ResolvedSchema;
  /** The schema this process reads into; defaults to `writer`. */
  reader?: ResolvedSchema;
}

/** Where a record sits, for error context. */
export interface RecordPosition {
  partition?: number;
  offset?: string;
}

export type DecodeResult<T> = { ok: true; value: T; schemaId: number } | { ok: false; error: SynclineError };

export interface SerdeOptions {
  source: SchemaSource;
  /** Topic → binding. Use {@link bindingsFromCatalog} for Syncline's topics. */
  bindings: Map<string, TopicBinding>;
  /** Register the writer schema when it is missing, instead of failing. Off in production: registration is a deploy step. */
  autoRegister?: boolean;
  /** How long an unknown schema id is remembered as unknown, so a poisoned partition does not flood the registry. Default 30 s. */
  notFoundTtlMs?: number;
}

/** The bindings of every Avro topic of a catalog: write and read with the working tree's schemas. */
export function bindingsFromCatalog(catalog: Catalog): Map<string, TopicBinding> {
  return new Map(catalog.topics.map((entry) => [entry.topic, { subject: entry.subject, writer: entry }]));
}

/** A schema given as JSON (e.g. an older version from the history), made usable as a reader or writer. */
export function schemaFromJson(json: SchemaJson, origin = 'schema'): ResolvedSchema {
  const node = parseSchema(json, { origin });
  const name = node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed' ? node.name : origin;
  return resolveSchema(node, name, origin);
}

interface WriterSchema {
  id: number;
  text: string;
  type: avro.Type;
  check: BoundsCheck;
}

interface ReadPlan {
  type: avro.Type;
  resolver: avro.Resolver | undefined;
  /** The writer schema's structural check, run before avsc builds anything. */
  check: BoundsCheck;
}

export class Serde {
  private readonly source: SchemaSource;
  private readonly bindings: Map<string, TopicBinding>;
  private readonly autoRegister: boolean;
  private readonly notFoundTtlMs: number;
  private readonly ids = new Map<string, Promise<number>>();
  private readonly headers = new Map<string, Buffer>();
  private readonly writers = new Map<number, Promise<WriterSchema>>();
  private readonly plans = new Map<string, ReadPlan>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(options: SerdeOptions) {
    this.source = options.source;
    this.bindings = options.bindings;
    this.autoRegister = options.autoRegister ?? false;
    this.notFoundTtlMs = options.notFoundTtlMs ?? 30_000;
  }

  /** The binding of a topic; permanent SCHEMA_NOT_FOUND for a topic without an Avro value schema. */
  binding(topic: string): TopicBinding {
    const binding = this.bindings.get(topic);
    if (!binding)
      throw SynclineError.permanent(ErrorCodes.SCHEMA_NOT_FOUND, `topic ${topic} has no Avro value schema`, {
        topic,
      });
    return binding;
  }

  /** The registry id of the topic's writer schema (looked up once, then cached). */
  async writerId(topic: string): Promise<number> {
    const cached = this.ids.get(topic);
    if (cached) return cached;
    const binding = this.binding(topic);
    const pending = this.lookupId(binding).catch((error: unknown) => {
      this.ids.delete(topic); // a failed lookup is retried on the next call
      throw classify(error, { topic, subject: binding.subject });
    });
    this.ids.set(topic, pending);
    return pending;
  }

  /**
   * Encodes a value of the topic in the wire format. A value that does not fit the schema is a
   * permanent SERIALIZATION_FAILED naming the offending fields.
   */
  async encode<K extends keyof TopicValues>(topic: K, value: TopicValues[K]): Promise<Buffer>;
  async encode(topic: string, value: unknown): Promise<Buffer>;
  async encode(topic: string, value: unknown): Promise<Buffer> {
    const id = await this.writerId(topic);
    return this.encodeWith(topic, id, value);
  }

  /** Encodes synchronously once {@link writerId} has resolved for the topic (hot paths, benchmarks). */
  encodeWith(topic: string, id: number, value: unknown): Buffer {
    const { writer } = this.binding(topic);
    let header = this.headers.get(topic);
    if (!header || header.readUInt32BE(1) !== id) {
      header = Buffer.alloc(HEADER_SIZE);
      header.writeUInt8(MAGIC_BYTE, 0);
      header.writeUInt32BE(id, 1);
      this.headers.set(topic, header);
    }
    let end: number;
    try {
      header.copy(this.scratch, 0);
      end = writer.type.encode(value, this.scratch, HEADER_SIZE);
      if (end < 0) {
        // Too small: avsc says by how much. Grow and write again.
        this.scratch = Buffer.allocUnsafe(
          Math.max(this.scratch.length * 2, this.scratch.length - end + 1024),
        );
        header.copy(this.scratch, 0);
        end = writer.type.encode(value, this.scratch, HEADER_SIZE);
      }
    } catch (error) {
      throw serializationError(topic, writer, value, error);
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    return out;
  }

  /**
   * Decodes a value of the topic. Throws a classed SynclineError: permanent DESERIALIZATION_FAILED,
   * SCHEMA_NOT_FOUND or SCHEMA_INCOMPATIBLE for a bad record, retriable REGISTRY_UNAVAILABLE when the
   * writer's schema cannot be fetched right now.
   */
  async decode<K extends keyof TopicValues>(
    topic: K,
    bytes: Buffer | null | undefined,
    position?: RecordPosition,
  ): Promise<TopicValues[K]>;
  async decode(topic: string, bytes: Buffer | null | undefined, position?: RecordPosition): Promise<unknown>;
  async decode(
    topic: string,
    bytes: Buffer | null | undefined,
    position: RecordPosition = {},
  ): Promise<unknown> {
    const context = {
      topic,
      ...(position.partition === undefined ? {} : { partition: position.partition }),
      ...(position.offset === undefined ? {} : { offset: position.offset }),
    };
    const id = readHeader(bytes, context);
    const plan = await this.readPlan(topic, id, context);
    const malformed = plan.check(bytes as Buffer, HEADER_SIZE);
    if (malformed) {
      throw SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        `malformed Avro body (${(bytes as Buffer).length - HEADER_SIZE} bytes) for schema id ${id}: ${malformed}`,
        { ...context, schemaId: id },
      );
    }
    try {
      return plan.type.fromBuffer((bytes as Buffer).subarray(HEADER_SIZE), plan.resolver);
    } catch (error) {
      throw SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        `cannot decode the Avro body (${(bytes as Buffer).length - HEADER_SIZE} bytes) with schema id ${id}: ${(error as Error).message}`,
        { ...context, schemaId: id },
        error,
      );
    }
  }

  /** Like {@link decode}, but returns the failure instead of throwing it, whatever happens. */
  async tryDecode<K extends keyof TopicValues>(
    topic: K,
    bytes: Buffer | null | undefined,
    position?: RecordPosition,
  ): Promise<DecodeResult<TopicValues[K]>>;
  async tryDecode(
    topic: string,
    bytes: Buffer | null | undefined,
    position?: RecordPosition,
  ): Promise<DecodeResult<unknown>>;
  async tryDecode(
    topic: string,
    bytes: Buffer | null | undefined,
    position: RecordPosition = {},
  ): Promise<DecodeResult<unknown>> {
    try {
      const value = await this.decode(topic, bytes, position);
      return { ok: true, value, schemaId: (bytes as Buffer).readUInt32BE(1) };
    } catch (error) {
      return { ok: false, error: classify(error, { topic }) };
    }
  }

  private async lookupId(binding: TopicBinding): Promise<number> {
    try {
      return await this.source.idOf(binding.subject, binding.writer.text);
    } catch (error) {
      if (this.autoRegister && error instanceof SynclineError && error.code === ErrorCodes.SCHEMA_NOT_FOUND) {
        return this.source.register(binding.subject, binding.writer.text);
      }
      throw error;
    }
  }

  private async readPlan(
    topic: string,
    id: number,
    context: Record<string, string | number>,
  ): Promise<ReadPlan> {
    const key = `${id}\u0000${topic}`;
    const known = this.plans.get(key);
    if (known) return known;
    const binding = this.binding(topic);
    const reader = binding.reader ?? binding.writer;
    const writer = await this.writerSchema(id, context);
    let plan: ReadPlan;
    if (writer.text === reader.text) {
      plan = { type: reader.type, resolver: undefined, check: writer.check };
    } else {
      try {
        plan = { type: reader.type, resolver: reader.type.createResolver(writer.type), check: writer.check };
      } catch (error) {
        const reasons = checkReadable(reader.node, parseSchema(JSON.parse(writer.text) as SchemaJson))
          .map((problem) => `${problem.path || 'record'}: ${problem.rule}`)
          .join('; ');
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_INCOMPATIBLE,
          `records written with schema id ${id} cannot be read as ${reader.fullName}: ${reasons || (error as Error).message}`,
          { ...context, schemaId: id },
          error,
        );
      }
    }
    this.plans.set(key, plan);
    return plan;
  }

  private writerSchema(id: number, context: Record<string, string | number>): Promise<WriterSchema> {
    const cached = this.writers.get(id);
    if (cached) return cached;
    const pending = this.fetchWriter(id, context);
    this.writers.set(id, pending);
    pending.catch((error: unknown) => {
      // Unknown ids are remembered for a while; anything else (registry down) is retried at once.
      const permanent = error instanceof SynclineError && !error.retriable;
      if (!permanent) this.writers.delete(id);
      else setTimeout(() => this.writers.delete(id), this.notFoundTtlMs).unref();
    });
    return pending;
  }

  private async fetchWriter(id: number, context: Record<string, string | number>): Promise<WriterSchema> {
    let text: string;
    try {
      text = await this.source.schemaById(id);
    } catch (error) {
      const failure = classify(error, { ...context, schemaId: id });
      if (failure.code === ErrorCodes.SCHEMA_NOT_FOUND) {
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_NOT_FOUND,
          `unknown schema id ${id}: the registry has no such schema`,
          { ...context, schemaId: id },
          error,
        );
      }
      throw failure;
    }
    try {
      const node = parseSchema(JSON.parse(text) as SchemaJson, { origin: `schema id ${id}` });
      const type = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
      return { id, text: toSchemaText(node), type, check: compileBoundsCheck(node) };
    } catch (error) {
      throw SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        `schema id ${id} is not a usable Avro schema: ${(error as Error).message}`,
        { ...context, schemaId: id },
        error,
      );
    }
  }
}

/** Reads and checks the 5-byte header; returns the schema id. */
export function readHeader(
  bytes: Buffer | null | undefined,
  context: Record<string, string | number> = {},
): number {
  if (!bytes || bytes.length === 0) {
    throw SynclineError.permanent(
      ErrorCodes.DESERIALIZATION_FAILED,
      'empty value: nothing to decode (a tombstone must be handled before decoding)',
      context,
    );
  }
  if (bytes[0] !== MAGIC_BYTE) {
    const hint = bytes[0] === 0x7b ? ' (the value looks like JSON)' : '';
    throw SynclineError.permanent(
      ErrorCodes.DESERIALIZATION_FAILED,
      `wrong magic byte 0x${(bytes[0] as number).toString(16).padStart(2, '0')}: not the Confluent wire format${hint}`,
      context,
    );
  }
  if (bytes.length < HEADER_SIZE) {
    throw SynclineError.permanent(
      ErrorCodes.DESERIALIZATION_FAILED,
      `truncated value: ${bytes.length} bytes, the wire format header alone is ${HEADER_SIZE}`,
      context,
    );
  }
  return bytes.readUInt32BE(1);
}

function serializationError(
  topic: string,
  writer: ResolvedSchema,
  value: unknown,
  cause: unknown,
): SynclineError {
  const problems: string[] = [];
  try {
    writer.type.isValid(value, {
      errorHook: (path: string[], got: unknown, type: avro.Type) => {
        if (problems.length < 5)
          problems.push(
            `${path.join('.') || '(value)'}: expected ${describeType(type)}, got ${describeValue(got)}`,
          );
      },
    });
  } catch {
    // isValid on a hostile value may itself throw; the cause below still says what went wrong
  }
  const detail = problems.length > 0 ? problems.join('; ') : (cause as Error).message;
  return SynclineError.permanent(
    ErrorCodes.SERIALIZATION_FAILED,
    `value does not fit ${writer.fullName}: ${detail}`,
    { topic },
    cause,
  );
}

function describeType(type: avro.Type): string {
  return type.name ?? type.typeName;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * An in-memory {@link SchemaSource}: ids handed out in registration order. For offline use (the
 * serde benchmark, unit tests of the wire format), never as a stand-in for the registry in a stage.
 */
export class InMemorySchemaSource implements SchemaSource {
  private readonly byId = new Map<number, string>();
  private readonly bySubject = new Map<string, Map<string, number>>();
  private nextId = 1;

  register(subject: string, schema: string): Promise<number> {
    const versions = this.bySubject.get(subject) ?? new Map<string, number>();
    this.bySubject.set(subject, versions);
    const known = versions.get(schema) ?? [...this.byId.entries()].find(([, text]) => text === schema)?.[0];
    const id = known ?? this.nextId++;
    this.byId.set(id, schema);
    versions.set(schema, id);
    return Promise.resolve(id);
  }

  idOf(subject: string, schema: string): Promise<number> {
    const id = this.bySubject.get(subject)?.get(schema);
    if (id === undefined) {
      return Promise.reject(
        SynclineError.permanent(
          ErrorCodes.SCHEMA_NOT_FOUND,
          `the schema is not registered under subject ${subject}`,
          { subject },
        ),
      );
    }
    return Promise.resolve(id);
  }

  schemaById(id: number): Promise<string> {
    const text = this.byId.get(id);
    if (text === undefined)
      return Promise.reject(
        SynclineError.permanent(ErrorCodes.SCHEMA_NOT_FOUND, `unknown schema id ${id}`, { schemaId: id }),
      );
    return Promise.resolve(text);
  }
}
