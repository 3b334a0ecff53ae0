/**
 * Golden customers as `syncline mdm export` writes them, one JSON line each (DESIGN.md's format):
 * `{"goldenId": "...", "sources": [{"system": "stripe", "id": "cus_..."}, ...], "attributes": ...}`,
 * every surviving attribute with the source that gave it and the rule that chose it. Streamed from
 * the Redis state: one SCAN page at a time, never the whole population in memory.
 */
import type { MatchEngine } from './engine.ts';
import type { GoldenAttributes, GoldenRecord, Surviving } from './types.ts';

export interface ExportedAttribute {
  value: unknown;
  /** The source record that gave the value. */
  source: { system: string; id: string; entity: string; instance: string | null };
  /** ONLY_SOURCE, TRUST_RANK, RECENCY or STEWARD. */
  rule: string;
  /** When the source changed the value (ISO 8601). */
  observedAt: string;
  sourceVersion: number;
}

export interface GoldenExportLine {
  goldenId: string;
  version: number;
  status: string;
  sources: { system: string; id: string; entity: string; instance: string | null }[];
  attributes: Partial<Record<keyof GoldenAttributes, ExportedAttribute>>;
  createdAt: string;
  updatedAt: string;
}

/** The export line of a golden record. Attributes without a value are left out. */
export function exportLineOf(golden: GoldenRecord): GoldenExportLine {
  const attributes: GoldenExportLine['attributes'] = {};
  for (const [name, surviving] of Object.entries(golden.attributes) as [
    keyof GoldenAttributes,
    Surviving<unknown> | null,
  ][]) {
    if (!surviving) continue;
    const { source, rule, observedAt, sourceVersion } = surviving.provenance;
    attributes[name] = {
      value: surviving.value,
      source: { system: source.system, id: source.id, entity: source.entity, instance: source.instance },
      rule,
      observedAt: new Date(observedAt).toISOString(),
      sourceVersion,
    };
  }
  return {
    goldenId: golden.goldenId,
    version: golden.version,
    status: golden.status,
    sources: golden.sources.map((source) => ({
      system: source.system,
      id: source.id,
      entity: source.entity,
      instance: source.instance,
    })),
    attributes,
    createdAt: new Date(golden.createdAt).toISOString(),
    updatedAt: new Date(golden.updatedAt).toISOString(),
  };
}

/**
 * Every active golden customer once. SCAN may return a key twice while Redis resizes its table,
 * so the ids already written are remembered (ids only: about 100 bytes each).
 */
export async function* exportGoldenLines(engine: MatchEngine): AsyncGenerator<GoldenExportLine> {
  const seen = new Set<string>();
  for await (const golden of engine.exportGoldens()) {
    if (seen.has(golden.goldenId)) continue;
    seen.add(golden.goldenId);
    yield exportLineOf(golden);
  }
}
