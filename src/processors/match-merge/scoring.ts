/**
 * Scoring: how likely an incoming record and a golden record are the same company, and what to do
 * about it. Pure functions over normalised profiles (normalize.ts).
 *
 * The score is additive evidence, clamped to [0, 1]: fuzzy name similarity (Jaro-Winkler, the
 * classic measure for short names with typos, from `@skyra/jaro-winkler`) weighted, plus exact
 * identifiers (tax id with country, domain, a cross-reference one source holds of another), plus
 * address (postal code, city) and country, minus contradictions (another country, other domains).
 * Two thresholds split it: at or above `autoMerge` the record joins the golden record; between
 * `review` and `autoMerge` it gets its own golden record and a data steward is asked; below
 * `review` it is a new customer.
 *
 * Rules that no score overrides:
 * - different valid tax ids of the same country never merge (and are not even offered for review);
 * - a pair a steward kept apart is never merged automatically again;
 * - records of two different known countries are at most a review (a subsidiary is another legal
 *   entity);
 * - an automatic merge on name-level evidence alone needs a clear winner: when two candidates are
 *   within `ambiguityMargin` of each other, a steward decides.
 */
import { jaroWinkler } from '@skyra/jaro-winkler';
import type { MatchProfile, MatchVeto, ScoredCandidate } from './types.ts';

export interface ScoringWeights {
  /** Multiplies the name similarity in [0, 1]. */
  name: number;
  taxIdMatch: number;
  domainMatch: number;
  /** Both have company domains and none is shared (mild: companies have several). */
  domainMismatch: number;
  /** One source names the other's record as the same customer. */
  externalRef: number;
  countryMatch: number;
  countryMismatch: number;
  postalMatch: number;
  /** Same city when a postal code is missing on one side. */
  cityMatch: number;
  /** The only candidate with exactly the same (multi-word) name, and no near-namesake. */
  uniqueExactName: number;
}

export interface MatchThresholds {
  /** At or above: merge automatically. */
  autoMerge: number;
  /** At or above (and below autoMerge): a steward reviews. Below: a new golden record. */
  review: number;
  /** An automatic merge on name-level evidence needs the runner-up this far behind. */
  ambiguityMargin: number;
}

export interface ScoringConfig {
  thresholds: MatchThresholds;
  weights: ScoringWeights;
}

export const DEFAULT_WEIGHTS: ScoringWeights = {
  name: 0.6,
  taxIdMatch: 0.4,
  domainMatch: 0.35,
  domainMismatch: -0.1,
  externalRef: 0.5,
  countryMatch: 0.1,
  countryMismatch: -0.3,
  postalMatch: 0.2,
  cityMatch: 0.05,
  uniqueExactName: 0.25,
};

export const DEFAULT_THRESHOLDS: MatchThresholds = { autoMerge: 0.85, review: 0.55, ambiguityMargin: 0.05 };

export const DEFAULT_SCORING: ScoringConfig = { thresholds: DEFAULT_THRESHOLDS, weights: DEFAULT_WEIGHTS };

/** Name similarity at or above which another candidate counts as a near-namesake. */
const NEAR_NAME = 0.95;

/**
 * Similarity of two normalised names in [0, 1]: the better of Jaro-Winkler on the names as
 * written and on their tokens sorted (`logistik nordwind` vs `nordwind logistik`).
 */
export function nameSimilarity(a: MatchProfile, b: MatchProfile): number {
  if (!a.name || !b.name) return 0;
  if (a.name === b.name) return 1;
  const direct = jaroWinkler(a.name, b.name);
  if (a.tokens.length < 2 && b.tokens.length < 2) return direct;
  const sorted = jaroWinkler([...a.tokens].sort().join(' '), [...b.tokens].sort().join(' '));
  return Math.max(direct, sorted);
}

/** The evidence between two records. */
export interface PairScore {
  score: number;
  /** Each feature in [0, 1]: `name`, `taxId`, `domain`, `externalRef`, `country`, `address`. */
  features: Record<string, number>;
  veto: MatchVeto | null;
  strongEvidence: boolean;
  /** Same multi-word normalised name. */
  exactName: boolean;
}

function taxCountry(tax: string): string {
  return tax.slice(0, tax.indexOf(':'));
}

/** Different valid tax ids issued by the same country: two legal entities, whatever the names say. */
export function taxIdsConflict(a: MatchProfile, b: MatchProfile): boolean {
  return a.tax !== null && b.tax !== null && a.tax !== b.tax && taxCountry(a.tax) === taxCountry(b.tax);
}

/** Scores one pair of records. Pure and symmetric. */
export function scorePair(
  a: MatchProfile,
  b: MatchProfile,
  weights: ScoringWeights = DEFAULT_WEIGHTS,
): PairScore {
  return scoreAgainst(a, [b], weights);
}

/**
 * Scores a record against a group of records (the members of one golden record) taken together:
 * the best name of any member, any shared identifier, and the group's countries and postal codes.
 * A group is contradicted only by what none of its members agrees with: another country than all
 * of theirs, no domain shared with any, and a tax id conflicting with any (a veto).
 */
export function scoreAgainst(
  record: MatchProfile,
  members: readonly MatchProfile[],
  weights: ScoringWeights = DEFAULT_WEIGHTS,
): PairScore {
  const features: Record<string, number> = {};
  let score = 0;
  let strong = false;
  let veto: MatchVeto | null = null;

  let name = 0;
  let exactName = false;
  for (const member of members) {
    name = Math.max(name, nameSimilarity(record, member));
    if (member.name === record.name && record.tokens.length >= 2) exactName = true;
  }
  features['name'] = round(name);
  score += weights.name * name;

  if (record.tax !== null) {
    const sameCountry = members.filter(
      (member) => member.tax !== null && taxCountry(member.tax) === taxCountry(record.tax!),
    );
    if (sameCountry.some((member) => member.tax !== record.tax)) {
      features['taxId'] = 0;
      veto = 'tax-id-conflict';
    } else if (sameCountry.length > 0) {
      features['taxId'] = 1;
      score += weights.taxIdMatch;
      strong = true;
    }
  }

  const domains = new Set(members.flatMap((member) => member.domains));
  if (record.domains.length > 0 && domains.size > 0) {
    if (record.domains.some((domain) => domains.has(domain))) {
      features['domain'] = 1;
      score += weights.domainMatch;
      strong = true;
    } else {
      features['domain'] = 0;
      score += weights.domainMismatch;
    }
  }

  const referenced = members.some(
    (member) => record.refs.includes(member.ref) || member.refs.includes(record.ref),
  );
  if (referenced) {
    features['externalRef'] = 1;
    score += weights.externalRef;
    strong = true;
  }

  const countries = new Set(members.flatMap((member) => (member.country === null ? [] : [member.country])));
  const countryKnown = record.country !== null && countries.size > 0;
  if (record.country !== null && countries.size > 0) {
    if (countries.has(record.country)) {
      features['country'] = 1;
      score += weights.countryMatch;
    } else {
      features['country'] = 0;
      score += weights.countryMismatch;
      veto ??= 'country-conflict';
    }
  }

  if (!countryKnown || features['country'] === 1) {
    const comparable = members.filter(
      (member) => record.country === null || member.country === null || member.country === record.country,
    );
    const postals = comparable.map((member) => member.postal).filter((postal) => postal !== null);
    if (record.postal !== null && postals.length > 0) {
      const same = postals.includes(record.postal);
      features['address'] = same ? 1 : 0;
      if (same) score += weights.postalMatch;
    } else if (record.city !== null && comparable.some((member) => member.city === record.city)) {
      features['address'] = 0.5;
      score += weights.cityMatch;
    }
  }

  return { score: round(clamp(score)), features, veto, strongEvidence: strong, exactName };
}

/** A golden record as scoring sees it: its members' profiles. */
export interface CandidateGolden {
  goldenId: string;
  profiles: MatchProfile[];
  /** A steward kept this golden record apart from the record's own one. */
  keptApart?: boolean;
}

/** A candidate's score, with what `decide` needs beyond {@link ScoredCandidate}. */
export interface GoldenScore extends ScoredCandidate {
  exactName: boolean;
}

/**
 * Scores a record against a golden record (all its members together, see {@link scoreAgainst});
 * a steward's keep-apart decision vetoes it.
 */
export function scoreGolden(
  record: MatchProfile,
  golden: CandidateGolden,
  weights: ScoringWeights = DEFAULT_WEIGHTS,
): GoldenScore {
  const pair = scoreAgainst(record, golden.profiles, weights);
  const veto: MatchVeto | null =
    pair.veto === 'tax-id-conflict' ? pair.veto : golden.keptApart ? 'kept-apart' : pair.veto;
  return {
    goldenId: golden.goldenId,
    score: pair.score,
    features: pair.features,
    veto,
    strongEvidence: pair.strongEvidence,
    exactName: pair.exactName,
  };
}

export type MatchDecision =
  | { kind: 'auto-merge'; target: ScoredCandidate; ranked: ScoredCandidate[] }
  | { kind: 'review'; candidates: ScoredCandidate[]; ranked: ScoredCandidate[] }
  | { kind: 'new'; ranked: ScoredCandidate[] };

/** Most candidates offered to a steward in one review. */
const MAX_REVIEW_CANDIDATES = 5;

/** Decides what happens to a record given its candidate golden records. Pure and deterministic. */
export function decide(
  record: MatchProfile,
  goldens: readonly CandidateGolden[],
  config: ScoringConfig = DEFAULT_SCORING,
): MatchDecision {
  const { thresholds, weights } = config;
  const scored = goldens.map((golden) => scoreGolden(record, golden, weights));

  // A unique exact multi-word name, with no near-namesake among the candidates, is evidence in
  // itself (the typical case: a support organisation with a name and nothing else).
  const exact = scored.filter((candidate) => candidate.exactName && candidate.veto === null);
  if (exact.length === 1) {
    const only = exact[0]!;
    const nearNamesake = scored.some(
      (candidate) =>
        candidate !== only &&
        candidate.veto !== 'tax-id-conflict' &&
        (candidate.features['name'] ?? 0) >= NEAR_NAME,
    );
    if (!nearNamesake) {
      only.score = round(clamp(only.score + weights.uniqueExactName));
      only.features['uniqueName'] = 1;
    }
  }

  const ranked: ScoredCandidate[] = scored
    .sort((a, b) => b.score - a.score || (a.goldenId < b.goldenId ? -1 : a.goldenId > b.goldenId ? 1 : 0))
    .map(({ exactName: _exactName, ...candidate }) => candidate);
  // Never merged, never offered: different tax ids, or kept apart by a steward.
  const eligible = ranked.filter(
    (candidate) => candidate.veto !== 'tax-id-conflict' && candidate.veto !== 'kept-apart',
  );
  const best = eligible[0];
  if (!best || best.score < thresholds.review) return { kind: 'new', ranked };

  const reviewList = eligible
    .filter((candidate) => candidate.score >= thresholds.review)
    .slice(0, MAX_REVIEW_CANDIDATES);
  if (best.score < thresholds.autoMerge || best.veto === 'country-conflict') {
    return { kind: 'review', candidates: reviewList, ranked };
  }
  const runnerUp = eligible[1];
  const ambiguous =
    runnerUp !== undefined &&
    runnerUp.score >= thresholds.review &&
    best.score - runnerUp.score < thresholds.ambiguityMargin &&
    (!best.strongEvidence || runnerUp.strongEvidence);
  if (ambiguous) return { kind: 'review', candidates: reviewList, ranked };
  return { kind: 'auto-merge', target: best, ranked };
}

function clamp(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
