/**
 * The schema catalog: every `.avsc` file under `schemas/`, parsed, with named types resolved across
 * files, and every Avro topic of the topology mapped to its value schema and registry subject.
 *
 * Layout of `schemas/` (the language-neutral contract):
 * - one named type per file, at the path of its full name without the leading `syncline.`:
 *   `syncline.raw.stripe.Customer` lives in `raw/stripe/Customer.avsc`, `syncline.common.Envelope`
 *   in `common/Envelope.avsc`. Other files refer to it by full name.
 * - `history/<subject>/v<N>.avsc`: the versions of each subject released so far (see history.ts).
 *
 * The topic list comes from `topology/` (the single source of topic names); a topic's value schema is
 * the full name it declares. Subjects follow the topic name strategy: `<topic>-value`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { TOPICS, compatibilityOf, valueSubjectOf } from '../topology/topics.ts';
import type { KeyDeclaration, TopicDeclaration } from '../topology/types.ts';
import type { CompatibilityLevel } from './compatibility.ts';
import type { AvroNode, NamedNode, RecordNode, SchemaJson } from './model.ts';
import { parseSchema, toSchemaJson } from './model.ts';

/** The repository's `schemas/` folder. */
export const SCHEMAS_ROOT = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** The first namespace segment every Syncline schema shares; it is not part of the file path. */
export const ROOT_NAMESPACE = 'syncline';

/** The folder of `schemas/` that keeps released versions, not live schemas. */
export const HISTORY_FOLDER = 'history';

/** One `.avsc` file and the named type it defines. */
export interface SchemaFile {
  fullName: string;
  /** Path relative to the schemas root, with `/` separators. */
  file: string;
  node: NamedNode;
}

/** A schema ready to use: parsed, self-contained, and compiled for avsc. */
export interface ResolvedSchema {
  fullName: string;
  node: AvroNode;
  /** Self-contained normalised JSON: what is registered and kept in the history. */
  json: SchemaJson;
  /** `JSON.stringify(json)`. */
  text: string;
  type: avro.Type;
}

/** An Avro topic and its value schema. */
export interface TopicSchema extends ResolvedSchema {
  topic: string;
  subject: string;
  /** The subject without the catalog's test prefix: the name its released versions are kept under. */
  contractSubject: string;
  compatibility: CompatibilityLevel;
  owner: string;
  description: string;
  key: KeyDeclaration;
  declaration: TopicDeclaration;
}

export interface Catalog {
  root: string;
  files: SchemaFile[];
  topics: TopicSchema[];
  /** The resolved schema of any named type in the catalog. */
  schema(fullName: string): ResolvedSchema;
  topic(topic: string): TopicSchema;
  bySubject(subject: string): TopicSchema | undefined;
}

export interface CatalogOptions {
  /** The schemas folder; defaults to the repository's. */
  root?: string;
  /** The topic declarations; defaults to the topology's. */
  topics?: readonly TopicDeclaration[];
  /** Prepended to every topic name (and so to every subject), for isolated test topologies. */
  prefix?: string;
}

/**
 * Loads and checks every schema. Throws a permanent INPUT_INVALID error naming the file and the
 * problem when a file does not parse, defines a name that does not match its path, or when a topic
 * names a schema that does not exist.
 */
export function loadCatalog(options: CatalogOptions = {}): Catalog {
  const root = options.root ?? SCHEMAS_ROOT;
  const sources = readSchemaFiles(root);
  const byName = new Map<string, { file: string; json: unknown }>();
  for (const [file, json] of sources) {
    const expected = fullNameForFile(file);
    const declared = declaredFullName(json);
    if (declared !== expected) {
      throw invalid(
        `${file}: defines ${declared ?? 'no named type'}, but a file at this path must define ${expected}`,
      );
    }
    byName.set(expected, { file, json });
  }

  // One registry of named types for the whole catalog: a reference to another file parses that file
  // on first use, so the order of files does not matter.
  const registry = new Map<string, NamedNode>();
  const parsing = new Set<string>();
  const parseFile = (fullName: string): void => {
    if (registry.has(fullName) || parsing.has(fullName)) return;
    const source = byName.get(fullName);
    if (!source) return;
    parsing.add(fullName);
    parseSchema(source.json as SchemaJson, { registry, resolve: parseFile, origin: source.file });
    parsing.delete(fullName);
  };
  for (const fullName of byName.keys()) parseFile(fullName);

  const files: SchemaFile[] = [...byName.entries()]
    .map(([fullName, { file }]) => ({ fullName, file, node: registry.get(fullName) as NamedNode }))
    .sort((a, b) => a.file.localeCompare(b.file));

  const resolved = new Map<string, ResolvedSchema>();
  const schema = (fullName: string): ResolvedSchema => {
    const known = resolved.get(fullName);
    if (known) return known;
    const node = registry.get(fullName);
    if (!node || !byName.has(fullName)) throw invalid(`no schema file defines ${fullName}`);
    const made = resolveSchema(node, fullName, byName.get(fullName)?.file ?? fullName);
    resolved.set(fullName, made);
    return made;
  };

  const topics: TopicSchema[] = [];
  const prefix = options.prefix ?? '';
  for (const declared of options.topics ?? TOPICS) {
    const declaration = prefix === '' ? declared : { ...declared, name: `${prefix}${declared.name}` };
    if (declaration.value.format !== 'avro') continue;
    if (declaration.key.format === 'avro') {
      throw invalid(
        `topic ${declaration.name}: Avro keys need a key schema, which topology does not declare; keys are strings`,
      );
    }
    const schemaName = declaration.value.schema;
    if (!byName.has(schemaName)) {
      throw invalid(
        `topic ${declaration.name} declares value schema ${schemaName}, but there is no ${fileForFullName(schemaName)}`,
      );
    }
    const value = schema(schemaName);
    if (value.node.kind !== 'record')
      throw invalid(`topic ${declaration.name}: value schema ${schemaName} must be a record`);
    topics.push({
      ...value,
      topic: declaration.name,
      subject: valueSubjectOf(declaration) as string,
      contractSubject: valueSubjectOf(declared) as string,
      compatibility: compatibilityOf(declaration),
      owner: declaration.owner,
      description: declaration.description,
      key: declaration.key,
      declaration,
    });
  }

  const byTopic = new Map(topics.map((entry) => [entry.topic, entry]));
  const bySubject = new Map(topics.map((entry) => [entry.subject, entry]));
  return {
    root,
    files,
    topics,
    schema,
    topic(topic: string): TopicSchema {
      const entry = byTopic.get(topic);
      if (!entry) throw invalid(`topic ${topic} has no Avro value schema in the catalog`);
      return entry;
    },
    bySubject(subject: string): TopicSchema | undefined {
      return bySubject.get(subject);
    },
  };
}

/** A parsed schema made self-contained and compiled with avsc (which checks defaults against types). */
export function resolveSchema(node: AvroNode, fullName: string, origin: string): ResolvedSchema {
  const json = toSchemaJson(node);
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(json as avro.Schema);
  } catch (error) {
    throw invalid(`${origin}: avsc refuses ${fullName}: ${(error as Error).message}`);
  }
  return { fullName, node, json, text: JSON.stringify(json), type };
}

/** The full name a file at this relative path must define: `raw/stripe/Customer.avsc` → `syncline.raw.stripe.Customer`. */
export function fullNameForFile(file: string): string {
  return `${ROOT_NAMESPACE}.${file
    .replace(/\.avsc$/, '')
    .split('/')
    .join('.')}`;
}

/** The relative path of the file that defines a full name. */
export function fileForFullName(fullName: string): string {
  const parts = fullName.split('.');
  if (parts[0] === ROOT_NAMESPACE) parts.shift();
  return `${parts.join('/')}.avsc`;
}

/** Every live `.avsc` file (not the history) as [relative path, parsed JSON], sorted by path. */
function readSchemaFiles(root: string): Array<[string, unknown]> {
  let entries: string[];
  try {
    entries = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch (error) {
    throw invalid(`cannot read the schemas folder ${root}: ${(error as Error).message}`);
  }
  return entries
    .map((entry) => entry.split(sep).join('/'))
    .filter((file) => file.endsWith('.avsc') && !file.startsWith(`${HISTORY_FOLDER}/`))
    .sort()
    .map((file): [string, unknown] => [file, readJson(join(root, file), relative(root, join(root, file)))]);
}

export function readJson(path: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(`${shown}: cannot read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid(`${shown}: not valid JSON: ${(error as Error).message}`);
  }
}

function declaredFullName(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const { name, namespace } = json as { name?: unknown; namespace?: unknown };
  if (typeof name !== 'string') return undefined;
  if (name.includes('.')) return name;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}.${name}` : name;
}

function invalid(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { part: 'schemas' });
}

/** Every record of a schema tree that is a top-level topic value (for callers that need RecordNode). */
export function recordOf(entry: ResolvedSchema): RecordNode {
  if (entry.node.kind !== 'record') throw invalid(`${entry.fullName} is not a record`);
  return entry.node;
}
