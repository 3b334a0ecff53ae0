/**
 * Syncline's schema conventions, checked on every live schema by `syncline schemas check`: they are
 * what keeps the contract evolvable and readable for downstream teams.
 *
 * - every named type lives under the `syncline.` namespace and has a `doc`; so does every field;
 * - every enum has a `default`, so a reader meets a symbol added later without failing;
 * - an optional field is `["null", T]` with default null (null first, as the spec requires of the
 *   default's branch);
 * - money is never a float: a field named like an amount (amount, price, total, balance, tax, value,
 *   ...) may not be `float` or `double`; use integer minor units and an ISO 4217 currency.
 */
import type { Catalog } from './catalog.ts';
import type { AvroNode, NamedNode } from './model.ts';

export interface ConventionProblem {
  /** The schema file. */
  file: string;
  /** The named type and field, e.g. `syncline.canonical.Invoice.totalMinor`. */
  where: string;
  rule: 'NAMESPACE' | 'DOC_MISSING' | 'ENUM_DEFAULT_MISSING' | 'OPTIONAL_FIELD_SHAPE' | 'MONEY_AS_FLOAT';
  message: string;
}

const MONEY_NAME = /(amount|price|total|balance|subtotal|tax|value|cost|revenue|limit|exposure)(minor)?$/i;

/** Every convention problem of the catalog's files, empty when all is well. */
export function checkConventions(catalog: Catalog): ConventionProblem[] {
  const problems: ConventionProblem[] = [];
  const fileOf = new Map<string, string>();
  for (const file of catalog.files) fileOf.set(file.fullName, file.file);
  const visited = new Set<string>();

  const visitNamed = (node: NamedNode, file: string): void => {
    if (visited.has(node.name)) return;
    visited.add(node.name);
    const ownFile = fileOf.get(node.name) ?? file;
    const report = (where: string, rule: ConventionProblem['rule'], message: string): void => {
      problems.push({ file: ownFile, where, rule, message: `${ownFile}: ${where}: ${message}` });
    };
    if (!node.name.startsWith('syncline.'))
      report(node.name, 'NAMESPACE', 'named types live under the syncline. namespace');
    if (!node.doc) report(node.name, 'DOC_MISSING', `${node.kind} has no doc`);
    if (node.kind === 'enum' && node.default === undefined) {
      report(
        node.name,
        'ENUM_DEFAULT_MISSING',
        'enum has no default, so readers fail on symbols added later',
      );
    }
    if (node.kind !== 'record') return;
    for (const field of node.fields) {
      const where = `${node.name}.${field.name}`;
      if (!field.doc) report(where, 'DOC_MISSING', 'field has no doc');
      const type = field.type;
      if (
        type.kind === 'union' &&
        type.branches.some((branch) => branch.kind === 'primitive' && branch.type === 'null')
      ) {
        const nullFirst = type.branches[0]?.kind === 'primitive' && type.branches[0].type === 'null';
        if (!nullFirst || !field.hasDefault || field.default !== null) {
          report(where, 'OPTIONAL_FIELD_SHAPE', 'an optional field is ["null", T] with "default": null');
        }
      }
      if (MONEY_NAME.test(field.name) && holdsFloat(type)) {
        report(
          where,
          'MONEY_AS_FLOAT',
          'money is never a float: use integer minor units (long) and an ISO 4217 currency',
        );
      }
      visitTree(type, ownFile);
    }
  };

  const visitTree = (node: AvroNode, file: string): void => {
    switch (node.kind) {
      case 'record':
      case 'enum':
      case 'fixed':
        visitNamed(node, file);
        return;
      case 'array':
        visitTree(node.items, file);
        return;
      case 'map':
        visitTree(node.values, file);
        return;
      case 'union':
        for (const branch of node.branches) visitTree(branch, file);
        return;
      case 'primitive':
        return;
    }
  };

  for (const file of catalog.files) visitNamed(file.node, file.file);
  return problems;
}

function holdsFloat(node: AvroNode): boolean {
  if (node.kind === 'primitive') return node.type === 'float' || node.type === 'double';
  if (node.kind === 'union') return node.branches.some(holdsFloat);
  return false;
}
