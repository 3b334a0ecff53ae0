/**
 * The contract check behind `syncline schemas check`: the working tree's schemas against every
 * version kept in the repository (`schemas/history/`) and, when a registry is given, every version
 * the registry holds, under each subject's compatibility level; plus Syncline's schema conventions.
 * A topic whose subject has released versions but no longer exists is a break too: downstream
 * subscribers read it.
 */
import type { Catalog } from './catalog.ts';
import type { PreviousVersion, Violation } from './compatibility.ts';
import { checkSubject } from './compatibility.ts';
import type { ConventionProblem } from './conventions.ts';
import { checkConventions } from './conventions.ts';
import type { HistoryVersion } from './history.ts';
import type { SchemaJson } from './model.ts';
import { parseSchema } from './model.ts';
import type { RegistryClient } from './registry-client.ts';

export interface SubjectReport {
  subject: string;
  topic: string;
  schema: string;
  compatibility: string;
  /** What the schema was compared with, e.g. `repo v1`, `registry v2`. */
  comparedWith: string[];
  violations: Violation[];
  /** The latest version kept in the repository, if any. */
  latestKept?: number;
  /** True when the working tree's schema differs from the latest kept version (not yet frozen). */
  changedSinceKept: boolean;
}

export interface ContractReport {
  ok: boolean;
  registry: 'checked' | 'skipped';
  subjects: SubjectReport[];
  conventions: ConventionProblem[];
  /** Subjects with kept versions that no topic declares any more. */
  removedSubjects: string[];
  /** Worth knowing, not failing: e.g. a registry level that differs from the declared one. */
  warnings: string[];
}

export interface ContractCheckInput {
  catalog: Catalog;
  history: Map<string, HistoryVersion[]>;
  /** Compare with the registry too; omit for a repository-only check (`--no-registry`). */
  registry?: RegistryClient;
}

export async function checkContracts(input: ContractCheckInput): Promise<ContractReport> {
  const { catalog, history, registry } = input;
  const subjects: SubjectReport[] = [];
  const warnings: string[] = [];
  for (const entry of catalog.topics) {
    const kept = history.get(entry.contractSubject) ?? [];
    const previous: PreviousVersion[] = kept.map((version) => ({
      source: 'repo',
      version: version.version,
      schema: version.node,
    }));
    if (registry) {
      for (const version of await registry.allVersions(entry.subject)) {
        previous.push({
          source: 'registry',
          version: version.version,
          schema: parseSchema(JSON.parse(version.schema) as SchemaJson, {
            origin: `registry ${entry.subject} v${version.version}`,
          }),
        });
      }
      if (previous.some((version) => version.source === 'registry')) {
        const level = await registry.compatibility(entry.subject);
        if (level !== entry.compatibility) {
          warnings.push(
            `${entry.subject}: the registry enforces ${level}, topology declares ${entry.compatibility}; syncline schemas register pins it`,
          );
        }
      }
    }
    const latest = kept.at(-1);
    subjects.push({
      subject: entry.subject,
      topic: entry.topic,
      schema: entry.fullName,
      compatibility: entry.compatibility,
      comparedWith: previous.map((version) => `${version.source} v${version.version}`),
      violations: checkSubject(entry.subject, entry.node, previous, entry.compatibility),
      ...(latest ? { latestKept: latest.version } : {}),
      changedSinceKept: latest !== undefined && latest.text !== entry.text,
    });
  }
  const declared = new Set(catalog.topics.map((entry) => entry.contractSubject));
  const removedSubjects = [...history.keys()].filter((subject) => !declared.has(subject)).sort();
  const conventions = checkConventions(catalog);
  const ok =
    subjects.every((subject) => subject.violations.length === 0) &&
    conventions.length === 0 &&
    removedSubjects.length === 0;
  return { ok, registry: registry ? 'checked' : 'skipped', subjects, conventions, removedSubjects, warnings };
}

/** Every failure of a report as one line each: subject, field, rule. */
export function failureLines(report: ContractReport): string[] {
  return [
    ...report.subjects.flatMap((subject) => subject.violations.map((violation) => violation.message)),
    ...report.removedSubjects.map(
      (subject) =>
        `${subject}: SUBJECT_REMOVED: released versions are kept in schemas/history, but no topic declares this subject any more`,
    ),
    ...report.conventions.map((problem) => `${problem.rule}: ${problem.message}`),
  ];
}
