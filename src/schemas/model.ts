/**
 * A parsed Avro schema: the one in-memory shape the catalog, the compatibility checker, the type
 * generator, the sample generator and the AsyncAPI writer all work on.
 *
 * Parsing resolves every name to its full name by the Avro specification's rules (a name with a dot
 * is a full name; otherwise it takes the namespace of the enclosing named type), so references across
 * `.avsc` files and inside self-contained registry schemas look the same. A named type is parsed once
 * and shared by every reference to it, so recursive types are graphs, not infinite trees.
 */
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';

export const PRIMITIVE_TYPES = [
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
] as const;
export type PrimitiveName = (typeof PRIMITIVE_TYPES)[number];

/** Attributes of a logical type annotation (`logicalType`, and `precision`/`scale` for decimals). */
export interface LogicalAnnotation {
  logicalType?: string;
  precision?: number;
  scale?: number;
}

export interface PrimitiveNode extends LogicalAnnotation {
  kind: 'primitive';
  type: PrimitiveName;
}

export interface RecordField {
  name: string;
  aliases: string[];
  doc?: string;
  type: AvroNode;
  /** Whether the field declares a default; `default` may itself be `null`. */
  hasDefault: boolean;
  default?: unknown;
  order?: 'ascending' | 'descending' | 'ignore';
}

export interface RecordNode {
  kind: 'record';
  /** Full name, e.g. `syncline.raw.stripe.Customer`. */
  name: string;
  /** Full names. */
  aliases: string[];
  doc?: string;
  fields: RecordField[];
  /** `error` for Avro protocol errors; treated like `record`. */
  recordType: 'record' | 'error';
}

export interface EnumNode {
  kind: 'enum';
  name: string;
  aliases: string[];
  doc?: string;
  symbols: string[];
  default?: string;
}

export interface FixedNode extends LogicalAnnotation {
  kind: 'fixed';
  name: string;
  aliases: string[];
  doc?: string;
  size: number;
}

export interface ArrayNode {
  kind: 'array';
  items: AvroNode;
}

export interface MapNode {
  kind: 'map';
  values: AvroNode;
}

export interface UnionNode {
  kind: 'union';
  branches: AvroNode[];
}

export type NamedNode = RecordNode | EnumNode | FixedNode;
export type AvroNode = PrimitiveNode | NamedNode | ArrayNode | MapNode | UnionNode;

/** The JSON form of a schema, as in an `.avsc` file or a registry answer. */
export type SchemaJson = string | SchemaJson[] | { [key: string]: unknown };

export interface ParseOptions {
  /** Named types known so far, by full name; parsing adds the ones it defines. */
  registry?: Map<string, NamedNode>;
  /**
   * Called with a full name that is neither defined nor known; may define it in the registry (the
   * catalog loads the `.avsc` file of that name). Returns nothing; parsing looks again after it.
   */
  resolve?: (fullName: string) => void;
  /** Where the schema came from, for error messages (a file path or a subject). */
  origin?: string;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a schema in its JSON form. Throws a permanent INPUT_INVALID SynclineError naming the origin
 * and the JSON path of the first problem.
 */
export function parseSchema(json: SchemaJson, options: ParseOptions = {}): AvroNode {
  const parser = new Parser(
    options.registry ?? new Map<string, NamedNode>(),
    options.resolve,
    options.origin ?? 'schema',
  );
  return parser.parse(json, '', '$');
}

/** The full name of a named type declared with `name` (and maybe `namespace`) inside `enclosing`. */
export function fullNameOf(name: string, namespace: string | undefined, enclosing: string): string {
  if (name.includes('.')) return name;
  const space = namespace ?? enclosing;
  return space ? `${space}.${name}` : name;
}

/** The namespace part of a full name ('' for none). */
export function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

/** The last part of a full name. */
export function simpleNameOf(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

export function isNamed(node: AvroNode): node is NamedNode {
  return node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed';
}

/** The `["null", T]` pattern: returns T, or undefined when the node is not exactly that. */
export function nullableOf(node: AvroNode): AvroNode | undefined {
  if (node.kind !== 'union' || node.branches.length !== 2) return undefined;
  const [first, second] = node.branches;
  if (first?.kind === 'primitive' && first.type === 'null' && second) return second;
  if (second?.kind === 'primitive' && second.type === 'null' && first) return first;
  return undefined;
}

/** A short description of a node for messages: `string`, `long (timestamp-millis)`, `record syncline.x.Y`. */
export function describeNode(node: AvroNode): string {
  switch (node.kind) {
    case 'primitive':
      return node.logicalType ? `${node.type} (${node.logicalType})` : node.type;
    case 'record':
    case 'enum':
    case 'fixed':
      return `${node.kind} ${node.name}`;
    case 'array':
      return `array of ${describeNode(node.items)}`;
    case 'map':
      return `map of ${describeNode(node.values)}`;
    case 'union':
      return `union [${node.branches.map(describeNode).join(', ')}]`;
  }
}

/**
 * The schema as self-contained, normalised JSON: every named type defined in full where it first
 * appears and referenced by full name after that, names always full, keys in a fixed order, `doc`
 * and defaults kept. This is the form Syncline registers and keeps in the history, and two schemas
 * with the same normalised JSON are the same schema.
 */
export function toSchemaJson(node: AvroNode, defined: Set<string> = new Set()): SchemaJson {
  switch (node.kind) {
    case 'primitive': {
      if (!node.logicalType) return node.type;
      const out: Record<string, unknown> = { type: node.type, logicalType: node.logicalType };
      if (node.precision !== undefined) out.precision = node.precision;
      if (node.scale !== undefined) out.scale = node.scale;
      return out;
    }
    case 'array':
      return { type: 'array', items: toSchemaJson(node.items, defined) };
    case 'map':
      return { type: 'map', values: toSchemaJson(node.values, defined) };
    case 'union':
      return node.branches.map((branch) => toSchemaJson(branch, defined));
    case 'record':
    case 'enum':
    case 'fixed': {
      if (defined.has(node.name)) return node.name;
      defined.add(node.name);
      // The namespace is always explicit, so that the definition means the same wherever it is inlined.
      const out: Record<string, unknown> = {
        type: node.kind === 'record' ? node.recordType : node.kind,
        name: simpleNameOf(node.name),
      };
      if (namespaceOf(node.name) !== '') out.namespace = namespaceOf(node.name);
      if (node.doc !== undefined) out.doc = node.doc;
      if (node.aliases.length > 0) out.aliases = [...node.aliases];
      if (node.kind === 'enum') {
        out.symbols = [...node.symbols];
        if (node.default !== undefined) out.default = node.default;
      } else if (node.kind === 'fixed') {
        out.size = node.size;
        if (node.logicalType) out.logicalType = node.logicalType;
        if (node.precision !== undefined) out.precision = node.precision;
        if (node.scale !== undefined) out.scale = node.scale;
      } else {
        out.fields = node.fields.map((field) => {
          const f: Record<string, unknown> = { name: field.name };
          if (field.doc !== undefined) f.doc = field.doc;
          f.type = toSchemaJson(field.type, defined);
          if (field.hasDefault) f.default = field.default;
          if (field.aliases.length > 0) f.aliases = [...field.aliases];
          if (field.order !== undefined) f.order = field.order;
          return f;
        });
      }
      return out;
    }
  }
}

/** The normalised schema text (see {@link toSchemaJson}). */
export function toSchemaText(node: AvroNode): string {
  return JSON.stringify(toSchemaJson(node));
}

/** Every named type reachable from `node`, each once, in first-use order. */
export function namedTypesOf(node: AvroNode): NamedNode[] {
  const seen = new Map<string, NamedNode>();
  const visit = (n: AvroNode): void => {
    switch (n.kind) {
      case 'record':
        if (seen.has(n.name)) return;
        seen.set(n.name, n);
        for (const field of n.fields) visit(field.type);
        return;
      case 'enum':
      case 'fixed':
        seen.set(n.name, n);
        return;
      case 'array':
        visit(n.items);
        return;
      case 'map':
        visit(n.values);
        return;
      case 'union':
        n.branches.forEach(visit);
        return;
      case 'primitive':
        return;
    }
  };
  visit(node);
  return [...seen.values()];
}

class Parser {
  private readonly registry: Map<string, NamedNode>;
  private readonly resolve: ((fullName: string) => void) | undefined;
  private readonly origin: string;

  constructor(
    registry: Map<string, NamedNode>,
    resolve: ((fullName: string) => void) | undefined,
    origin: string,
  ) {
    this.registry = registry;
    this.resolve = resolve;
    this.origin = origin;
  }

  parse(json: unknown, namespace: string, path: string): AvroNode {
    if (typeof json === 'string') return this.reference(json, namespace, path);
    if (Array.isArray(json)) return this.union(json, namespace, path);
    if (json === null || typeof json !== 'object')
      this.fail(path, `expected a type name, an object or a union array, got ${String(json)}`);
    const object = json as Record<string, unknown>;
    const type = object.type;
    if (typeof type !== 'string') {
      if (type !== undefined && typeof type === 'object') return this.parse(type, namespace, `${path}.type`);
      this.fail(path, 'missing "type"');
    }
    switch (type) {
      case 'record':
      case 'error':
        return this.record(object, type, namespace, path);
      case 'enum':
        return this.enumType(object, namespace, path);
      case 'fixed':
        return this.fixed(object, namespace, path);
      case 'array':
        return { kind: 'array', items: this.parse(object.items, namespace, `${path}.items`) };
      case 'map':
        return { kind: 'map', values: this.parse(object.values, namespace, `${path}.values`) };
      default:
        if (isPrimitive(type)) return { kind: 'primitive', type, ...this.logical(object, path) };
        // {"type": "some.Named"} is a reference written as an object.
        return this.reference(type, namespace, path);
    }
  }

  private reference(name: string, namespace: string, path: string): AvroNode {
    if (isPrimitive(name)) return { kind: 'primitive', type: name };
    const candidates = name.includes('.') ? [name] : [fullNameOf(name, undefined, namespace), name];
    for (const candidate of candidates) {
      const known = this.registry.get(candidate);
      if (known) return known;
    }
    if (this.resolve) {
      for (const candidate of candidates) {
        this.resolve(candidate);
        const known = this.registry.get(candidate);
        if (known) return known;
      }
    }
    return this.fail(path, `unknown type "${name}"${namespace ? ` (looked in namespace ${namespace})` : ''}`);
  }

  private union(json: unknown[], namespace: string, path: string): UnionNode {
    if (json.length === 0) this.fail(path, 'a union needs at least one branch');
    const branches = json.map((branch, index) => this.parse(branch, namespace, `${path}[${index}]`));
    const seen = new Set<string>();
    branches.forEach((branch, index) => {
      if (branch.kind === 'union')
        this.fail(`${path}[${index}]`, 'a union may not directly contain another union');
      const key = isNamed(branch) ? branch.name : branch.kind === 'primitive' ? branch.type : branch.kind;
      if (seen.has(key)) this.fail(`${path}[${index}]`, `the union has two branches of type ${key}`);
      seen.add(key);
    });
    return { kind: 'union', branches };
  }

  private named(
    object: Record<string, unknown>,
    namespace: string,
    path: string,
  ): { name: string; aliases: string[]; doc?: string } {
    const name = object.name;
    if (typeof name !== 'string' || name === '') this.fail(path, 'a named type needs a "name"');
    const declared = object.namespace;
    if (declared !== undefined && typeof declared !== 'string')
      this.fail(path, '"namespace" must be a string');
    const full = fullNameOf(name, declared, namespace);
    for (const part of full.split('.')) {
      if (!NAME_PATTERN.test(part)) this.fail(path, `"${full}" is not a valid Avro name`);
    }
    if (this.registry.has(full)) this.fail(path, `the type ${full} is defined twice`);
    const ownNamespace = namespaceOf(full);
    const aliases = this.stringList(object.aliases, `${path}.aliases`).map((alias) =>
      fullNameOf(alias, undefined, ownNamespace),
    );
    const doc = this.doc(object, path);
    return { name: full, aliases, ...(doc === undefined ? {} : { doc }) };
  }

  private record(
    object: Record<string, unknown>,
    recordType: 'record' | 'error',
    namespace: string,
    path: string,
  ): RecordNode {
    const named = this.named(object, namespace, path);
    const node: RecordNode = {
      kind: 'record',
      recordType,
      name: named.name,
      aliases: named.aliases,
      ...(named.doc === undefined ? {} : { doc: named.doc }),
      fields: [],
    };
    // Registered before the fields are parsed, so that a field may refer to its own record.
    this.registry.set(node.name, node);
    const fields = object.fields;
    if (!Array.isArray(fields)) this.fail(path, 'a record needs a "fields" array');
    const ownNamespace = namespaceOf(node.name);
    const names = new Set<string>();
    fields.forEach((raw: unknown, index: number) => {
      const fieldPath = `${path}.fields[${index}]`;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        this.fail(fieldPath, 'a field must be an object');
      const field = raw as Record<string, unknown>;
      const name = field.name;
      if (typeof name !== 'string' || !NAME_PATTERN.test(name))
        this.fail(fieldPath, `invalid field name ${JSON.stringify(name)}`);
      if (names.has(name)) this.fail(fieldPath, `the field "${name}" appears twice`);
      names.add(name);
      if (field.type === undefined) this.fail(fieldPath, `the field "${name}" has no "type"`);
      const order = field.order;
      if (order !== undefined && order !== 'ascending' && order !== 'descending' && order !== 'ignore') {
        this.fail(fieldPath, `invalid "order" ${JSON.stringify(order)}`);
      }
      const doc = this.doc(field, fieldPath);
      node.fields.push({
        name,
        aliases: this.stringList(field.aliases, `${fieldPath}.aliases`),
        ...(doc === undefined ? {} : { doc }),
        type: this.parse(field.type, ownNamespace, `${fieldPath}.type`),
        hasDefault: Object.hasOwn(field, 'default'),
        ...(Object.hasOwn(field, 'default') ? { default: field.default } : {}),
        ...(order === undefined ? {} : { order }),
      });
    });
    return node;
  }

  private enumType(object: Record<string, unknown>, namespace: string, path: string): EnumNode {
    const named = this.named(object, namespace, path);
    const symbols = this.stringList(object.symbols, `${path}.symbols`);
    if (object.symbols === undefined) this.fail(path, 'an enum needs "symbols"');
    const unique = new Set<string>();
    for (const symbol of symbols) {
      if (!NAME_PATTERN.test(symbol)) this.fail(path, `invalid enum symbol "${symbol}"`);
      if (unique.has(symbol)) this.fail(path, `the enum symbol "${symbol}" appears twice`);
      unique.add(symbol);
    }
    const fallback = object.default;
    if (fallback !== undefined && (typeof fallback !== 'string' || !unique.has(fallback))) {
      this.fail(path, `the enum default ${JSON.stringify(fallback)} is not one of its symbols`);
    }
    const node: EnumNode = {
      kind: 'enum',
      name: named.name,
      aliases: named.aliases,
      ...(named.doc === undefined ? {} : { doc: named.doc }),
      symbols,
      ...(fallback === undefined ? {} : { default: fallback }),
    };
    this.registry.set(node.name, node);
    return node;
  }

  private fixed(object: Record<string, unknown>, namespace: string, path: string): FixedNode {
    const named = this.named(object, namespace, path);
    const size = object.size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0)
      this.fail(path, 'a fixed type needs a non-negative integer "size"');
    const node: FixedNode = {
      kind: 'fixed',
      name: named.name,
      aliases: named.aliases,
      ...(named.doc === undefined ? {} : { doc: named.doc }),
      size,
      ...this.logical(object, path),
    };
    this.registry.set(node.name, node);
    return node;
  }

  private logical(object: Record<string, unknown>, path: string): LogicalAnnotation {
    const out: LogicalAnnotation = {};
    const logicalType = object.logicalType;
    if (logicalType === undefined) return out;
    if (typeof logicalType !== 'string') this.fail(path, '"logicalType" must be a string');
    out.logicalType = logicalType;
    if (typeof object.precision === 'number') out.precision = object.precision;
    if (typeof object.scale === 'number') out.scale = object.scale;
    return out;
  }

  private doc(object: Record<string, unknown>, path: string): string | undefined {
    const doc = object.doc;
    if (doc === undefined) return undefined;
    if (typeof doc !== 'string') this.fail(path, '"doc" must be a string');
    return doc;
  }

  private stringList(value: unknown, path: string): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
      this.fail(path, 'expected an array of strings');
    return value as string[];
  }

  private fail(path: string, message: string): never {
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `${this.origin}: ${path}: ${message}`, {
      part: 'schemas',
    });
  }
}

function isPrimitive(name: string): name is PrimitiveName {
  return (PRIMITIVE_TYPES as readonly string[]).includes(name);
}
