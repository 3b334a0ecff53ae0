/**
 * Two processor instances (two engines, two Redis connections, one key prefix) receive records of
 * the same company at the same moment: whichever key the records share (domain, tax id, name and
 * postal code), exactly one golden record comes out, round after round.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syntheticCompany } from '../../../../src/bench/match-population.ts';
import type { SourceRecordInput } from '../../../../src/processors/match-merge/types.ts';
import { matchHarness, type MatchHarness } from '../../../support/match-merge.ts';

const ROUNDS = 60;

/** Two records of company `n`, seen by two systems, sharing one kind of key. */
function pair(n: number): [SourceRecordInput, SourceRecordInput] {
  const brand = syntheticCompany('concurrency', n).brand;
  const place = { country: 'DE', address: { postalCode: String(10000 + n), city: 'Berlin', country: 'DE' } };
  const updatedAt = Date.UTC(2025, 0, 1) + n;
  switch (n % 3) {
    case 0: // a shared domain, names spelled differently
      return [
        {
          system: 'salesforce',
          id: `001-${n}`,
          name: `${brand} Logistik GmbH`,
          website: `https://www.${brand}.de`,
          ...place,
          updatedAt,
        },
        {
          system: 'stripe',
          id: `cus_${n}`,
          name: `${brand.toUpperCase()} LOGISTIK`,
          email: `billing@${brand}.de`,
          updatedAt,
        },
      ];
    case 1: // a shared tax id, one without country prefix
      return [
        {
          system: 'erp',
          id: `C-${n}`,
          name: `${brand} Logistik G.m.b.H.`,
          taxId: `DE${String(100000000 + n)}`,
          ...place,
          updatedAt,
        },
        {
          system: 'stripe',
          id: `cus_${n}`,
          name: `${brand} Logistik`,
          taxId: String(100000000 + n),
          country: 'DE',
          updatedAt,
        },
      ];
    default: // name and postal code only
      return [
        { system: 'erp', id: `C-${n}`, name: `${brand} Logistik GmbH`, ...place, updatedAt },
        { system: 'salesforce', id: `001-${n}`, name: `${brand} Logistik`, ...place, updatedAt },
      ];
  }
}

describe('match-merge under concurrent arrival', () => {
  let harness: MatchHarness;
  beforeEach(() => {
    harness = matchHarness('concurrency');
  });
  afterEach(async () => {
    await harness.close();
  });

  it(`makes one golden record when two instances resolve the same company at once (${ROUNDS} rounds)`, async () => {
    const first = harness.engine();
    const second = harness.engine();
    expect(first.store.redis).not.toBe(second.store.redis);
    for (let round = 0; round < ROUNDS; round += 1) {
      const [a, b] = pair(round);
      const [ra, rb] =
        round % 2 === 0
          ? await Promise.all([first.resolve(a), second.resolve(b)])
          : await Promise.all([second.resolve(b), first.resolve(a)]);
      expect(ra.goldenId, `round ${round}`).toBe(rb.goldenId);
      expect([ra.outcome, rb.outcome].sort(), `round ${round}`).toEqual(['auto-merge', 'new']);
    }
    const goldens: string[] = [];
    for await (const golden of first.exportGoldens()) goldens.push(golden.goldenId);
    expect(goldens.length).toBe(ROUNDS);
    expect((await harness.store.xrefs()).size).toBe(2 * ROUNDS);
  });

  it('makes one golden record when the same source record arrives on both instances at once', async () => {
    const first = harness.engine();
    const second = harness.engine();
    for (let round = 0; round < 20; round += 1) {
      const [record] = pair(round);
      const [ra, rb] = await Promise.all([first.resolve(record), second.resolve(record)]);
      expect(ra.goldenId).toBe(rb.goldenId);
      expect([ra.outcome, rb.outcome].sort()).toEqual(['new', 'update']);
      // The redelivered copy re-emits the same golden version instead of making a new one.
      expect(ra.golden.version).toBe(1);
      expect(rb.golden.version).toBe(1);
    }
  });

  it('keeps one golden record per company when many companies arrive at once on three instances', async () => {
    const engines = [harness.engine(), harness.engine(), harness.engine()];
    const records = Array.from({ length: 30 }, (_, n) => pair(1000 + n)).flat();
    const results = await Promise.all(records.map((record, index) => engines[index % 3]!.resolve(record)));
    for (let n = 0; n < 30; n += 1) expect(results[2 * n]!.goldenId).toBe(results[2 * n + 1]!.goldenId);
    expect(new Set(results.map((result) => result.goldenId)).size).toBe(30);
  });
});
