/**
 * The match-merge engine: resolves source customer records to golden customers, and lets a data
 * steward unmerge and decide reviews. A processor calls {@link MatchEngine.resolve} per source
 * record and publishes the returned events (golden, xref, review) in the order given; the engine
 * has already committed its Redis state, and returns the same events with the same ids when the
 * same input comes again (redelivery after a crash between commit and produce).
 *
 * Concurrency. Two instances may resolve records of the same company at the same moment. Each
 * resolve takes, all at once, a short Redis lock on every key it looks candidates up under
 * (SET NX PX with a random token, released by compare-and-delete, taken all-or-nothing in one Lua
 * script so that two resolvers never deadlock), reads and decides under those locks, and commits
 * with one Lua script that also checks the locks are still its own and that every golden version
 * it read is unchanged. Why locks rather than WATCH/MULTI alone:
 * - the race that matters is "both see no candidate, both create a golden record": optimistic
 *   checks of what was read cannot see a record that does not exist yet, while two records of one
 *   company share a blocking key, so a lock on that key serialises them;
 * - WATCH is per connection, and a processor multiplexes many resolves over one connection; a lock
 *   and a scripted check work over a shared connection;
 * - golden records reached through keys that this resolve does not lock (another record found the
 *   same golden record through another key) are protected by the version check at commit: the
 *   loser re-reads and decides again.
 * A lock outlived by a stalled holder (TTL) cannot corrupt anything: the commit refuses it.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type * as mdm from '../../schemas/generated/mdm.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import {
  type BlockRead,
  type BlockingOptions,
  DEFAULT_BLOCKING,
  capOf,
  goldenBlockingKeys,
  kindOf,
  lookupKeys,
  selectCandidates,
} from './blocking.ts';
import {
  ENGINE_ACTOR,
  type EventOrigin,
  goldenEvent,
  goldenIdFor,
  goldenRecordOf,
  originOfRecord,
  originOfSteward,
  reviewAttributes,
  reviewEvent,
  reviewIdFor,
  xrefEvent,
} from './events.ts';
import { memberOfSnapshot } from './member-snapshot.ts';
import { memberProfileOf, normalizeName, profileOf } from './normalize.ts';
import {
  type CandidateGolden,
  DEFAULT_THRESHOLDS,
  DEFAULT_WEIGHTS,
  type MatchThresholds,
  type ScoringConfig,
  type ScoringWeights,
  decide,
  taxIdsConflict,
} from './scoring.ts';
import {
  type RedisMatchStore,
  emptyMutation,
  REBUILT_EPOCH_PREFIX,
  type GoldenMatchView,
  type GoldenRead,
  type Mutation,
  type ResolveRead,
} from './store.ts';
import { DEFAULT_TRUST, sourceRefOf, survive, type TrustRanking } from './survivorship.ts';
import type {
  EventContext,
  GoldenEventValue,
  GoldenRecord,
  GoldenState,
  MatchMetrics,
  MatchProfile,
  MdmEvent,
  MemberLink,
  ResolveResult,
  ScoredCandidate,
  SourceKeyRef,
  SourceRecord,
  StewardContext,
} from './types.ts';
import { emptyRecordFields, MdmTopics, parseSourceRecord, sameRecord, sourceKey } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Configuration

const unit = z.number().min(0).max(1);

const MatchConfigSchema = z
  .object({
    thresholds: z
      .object({ autoMerge: unit, review: unit, ambiguityMargin: unit })
      .partial()
      .strict()
      .optional(),
    weights: z
      .object(
        Object.fromEntries(Object.keys(DEFAULT_WEIGHTS).map((name) => [name, z.number().min(-1).max(1)])),
      )
      .partial()
      .strict()
      .optional(),
    blocking: z
      .object({
        maxBlockSize: z.number().int().min(1).max(100_000),
        maxBroadBlockSize: z.number().int().min(1).max(100_000),
        maxCandidates: z.number().int().min(1).max(10_000),
      })
      .partial()
      .strict()
      .optional(),
    /** How long a lock lives if its holder dies; a resolve takes milliseconds. */
    lockTtlMs: z.number().int().min(100).max(60_000).optional(),
    /** How long a resolve waits for its locks before failing (retriable). */
    lockWaitMs: z.number().int().min(10).max(600_000).optional(),
    /** Commits that lost a race, retried at most this many times in total. */
    maxAttempts: z.number().int().min(1).max(100).optional(),
  })
  .strict();

export type MatchConfigInput = z.input<typeof MatchConfigSchema>;

export interface MatchConfig {
  scoring: ScoringConfig;
  blocking: BlockingOptions;
  lockTtlMs: number;
  lockWaitMs: number;
  maxAttempts: number;
}

/** Validates the engine's configuration once, with defaults; messages name the failing path. */
export function resolveMatchConfig(input: MatchConfigInput = {}): MatchConfig {
  const parsed = MatchConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `invalid match-merge configuration: ${problems.join('; ')}`,
    );
  }
  const thresholds: MatchThresholds = { ...DEFAULT_THRESHOLDS, ...parsed.data.thresholds };
  if (thresholds.review > thresholds.autoMerge) {
    throw SynclineError.permanent(
      ErrorCodes.CONFIG_INVALID,
      `invalid match-merge configuration: thresholds.review (${thresholds.review}) cannot be above thresholds.autoMerge (${thresholds.autoMerge})`,
    );
  }
  return {
    scoring: {
      thresholds,
      weights: { ...DEFAULT_WEIGHTS, ...(parsed.data.weights as Partial<ScoringWeights>) },
    },
    blocking: { ...DEFAULT_BLOCKING, ...parsed.data.blocking },
    lockTtlMs: parsed.data.lockTtlMs ?? 5000,
    lockWaitMs: parsed.data.lockWaitMs ?? 10_000,
    maxAttempts: parsed.data.maxAttempts ?? 20,
  };
}

export interface MatchEngineOptions {
  store: RedisMatchStore;
  config?: MatchConfigInput;
  /** Source trust per attribute; defaults to {@link DEFAULT_TRUST}, overridden per attribute. */
  trust?: Partial<TrustRanking>;
  metrics?: MatchMetrics;
}

/** A steward's decision on an open review. */
export interface ReviewDecision {
  source: SourceKeyRef;
  /** `merge`: the record is one of the candidates; `keep-apart`: it is none of them. */
  decision: 'merge' | 'keep-apart';
  /** For `merge`: which candidate; default the best-scored one. */
  goldenId?: string;
}

export interface StewardResult {
  /** The golden record the source record belongs to afterwards. */
  golden: GoldenRecord;
  /** The other golden record involved (the one split from, or merged into or kept apart from). */
  other: GoldenRecord | null;
  events: MdmEvent[];
}

export interface RebuildReport {
  goldens: number;
  active: number;
  merged: number;
  xrefs: number;
  /** Xref events that disagreed with the golden records' members (the golden records win). */
  xrefRepaired: number;
  openReviews: number;
  keptApartPairs: number;
  /** Golden events without member snapshots: restored from their surviving attributes. */
  restoredFromAttributes: number;
}

/** A read that became stale before the commit: decide again. */
class StaleRead extends Error {}

interface Plan<R> {
  mutation: Mutation | null;
  result: R;
}

// ---------------------------------------------------------------------------------------------

export class MatchEngine {
  readonly store: RedisMatchStore;
  readonly config: MatchConfig;
  private readonly trust: TrustRanking;
  private readonly metrics: MatchMetrics;
  /** The epoch of the state this engine works on (see {@link RedisMatchStore.ensureEpoch}). */
  private epoch: Promise<string> | null = null;
  /** Inputs validated by {@link lockNamesOf}, until their resolve takes them. */
  private readonly parsedInputs = new WeakMap<object, { record: SourceRecord; profile: MatchProfile }>();

  constructor(options: MatchEngineOptions) {
    this.store = options.store;
    this.config = resolveMatchConfig(options.config);
    this.trust = { ...DEFAULT_TRUST, ...options.trust };
    this.metrics = options.metrics ?? {};
  }

  /**
   * Resolves one source record to its golden customer: joins it to a golden record (auto-merge),
   * founds a new one (new; review when a steward should look at the candidates), or, for a record
   * seen before, updates its snapshot (update). Returns the events to publish.
   */
  async resolve(input: unknown, context: EventContext = {}): Promise<ResolveResult> {
    const started = performance.now();
    const { record, profile } = this.takeParsed(input);
    const lockNames = lookupKeys(profile);
    const reads = this.resolveReads(profile);
    // The locks and the first reads in one round trip; a plan retried after a lost race reads again.
    const result = await this.withLocks<ResolveResult, ResolveRead>(
      'resolve',
      lockNames,
      (prefetched) => this.planResolve(record, profile, context, prefetched),
      (names, token) =>
        this.store.readForResolve(reads.refs, reads.blocks, reads.seed, READ_LIMITS, {
          names,
          token,
          ttlMs: this.config.lockTtlMs,
        }),
    );
    this.metrics.resolved?.(result.outcome, result.change, (performance.now() - started) / 1000);
    return result;
  }

  /**
   * The names {@link resolve} locks for this input (its lookup keys). Two inputs that share none
   * never look each other up, so a caller may resolve them at the same time; inputs that share one
   * must be resolved one after the other, in their order. Throws like {@link resolve} on an
   * invalid record.
   */
  lockNamesOf(input: unknown): string[] {
    const record = parseSourceRecord(input);
    const parsed = { record, profile: memberProfileOf(record) };
    // Kept for the resolve of this very object that usually follows, so it is validated once.
    if (typeof input === 'object' && input !== null) this.parsedInputs.set(input, parsed);
    return lookupKeys(parsed.profile);
  }

  /** The input validated and profiled: by {@link lockNamesOf} just before, or now. */
  private takeParsed(input: unknown): { record: SourceRecord; profile: MatchProfile } {
    if (typeof input === 'object' && input !== null) {
      const known = this.parsedInputs.get(input);
      if (known) {
        this.parsedInputs.delete(input);
        return known;
      }
    }
    const record = parseSourceRecord(input);
    return { record, profile: memberProfileOf(record) };
  }

  /**
   * Splits a source record off its golden record: both end up as separate golden records (the
   * rest keeps the golden id), kept apart from each other so they are not merged again
   * automatically.
   */
  async unmerge(goldenId: string, source: SourceKeyRef, context: StewardContext): Promise<StewardResult> {
    const ref = sourceKey(source);
    const current = await this.store.golden(goldenId);
    if (!current || current.state.status !== 'ACTIVE') {
      throw stewardError(`golden record ${goldenId} does not exist or is not active`);
    }
    const lockNames = [...new Set(current.profiles.flatMap((profile) => lookupKeys(profile)))];
    return this.withLocks('unmerge', lockNames, async () =>
      withOutbox(await this.planUnmerge(goldenId, ref, context), context),
    );
  }

  /** Applies a steward's decision on the open review of a source record. */
  async applyReviewDecision(decision: ReviewDecision, context: StewardContext): Promise<StewardResult> {
    const ref = sourceKey(decision.source);
    const review = await this.store.review(ref);
    if (!review || review.status !== 'OPEN') throw stewardError(`no open review for ${ref}`);
    const own = await this.store.xrefOf(ref);
    if (!own) throw stewardError(`${ref} is not linked to a golden record`);
    const ids = [own, ...review.candidates.map((candidate) => candidate.goldenId)];
    const reads = await this.store.goldens(ids);
    const lockNames = [
      ...new Set(
        [...reads.values()].flatMap((read) => read.profiles.flatMap((profile) => lookupKeys(profile))),
      ),
    ];
    lockNames.push(`r:${ref}`);
    return this.withLocks('review', lockNames, async () =>
      withOutbox(await this.planReviewDecision(decision, ref, context), context),
    );
  }

  /** Open review tasks, oldest first. */
  async openReviews(limit = 100): Promise<mdm.MatchCandidate[]> {
    return this.store.openReviews(limit);
  }

  /** The golden record of a source record, or null. */
  async goldenOf(source: SourceKeyRef): Promise<GoldenRecord | null> {
    const goldenId = await this.store.xrefOf(sourceKey(source));
    if (!goldenId) return null;
    return this.golden(goldenId);
  }

  async golden(goldenId: string): Promise<GoldenRecord | null> {
    const read = await this.store.golden(goldenId);
    return read ? goldenRecordOf(read.state, this.trust) : null;
  }

  /** Every active golden record (a SCAN: for exports, not for the resolve path). */
  async *exportGoldens(): AsyncGenerator<GoldenRecord> {
    for await (const state of this.store.scanGoldens()) {
      if (state.status === 'ACTIVE') yield goldenRecordOf(state, this.trust);
    }
  }

  /**
   * Restores the Redis state from the content of the compacted `mdm.*` topics (after Redis was
   * lost): golden records with their members, the cross-reference, the blocking index, open
   * reviews and kept-apart pairs. Golden ids are taken from the events, so they are the same as
   * before. Run it with the processors stopped; `replace` first deletes whatever is left under
   * the prefix (otherwise the prefix should be empty).
   */
  async rebuild(
    events: Iterable<MdmEvent> | AsyncIterable<MdmEvent>,
    options: { replace?: boolean } = {},
  ): Promise<RebuildReport> {
    const goldens = new Map<string, GoldenEventValue>();
    const xrefEvents = new Map<string, mdm.CustomerXref>();
    const reviews = new Map<string, mdm.MatchCandidate>();
    for await (const event of events) {
      if (event.topic === MdmTopics.golden) {
        const known = goldens.get(event.key);
        if (!known || event.value.version >= known.version) goldens.set(event.key, event.value);
      } else if (event.topic === MdmTopics.xref) {
        xrefEvents.set(event.key, event.value);
      } else {
        reviews.set(event.key, event.value);
      }
    }

    const mutation = emptyMutation();
    const report: RebuildReport = {
      goldens: goldens.size,
      active: 0,
      merged: 0,
      xrefs: 0,
      xrefRepaired: 0,
      openReviews: 0,
      keptApartPairs: 0,
      restoredFromAttributes: 0,
    };
    const xref = new Map<string, string>();
    for (const value of goldens.values()) {
      const members = value.members
        ? value.members.map((snapshot) => memberOfSnapshot(snapshot))
        : membersFromAttributes(value);
      if (!value.members) report.restoredFromAttributes += 1;
      const state = stateFromEvent(value, members, xrefEvents);
      const profiles = state.members.map((member) => profileOf(member));
      mutation.putGoldens.push({ state, profiles });
      if (state.status !== 'ACTIVE') {
        report.merged += 1;
        continue;
      }
      report.active += 1;
      for (const key of goldenBlockingKeys(profiles))
        mutation.blockAdds.push({ key, goldenId: state.goldenId });
      for (const member of state.members) xref.set(sourceKey(member), state.goldenId);
    }
    for (const [ref, value] of xrefEvents) {
      const fromGolden = xref.get(ref);
      if (fromGolden === undefined) {
        // A source whose golden record event is missing: keep the link as the xref says.
        xref.set(ref, value.goldenId);
      } else if (fromGolden !== value.goldenId) {
        report.xrefRepaired += 1;
      }
      if (value.decision === 'UNMERGED' && value.previousGoldenId) {
        mutation.keptApart.push({ a: value.goldenId, b: value.previousGoldenId });
      }
    }
    for (const [ref, goldenId] of xref) mutation.setXrefs.push({ ref, goldenId });
    for (const [ref, review] of reviews) {
      mutation.putReviews.push({ sourceKey: ref, review });
      if (review.status === 'OPEN') report.openReviews += 1;
      const own = xref.get(ref);
      if (review.status === 'REJECTED' && own) {
        for (const candidate of review.candidates) mutation.keptApart.push({ a: own, b: candidate.goldenId });
      }
    }
    report.xrefs = mutation.setXrefs.length;
    report.keptApartPairs = mutation.keptApart.length;
    if (options.replace) await this.store.deleteAll();
    await this.store.bulkWrite(mutation);
    // A new epoch, last: engines refuse to write until the whole state is back, then adopt it.
    const epoch = `${REBUILT_EPOCH_PREFIX}${randomUUID()}`;
    await this.store.setEpoch(epoch);
    this.epoch = Promise.resolve(epoch);
    return report;
  }

  // -- planning (reads and decisions under the locks) ---------------------------------------

  /** What a resolve of `profile` reads before deciding (see {@link RedisMatchStore.readForResolve}). */
  private resolveReads(profile: MatchProfile): {
    refs: string[];
    blocks: { key: string; cap: number }[];
    seed: string;
  } {
    return {
      refs: [profile.ref, ...profile.refs],
      blocks: lookupKeys(profile).map((key) => ({ key, cap: capOf(key, this.config.blocking) })),
      seed: goldenIdFor(profile.ref),
    };
  }

  private async planResolve(
    record: SourceRecord,
    profile: MatchProfile,
    context: EventContext,
    prefetched: ResolveRead | null | undefined,
  ): Promise<Plan<ResolveResult>> {
    const now = context.now ?? Date.now();
    const origin = originOfRecord(record, context, now);
    const ref = profile.ref;
    let index = prefetched;
    if (!index) {
      const reads = this.resolveReads(profile);
      index = (await this.store.readForResolve(reads.refs, reads.blocks, reads.seed, READ_LIMITS))!;
    }
    const known = new Reads(this.store, index);
    for (const block of index.blocks)
      if (block.members === null) this.metrics.oversizedBlock?.(kindOf(block.key));
    const [ownGoldenId, ...referenced] = index.xrefs;
    const reads: BlockRead[] = [...index.blocks];
    const linked = referenced.filter((goldenId): goldenId is string => goldenId !== null);
    if (linked.length > 0) reads.push({ key: 'r:', size: linked.length, members: linked });

    if (ownGoldenId) return this.planUpdate(record, profile, ownGoldenId, reads, known, origin, now);

    const candidateIds = selectCandidates(reads, this.config.blocking);
    const seed = goldenIdFor(ref);
    const views = await known.matchViews([...candidateIds, seed]);
    const candidates = this.candidateGoldens(candidateIds, views);
    this.metrics.candidates?.(candidates.length);
    const decision = decide(profile, candidates, this.config.scoring);

    if (decision.kind === 'auto-merge') {
      const target = decision.target;
      const read = await known.readAt(target.goldenId, views.get(target.goldenId)!.version);
      const link: MemberLink = {
        decision: 'AUTO_MERGE',
        score: target.score,
        previousGoldenId: null,
        decidedBy: ENGINE_ACTOR,
        decidedAt: now,
      };
      const mutation = emptyMutation();
      mutation.expectGoldens.push({ goldenId: target.goldenId, version: read.state.version });
      mutation.expectXrefs.push({ ref, goldenId: null });
      mutation.setXrefs.push({ ref, goldenId: target.goldenId });
      let next = withMember(read.state, record, link, 'merged', now);
      const events: MdmEvent[] = [xrefEvent(record, next.goldenId, link, origin)];
      for (const absorbed of await this.absorbLoneDuplicates(next, decision.ranked, views, known, now)) {
        next = absorbed.into;
        mutation.expectGoldens.push({ goldenId: absorbed.away.goldenId, version: absorbed.away.version - 1 });
        mutation.expectXrefs.push({ ref: sourceKey(absorbed.member), goldenId: absorbed.away.goldenId });
        mutation.setXrefs.push({ ref: sourceKey(absorbed.member), goldenId: next.goldenId });
        this.writeGolden(mutation, absorbed.away, absorbed.awayProfiles);
        events.push(
          goldenEvent(goldenRecordOf(absorbed.away, this.trust), absorbed.away.change, origin),
          xrefEvent(absorbed.member, next.goldenId, absorbed.link, origin),
        );
      }
      this.writeGolden(mutation, next, read.profiles);
      const golden = goldenRecordOf(next, this.trust);
      return {
        mutation,
        result: {
          goldenId: next.goldenId,
          outcome: 'auto-merge',
          change: null,
          golden,
          events: [goldenEvent(golden, next.change, origin), ...events],
          candidates: decision.ranked,
        },
      };
    }

    const goldenId = views.has(seed) ? await this.allocateGoldenId(ref) : seed;
    const best = decision.ranked.find((candidate) => candidate.veto !== 'tax-id-conflict') ?? null;
    const link: MemberLink = {
      decision: 'NEW_GOLDEN',
      score: best ? best.score : null,
      previousGoldenId: null,
      decidedBy: ENGINE_ACTOR,
      decidedAt: now,
    };
    const state: GoldenState = {
      goldenId,
      version: 1,
      status: 'ACTIVE',
      mergedInto: null,
      createdAt: now,
      updatedAt: now,
      change: 'created',
      members: [record],
      links: { [ref]: link },
    };
    const mutation = emptyMutation();
    mutation.expectGoldens.push({ goldenId, version: 0 });
    mutation.expectXrefs.push({ ref, goldenId: null });
    this.writeGolden(mutation, state, []);
    mutation.setXrefs.push({ ref, goldenId });
    const golden = goldenRecordOf(state, this.trust);
    const events: MdmEvent[] = [
      goldenEvent(golden, state.change, origin),
      xrefEvent(record, goldenId, link, origin),
    ];
    if (decision.kind === 'review') {
      const review = this.openReview(record, decision.candidates, origin, now);
      mutation.putReviews.push({ sourceKey: ref, review: review.value });
      events.push(review);
    }
    return {
      mutation,
      result: {
        goldenId,
        outcome: decision.kind === 'review' ? 'review' : 'new',
        change: null,
        golden,
        events,
        candidates: decision.ranked,
      },
    };
  }

  /** A record seen before: replace its snapshot; a lone record may now match another golden record. */
  private async planUpdate(
    record: SourceRecord,
    profile: MatchProfile,
    goldenId: string,
    reads: BlockRead[],
    known: Reads,
    origin: EventOrigin,
    now: number,
  ): Promise<Plan<ResolveResult>> {
    const ref = profile.ref;
    const own = await known.own(goldenId);
    if (!own || own.state.status !== 'ACTIVE') {
      throw SynclineError.permanent(
        ErrorCodes.UNEXPECTED,
        `xref of ${ref} names golden record ${goldenId}, which is ${own ? own.state.status : 'missing'}; run mdm rebuild`,
        { part: 'match-merge' },
      );
    }
    const state = own.state;
    const previous = state.members.find((member) => sourceKey(member) === ref);
    const result = (
      change: ResolveResult['change'],
      next: GoldenState,
      events: MdmEvent[],
      candidates: ScoredCandidate[] = [],
    ): ResolveResult => ({
      goldenId: next.goldenId,
      outcome: 'update',
      change,
      golden: goldenRecordOf(next, this.trust),
      events,
      candidates,
    });

    if (previous && record.version < previous.version) {
      return { mutation: null, result: result('stale', state, []) };
    }
    if (previous && record.version === previous.version && sameRecord(record, previous)) {
      // A redelivery: the same events again, with the same ids.
      const events: MdmEvent[] = [goldenEvent(goldenRecordOf(state, this.trust), state.change, origin)];
      const link = state.links[ref];
      if (link) events.push(xrefEvent(previous, state.goldenId, link, origin));
      const review = await this.store.review(ref);
      if (review?.status === 'OPEN') events.push(reviewEvent(review, origin));
      return { mutation: null, result: result('unchanged', state, events) };
    }

    const link = state.links[ref] ?? {
      decision: 'AUTO_MERGE' as const,
      score: null,
      previousGoldenId: null,
      decidedBy: ENGINE_ACTOR,
      decidedAt: now,
    };
    const updated = withMember(state, record, link, 'updated', now);
    const mutation = emptyMutation();
    mutation.expectGoldens.push({ goldenId, version: state.version });
    mutation.expectXrefs.push({ ref, goldenId });

    // A golden record of this one record alone may now match another one (a domain or tax id was
    // added). A golden record of several stays as it is: splitting it is a steward's call.
    if (state.members.length === 1) {
      const candidateIds = selectCandidates(reads, this.config.blocking, new Set([goldenId]));
      const views = await known.matchViews(candidateIds);
      const keptApart = new Set(await known.ownKeptApart(goldenId));
      const candidates = this.candidateGoldens(candidateIds, views, keptApart);
      this.metrics.candidates?.(candidates.length);
      const decision = decide(profile, candidates, this.config.scoring);
      if (decision.kind === 'auto-merge') {
        const target = decision.target;
        const read = await known.readAt(target.goldenId, views.get(target.goldenId)!.version);
        const targetLink: MemberLink = {
          decision: 'AUTO_MERGE',
          score: target.score,
          previousGoldenId: goldenId,
          decidedBy: ENGINE_ACTOR,
          decidedAt: now,
        };
        const merged = withMember(read.state, record, targetLink, 'merged', now);
        const away = mergedAway(state, merged.goldenId, now);
        mutation.expectGoldens.push({ goldenId: merged.goldenId, version: read.state.version });
        this.writeGolden(mutation, merged, read.profiles);
        this.writeGolden(mutation, away, own.profiles);
        mutation.setXrefs.push({ ref, goldenId: merged.goldenId });
        for (const other of keptApart) mutation.keptApart.push({ a: merged.goldenId, b: other });
        const golden = goldenRecordOf(merged, this.trust);
        return {
          mutation,
          result: {
            ...result('merged', merged, [], decision.ranked),
            golden,
            events: [
              goldenEvent(golden, merged.change, origin),
              goldenEvent(goldenRecordOf(away, this.trust), away.change, origin),
              xrefEvent(record, merged.goldenId, targetLink, origin),
            ],
          },
        };
      }
      if (decision.kind === 'review') {
        this.writeGolden(mutation, updated, own.profiles);
        const golden = goldenRecordOf(updated, this.trust);
        const events: MdmEvent[] = [goldenEvent(golden, updated.change, origin)];
        const existing = await this.store.review(ref);
        const sameTask =
          existing?.status === 'OPEN' &&
          sameIds(
            existing.candidates.map((candidate) => candidate.goldenId),
            decision.candidates.map((candidate) => candidate.goldenId),
          );
        if (!sameTask) {
          const review = this.openReview(record, decision.candidates, origin, now);
          mutation.putReviews.push({ sourceKey: ref, review: review.value });
          events.push(review);
        }
        return {
          mutation,
          result: { ...result(sameTask ? 'updated' : 'review', updated, events, decision.ranked), golden },
        };
      }
    }

    this.writeGolden(mutation, updated, own.profiles);
    const golden = goldenRecordOf(updated, this.trust);
    return {
      mutation,
      result: { ...result('updated', updated, [goldenEvent(golden, updated.change, origin)]), golden },
    };
  }

  private async planUnmerge(
    goldenId: string,
    ref: string,
    context: StewardContext,
  ): Promise<Plan<StewardResult>> {
    const now = context.now ?? Date.now();
    const read = await this.store.golden(goldenId);
    if (!read || read.state.status !== 'ACTIVE')
      throw stewardError(`golden record ${goldenId} does not exist or is not active`);
    const state = read.state;
    const member = state.members.find((candidate) => sourceKey(candidate) === ref);
    if (!member) throw stewardError(`${ref} is not a member of golden record ${goldenId}`);
    if (state.members.length < 2)
      throw stewardError(`${ref} is the only member of golden record ${goldenId}: nothing to unmerge`);

    const splitId = await this.allocateGoldenId(ref);
    const origin = originOfSteward(
      'unmerge',
      `${goldenId}:${ref}`,
      state.version,
      now,
      context.correlationId,
    );
    const rest: GoldenState = {
      ...state,
      version: state.version + 1,
      updatedAt: now,
      change: 'unmerged',
      members: state.members.filter((candidate) => candidate !== member),
      links: Object.fromEntries(Object.entries(state.links).filter(([key]) => key !== ref)),
    };
    const link: MemberLink = {
      decision: 'UNMERGED',
      score: null,
      previousGoldenId: goldenId,
      decidedBy: context.steward,
      decidedAt: now,
    };
    const split: GoldenState = {
      goldenId: splitId,
      version: 1,
      status: 'ACTIVE',
      mergedInto: null,
      createdAt: now,
      updatedAt: now,
      change: 'unmerged',
      members: [member],
      links: { [ref]: link },
    };
    const mutation = emptyMutation();
    mutation.expectGoldens.push({ goldenId, version: state.version }, { goldenId: splitId, version: 0 });
    mutation.expectXrefs.push({ ref, goldenId });
    this.writeGolden(mutation, rest, read.profiles);
    this.writeGolden(mutation, split, []);
    mutation.setXrefs.push({ ref, goldenId: splitId });
    mutation.keptApart.push({ a: goldenId, b: splitId });
    const restRecord = goldenRecordOf(rest, this.trust);
    const splitRecord = goldenRecordOf(split, this.trust);
    return {
      mutation,
      result: {
        golden: splitRecord,
        other: restRecord,
        events: [
          goldenEvent(restRecord, rest.change, origin),
          goldenEvent(splitRecord, split.change, origin),
          xrefEvent(member, splitId, link, origin),
        ],
      },
    };
  }

  private async planReviewDecision(
    decision: ReviewDecision,
    ref: string,
    context: StewardContext,
  ): Promise<Plan<StewardResult>> {
    const now = context.now ?? Date.now();
    const review = await this.store.review(ref);
    if (!review || review.status !== 'OPEN') throw stewardError(`no open review for ${ref}`);
    const ownId = await this.store.xrefOf(ref);
    if (!ownId) throw stewardError(`${ref} is not linked to a golden record`);
    const own = await this.store.golden(ownId);
    if (!own || own.state.status !== 'ACTIVE')
      throw stewardError(`golden record ${ownId} of ${ref} is not active`);
    const origin = originOfSteward('review', ref, own.state.version, now, context.correlationId);
    const decided = { decidedBy: context.steward, decidedAt: now };

    if (decision.decision === 'keep-apart') {
      const closed: mdm.MatchCandidate = { ...review, ...decided, status: 'REJECTED', chosenGoldenId: null };
      const previous = own.state.links[ref];
      const link: MemberLink = {
        decision: 'STEWARD_REJECTED',
        score: previous?.score ?? null,
        previousGoldenId: null,
        decidedBy: context.steward,
        decidedAt: now,
      };
      const next: GoldenState = {
        ...own.state,
        version: own.state.version + 1,
        updatedAt: now,
        change: 'reviewed',
        links: { ...own.state.links, [ref]: link },
      };
      const mutation = emptyMutation();
      mutation.expectGoldens.push({ goldenId: ownId, version: own.state.version });
      this.writeGolden(mutation, next, own.profiles);
      for (const candidate of review.candidates) mutation.keptApart.push({ a: ownId, b: candidate.goldenId });
      const event = reviewEvent(closed, origin);
      mutation.putReviews.push({ sourceKey: ref, review: event.value });
      const member = next.members.find((candidate) => sourceKey(candidate) === ref)!;
      const golden = goldenRecordOf(next, this.trust);
      return {
        mutation,
        result: {
          golden,
          other: null,
          events: [goldenEvent(golden, next.change, origin), xrefEvent(member, ownId, link, origin), event],
        },
      };
    }

    const chosen = decision.goldenId ?? review.candidates[0]?.goldenId;
    if (!chosen || !review.candidates.some((candidate) => candidate.goldenId === chosen)) {
      throw stewardError(`${decision.goldenId ?? '(none)'} is not a candidate of the review of ${ref}`);
    }
    const targetId = await this.followMerges(chosen);
    const closed: mdm.MatchCandidate = {
      ...review,
      ...decided,
      status: 'APPROVED',
      chosenGoldenId: targetId,
    };
    const closedEvent = reviewEvent(closed, origin);
    if (targetId === ownId) {
      const mutation = emptyMutation();
      mutation.putReviews.push({ sourceKey: ref, review: closedEvent.value });
      return {
        mutation,
        result: { golden: goldenRecordOf(own.state, this.trust), other: null, events: [closedEvent] },
      };
    }
    const target = await this.store.golden(targetId);
    if (!target || target.state.status !== 'ACTIVE')
      throw stewardError(`golden record ${targetId} is not active`);
    const conflict = own.profiles.some((a) => target.profiles.some((b) => taxIdsConflict(a, b)));
    if (conflict) {
      throw stewardError(
        `${ownId} and ${targetId} have different valid tax ids: they are different legal entities and never merge`,
      );
    }
    const score = review.candidates.find((candidate) => candidate.goldenId === chosen)?.score ?? null;
    const version = target.state.version + 1;
    const moved: Record<string, MemberLink> = {};
    for (const member of own.state.members) {
      const key = sourceKey(member);
      moved[key] = {
        decision: key === ref ? 'STEWARD_APPROVED' : 'GOLDEN_MERGED',
        score: key === ref ? score : null,
        previousGoldenId: ownId,
        decidedBy: context.steward,
        decidedAt: now,
      };
    }
    const merged: GoldenState = {
      ...target.state,
      version,
      updatedAt: now,
      change: 'merged',
      members: sortMembers([...target.state.members, ...own.state.members]),
      links: { ...target.state.links, ...moved },
    };
    const away = mergedAway(own.state, targetId, now);
    const mutation = emptyMutation();
    mutation.expectGoldens.push(
      { goldenId: ownId, version: own.state.version },
      { goldenId: targetId, version: target.state.version },
    );
    this.writeGolden(mutation, merged, target.profiles);
    this.writeGolden(mutation, away, own.profiles);
    for (const member of own.state.members)
      mutation.setXrefs.push({ ref: sourceKey(member), goldenId: targetId });
    for (const other of await this.store.keptApartOf(ownId))
      mutation.keptApart.push({ a: targetId, b: other });
    mutation.putReviews.push({ sourceKey: ref, review: closedEvent.value });
    const golden = goldenRecordOf(merged, this.trust);
    const awayRecord = goldenRecordOf(away, this.trust);
    return {
      mutation,
      result: {
        golden,
        other: awayRecord,
        events: [
          goldenEvent(golden, merged.change, origin),
          goldenEvent(awayRecord, away.change, origin),
          ...own.state.members.map((member) =>
            xrefEvent(member, targetId, moved[sourceKey(member)]!, origin),
          ),
          closedEvent,
        ],
      },
    };
  }

  // -- helpers ------------------------------------------------------------------------------

  /**
   * After a record joined a golden record, other candidates that also scored above the
   * auto-merge threshold are often the same company, founded earlier by a record that had too
   * little to match on (a record arriving first cannot match what comes later). A candidate that
   * holds one record alone, is not kept apart, and would now join the grown golden record on its
   * own (the same decision as for a new record) is merged into it. At most three per resolve;
   * golden records of several records are left to stewards.
   */
  private async absorbLoneDuplicates(
    into: GoldenState,
    ranked: readonly ScoredCandidate[],
    views: ReadonlyMap<string, { version: number; status: string; profiles: MatchProfile[] }>,
    known: Reads,
    now: number,
  ): Promise<
    {
      into: GoldenState;
      away: GoldenState;
      awayProfiles: MatchProfile[];
      member: SourceRecord;
      link: MemberLink;
    }[]
  > {
    const out: {
      into: GoldenState;
      away: GoldenState;
      awayProfiles: MatchProfile[];
      member: SourceRecord;
      link: MemberLink;
    }[] = [];
    let current = into;
    for (const candidate of ranked) {
      if (out.length >= 3) break;
      if (candidate.goldenId === into.goldenId || candidate.veto !== null) continue;
      if (candidate.score < this.config.scoring.thresholds.autoMerge) continue;
      const view = views.get(candidate.goldenId);
      if (!view || view.status !== 'ACTIVE' || view.profiles.length !== 1) continue;
      const lone = view.profiles[0]!;
      const verdict = decide(
        lone,
        [{ goldenId: current.goldenId, profiles: current.members.map((member) => memberProfileOf(member)) }],
        this.config.scoring,
      );
      if (verdict.kind !== 'auto-merge') continue;
      if ((await this.store.keptApartOf(candidate.goldenId)).length > 0) continue;
      const read = await known.readAt(candidate.goldenId, view.version);
      const member = read.state.members[0]!;
      const link: MemberLink = {
        decision: 'GOLDEN_MERGED',
        score: verdict.target.score,
        previousGoldenId: candidate.goldenId,
        decidedBy: ENGINE_ACTOR,
        decidedAt: now,
      };
      current = withMember(current, member, link, 'merged', now);
      current = { ...current, version: into.version };
      out.push({
        into: current,
        away: mergedAway(read.state, current.goldenId, now),
        awayProfiles: read.profiles,
        member,
        link,
      });
    }
    return out;
  }

  /** The candidate golden records that are active, with their profiles. */
  private candidateGoldens(
    ids: readonly string[],
    views: Map<string, { status: string; profiles: MatchProfile[] }>,
    keptApart: ReadonlySet<string> = new Set(),
  ): CandidateGolden[] {
    const out: CandidateGolden[] = [];
    for (const goldenId of ids) {
      const view = views.get(goldenId);
      if (view?.status !== 'ACTIVE') continue;
      out.push({ goldenId, profiles: view.profiles, keptApart: keptApart.has(goldenId) });
    }
    return out;
  }

  /** Adds the golden record's write and its blocking-index changes to the mutation. */
  private writeGolden(
    mutation: Mutation,
    state: GoldenState,
    previousProfiles: readonly MatchProfile[],
  ): MatchProfile[] {
    const profiles = state.members.map((member) => memberProfileOf(member));
    mutation.putGoldens.push({ state, profiles });
    const before = new Set(goldenBlockingKeys(previousProfiles));
    const after = new Set(state.status === 'ACTIVE' ? goldenBlockingKeys(profiles) : []);
    for (const key of after) if (!before.has(key)) mutation.blockAdds.push({ key, goldenId: state.goldenId });
    for (const key of before)
      if (!after.has(key)) mutation.blockRemoves.push({ key, goldenId: state.goldenId });
    return profiles;
  }

  private openReview(record: SourceRecord, candidates: ScoredCandidate[], origin: EventOrigin, now: number) {
    const ref = sourceKey(record);
    return reviewEvent(
      {
        reviewId: reviewIdFor(
          ref,
          candidates.map((candidate) => candidate.goldenId),
          record.version,
        ),
        source: sourceRefOf(record),
        attributes: reviewAttributes(survive([record], this.trust)),
        candidates: candidates.map((candidate) => ({
          goldenId: candidate.goldenId,
          score: candidate.score,
          features: candidate.features,
        })),
        autoMergeThreshold: this.config.scoring.thresholds.autoMerge,
        reviewThreshold: this.config.scoring.thresholds.review,
        status: 'OPEN',
        chosenGoldenId: null,
        decidedBy: null,
        decidedAt: null,
        createdAt: now,
      },
      origin,
    );
  }

  /** A golden id for a record founding a golden record when its first-choice id is taken. */
  private async allocateGoldenId(ref: string): Promise<string> {
    for (let first = 1; first < 1000; first += 16) {
      const ids = Array.from({ length: 16 }, (_, offset) => goldenIdFor(ref, first + offset));
      const taken = await this.store.goldenExists(ids);
      const free = taken.findIndex((exists) => !exists);
      if (free !== -1) return ids[free]!;
    }
    throw SynclineError.permanent(ErrorCodes.UNEXPECTED, `no free golden id for ${ref}`, {
      part: 'match-merge',
    });
  }

  /** Follows `mergedInto` to the golden record that survives. */
  private async followMerges(goldenId: string): Promise<string> {
    let current = goldenId;
    for (let hop = 0; hop < 20; hop += 1) {
      const read = await this.store.golden(current);
      if (!read) throw stewardError(`golden record ${current} does not exist`);
      if (read.state.status !== 'MERGED' || !read.state.mergedInto) return current;
      current = read.state.mergedInto;
    }
    throw stewardError(`golden record ${goldenId} has a merge chain longer than 20`);
  }

  /**
   * Takes the locks, plans and commits; on a lost race (a golden record changed, a lock expired)
   * plans again, up to `maxAttempts` times. The commit releases the locks; any failure releases
   * them too.
   */
  private async withLocks<R, P = never>(
    operation: string,
    lockNames: string[],
    plan: (prefetched: P | undefined) => Promise<Plan<R>>,
    acquireWith?: (names: readonly string[], token: string) => Promise<P | null>,
  ): Promise<R> {
    const names = [...new Set(lockNames)].sort();
    const token = randomUUID();
    let epoch = await this.currentEpoch();
    let prefetched = await this.acquire(names, token, acquireWith);
    let held = true;
    try {
      for (let attempt = 1; ; attempt += 1) {
        let conflict: string | null;
        try {
          // What was read with the locks is good for the first plan only: a retry reads again.
          const read = prefetched;
          prefetched = undefined;
          const planned = await plan(read);
          if (!planned.mutation) return planned.result;
          conflict = await this.store.commit(planned.mutation, names, token, epoch);
          if (conflict === null) {
            held = false;
            return planned.result;
          }
          if (conflict === 'STATE_LOST' || conflict === 'STATE_REPLACED') {
            epoch = await this.adoptRebuiltEpoch(epoch, conflict);
          }
        } catch (error) {
          if (!(error instanceof StaleRead)) throw error;
          conflict = 'STALE_READ';
        }
        this.metrics.conflict?.(operation);
        if (attempt >= this.config.maxAttempts) {
          throw SynclineError.retriable(
            ErrorCodes.RETRIES_EXHAUSTED,
            `match-merge ${operation}: still conflicting after ${attempt} attempts (${conflict})`,
            { part: 'match-merge' },
          );
        }
        if (conflict === 'LOCK_LOST') {
          await this.store.releaseLocks(names, token);
          prefetched = await this.acquire(names, token, acquireWith);
        } else {
          await sleep(Math.random() * Math.min(50, 2 ** attempt));
        }
      }
    } finally {
      if (held) await this.store.releaseLocks(names, token).catch(() => undefined);
    }
  }

  /** The epoch this engine expects, read (or founded, on a first start) once. */
  private currentEpoch(): Promise<string> {
    if (!this.epoch) {
      const pending = this.store.ensureEpoch(randomUUID());
      pending.catch(() => {
        if (this.epoch === pending) this.epoch = null; // Redis away: read it again next time
      });
      this.epoch = pending;
    }
    return this.epoch;
  }

  /**
   * A commit found another epoch than this engine's. A rebuilt state is adopted (the engine plans
   * again on it); a missing or foreign one means Redis lost the state under a running engine:
   * refuse, retriably, so that the processor holds its records (fail closed) until an operator
   * runs `syncline mdm rebuild`, instead of founding new golden records for known companies.
   */
  private async adoptRebuiltEpoch(
    expected: string,
    conflict: 'STATE_LOST' | 'STATE_REPLACED',
  ): Promise<string> {
    const current = await this.store.epoch();
    if (current !== null && current !== expected && current.startsWith(REBUILT_EPOCH_PREFIX)) {
      this.epoch = Promise.resolve(current);
      return current;
    }
    throw SynclineError.retriable(
      ErrorCodes.REDIS_UNAVAILABLE,
      `match-merge state under ${this.store.prefix} was ${conflict === 'STATE_LOST' ? 'lost' : 'replaced'} (Redis lost its data?): stop the processors and run syncline mdm rebuild`,
      { part: 'match-merge' },
    );
  }

  /**
   * Waits for all the locks, with jittered exponential backoff, up to `lockWaitMs`. With
   * `acquireWith`, takes them through it (a script that also reads) and returns what it read.
   */
  private async acquire<P>(
    names: readonly string[],
    token: string,
    acquireWith?: (names: readonly string[], token: string) => Promise<P | null>,
  ): Promise<P | undefined> {
    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      let taken: P | undefined;
      let acquired: boolean;
      if (acquireWith) {
        const read = await acquireWith(names, token);
        acquired = read !== null;
        if (read !== null) taken = read;
      } else {
        acquired = await this.store.acquireLocks(names, token, this.config.lockTtlMs);
      }
      if (acquired) {
        this.metrics.lockWait?.((performance.now() - started) / 1000, attempt);
        return taken;
      }
      if (performance.now() - started > this.config.lockWaitMs) {
        throw SynclineError.retriable(
          ErrorCodes.TIMEOUT,
          `match-merge: locks not acquired within ${this.config.lockWaitMs} ms (${names.length} keys)`,
          { part: 'match-merge' },
        );
      }
      await sleep(1 + Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reads of one plan

/**
 * How many golden records a resolve's first read fetches the match views of (every one its blocks,
 * cross-references and seed name; more than this and it reads the selected candidates afterwards)
 * and, when there are at most `docs` of them, their whole documents too (what an auto-merge
 * needs next; most records have none or one candidate).
 */
const READ_LIMITS = { views: DEFAULT_BLOCKING.maxCandidates + 1, docs: 4 };

/**
 * The golden records one plan has read, served from a {@link ResolveRead} made at the start of the
 * plan (under its locks) and read from the store when it does not hold them. Everything it serves
 * was read in that one step, so it is as consistent as separate reads; the commit's version checks
 * cover both.
 */
class Reads {
  private readonly store: RedisMatchStore;
  private readonly read: ResolveRead;

  constructor(store: RedisMatchStore, read: ResolveRead) {
    this.store = store;
    this.read = read;
  }

  async matchViews(goldenIds: readonly string[]): Promise<Map<string, GoldenMatchView>> {
    const views = this.read.views;
    if (views) {
      // Every id a plan asks for came from the blocks, the xrefs or the seed, which were all read.
      const out = new Map<string, GoldenMatchView>();
      let complete = true;
      for (const goldenId of goldenIds) {
        const view = views.get(goldenId);
        if (view) out.set(goldenId, view);
        else if (!this.wasRead(goldenId)) complete = false;
      }
      if (complete) return out;
    }
    return this.store.matchViews(goldenIds);
  }

  /** A golden record read whole, checked to be still at the version the decision saw. */
  async readAt(goldenId: string, version: number): Promise<GoldenRead> {
    const read = this.read.docs.get(goldenId) ?? (await this.store.golden(goldenId));
    if (!read || read.state.version !== version || read.state.status !== 'ACTIVE') throw new StaleRead();
    return read;
  }

  /** The record's own golden record (its xref names it). */
  async own(goldenId: string): Promise<GoldenRead | null> {
    if (this.read.own && this.read.xrefs[0] === goldenId) return this.read.own.read;
    return this.store.golden(goldenId);
  }

  /** The golden ids kept apart from the record's own golden record. */
  async ownKeptApart(goldenId: string): Promise<string[]> {
    if (this.read.own && this.read.xrefs[0] === goldenId) return this.read.own.keptApart;
    return this.store.keptApartOf(goldenId);
  }

  /** Whether the first read looked at this golden id (and found it absent when it has no view). */
  private wasRead(goldenId: string): boolean {
    return this.read.readIds.has(goldenId);
  }
}

// ---------------------------------------------------------------------------------------------
// Pure state transitions

function sortMembers(members: SourceRecord[]): SourceRecord[] {
  return [...members].sort((a, b) =>
    sourceKey(a) < sourceKey(b) ? -1 : sourceKey(a) > sourceKey(b) ? 1 : 0,
  );
}

/** The state with `record` added or replacing its earlier snapshot: the next version. */
function withMember(
  state: GoldenState,
  record: SourceRecord,
  link: MemberLink,
  change: GoldenState['change'],
  now: number,
): GoldenState {
  const ref = sourceKey(record);
  return {
    ...state,
    version: state.version + 1,
    updatedAt: now,
    change,
    members: sortMembers([...state.members.filter((member) => sourceKey(member) !== ref), record]),
    links: { ...state.links, [ref]: link },
  };
}

/** A golden record merged into another: no members left, pointing at the survivor. */
function mergedAway(state: GoldenState, into: string, now: number): GoldenState {
  return {
    ...state,
    version: state.version + 1,
    updatedAt: now,
    change: 'merged-away',
    status: 'MERGED',
    mergedInto: into,
    members: [],
    links: {},
  };
}

/**
 * A steward's result written to the outbox with the state it produced, when the caller asked for
 * it: the caller publishes it and acknowledges it; a caller that dies in between finds it pending
 * and publishes it again (same event ids). Without it, a crash after the commit and before the
 * produce would leave a decision in Redis that the topics, and a later rebuild, never see.
 */
function withOutbox(plan: Plan<StewardResult>, context: StewardContext): Plan<StewardResult> {
  if (!plan.mutation || !context.outboxId) return plan;
  plan.mutation.outbox.push({
    id: context.outboxId,
    payload: JSON.stringify(plan.result),
    at: context.now ?? Date.now(),
  });
  return plan;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

function stewardError(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { part: 'match-merge' });
}

/** The state of a golden record as its event describes it, with its members' links from the xref. */
function stateFromEvent(
  value: GoldenEventValue,
  members: SourceRecord[],
  xrefs: ReadonlyMap<string, mdm.CustomerXref>,
): GoldenState {
  const links: Record<string, MemberLink> = {};
  for (const member of members) {
    const ref = sourceKey(member);
    const xref = xrefs.get(ref);
    links[ref] =
      xref && xref.goldenId === value.goldenId
        ? {
            decision: xref.decision,
            score: xref.score,
            previousGoldenId: xref.previousGoldenId,
            decidedBy: xref.decidedBy,
            decidedAt: xref.decidedAt,
          }
        : {
            decision: 'UNKNOWN',
            score: null,
            previousGoldenId: null,
            decidedBy: ENGINE_ACTOR,
            decidedAt: value.updatedAt,
          };
  }
  return {
    goldenId: value.goldenId,
    version: value.version,
    status: value.status === 'UNKNOWN' ? 'ACTIVE' : value.status,
    mergedInto: value.mergedInto,
    createdAt: value.createdAt,
    updatedAt: value.updatedAt,
    change: changeOfEventType(value.envelope.eventType),
    members: sortMembers(members),
    links,
  };
}

function changeOfEventType(eventType: string): GoldenState['change'] {
  const change = eventType.slice('mdm.customer.golden.'.length);
  const known: GoldenState['change'][] = [
    'created',
    'merged',
    'updated',
    'unmerged',
    'merged-away',
    'reviewed',
  ];
  return known.find((candidate) => candidate === change) ?? 'updated';
}

/**
 * Member snapshots rebuilt from a golden event that has none (an Avro value from before the schema
 * carried them): each surviving value goes back to the source that contributed it, every other
 * source gets the legal name, so blocking and survivorship see what the event knew.
 */
export function membersFromAttributes(value: mdm.GoldenCustomer): SourceRecord[] {
  const bySource = new Map<string, SourceRecord>();
  const memberOf = (
    ref: { system: string; id: string; entity: string; instance: string | null },
    observedAt: number,
    version: number,
  ): SourceRecord | null => {
    if (!isMatchSystem(ref.system)) return null;
    const key = `${ref.system}:${ref.id}`;
    let member = bySource.get(key);
    if (!member) {
      member = {
        ...emptyRecordFields(),
        system: ref.system,
        id: ref.id,
        entity: ref.entity,
        instance: ref.instance,
        name: value.legalName?.value ?? value.displayName?.value ?? ref.id,
        updatedAt: observedAt,
        version,
      };
      bySource.set(key, member);
    }
    return member;
  };
  for (const source of value.sources) memberOf(source, 0, 0);
  const assign = (
    field: { provenance: mdm.Provenance } | null,
    apply: (member: SourceRecord) => void,
  ): void => {
    if (!field) return;
    const member = memberOf(
      field.provenance.source,
      field.provenance.observedAt,
      field.provenance.sourceVersion,
    );
    if (!member) return;
    member.updatedAt = Math.max(member.updatedAt, field.provenance.observedAt);
    member.version = Math.max(member.version, field.provenance.sourceVersion);
    apply(member);
  };
  const legalName = value.legalName;
  assign(legalName, (member) => (member.name = legalName!.value));
  const taxId = value.taxId;
  assign(taxId, (member) => {
    member.taxId = taxId!.value;
    member.country ??= value.taxCountry?.value ?? null;
  });
  const country = value.countryCode;
  assign(country, (member) => (member.country = country!.value));
  const domain = value.domain;
  assign(domain, (member) => (member.domains = [domain!.value]));
  const address = value.address;
  assign(address, (member) => {
    const a = address!.value;
    member.address = {
      line1: a.line1,
      line2: a.line2,
      city: a.city,
      region: a.region,
      postalCode: a.postalCode,
      country: a.countryCode,
    };
  });
  const email = value.email;
  assign(email, (member) => (member.billingEmail = email!.value));
  const phone = value.phone;
  assign(phone, (member) => (member.phone = phone!.value));
  const industry = value.industry;
  assign(industry, (member) => (member.industry = industry!.value));
  const currency = value.currency;
  assign(currency, (member) => (member.currency = currency!.value));
  const credit = value.creditStatus;
  assign(credit, (member) => (member.creditStatus = credit!.value));
  for (const member of bySource.values()) {
    // A source that contributed no name keeps the golden name, but never an empty one.
    if (!normalizeName(member.name).name) member.name = member.id;
  }
  return [...bySource.values()];
}

function isMatchSystem(system: string): system is SourceRecord['system'] {
  return system === 'salesforce' || system === 'stripe' || system === 'zendesk' || system === 'erp';
}
