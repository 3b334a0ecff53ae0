import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOPICS } from '../../../src/topology/topics.ts';
import { SCHEMAS_ROOT, fileForFullName, fullNameForFile, loadCatalog } from '../../../src/schemas/catalog.ts';
import { checkConventions } from '../../../src/schemas/conventions.ts';
import { SynclineError } from '../../../src/runtime/errors.ts';
import { parseSchema, toSchemaJson, toSchemaText } from '../../../src/schemas/model.ts';

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the repository's schemas folder to break on purpose. */
function copyOfSchemas(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-schemas-'));
  temporary.push(dir);
  cpSync(SCHEMAS_ROOT, dir, { recursive: true });
  return dir;
}

describe('the schema catalog', () => {
  const catalog = loadCatalog();

  it('maps every Avro topic of the topology to its value schema and a <topic>-value subject', () => {
    const avroTopics = TOPICS.filter((topic) => topic.value.format === 'avro');
    expect(catalog.topics.map((entry) => entry.topic)).toEqual(avroTopics.map((topic) => topic.name));
    for (const entry of catalog.topics) {
      expect(entry.subject).toBe(`${entry.topic}-value`);
      expect(entry.fullName).toBe((entry.declaration.value as { schema: string }).schema);
      expect(entry.node.kind).toBe('record');
    }
  });

  it('uses BACKWARD_TRANSITIVE unless the topic declares another level', () => {
    const levels = new Map(catalog.topics.map((entry) => [entry.topic, entry.compatibility]));
    expect(levels.get('raw.stripe.customer')).toBe('BACKWARD_TRANSITIVE');
    expect(levels.get('canonical.customer')).toBe('FULL_TRANSITIVE');
  });

  it('keeps every named type in the file of its name', () => {
    for (const file of catalog.files) expect(fullNameForFile(file.file)).toBe(file.fullName);
    expect(fileForFullName('syncline.raw.stripe.Customer')).toBe('raw/stripe/Customer.avsc');
  });

  it('resolves references across files into self-contained schemas that avsc compiles', () => {
    const customer = catalog.topic('raw.stripe.customer');
    expect(customer.text).toContain('"name":"Envelope","namespace":"syncline.common"');
    // A named type is defined once and referenced by full name after that.
    expect(customer.text.match(/"name":"SourceSystem"/g)).toHaveLength(1);
    expect(customer.type.name).toBe('syncline.raw.stripe.Customer');
  });

  it('meets every schema convention: docs everywhere, enum defaults, optional fields as ["null", T], no money as float', () => {
    expect(checkConventions(catalog)).toEqual([]);
  });

  it('the normalised JSON of a schema parses back to the same normalised JSON', () => {
    for (const entry of catalog.topics) {
      expect(toSchemaText(parseSchema(toSchemaJson(entry.node)))).toBe(entry.text);
    }
  });

  it('can prefix every topic and subject, for isolated test topologies', () => {
    const prefixed = loadCatalog({ prefix: 'it-123.' });
    expect(prefixed.topic('it-123.raw.stripe.customer').subject).toBe('it-123.raw.stripe.customer-value');
  });
});

describe('the catalog refuses schema folders that break its rules, naming the file', () => {
  it('a file whose named type does not match its path', () => {
    const dir = copyOfSchemas();
    writeFileSync(
      join(dir, 'common', 'Stray.avsc'),
      JSON.stringify({
        type: 'enum',
        name: 'Other',
        namespace: 'syncline.common',
        doc: 'x',
        symbols: ['A'],
        default: 'A',
      }),
    );
    expect(() => loadCatalog({ root: dir })).toThrow(
      'common/Stray.avsc: defines syncline.common.Other, but a file at this path must define syncline.common.Stray',
    );
  });

  it('a reference to a type no file defines', () => {
    const dir = copyOfSchemas();
    writeFileSync(
      join(dir, 'common', 'Broken.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'Broken',
        namespace: 'syncline.common',
        doc: 'x',
        fields: [{ name: 'a', doc: 'a', type: 'syncline.common.Nowhere' }],
      }),
    );
    expect(() => loadCatalog({ root: dir })).toThrow(
      /common\/Broken\.avsc: \$\.fields\[0\]\.type: unknown type "syncline.common.Nowhere"/,
    );
  });

  it('a file that is not JSON', () => {
    const dir = copyOfSchemas();
    writeFileSync(join(dir, 'common', 'Bad.avsc'), '{ "type": ');
    expect(() => loadCatalog({ root: dir })).toThrow(/common\/Bad\.avsc: not valid JSON/);
  });

  it('a default that does not fit its type (checked by avsc)', () => {
    const dir = copyOfSchemas();
    writeFileSync(
      join(dir, 'ops', 'AuditEvent.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'AuditEvent',
        namespace: 'syncline.ops',
        doc: 'x',
        fields: [{ name: 'count', doc: 'x', type: 'long', default: 'many' }],
      }),
    );
    const error = (() => {
      try {
        loadCatalog({ root: dir });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SynclineError);
    expect((error as SynclineError).message).toMatch(
      /ops\/AuditEvent\.avsc: avsc refuses syncline\.ops\.AuditEvent/,
    );
  });

  it('reports each convention broken, with file and field', () => {
    const dir = copyOfSchemas();
    writeFileSync(
      join(dir, 'common', 'Sloppy.avsc'),
      JSON.stringify({
        type: 'record',
        name: 'Sloppy',
        namespace: 'syncline.common',
        fields: [
          { name: 'price', type: 'double', doc: 'x' },
          { name: 'note', type: ['string', 'null'], doc: 'x' },
          { name: 'kind', doc: 'x', type: { type: 'enum', name: 'Kind', doc: 'x', symbols: ['A'] } },
        ],
      }),
    );
    const problems = checkConventions(loadCatalog({ root: dir }));
    expect(problems.map((problem) => `${problem.rule} ${problem.where}`)).toEqual([
      'DOC_MISSING syncline.common.Sloppy',
      'MONEY_AS_FLOAT syncline.common.Sloppy.price',
      'OPTIONAL_FIELD_SHAPE syncline.common.Sloppy.note',
      'ENUM_DEFAULT_MISSING syncline.common.Kind',
    ]);
    expect(problems[0]?.message).toBe('common/Sloppy.avsc: syncline.common.Sloppy: record has no doc');
  });
});

describe('schema parsing', () => {
  it('resolves short names against the enclosing namespace and keeps names full', () => {
    const node = parseSchema({
      type: 'record',
      name: 'Outer',
      namespace: 'a.b',
      fields: [
        { name: 'inner', type: { type: 'record', name: 'Inner', fields: [] } },
        { name: 'again', type: 'Inner' },
        { name: 'other', type: { type: 'enum', name: 'x.y.E', symbols: ['A'] } },
      ],
    });
    expect(toSchemaJson(node)).toEqual({
      type: 'record',
      name: 'Outer',
      namespace: 'a.b',
      fields: [
        { name: 'inner', type: { type: 'record', name: 'Inner', namespace: 'a.b', fields: [] } },
        { name: 'again', type: 'a.b.Inner' },
        { name: 'other', type: { type: 'enum', name: 'E', namespace: 'x.y', symbols: ['A'] } },
      ],
    });
  });

  it.each([
    [
      {
        type: 'record',
        name: 'R',
        fields: [
          { name: 'a', type: 'string' },
          { name: 'a', type: 'int' },
        ],
      },
      'the field "a" appears twice',
    ],
    [
      { type: 'enum', name: 'E', symbols: ['A'], default: 'B' },
      'the enum default "B" is not one of its symbols',
    ],
    [['null', 'string', 'null'], 'the union has two branches of type null'],
    [{ type: 'record', name: '1R', fields: [] }, '"1R" is not a valid Avro name'],
    [{ type: 'fixed', name: 'F' }, 'a fixed type needs a non-negative integer "size"'],
  ])('refuses an invalid schema: %j', (json, message) => {
    expect(() => parseSchema(json as never, { origin: 'test' })).toThrow(message);
  });
});
