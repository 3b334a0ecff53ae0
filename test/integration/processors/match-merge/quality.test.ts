/**
 * Match-merge quality on the simulator's ground truth, against the real Redis: the population's
 * records (legal-form variants, typos, capitals, missing tax ids, brand-only names, look-alike
 * companies in other countries) resolved one by one; pairwise precision, recall and F1 printed and
 * held to floors; no golden record ever holds two different valid tax ids of one country.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pairwiseQuality, simulatedRecords } from '../../../../src/bench/match-population.ts';
import { profileOf } from '../../../../src/processors/match-merge/normalize.ts';
import { taxIdsConflict } from '../../../../src/processors/match-merge/scoring.ts';
import { matchHarness, type MatchHarness } from '../../../support/match-merge.ts';

describe('match-merge quality on the simulator ground truth', () => {
  let harness: MatchHarness;
  beforeEach(() => {
    harness = matchHarness('quality');
  });
  afterEach(async () => {
    await harness.close();
  });

  it('reaches F1 ≥ 0.9 with precision ≥ 0.97, and merges no tax-id conflict', async () => {
    const engine = harness.engine();
    const { records } = simulatedRecords({ companies: 300, seed: 'quality-1' });
    const truth = new Map<string, string>();
    const outcomes: Record<string, number> = {};
    for (const { record, companyId } of records) {
      const result = await engine.resolve(record, { now: Date.UTC(2025, 5, 1) });
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      truth.set(`${record.system}:${record.id}`, companyId);
    }
    const quality = pairwiseQuality(await harness.store.xrefs(), truth);
    process.stderr.write(
      `[match-merge quality] ${records.length} records of 300 companies: precision ${quality.precision.toFixed(4)}, ` +
        `recall ${quality.recall.toFixed(4)}, F1 ${quality.f1.toFixed(4)}; outcomes ${JSON.stringify(outcomes)}\n`,
    );
    expect(quality.records).toBe(records.length);
    expect(quality.f1).toBeGreaterThanOrEqual(0.9);
    expect(quality.precision).toBeGreaterThanOrEqual(0.97);

    // Precision on tax ids is total: no golden record holds two valid tax ids of one country.
    let goldens = 0;
    for await (const golden of engine.exportGoldens()) {
      goldens += 1;
      const profiles = golden.members.map((member) => profileOf(member));
      const conflicts = profiles.flatMap((a, i) => profiles.slice(i + 1).filter((b) => taxIdsConflict(a, b)));
      expect(conflicts, `golden ${golden.goldenId}`).toEqual([]);
    }
    expect(goldens).toBeGreaterThanOrEqual(300);
  });

  it('keeps records with different valid tax ids apart even when name, domain and address are equal', async () => {
    const engine = harness.engine();
    const base = {
      name: 'Granite Bausysteme GmbH',
      country: 'DE',
      website: 'https://granite-bau.de',
      address: { line1: 'Industriestraße 4', city: 'Köln', postalCode: '50667', country: 'DE' },
      updatedAt: '2025-03-01T00:00:00Z',
    };
    const taxIds = ['DE111111111', 'DE222222222', 'DE333333333'];
    const systems = ['erp', 'salesforce', 'stripe'] as const;
    const results = [];
    for (const [index, taxId] of taxIds.entries()) {
      results.push(await engine.resolve({ ...base, system: systems[index]!, id: `rec-${index}`, taxId }));
    }
    expect(new Set(results.map((result) => result.goldenId)).size).toBe(3);
    expect(results.map((result) => result.outcome)).toEqual(['new', 'new', 'new']);
    // None of them was even offered to a steward against another.
    expect(
      results.flatMap((result) => result.events).filter((event) => event.topic === 'mdm.customer.review'),
    ).toEqual([]);
    // A record without a tax id that matches all three cannot be placed automatically.
    const untaxed = await engine.resolve({ ...base, system: 'zendesk', id: 'org-1' });
    expect(untaxed.outcome).toBe('review');
    expect(results.map((result) => result.golden.attributes.taxId?.value)).toEqual(taxIds);
  });
});
