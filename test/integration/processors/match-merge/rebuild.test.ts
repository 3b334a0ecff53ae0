/**
 * Redis lost, state rebuilt from the `mdm.*` events: after a population was resolved (with
 * merges, reviews, a steward's decision and an unmerge) and every emitted event recorded as the
 * compacted topics would keep it, the prefix is deleted and `rebuild` restores the same golden ids,
 * the same golden records and the same cross-reference; matching then carries on as before.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatedRecords } from '../../../../src/bench/match-population.ts';
import type { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import type { RedisMatchStore } from '../../../../src/processors/match-merge/store.ts';
import type { GoldenState, MdmEvent } from '../../../../src/processors/match-merge/types.ts';
import { matchHarness, type MatchHarness } from '../../../support/match-merge.ts';

interface Snapshot {
  goldens: Map<string, GoldenState>;
  xrefs: Map<string, string>;
  /** Kept-apart golden ids per golden id, where there are any. */
  apart: Map<string, string[]>;
}

async function snapshot(store: RedisMatchStore): Promise<Snapshot> {
  const goldens = new Map<string, GoldenState>();
  const apart = new Map<string, string[]>();
  for await (const state of store.scanGoldens()) {
    goldens.set(state.goldenId, state);
    const kept = await store.keptApartOf(state.goldenId);
    if (kept.length > 0) apart.set(state.goldenId, kept.sort());
  }
  return { goldens, xrefs: await store.xrefs(), apart };
}

describe('match-merge rebuild from the mdm events', () => {
  let harness: MatchHarness;
  let engine: MatchEngine;
  beforeEach(() => {
    harness = matchHarness('rebuild');
    engine = harness.engine();
  });
  afterEach(async () => {
    await harness.close();
  });

  async function resolvePopulation(): Promise<ReturnType<typeof simulatedRecords>> {
    const simulated = simulatedRecords({ companies: 120, seed: 'rebuild-1' });
    // Leave one record per company out, to resolve after the rebuild.
    for (const { record } of simulated.records.slice(0, -20)) {
      harness.publish((await engine.resolve(record, { now: Date.UTC(2025, 5, 1) })).events);
    }
    // A steward decides one review, and splits one merged record off again.
    const [review] = await engine.openReviews(1);
    expect(review).toBeDefined();
    if (review) {
      const decided = await engine.applyReviewDecision(
        {
          source: { system: review.source.system as 'zendesk', id: review.source.id },
          decision: 'keep-apart',
        },
        { steward: 'erin', now: Date.UTC(2025, 5, 2) },
      );
      harness.publish(decided.events);
    }
    let unmerged = 0;
    for await (const golden of engine.exportGoldens()) {
      if (golden.members.length < 3) continue;
      const member = golden.members[0]!;
      harness.publish(
        (await engine.unmerge(golden.goldenId, member, { steward: 'erin', now: Date.UTC(2025, 5, 3) }))
          .events,
      );
      unmerged += 1;
      break;
    }
    expect(unmerged).toBe(1);
    return simulated;
  }

  it('restores the same golden ids, golden records and xref, and matching carries on', async () => {
    const simulated = await resolvePopulation();
    const before = await snapshot(harness.store);
    const openBefore = await engine.openReviews();
    expect(before.goldens.size).toBeGreaterThan(100);
    expect(
      [...before.goldens.values()].some((state) => state.status === 'MERGED' || state.change === 'unmerged'),
    ).toBe(true);

    // Redis loses everything under the prefix.
    expect(await harness.store.deleteAll()).toBeGreaterThan(0);
    expect((await snapshot(harness.store)).goldens.size).toBe(0);

    const report = await engine.rebuild(harness.published);
    const after = await snapshot(harness.store);
    expect(report.goldens).toBe(before.goldens.size);
    expect(report.restoredFromAttributes).toBe(0);
    expect(report.xrefRepaired).toBe(0);
    expect([...after.goldens.keys()].sort()).toEqual([...before.goldens.keys()].sort());
    for (const [goldenId, state] of before.goldens)
      expect(after.goldens.get(goldenId), goldenId).toEqual(state);
    expect(after.xrefs).toEqual(before.xrefs);
    expect(after.apart.size).toBeGreaterThan(0);
    expect(after.apart).toEqual(before.apart);
    expect(await engine.openReviews()).toEqual(openBefore);

    // The index is back: the records held back join their companies' golden records as they
    // would have, and a record resolved before is recognised as unchanged.
    const truth = new Map(
      simulated.records.map(({ record, companyId }) => [`${record.system}:${record.id}`, companyId]),
    );
    const goldenOfCompany = new Map<string, string>();
    for (const [ref, goldenId] of before.xrefs) goldenOfCompany.set(truth.get(ref)!, goldenId);
    let joined = 0;
    for (const { record, companyId } of simulated.records.slice(-20)) {
      const result = await engine.resolve(record, { now: Date.UTC(2025, 5, 4) });
      if (result.outcome === 'auto-merge' && result.goldenId === goldenOfCompany.get(companyId)) joined += 1;
    }
    expect(joined).toBeGreaterThanOrEqual(10);
    const { record } = simulated.records[0]!;
    expect((await engine.resolve(record)).change).toBe('unchanged');
  });

  it('restores golden ids and xref from version-1 events, which carry no member snapshots', async () => {
    await resolvePopulation();
    const before = await snapshot(harness.store);
    await harness.store.deleteAll();
    // What a version-2 reader sees in a record written with version 1 of GoldenCustomer.
    const versionOne: MdmEvent[] = harness.published.map((event) =>
      event.topic === 'mdm.customer.golden' ? { ...event, value: { ...event.value, members: null } } : event,
    );
    const report = await engine.rebuild(versionOne);
    expect(report.restoredFromAttributes).toBe(report.goldens);
    const after = await snapshot(harness.store);
    expect([...after.goldens.keys()].sort()).toEqual([...before.goldens.keys()].sort());
    expect(after.xrefs).toEqual(before.xrefs);
    for (const [goldenId, state] of before.goldens) {
      const restored = after.goldens.get(goldenId)!;
      expect(restored.version).toBe(state.version);
      expect(restored.status).toBe(state.status);
      expect(restored.members.map((member) => `${member.system}:${member.id}`)).toEqual(
        state.members.map((member) => `${member.system}:${member.id}`),
      );
    }
  });
});
