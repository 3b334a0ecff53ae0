/**
 * The released versions of each subject, kept in the repository under
 * `schemas/history/<subject>/v<N>.avsc` (self-contained, normalised schema JSON), so that the contract
 * check can compare the working tree with every released version without a registry, in CI.
 *
 * A version is added by `syncline schemas freeze` when a schema change is released; the files are
 * never edited afterwards. The registry keeps its own versions, which the check also compares with.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { Catalog } from './catalog.ts';
import { HISTORY_FOLDER, readJson } from './catalog.ts';
import type { AvroNode, SchemaJson } from './model.ts';
import { parseSchema, toSchemaText } from './model.ts';

export interface HistoryVersion {
  subject: string;
  version: number;
  /** Path relative to the schemas root. */
  file: string;
  node: AvroNode;
  /** Normalised schema text, comparable with a catalog entry's `text`. */
  text: string;
}

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

/** Every kept version, by subject, oldest first. A subject folder with a gap in its numbering is refused. */
export function loadHistory(root: string): Map<string, HistoryVersion[]> {
  const folder = join(root, HISTORY_FOLDER);
  const out = new Map<string, HistoryVersion[]>();
  let subjects: string[];
  try {
    subjects = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return out; // no history yet
  }
  for (const subject of subjects) {
    const versions: HistoryVersion[] = [];
    for (const name of readdirSync(join(folder, subject)).sort()) {
      const match = VERSION_FILE.exec(name);
      const file = `${HISTORY_FOLDER}/${subject}/${name}`;
      if (!match) throw invalid(`${file}: history files are named v<N>.avsc`);
      const node = parseSchema(readJson(join(root, file), file) as SchemaJson, { origin: file });
      versions.push({ subject, version: Number(match[1]), file, node, text: toSchemaText(node) });
    }
    versions.sort((a, b) => a.version - b.version);
    versions.forEach((entry, index) => {
      if (entry.version !== index + 1)
        throw invalid(`${HISTORY_FOLDER}/${subject}: versions must run v1, v2, ... without gaps`);
    });
    if (versions.length > 0) out.set(subject, versions);
  }
  return out;
}

export interface FrozenVersion {
  subject: string;
  version: number;
  file: string;
}

/**
 * Keeps the working tree's schema of every subject as its next version where it differs from the
 * latest kept one. Returns what was written; nothing when everything is frozen already. The caller
 * runs the contract check first: freezing an incompatible schema is refused here too.
 */
export function freezeHistory(catalog: Catalog, history: Map<string, HistoryVersion[]>): FrozenVersion[] {
  const written: FrozenVersion[] = [];
  for (const entry of catalog.topics) {
    const versions = history.get(entry.contractSubject) ?? [];
    const latest = versions.at(-1);
    if (latest && latest.text === entry.text) continue;
    const version = (latest?.version ?? 0) + 1;
    const file = `${HISTORY_FOLDER}/${entry.contractSubject}/v${version}.avsc`;
    mkdirSync(join(catalog.root, HISTORY_FOLDER, entry.contractSubject), { recursive: true });
    writeFileSync(join(catalog.root, file), `${JSON.stringify(entry.json, null, 2)}\n`, { flag: 'wx' });
    written.push({ subject: entry.contractSubject, version, file });
  }
  return written;
}

/** The latest kept version of a subject, if any. */
export function latestVersion(
  history: Map<string, HistoryVersion[]>,
  subject: string,
): HistoryVersion | undefined {
  return history.get(subject)?.at(-1);
}

function invalid(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { part: 'schemas' });
}
