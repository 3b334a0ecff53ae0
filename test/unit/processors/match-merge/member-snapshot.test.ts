/**
 * Rebuild fidelity through the real `mdm.customer.golden` Avro schema. A golden record's members
 * (every linked source record, whole) are what blocking and survivorship read. Version 1 of the
 * schema carried only the surviving attributes, so a rebuild from it loses what did not survive (a
 * second domain, another source's tax id or postal code) and with it blocking keys: later records
 * that would have met the golden record under those keys no longer find it. Version 2 carries the
 * member snapshots, and a rebuild restores them exactly.
 */
import { describe, expect, it } from 'vitest';
import { simulatedRecords } from '../../../../src/bench/match-population.ts';
import { goldenBlockingKeys } from '../../../../src/processors/match-merge/blocking.ts';
import { membersFromAttributes } from '../../../../src/processors/match-merge/engine.ts';
import {
  goldenEvent,
  goldenRecordOf,
  originOfRecord,
} from '../../../../src/processors/match-merge/events.ts';
import {
  memberOfSnapshot,
  memberSnapshotOf,
} from '../../../../src/processors/match-merge/member-snapshot.ts';
import { profileOf } from '../../../../src/processors/match-merge/normalize.ts';
import {
  parseSourceRecord,
  sourceKey,
  type GoldenState,
  type SourceRecord,
} from '../../../../src/processors/match-merge/types.ts';
import type * as mdm from '../../../../src/schemas/generated/mdm.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';
import { loadHistory } from '../../../../src/schemas/history.ts';
import { schemaFromJson } from '../../../../src/schemas/serde.ts';

const catalog = loadCatalog();
const current = catalog.topic('mdm.customer.golden').type;
const versions = loadHistory(catalog.root).get('mdm.customer.golden-value') ?? [];
const versionOne = schemaFromJson(JSON.parse(versions[0]!.text) as never, 'golden v1').type;

/** One golden state per simulated company, holding all of its source records. */
function goldenStates(): GoldenState[] {
  const byCompany = new Map<string, SourceRecord[]>();
  for (const { record, companyId } of simulatedRecords({ companies: 40, seed: 'snapshot-1' }).records) {
    const members = byCompany.get(companyId) ?? [];
    members.push(parseSourceRecord(record));
    byCompany.set(companyId, members);
  }
  return [...byCompany.entries()].map(([companyId, members]) => ({
    goldenId: `00000000-0000-5000-8000-${companyId.replace(/\D/g, '').padStart(12, '0').slice(-12)}`,
    version: members.length,
    status: 'ACTIVE',
    mergedInto: null,
    createdAt: Date.UTC(2025, 0, 1),
    updatedAt: Date.UTC(2025, 2, 1),
    change: 'merged',
    members: members.sort((a, b) => (sourceKey(a) < sourceKey(b) ? -1 : 1)),
    links: {},
  }));
}

function eventValueOf(state: GoldenState): mdm.GoldenCustomer {
  const golden = goldenRecordOf(state);
  return goldenEvent(golden, state.change, originOfRecord(state.members[0]!, {}, state.updatedAt)).value;
}

describe('member snapshots on mdm.customer.golden', () => {
  it('survive an Avro round trip exactly (schema version 2)', () => {
    const states = goldenStates();
    expect(states.filter((state) => state.members.length >= 3).length).toBeGreaterThan(10);
    for (const state of states) {
      const decoded = current.fromBuffer(current.toBuffer(eventValueOf(state))) as mdm.GoldenCustomer;
      expect(decoded.members).not.toBeNull();
      const restored = decoded.members!.map((snapshot) => memberOfSnapshot(snapshot));
      expect(restored, state.goldenId).toEqual(state.members);
    }
  });

  it('are lost by version 1, and with them blocking keys: why version 2 carries them', () => {
    const resolver = current.createResolver(versionOne);
    let goldensLosingKeys = 0;
    for (const state of goldenStates()) {
      const old = current.fromBuffer(
        versionOne.toBuffer(eventValueOf(state)),
        resolver,
      ) as mdm.GoldenCustomer;
      expect(old.members).toBeNull();
      const restored = membersFromAttributes(old);
      // The same source records come back ...
      expect(restored.map((member) => sourceKey(member)).sort()).toEqual(
        state.members.map((member) => sourceKey(member)).sort(),
      );
      // ... but not whole.
      const before = goldenBlockingKeys(state.members.map((member) => profileOf(member)));
      const after = new Set(goldenBlockingKeys(restored.map((member) => profileOf(member))));
      if (before.some((key) => !after.has(key))) goldensLosingKeys += 1;
    }
    expect(goldensLosingKeys).toBeGreaterThan(0);
  });

  it('map a member without optional fields to empty ones and back', () => {
    const bare = parseSourceRecord({ system: 'erp', id: 'C-1', name: 'Nordwind', updatedAt: 5 });
    const snapshot = memberSnapshotOf(bare);
    expect(snapshot).toMatchObject({ domains: [], externalRefs: [], address: null, sourceVersion: 5 });
    expect(memberOfSnapshot(snapshot)).toEqual(bare);
  });

  it('refuse a snapshot of a system match-merge does not resolve', () => {
    const snapshot = memberSnapshotOf(
      parseSourceRecord({ system: 'erp', id: 'C-1', name: 'Nordwind', updatedAt: 5 }),
    );
    expect(() =>
      memberOfSnapshot({ ...snapshot, source: { ...snapshot.source, system: 'unknown' } }),
    ).toThrow(/system unknown is not one match-merge resolves/);
  });
});
