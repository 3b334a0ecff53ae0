/**
 * Redis losing the match state under running engines. Each engine checks, in every commit, that
 * the state it works on is the one it started on (its epoch). After a loss it refuses to write,
 * retriably, rather than found new golden records for companies it knew: the processor holds its
 * records (fail closed) until `mdm rebuild` restores the state, which running engines then adopt.
 * Steward results can be committed with an outbox entry, so that a crash between the commit and
 * the publish loses nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simulatedRecords } from '../../../../src/bench/match-population.ts';
import type { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';
import { matchHarness, type MatchHarness } from '../../../support/match-merge.ts';

describe('match-merge state lost under running engines', () => {
  let harness: MatchHarness;
  let engine: MatchEngine;
  beforeEach(() => {
    harness = matchHarness('state-loss');
    engine = harness.engine();
  });
  afterEach(async () => {
    await harness.close();
  });

  it('refuses to write after the loss, and carries on with the same golden ids after a rebuild', async () => {
    const { records } = simulatedRecords({ companies: 30, seed: 'state-loss-1' });
    const held = records.slice(-10);
    const goldenOf = new Map<string, string>();
    for (const { record } of records.slice(0, -10)) {
      const result = await engine.resolve(record);
      harness.publish(result.events);
      goldenOf.set(`${record.system}:${record.id}`, result.goldenId);
    }
    const other = harness.engine(); // a second instance, started before the loss
    await other.resolve(records[0]!.record);

    await harness.store.deleteAll();

    for (const running of [engine, other]) {
      const refused = await running.resolve(held[0]!.record).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SynclineError);
      expect((refused as SynclineError).retriable).toBe(true);
      expect((refused as SynclineError).message).toMatch(/was lost .*run syncline mdm rebuild/);
    }
    // Nothing was founded on the empty state.
    expect(await harness.store.xrefs()).toEqual(new Map());

    await engine.rebuild(harness.published);
    expect(await harness.store.xrefs()).toEqual(goldenOf);
    // Both running engines adopt the rebuilt state: known records are recognised as they were.
    for (const running of [engine, other]) {
      const { record } = records[1]!;
      const again = await running.resolve(record);
      expect(again.change).toBe('unchanged');
      expect(again.goldenId).toBe(goldenOf.get(`${record.system}:${record.id}`));
    }
    const joined = await other.resolve(held[0]!.record);
    expect(['auto-merge', 'new', 'review']).toContain(joined.outcome);
  });

  it('commits a steward result with its outbox entry, kept until acknowledged', async () => {
    const { records } = simulatedRecords({ companies: 30, seed: 'state-loss-2' });
    for (const { record } of records) await engine.resolve(record);
    let target: { goldenId: string; member: { system: 'erp'; id: string } } | null = null;
    for await (const golden of engine.exportGoldens()) {
      if (golden.members.length >= 2) {
        const member = golden.members[0]!;
        target = { goldenId: golden.goldenId, member: { system: member.system as 'erp', id: member.id } };
        break;
      }
    }
    expect(target).not.toBeNull();
    const result = await engine.unmerge(target!.goldenId, target!.member, {
      steward: 'erin',
      outboxId: 'action-1',
    });
    const pending = await harness.store.pendingOutbox();
    expect(pending.map((entry) => entry.id)).toEqual(['action-1']);
    expect(JSON.parse(pending[0]!.payload)).toEqual(JSON.parse(JSON.stringify(result)));
    await harness.store.ackOutbox('action-1');
    expect(await harness.store.pendingOutbox()).toEqual([]);
  });
});
