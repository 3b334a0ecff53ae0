/**
 * Registers every topic's value schema in the registry under `<topic>-value`, idempotently, and pins
 * each subject's compatibility level (BACKWARD_TRANSITIVE unless the topic declares another in
 * `topology/`).
 *
 * Per subject: set the level when it differs; if the exact schema is registered already, nothing
 * else happens; otherwise our own compatibility check runs against every version the registry holds
 * (it names the field and the rule, which the registry's answer does not), and only then is the
 * schema registered. The registry's own check still applies and its refusal is reported too.
 */
import { ErrorCodes, classify } from '../runtime/errors.ts';
import type { Catalog, TopicSchema } from './catalog.ts';
import type { PreviousVersion } from './compatibility.ts';
import { checkSubject } from './compatibility.ts';
import type { SchemaJson } from './model.ts';
import { parseSchema } from './model.ts';
import type { RegistryClient } from './registry-client.ts';

export type SyncAction = 'registered' | 'unchanged' | 'refused';

export interface SubjectSyncResult {
  topic: string;
  subject: string;
  schema: string;
  action: SyncAction;
  id?: number;
  version?: number;
  compatibility: string;
  /** The level the subject had before, when it was changed. */
  compatibilityWas?: string;
  /** Why a schema was refused: one line per broken rule. */
  reasons?: string[];
}

export interface SyncOptions {
  /** Only these subjects (default: all). */
  subjects?: readonly string[];
  /** Progress callback, one call per subject done. */
  onSubject?: (result: SubjectSyncResult, done: number, total: number) => void;
}

export async function syncRegistry(
  client: RegistryClient,
  catalog: Catalog,
  options: SyncOptions = {},
): Promise<SubjectSyncResult[]> {
  const wanted = options.subjects ? new Set(options.subjects) : undefined;
  const entries = catalog.topics.filter((entry) => !wanted || wanted.has(entry.subject));
  const results: SubjectSyncResult[] = [];
  for (const entry of entries) {
    const result = await syncSubject(client, entry);
    results.push(result);
    options.onSubject?.(result, results.length, entries.length);
  }
  return results;
}

/** Registers one topic's schema; never throws for a refusal (it is a result), only for an unreachable registry. */
export async function syncSubject(client: RegistryClient, entry: TopicSchema): Promise<SubjectSyncResult> {
  const base = {
    topic: entry.topic,
    subject: entry.subject,
    schema: entry.fullName,
    compatibility: entry.compatibility,
  };

  // The level first, so that the registry checks the new version under the declared level. A topic
  // declaring NONE is always pinned: Apicurio reads NONE for a subject without a level of its own,
  // which then falls back to the global level.
  const own = await client.ownCompatibility(entry.subject);
  let compatibilityWas: string | undefined;
  if (own !== entry.compatibility || entry.compatibility === 'NONE') {
    await client.setCompatibility(entry.subject, entry.compatibility);
    if (own !== entry.compatibility) compatibilityWas = own ?? 'unset';
  }
  const withLevel = compatibilityWas === undefined ? base : { ...base, compatibilityWas };

  const existing = await client.lookup(entry.subject, entry.text);
  if (existing) return { ...withLevel, action: 'unchanged', id: existing.id, version: existing.version };

  const previous: PreviousVersion[] = (await client.allVersions(entry.subject)).map((version) => ({
    source: 'registry',
    version: version.version,
    schema: parseSchema(JSON.parse(version.schema) as SchemaJson, {
      origin: `${entry.subject} v${version.version}`,
    }),
  }));
  const violations = checkSubject(entry.subject, entry.node, previous, entry.compatibility);
  if (violations.length > 0)
    return { ...withLevel, action: 'refused', reasons: violations.map((v) => v.message) };

  try {
    const id = await client.register(entry.subject, entry.text);
    const registered = await client.lookup(entry.subject, entry.text);
    return { ...withLevel, action: 'registered', id, ...(registered ? { version: registered.version } : {}) };
  } catch (error) {
    const failure = classify(error, { subject: entry.subject });
    if (failure.code !== ErrorCodes.SCHEMA_INCOMPATIBLE) throw failure;
    return {
      ...withLevel,
      action: 'refused',
      reasons: [`${entry.subject}: refused by the registry: ${failure.message}`],
    };
  }
}
