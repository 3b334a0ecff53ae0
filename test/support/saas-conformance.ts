/**
 * What the SaaS sinks' conformance files (CRM, support) share in reading their doubles: records
 * built once per (key, entity, version), so asking again gives the same record, i.e. a redelivery;
 * and the per-entity version guard the sinks keep as JSON text on the target record.
 */
import type { SinkRecord } from '../../src/consumers/sink.ts';
import type { RecordedWrite } from '../../src/targets-sim/common/recorder.ts';

/** `record(key, entity, version)` of the conformance suite: `build` runs once per arguments. */
export function builtOnce(
  build: (key: string, entity: number, version: number) => SinkRecord,
): (key: string, entity: number, version: number) => SinkRecord {
  const records = new Map<string, SinkRecord>();
  return (key, entity, version) => {
    const id = `${key}|${entity}|${version}`;
    let record = records.get(id);
    if (!record) {
      record = build(key, entity, version);
      records.set(id, record);
    }
    return record;
  };
}

/** The version guard's text (`{"<entity key>": version, …}`) as a map; empty when unset. */
export function versionsIn(text: unknown): Record<string, number> {
  return typeof text === 'string' && text !== '' ? (JSON.parse(text) as Record<string, number>) : {};
}

/**
 * How many of `writes` changed the entity's own entry in the version guard held in `field`: each is
 * one applied change of that entity.
 */
export function guardChanges(writes: readonly RecordedWrite[], field: string, versionKey: string): number {
  return writes.filter((write) => {
    const change = write.changed[field];
    return change !== undefined && versionsIn(change.from)[versionKey] !== versionsIn(change.to)[versionKey];
  }).length;
}
