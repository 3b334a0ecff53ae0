import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMAS_ROOT, loadCatalog } from '../../../src/schemas/catalog.ts';
import { checkContracts, failureLines } from '../../../src/schemas/contract-check.ts';
import { freezeHistory, loadHistory } from '../../../src/schemas/history.ts';

const REPO = join(SCHEMAS_ROOT, '..');
const V3 = join(REPO, 'test', 'fixtures', 'schemas', 'stripe-customer-v3-incompatible.avsc');
const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyOfSchemas(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-contract-'));
  temporary.push(dir);
  cpSync(SCHEMAS_ROOT, dir, { recursive: true });
  return dir;
}

function syncline(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(REPO, 'bin', 'syncline.js'), ...args], {
    encoding: 'utf8',
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the contract check against the versions kept in the repository', () => {
  it('passes for the working tree: every subject compatible with every kept version', async () => {
    const catalog = loadCatalog();
    const report = await checkContracts({ catalog, history: loadHistory(catalog.root) });
    expect(failureLines(report)).toEqual([]);
    const stripe = report.subjects.find((subject) => subject.subject === 'raw.stripe.customer-value');
    expect(stripe?.comparedWith).toEqual(['repo v1', 'repo v2']);
    expect(report.subjects.every((subject) => !subject.changedSinceKept)).toBe(true);
  });

  it('refuses the incompatible v3 of the Stripe customer from the command line, naming subject, field and rule', () => {
    const root = copyOfSchemas();
    copyFileSync(V3, join(root, 'raw', 'stripe', 'Customer.avsc'));
    const result = syncline(['schemas', 'check', '--no-registry', '--root', root]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('syncline: schemas check: 4 contract violation(s)');
    expect(result.stderr).toContain(
      'raw.stripe.customer-value: field data.balance: TYPE_MISMATCH: type changed from long in v1 to string, which cannot read it (BACKWARD_TRANSITIVE, against repo v1)',
    );
    expect(result.stderr).toContain(
      'raw.stripe.customer-value: field data.account_country: READER_FIELD_MISSING_DEFAULT_VALUE: field "account_country" was added without a default, so records written with v1 cannot be read (BACKWARD_TRANSITIVE, against repo v1)',
    );
    expect(result.stdout).toContain('FAIL raw.stripe.customer-value');
  });

  it('reports the same as one JSON object with --json', () => {
    const root = copyOfSchemas();
    copyFileSync(V3, join(root, 'raw', 'stripe', 'Customer.avsc'));
    const result = syncline(['schemas', 'check', '--no-registry', '--json', '--root', root]);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      failures: string[];
      subjects: Array<{ subject: string; violations: Array<{ rule: string; field: string }> }>;
    };
    expect(report.ok).toBe(false);
    const stripe = report.subjects.find((subject) => subject.subject === 'raw.stripe.customer-value');
    // Against v1 and v2 (transitive): each break is reported once per version it breaks.
    expect(stripe?.violations.map((v) => `${v.rule} ${v.field}`)).toEqual([
      'TYPE_MISMATCH data.balance',
      'READER_FIELD_MISSING_DEFAULT_VALUE data.account_country',
      'TYPE_MISMATCH data.balance',
      'READER_FIELD_MISSING_DEFAULT_VALUE data.account_country',
    ]);
  });

  it('catches an enum symbol removed from a canonical schema (FULL_TRANSITIVE keeps its default, so removing the default too breaks it)', async () => {
    const root = copyOfSchemas();
    const file = join(root, 'canonical', 'Invoice.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as {
      fields: Array<{ name: string; type: { symbols: string[]; default?: string } }>;
    };
    const status = schema.fields.find((field) => field.name === 'status')!.type;
    status.symbols = status.symbols.filter((symbol) => symbol !== 'UNCOLLECTIBLE' && symbol !== 'UNKNOWN');
    delete status.default;
    writeFileSync(file, JSON.stringify(schema));
    const catalog = loadCatalog({ root });
    const report = await checkContracts({ catalog, history: loadHistory(root) });
    const lines = failureLines(report);
    expect(lines).toContain(
      'canonical.invoice-value: field status: MISSING_ENUM_SYMBOLS: enum symbol(s) UNCOLLECTIBLE, UNKNOWN of syncline.canonical.InvoiceStatus were removed and the new enum has no default, so records written with v1 may hold them (FULL_TRANSITIVE, against repo v1)',
    );
    expect(lines).toContain(
      'ENUM_DEFAULT_MISSING: canonical/Invoice.avsc: syncline.canonical.InvoiceStatus: enum has no default, so readers fail on symbols added later',
    );
  });

  it('refuses a topic removed after release', async () => {
    const root = copyOfSchemas();
    const catalog = loadCatalog({ root, topics: [] });
    const report = await checkContracts({ catalog, history: loadHistory(root) });
    expect(report.ok).toBe(false);
    expect(report.removedSubjects).toContain('raw.stripe.customer-value');
  });
});

describe('freezing a released version into the history', () => {
  it('writes the next version of changed subjects only, and nothing the second time', () => {
    const root = copyOfSchemas();
    const file = join(root, 'ops', 'AuditEvent.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { fields: unknown[] };
    schema.fields.push({
      name: 'ticket',
      type: ['null', 'string'],
      default: null,
      doc: 'Change ticket of the action.',
    });
    writeFileSync(file, JSON.stringify(schema));
    const catalog = loadCatalog({ root });
    expect(freezeHistory(catalog, loadHistory(root))).toEqual([
      { subject: 'ops.audit-value', version: 2, file: 'history/ops.audit-value/v2.avsc' },
    ]);
    expect(existsSync(join(root, 'history', 'ops.audit-value', 'v2.avsc'))).toBe(true);
    expect(freezeHistory(catalog, loadHistory(root))).toEqual([]);
  });

  it('is refused from the command line when the working tree breaks the contract', () => {
    const root = copyOfSchemas();
    copyFileSync(V3, join(root, 'raw', 'stripe', 'Customer.avsc'));
    const result = syncline(['schemas', 'freeze', '--root', root]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'syncline: schemas freeze: refused, the working tree breaks the contract',
    );
    expect(existsSync(join(root, 'history', 'raw.stripe.customer-value', 'v3.avsc'))).toBe(false);
  });
});
