/**
 * Scoring and the decision: shared identifiers and close names merge, the two thresholds split
 * auto-merge / review / new and are configurable, and the rules no score overrides hold: different
 * valid tax ids never merge, another country is at most a review, a near tie goes to a steward.
 */
import { describe, expect, it } from 'vitest';
import { normalizeName, profileOf } from '../../../../src/processors/match-merge/normalize.ts';
import {
  type CandidateGolden,
  DEFAULT_SCORING,
  decide,
  nameSimilarity,
  scoreGolden,
  scorePair,
  taxIdsConflict,
} from '../../../../src/processors/match-merge/scoring.ts';
import {
  type SourceRecordInput,
  parseSourceRecord,
  type MatchProfile,
} from '../../../../src/processors/match-merge/types.ts';

let counter = 0;
function profile(fields: Partial<SourceRecordInput>): MatchProfile {
  counter += 1;
  return profileOf(
    parseSourceRecord({
      system: 'salesforce',
      id: `001${counter}`,
      name: 'Nameless',
      updatedAt: 0,
      ...fields,
    }),
  );
}

function golden(goldenId: string, ...profiles: MatchProfile[]): CandidateGolden {
  return { goldenId, profiles };
}

const nordwind = {
  name: 'Nordwind Logistik GmbH',
  country: 'DE',
  website: 'https://www.nordwind.de',
  taxId: 'DE123456789',
  address: { city: 'Hamburg', postalCode: '20457', country: 'DE' },
};

describe('scorePair', () => {
  it('scores the same company seen by two systems near 1', () => {
    const a = profile(nordwind);
    const b = profile({
      ...nordwind,
      system: 'stripe',
      name: 'NORDWIND LOGISTIK',
      website: null,
      email: 'billing@nordwind.de',
    });
    const score = scorePair(a, b);
    expect(score.score).toBe(1);
    expect(score.veto).toBeNull();
    expect(score.strongEvidence).toBe(true);
    expect(score.features).toMatchObject({ name: 1, taxId: 1, domain: 1, country: 1, address: 1 });
  });

  it('is symmetric', () => {
    const a = profile(nordwind);
    const b = profile({ name: 'Nordwnd Logistik', email: 'ap@nordwind.de' });
    expect(scorePair(a, b)).toEqual(scorePair(b, a));
  });

  it('vetoes different valid tax ids of one country, whatever the name and domain say', () => {
    const a = profile(nordwind);
    const b = profile({ ...nordwind, taxId: 'DE987654321' });
    expect(taxIdsConflict(a, b)).toBe(true);
    expect(scorePair(a, b).veto).toBe('tax-id-conflict');
  });

  it('does not count tax ids of two countries, or an invalid one, as a conflict', () => {
    const a = profile(nordwind);
    expect(scorePair(a, profile({ ...nordwind, taxId: 'ATU12345678' })).veto).toBeNull();
    const invalid = profile({ ...nordwind, taxId: 'DE12' });
    expect(invalid.tax).toBeNull();
    expect(scorePair(a, invalid).veto).toBeNull();
  });

  it('rates a brand written alone close to the full name, and word order does not matter', () => {
    const full = profile({ name: 'Nordwind Logistik GmbH' });
    expect(nameSimilarity(full, profile({ name: 'Nordwind' }))).toBeGreaterThan(0.9);
    expect(nameSimilarity(full, profile({ name: 'Logistik Nordwind' }))).toBeGreaterThan(0.97);
    expect(nameSimilarity(full, profile({ name: 'Bluewater Analytics' }))).toBeLessThan(0.7);
  });
});

describe('decide', () => {
  it('merges a typo name with the same domain automatically', () => {
    const existing = golden('g1', profile(nordwind));
    const incoming = profile({ system: 'zendesk', name: 'Nordwnid Logistik', domains: ['nordwind.de'] });
    const decision = decide(incoming, [existing]);
    expect(decision.kind).toBe('auto-merge');
  });

  it('merges a record sharing the tax id and country with a close name', () => {
    const existing = golden('g1', profile(nordwind));
    const incoming = profile({
      system: 'erp',
      name: 'NORDWIND LOGISTIK G.M.B.H.',
      taxId: '123 456 789',
      country: 'DE',
    });
    expect(decide(incoming, [existing]).kind).toBe('auto-merge');
  });

  it('never merges different valid tax ids, and does not offer them for review either', () => {
    const existing = golden('g1', profile(nordwind));
    const incoming = profile({ ...nordwind, system: 'erp', taxId: 'DE111111111' });
    const decision = decide(incoming, [existing]);
    expect(decision.kind).toBe('new');
    expect(decision.ranked[0]).toMatchObject({ goldenId: 'g1', veto: 'tax-id-conflict' });
  });

  it('vetoes a golden record when any of its members has a conflicting tax id', () => {
    const withConflict = golden(
      'g1',
      profile({ name: 'Nordwind Logistik', domains: ['nordwind.de'] }),
      profile({ taxId: 'DE111111111', country: 'DE', name: 'Nordwind' }),
    );
    const incoming = profile(nordwind);
    expect(scoreGolden(incoming, withConflict).veto).toBe('tax-id-conflict');
    expect(decide(incoming, [withConflict]).kind).toBe('new');
  });

  it('does not auto-merge the same name in different countries', () => {
    const german = golden(
      'g-de',
      profile({
        name: 'Falcon Software GmbH',
        country: 'DE',
        address: { postalCode: '80331', country: 'DE' },
      }),
    );
    const austrian = profile({
      name: 'Falcon Software GmbH',
      country: 'AT',
      address: { postalCode: '1010', country: 'AT' },
    });
    expect(decide(austrian, [german]).kind).toBe('new');
    // Even with a shared domain (a group's subsidiary) it is at most a review.
    const withDomain = golden(
      'g-de',
      profile({ name: 'Falcon Software GmbH', country: 'DE', website: 'falcon.com' }),
    );
    const decision = decide(profile({ name: 'Falcon Software GmbH', country: 'AT', website: 'falcon.com' }), [
      withDomain,
    ]);
    expect(decision.kind).toBe('review');
    expect(decision.ranked[0]!.veto).toBe('country-conflict');
  });

  it('applies the configured thresholds: above auto-merge, between, below', () => {
    const existing = golden('g1', profile({ name: 'Kestrel Analytics', country: 'US' }));
    const incoming = profile({ name: 'Kestrel Analytics Inc.', country: 'US' });
    // Same name and country, nothing else: 0.6 + 0.1, plus the unique-exact-name evidence.
    const score = decide(incoming, [existing]).ranked[0]!.score;
    expect(score).toBeCloseTo(0.95, 5);
    const at = (autoMerge: number, review: number) =>
      decide(incoming, [existing], {
        ...DEFAULT_SCORING,
        thresholds: { autoMerge, review, ambiguityMargin: 0.05 },
      }).kind;
    expect(at(0.9, 0.5)).toBe('auto-merge');
    expect(at(0.96, 0.9)).toBe('review');
    expect(at(0.99, 0.97)).toBe('new');
  });

  it('sends a near tie on name evidence alone to a steward', () => {
    const a = golden(
      'g-a',
      profile({ name: 'Harbor Foods', country: 'NL', address: { postalCode: '1012AB', country: 'NL' } }),
    );
    const b = golden(
      'g-b',
      profile({ name: 'Harbor Foods', country: 'NL', address: { postalCode: '1012AB', country: 'NL' } }),
    );
    const decision = decide(
      profile({
        name: 'Harbor Foods B.V.',
        country: 'NL',
        address: { postalCode: '1012 AB', country: 'NL' },
      }),
      [a, b],
    );
    expect(decision.kind).toBe('review');
    if (decision.kind === 'review')
      expect(decision.candidates.map((c) => c.goldenId).sort()).toEqual(['g-a', 'g-b']);
  });

  it('lets strong evidence break a near tie', () => {
    const a = golden('g-a', profile({ name: 'Harbor Foods', country: 'NL', website: 'harborfoods.nl' }));
    const b = golden('g-b', profile({ name: 'Harbor Foods', country: 'NL' }));
    const decision = decide(profile({ name: 'Harbor Foods', country: 'NL', email: 'ap@harborfoods.nl' }), [
      a,
      b,
    ]);
    expect(decision.kind).toBe('auto-merge');
    if (decision.kind === 'auto-merge') expect(decision.target.goldenId).toBe('g-a');
  });

  it('merges a name-only record into the one golden record of exactly that name', () => {
    const only = golden(
      'g1',
      profile({ name: 'Quantum Robotics Inc.', country: 'US', website: 'quantumrobotics.com' }),
    );
    const other = golden('g2', profile({ name: 'Quantum Partners', country: 'US' }));
    const decision = decide(profile({ system: 'zendesk', name: 'QUANTUM ROBOTICS' }), [only, other]);
    expect(decision.kind).toBe('auto-merge');
  });

  it('does not merge a name-only record when a near namesake exists', () => {
    const robotics = golden('g1', profile({ name: 'Quantum Robotics Inc.', country: 'US' }));
    const robotic = golden('g2', profile({ name: 'Quantum Robotic', country: 'GB' }));
    expect(
      decide(profile({ system: 'zendesk', name: 'Quantum Robotics' }), [robotics, robotic]).kind,
    ).not.toBe('auto-merge');
  });

  it('never auto-merges into a golden record a steward kept apart', () => {
    const kept: CandidateGolden = { ...golden('g1', profile(nordwind)), keptApart: true };
    const decision = decide(profile({ ...nordwind, system: 'stripe' }), [kept]);
    expect(decision.kind).toBe('new');
    expect(decision.ranked[0]!.veto).toBe('kept-apart');
  });

  it('is a new customer when nothing is close', () => {
    expect(
      decide(profile({ name: 'Bluewater Analytics', country: 'GB' }), [golden('g1', profile(nordwind))]).kind,
    ).toBe('new');
    expect(decide(profile({ name: 'Anything' }), []).kind).toBe('new');
  });

  it('uses an external reference as strong evidence', () => {
    const crm = profile({ system: 'salesforce', id: '001XYZ', name: 'Meridian Systems' });
    const support = profile({
      system: 'zendesk',
      name: 'Meridian',
      externalRefs: [{ system: 'salesforce', id: '001XYZ' }],
    });
    expect(decide(support, [golden('g1', crm)]).kind).toBe('auto-merge');
  });
});

describe('name normalisation feeds scoring', () => {
  it('treats legal-form spellings as the same name', () => {
    expect(normalizeName('Van Dijk B.V.').name).toBe(normalizeName('van dijk bv').name);
  });
});
