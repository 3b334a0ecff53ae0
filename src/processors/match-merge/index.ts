/**
 * Match-merge (identity resolution): the engine a processor calls, and the pieces it is made of.
 *
 * ```ts
 * const engine = new MatchEngine({ store: new RedisMatchStore({ redis }) });
 * const { goldenId, outcome, events } = await engine.resolve(sourceRecord, { correlationId, idempotencyKey });
 * // publish `events` (mdm.customer.golden / .xref / .review), in order, keyed as given
 * ```
 */
export {
  MatchEngine,
  resolveMatchConfig,
  membersFromAttributes,
  type MatchConfig,
  type MatchConfigInput,
  type MatchEngineOptions,
  type RebuildReport,
  type ReviewDecision,
  type StewardResult,
} from './engine.ts';
export { RedisMatchStore, DEFAULT_PREFIX, type MatchStoreOptions } from './store.ts';
export { goldenIdFor, goldenRecordOf, ENGINE_ACTOR } from './events.ts';
export {
  DEFAULT_THRESHOLDS,
  DEFAULT_WEIGHTS,
  decide,
  scorePair,
  type MatchThresholds,
  type ScoringWeights,
} from './scoring.ts';
export { DEFAULT_TRUST, survive, type TrustRanking } from './survivorship.ts';
export { DEFAULT_BLOCKING, blockingKeys, type BlockingOptions } from './blocking.ts';
export { profileOf, normalizeName, normalizeDomain, normalizeTaxId, normalizeCountry } from './normalize.ts';
export * from './types.ts';
