/**
 * `syncline schemas list | register | check | generate | freeze`: the Avro contracts in `schemas/`,
 * their registry subjects, the compatibility check CI runs, the generated TypeScript types and the
 * history of released versions.
 */
import { Option, type Command } from 'commander';
import { loadConfig } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Catalog } from '../../schemas/catalog.ts';
import { fileForFullName, loadCatalog } from '../../schemas/catalog.ts';
import { checkContracts, failureLines } from '../../schemas/contract-check.ts';
import { diffGenerated, generateTypes, writeGenerated } from '../../schemas/generate-types.ts';
import { freezeHistory, loadHistory } from '../../schemas/history.ts';
import { RegistryClient } from '../../schemas/registry-client.ts';
import { syncRegistry } from '../../schemas/registry-sync.ts';
import { printJson, Progress, say } from '../output.ts';

interface CommonOptions {
  json?: boolean;
  root?: string;
}

export function registerSchemas(program: Command): void {
  const schemas = program
    .command('schemas')
    .description('Avro contracts: list, register, check compatibility, generate types, freeze versions');
  const json = (): Option => new Option('--json', 'print one JSON object on stdout');
  const root = (): Option =>
    new Option('--root <dir>', "the schemas folder (default: the repository's schemas/)");

  schemas
    .command('list')
    .description('List every Avro topic with its subject, schema, file and compatibility level')
    .addOption(json())
    .addOption(root())
    .action((options: CommonOptions) => {
      const catalog = catalogFrom(options);
      const rows = catalog.topics.map((entry) => ({
        topic: entry.topic,
        subject: entry.subject,
        schema: entry.fullName,
        file: `schemas/${fileForFullName(entry.fullName)}`,
        compatibility: entry.compatibility,
        key: entry.key.format,
      }));
      if (options.json) {
        printJson({ schemas: rows, files: catalog.files.map((file) => `schemas/${file.file}`) });
        return;
      }
      for (const row of rows) say(`${row.subject.padEnd(34)} ${row.schema.padEnd(40)} ${row.compatibility}`);
    });

  schemas
    .command('register')
    .description(
      "Register every topic schema under <topic>-value and pin each subject's compatibility (idempotent)",
    )
    .addOption(json())
    .addOption(root())
    .option('--subject <subject...>', 'only these subjects')
    .action(async (options: CommonOptions & { subject?: string[] }) => {
      const catalog = catalogFrom(options);
      const client = new RegistryClient({ url: loadConfig().schemaRegistryUrl });
      const progress = new Progress('schemas register', options.subject?.length ?? catalog.topics.length);
      const results = await syncRegistry(client, catalog, {
        ...(options.subject ? { subjects: options.subject } : {}),
        onSubject: (_result, done) => progress.update(done),
      });
      progress.done();
      const refused = results.filter((result) => result.action === 'refused');
      if (options.json) printJson({ ok: refused.length === 0, registry: client.url, subjects: results });
      else {
        for (const result of results) {
          const level = result.compatibilityWas
            ? `${result.compatibility} (was ${result.compatibilityWas})`
            : result.compatibility;
          const where = result.id === undefined ? '' : ` id ${result.id} v${result.version ?? '?'}`;
          say(`${result.action.padEnd(10)} ${result.subject.padEnd(34)}${where.padEnd(14)} ${level}`);
        }
      }
      if (refused.length > 0) {
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_INCOMPATIBLE,
          `${refused.length} schema(s) refused\n  ${refused.flatMap((result) => result.reasons ?? []).join('\n  ')}`,
          { part: 'schemas register' },
        );
      }
    });

  schemas
    .command('check')
    .description(
      "Check the working tree's schemas against every kept version and every registry version; exit 1 naming subject, field and rule",
    )
    .addOption(json())
    .addOption(root())
    .option('--no-registry', 'compare with the versions kept in the repository only (CI without a registry)')
    .action(async (options: CommonOptions & { registry: boolean }) => {
      const catalog = catalogFrom(options);
      const history = loadHistory(catalog.root);
      const registry = options.registry
        ? new RegistryClient({ url: loadConfig().schemaRegistryUrl })
        : undefined;
      const report = await checkContracts({ catalog, history, ...(registry ? { registry } : {}) }).catch(
        (error: unknown) => {
          if (error instanceof SynclineError && error.code === ErrorCodes.REGISTRY_UNAVAILABLE) {
            throw SynclineError.retriable(
              ErrorCodes.REGISTRY_UNAVAILABLE,
              `${error.message} (use --no-registry to check against the repository history only)`,
              error.context,
              error,
            );
          }
          throw error;
        },
      );
      const failures = failureLines(report);
      if (options.json) printJson({ ...report, failures });
      else {
        for (const subject of report.subjects) {
          const against =
            subject.comparedWith.length > 0
              ? `against ${subject.comparedWith.join(', ')}`
              : 'no earlier version';
          const pending = subject.changedSinceKept
            ? ' (changed since the last kept version: run syncline schemas freeze when releasing)'
            : '';
          say(
            `${subject.violations.length === 0 ? 'ok  ' : 'FAIL'} ${subject.subject.padEnd(34)} ${subject.compatibility.padEnd(20)} ${against}${pending}`,
          );
        }
        for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
        if (report.ok)
          say(
            `schemas check: ${report.subjects.length} subjects compatible (${report.registry === 'checked' ? 'repository and registry' : 'repository only'})`,
          );
      }
      if (!report.ok) {
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_INCOMPATIBLE,
          `${failures.length} contract violation(s)\n  ${failures.join('\n  ')}`,
          { part: 'schemas check' },
        );
      }
    });

  schemas
    .command('generate')
    .description('Generate the TypeScript types in src/schemas/generated/ from the .avsc files')
    .option('--check', 'write nothing; exit 1 when the generated files are stale (CI)')
    .addOption(root())
    .action((options: CommonOptions & { check?: boolean }) => {
      const files = generateTypes(catalogFrom(options));
      if (options.check) {
        const drift = diffGenerated(files);
        const stale = [...drift.changed, ...drift.extra];
        if (stale.length > 0) {
          throw SynclineError.permanent(
            ErrorCodes.INPUT_INVALID,
            `generated types are stale (${stale.join(', ')}): run npm run schemas:generate and commit the result`,
            { part: 'schemas generate' },
          );
        }
        say(`schemas generate: ${files.size} generated files are current`);
        return;
      }
      const drift = writeGenerated(files);
      const touched = drift.changed.length + drift.extra.length;
      say(
        touched === 0
          ? `schemas generate: ${files.size} files already current`
          : `schemas generate: wrote ${drift.changed.join(', ') || 'nothing'}${drift.extra.length > 0 ? `; removed ${drift.extra.join(', ')}` : ''}`,
      );
    });

  schemas
    .command('freeze')
    .description(
      "Keep each changed schema as its subject's next version in schemas/history/ (when releasing)",
    )
    .addOption(json())
    .addOption(root())
    .action(async (options: CommonOptions) => {
      const catalog = catalogFrom(options);
      const history = loadHistory(catalog.root);
      const report = await checkContracts({ catalog, history });
      if (!report.ok) {
        throw SynclineError.permanent(
          ErrorCodes.SCHEMA_INCOMPATIBLE,
          `refused, the working tree breaks the contract\n  ${failureLines(report).join('\n  ')}`,
          { part: 'schemas freeze' },
        );
      }
      const written = freezeHistory(catalog, history);
      if (options.json) printJson({ written });
      else
        say(
          written.length === 0
            ? 'schemas freeze: every subject is already kept'
            : written.map((w) => `kept ${w.subject} v${w.version} (schemas/${w.file})`).join('\n'),
        );
    });
}

function catalogFrom(options: CommonOptions): Catalog {
  return loadCatalog(options.root ? { root: options.root } : {});
}
