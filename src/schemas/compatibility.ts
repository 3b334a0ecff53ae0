/**
 * Avro schema compatibility, our own implementation of the specification's schema resolution rules
 * (https://avro.apache.org/docs/1.12.0/specification/#schema-resolution), so that the contract check
 * runs without a registry (in CI) and names exactly what breaks: the subject, the field path and the
 * rule. It is deliberately at least as strict as the decoder Syncline uses (avsc's resolver):
 *
 * - records, enums and fixed types match by full name, or by one of the reader's aliases;
 * - a reader field missing from the writer needs a default; writer fields the reader lacks are skipped;
 * - enum symbols the reader lacks are an error unless the reader's enum has a default;
 * - promotions: int → long, float, double; long → float, double; float → double; string ↔ bytes;
 * - unions: every branch the writer may write must be readable by the reader;
 * - logical types: a changed logical type (or decimal precision/scale) is refused although the bytes
 *   would decode, because the value would silently change meaning (millis read as micros).
 *
 * Compatibility levels follow the Confluent registry's names: BACKWARD (the new schema reads data
 * written with the previous one), FORWARD (the previous schema reads data written with the new one),
 * FULL (both), their _TRANSITIVE forms (against every previous version, not only the latest), NONE.
 */
import type { AvroNode, EnumNode, RecordNode } from './model.ts';
import { describeNode, isNamed } from './model.ts';

/** The rules a schema change can break; the names follow Avro's own SchemaCompatibility. */
export const CompatibilityRules = {
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  NAME_MISMATCH: 'NAME_MISMATCH',
  FIXED_SIZE_MISMATCH: 'FIXED_SIZE_MISMATCH',
  MISSING_ENUM_SYMBOLS: 'MISSING_ENUM_SYMBOLS',
  READER_FIELD_MISSING_DEFAULT_VALUE: 'READER_FIELD_MISSING_DEFAULT_VALUE',
  MISSING_UNION_BRANCH: 'MISSING_UNION_BRANCH',
  LOGICAL_TYPE_MISMATCH: 'LOGICAL_TYPE_MISMATCH',
} as const;
export type CompatibilityRule = (typeof CompatibilityRules)[keyof typeof CompatibilityRules];

export const CompatibilityLevels = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityLevel = (typeof CompatibilityLevels)[number];

export function isCompatibilityLevel(value: string): value is CompatibilityLevel {
  return (CompatibilityLevels as readonly string[]).includes(value);
}

/** One reason why a reader schema cannot read what a writer schema wrote. */
export interface ReadIncompatibility {
  rule: CompatibilityRule;
  /** Dotted path of the field from the top record (`data.address.country`, `lines[].amount`); '' for the top. */
  path: string;
  reader: string;
  writer: string;
  /** For MISSING_ENUM_SYMBOLS: the writer's symbols the reader lacks. */
  symbols?: string[];
  /** For READER_FIELD_MISSING_DEFAULT_VALUE: the reader's field. */
  field?: string;
  /** For NAME_MISMATCH. */
  readerName?: string;
  writerName?: string;
}

/**
 * Whether data written with `writer` can be read with `reader`; every reason it cannot, or an empty
 * list. Never throws on valid parsed schemas, including recursive ones.
 */
export function checkReadable(reader: AvroNode, writer: AvroNode): ReadIncompatibility[] {
  const out: ReadIncompatibility[] = [];
  check(reader, writer, '', out, new Set());
  const seen = new Set<string>();
  return out.filter((problem) => {
    const key = JSON.stringify(problem);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function check(
  reader: AvroNode,
  writer: AvroNode,
  path: string,
  out: ReadIncompatibility[],
  inProgress: Set<string>,
): void {
  if (writer.kind === 'union') {
    for (const branch of writer.branches) {
      if (reader.kind === 'union') {
        const match = selectBranch(reader.branches, branch);
        if (match) check(match, branch, path, out, inProgress);
        else
          out.push({
            rule: CompatibilityRules.MISSING_UNION_BRANCH,
            path,
            reader: describeNode(reader),
            writer: describeNode(branch),
          });
      } else {
        // Name the whole writer union, not one of its branches, where the type at this path changed.
        const problems: ReadIncompatibility[] = [];
        check(reader, branch, path, problems, inProgress);
        for (const problem of problems) {
          out.push(
            problem.path === path && problem.rule === CompatibilityRules.TYPE_MISMATCH
              ? { ...problem, writer: describeNode(writer) }
              : problem,
          );
        }
      }
    }
    return;
  }
  if (reader.kind === 'union') {
    const match = selectBranch(reader.branches, writer);
    if (match) check(match, writer, path, out, inProgress);
    else
      out.push({
        rule: CompatibilityRules.MISSING_UNION_BRANCH,
        path,
        reader: describeNode(reader),
        writer: describeNode(writer),
      });
    return;
  }
  if (reader.kind === 'primitive' && writer.kind === 'primitive') {
    if (reader.type !== writer.type && !promotable(writer.type, reader.type)) {
      out.push(mismatch(reader, writer, path));
      return;
    }
    checkLogical(reader, writer, path, out);
    return;
  }
  if (reader.kind !== writer.kind) {
    out.push(mismatch(reader, writer, path));
    return;
  }
  switch (reader.kind) {
    case 'array':
      if (writer.kind === 'array') check(reader.items, writer.items, `${path}[]`, out, inProgress);
      return;
    case 'map':
      if (writer.kind === 'map') check(reader.values, writer.values, `${path}{}`, out, inProgress);
      return;
    case 'fixed':
      if (writer.kind !== 'fixed') return;
      if (!namesMatch(reader, writer.name)) {
        out.push(nameMismatch(reader, writer, path));
        return;
      }
      if (reader.size !== writer.size) {
        out.push({
          rule: CompatibilityRules.FIXED_SIZE_MISMATCH,
          path,
          reader: `fixed(${reader.size})`,
          writer: `fixed(${writer.size})`,
        });
        return;
      }
      checkLogical(reader, writer, path, out);
      return;
    case 'enum':
      if (writer.kind === 'enum') checkEnum(reader, writer, path, out);
      return;
    case 'record':
      if (writer.kind === 'record') checkRecord(reader, writer, path, out, inProgress);
      return;
    default:
      return;
  }
}

function checkRecord(
  reader: RecordNode,
  writer: RecordNode,
  path: string,
  out: ReadIncompatibility[],
  inProgress: Set<string>,
): void {
  if (!namesMatch(reader, writer.name)) {
    out.push(nameMismatch(reader, writer, path));
    return;
  }
  // A pair already being checked further up is assumed compatible: that is how recursion ends.
  const key = `${reader.name}\u0000${writer.name}`;
  if (inProgress.has(key)) return;
  inProgress.add(key);
  for (const field of reader.fields) {
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const written =
      writer.fields.find((candidate) => candidate.name === field.name) ??
      writer.fields.find((candidate) => field.aliases.includes(candidate.name));
    if (written) {
      check(field.type, written.type, fieldPath, out, inProgress);
    } else if (!field.hasDefault) {
      out.push({
        rule: CompatibilityRules.READER_FIELD_MISSING_DEFAULT_VALUE,
        path: fieldPath,
        field: field.name,
        reader: describeNode(field.type),
        writer: '(absent)',
      });
    }
  }
  inProgress.delete(key);
}

function checkEnum(reader: EnumNode, writer: EnumNode, path: string, out: ReadIncompatibility[]): void {
  if (!namesMatch(reader, writer.name)) {
    out.push(nameMismatch(reader, writer, path));
    return;
  }
  const missing = writer.symbols.filter((symbol) => !reader.symbols.includes(symbol));
  if (missing.length > 0 && reader.default === undefined) {
    out.push({
      rule: CompatibilityRules.MISSING_ENUM_SYMBOLS,
      path,
      symbols: missing,
      reader: reader.name,
      writer: writer.name,
    });
  }
}

function checkLogical(
  reader: { logicalType?: string; precision?: number; scale?: number },
  writer: { logicalType?: string; precision?: number; scale?: number },
  path: string,
  out: ReadIncompatibility[],
): void {
  // Adding or dropping an annotation (string ↔ uuid string) keeps the meaning; changing it does not.
  if (!reader.logicalType || !writer.logicalType) return;
  const same =
    reader.logicalType === writer.logicalType &&
    (reader.logicalType !== 'decimal' ||
      (reader.precision === writer.precision && (reader.scale ?? 0) === (writer.scale ?? 0)));
  if (!same) {
    out.push({
      rule: CompatibilityRules.LOGICAL_TYPE_MISMATCH,
      path,
      reader: describeLogical(reader),
      writer: describeLogical(writer),
    });
  }
}

function describeLogical(node: { logicalType?: string; precision?: number; scale?: number }): string {
  return node.logicalType === 'decimal'
    ? `decimal(${node.precision ?? '?'},${node.scale ?? 0})`
    : (node.logicalType ?? 'none');
}

/** The reader union branch a writer type resolves to: an exact match first, then a promotion. */
function selectBranch(branches: AvroNode[], writer: AvroNode): AvroNode | undefined {
  const exact = branches.find((branch) => {
    if (branch.kind !== writer.kind) return false;
    if (branch.kind === 'primitive' && writer.kind === 'primitive') return branch.type === writer.type;
    if (isNamed(branch) && isNamed(writer)) return namesMatch(branch, writer.name);
    return true;
  });
  if (exact) return exact;
  if (writer.kind !== 'primitive') return undefined;
  return branches.find((branch) => branch.kind === 'primitive' && promotable(writer.type, branch.type));
}

function namesMatch(reader: { name: string; aliases: string[] }, writerName: string): boolean {
  return reader.name === writerName || reader.aliases.includes(writerName);
}

const PROMOTIONS: Record<string, string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

function promotable(writer: string, reader: string): boolean {
  return PROMOTIONS[writer]?.includes(reader) ?? false;
}

function mismatch(reader: AvroNode, writer: AvroNode, path: string): ReadIncompatibility {
  return {
    rule: CompatibilityRules.TYPE_MISMATCH,
    path,
    reader: describeNode(reader),
    writer: describeNode(writer),
  };
}

function nameMismatch(reader: { name: string }, writer: { name: string }, path: string): ReadIncompatibility {
  return {
    rule: CompatibilityRules.NAME_MISMATCH,
    path,
    reader: reader.name,
    writer: writer.name,
    readerName: reader.name,
    writerName: writer.name,
  };
}

// ---------------------------------------------------------------------------------------------------
// Subject level: a candidate schema against the versions a subject already has.

/** A version a subject already has: in the repository's history or in the registry. */
export interface PreviousVersion {
  source: 'repo' | 'registry';
  version: number;
  schema: AvroNode;
}

export type Direction = 'backward' | 'forward';

/** A broken rule, phrased for the person who changed the schema. */
export interface Violation {
  subject: string;
  level: CompatibilityLevel;
  /** The version the candidate breaks, e.g. `repo v1` or `registry v3`. */
  against: string;
  /** backward: the new schema cannot read old data; forward: old consumers cannot read new data. */
  direction: Direction;
  rule: CompatibilityRule;
  /** Field path, '' for the record itself. */
  field: string;
  message: string;
}

/** Checks `candidate` against `previous` (oldest first) under `level`. */
export function checkSubject(
  subject: string,
  candidate: AvroNode,
  previous: readonly PreviousVersion[],
  level: CompatibilityLevel,
): Violation[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const transitive = level.endsWith('_TRANSITIVE');
  const against = transitive ? [...previous] : latestPerSource(previous);
  const directions: Direction[] = level.startsWith('BACKWARD')
    ? ['backward']
    : level.startsWith('FORWARD')
      ? ['forward']
      : ['backward', 'forward'];
  const out: Violation[] = [];
  for (const old of against) {
    for (const direction of directions) {
      const problems =
        direction === 'backward'
          ? checkReadable(candidate, old.schema)
          : checkReadable(old.schema, candidate);
      for (const problem of problems) out.push(toViolation(subject, level, old, direction, problem));
    }
  }
  return out;
}

function latestPerSource(previous: readonly PreviousVersion[]): PreviousVersion[] {
  const latest = new Map<string, PreviousVersion>();
  for (const version of previous) {
    const known = latest.get(version.source);
    if (!known || known.version < version.version) latest.set(version.source, version);
  }
  return [...latest.values()];
}

function toViolation(
  subject: string,
  level: CompatibilityLevel,
  old: PreviousVersion,
  direction: Direction,
  problem: ReadIncompatibility,
): Violation {
  const against = `${old.source} v${old.version}`;
  const where = problem.path === '' ? 'the record' : `field ${problem.path}`;
  const explanation = explain(problem, direction, `v${old.version}`);
  return {
    subject,
    level,
    against,
    direction,
    rule: problem.rule,
    field: problem.path,
    message: `${subject}: ${where}: ${problem.rule}: ${explanation} (${level}, against ${against})`,
  };
}

/** The broken rule in words, from the point of view of someone who just edited the schema. */
function explain(problem: ReadIncompatibility, direction: Direction, old: string): string {
  const backward = direction === 'backward';
  // In the backward direction the candidate is the reader; in the forward direction the old version is.
  const newType = backward ? problem.reader : problem.writer;
  const oldType = backward ? problem.writer : problem.reader;
  switch (problem.rule) {
    case CompatibilityRules.READER_FIELD_MISSING_DEFAULT_VALUE:
      return backward
        ? `field "${problem.field ?? problem.path}" was added without a default, so records written with ${old} cannot be read`
        : `field "${problem.field ?? problem.path}" was removed (or renamed), but ${old} declares it without a default, so consumers on ${old} cannot read new records`;
    case CompatibilityRules.MISSING_ENUM_SYMBOLS: {
      const symbols = (problem.symbols ?? []).join(', ');
      return backward
        ? `enum symbol(s) ${symbols} of ${problem.reader} were removed and the new enum has no default, so records written with ${old} may hold them`
        : `enum symbol(s) ${symbols} were added to ${problem.reader}, but ${old}'s enum has no default, so consumers on ${old} cannot read them`;
    }
    case CompatibilityRules.TYPE_MISMATCH:
      return backward
        ? `type changed from ${oldType} in ${old} to ${newType}, which cannot read it`
        : `type changed from ${oldType} in ${old} to ${newType}, which consumers on ${old} cannot read`;
    case CompatibilityRules.NAME_MISMATCH:
      return `type renamed from ${backward ? problem.writerName : problem.readerName} in ${old} to ${backward ? problem.readerName : problem.writerName} without an alias for the old name`;
    case CompatibilityRules.FIXED_SIZE_MISMATCH:
      return `fixed size changed from ${oldType} in ${old} to ${newType}`;
    case CompatibilityRules.MISSING_UNION_BRANCH:
      return backward
        ? `the union no longer accepts ${problem.writer}, which records written with ${old} may hold`
        : `the union now allows ${problem.writer}, which consumers on ${old} (${problem.reader}) cannot read`;
    case CompatibilityRules.LOGICAL_TYPE_MISMATCH:
      return `logical type changed from ${oldType} in ${old} to ${newType}: the bytes would decode but mean something else`;
  }
}
