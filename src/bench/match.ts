/**
 * `syncline bench match`: the cost of resolving one record as the number of golden records grows,
 * and the quality of the decisions on the simulator's ground truth.
 *
 * Cost: for each size (default 10k, 100k, 1M) a key prefix of its own is loaded with that many
 * golden records (synthetic companies, realistic names, tax ids, domains and postal codes, written
 * with pipelining and measured as Redis memory); then a fixed set of records per size is resolved
 * one at a time (one in flight, so latency is cost, not queueing), the sizes taking turns in ten
 * rounds: half are other systems' records of pre-loaded companies (they must find their golden
 * record among all the others), half are new companies. The cost per resolve is the median of the
 * rounds' mean latencies.
 * The goal is that the cost per resolve grows no more than 1.5× from the smallest size to the
 * largest: blocking reads a bounded number of small sets, never a scan.
 *
 * Quality: the simulator's population resolved into its own prefix; pairwise precision, recall
 * and F1 of "same company".
 *
 * Every prefix is deleted afterwards (unless `keep`). Needs a Redis (REDIS_URL) with room for all
 * sizes at once (about 2.7 KB per golden record on Redis 7.0: 1.11M records take about 2.8 GiB).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { goldenBlockingKeys } from '../processors/match-merge/blocking.ts';
import { MatchEngine } from '../processors/match-merge/engine.ts';
import { goldenIdFor } from '../processors/match-merge/events.ts';
import { profileOf } from '../processors/match-merge/normalize.ts';
import { emptyMutation, RedisMatchStore } from '../processors/match-merge/store.ts';
import { type GoldenState, parseSourceRecord, sourceKey } from '../processors/match-merge/types.ts';
import {
  pairwiseQuality,
  simulatedRecords,
  syntheticCompany,
  syntheticRecord,
  type LabelledRecord,
  type PairwiseQuality,
} from './match-population.ts';

export interface MatchBenchOptions {
  redisUrl: string;
  /** Golden records pre-loaded per measurement; default 10k, 100k, 1M. */
  sizes?: number[];
  /** Records resolved and timed per size; default 2000. */
  resolves?: number;
  /** Records resolved first and not timed, per size; default 300. */
  warmup?: number;
  /** Companies of the simulator population for precision/recall/F1; default 1000. */
  qualityCompanies?: number;
  seed?: string;
  /** Key prefix under which each run makes its own prefixes (short: every key carries it); default `bm:`. */
  prefix?: string;
  /** Keep the loaded data (for inspection); default false. */
  keep?: boolean;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface ResolveCost {
  count: number;
  /** The cost per resolve: the median over the rounds of each round's mean latency. */
  costMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  perSecond: number;
  /** Mean number of candidate golden records scored per resolve. */
  meanCandidates: number;
}

export interface MatchBenchRow {
  goldens: number;
  loadSeconds: number;
  loadedPerSecond: number;
  /** Growth of Redis `used_memory` while loading. */
  redisMemoryBytes: number;
  bytesPerGolden: number;
  resolve: ResolveCost;
  outcomes: Record<string, number>;
  /** Share of timed resolves that ended where the synthetic truth says (own company's golden record, or a new one). */
  accuracy: number;
}

export interface MatchBenchReport {
  scenario: 'match';
  seed: string;
  node: string;
  redisVersion: string;
  precision: number;
  recall: number;
  f1: number;
  quality: PairwiseQuality & { companies: number; outcomes: Record<string, number>; meanMs: number };
  rows: MatchBenchRow[];
  /** Cost per resolve ({@link ResolveCost.costMs}) at the largest size ÷ at the smallest. */
  costGrowth: number;
  /** costGrowth ≤ 1.5. */
  goalMet: boolean;
}

const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];
const SYSTEMS = ['salesforce', 'stripe', 'zendesk', 'erp'] as const;
const LOAD_BATCH = 5000;

export async function runMatchBench(options: MatchBenchOptions): Promise<MatchBenchReport> {
  const sizes = [...(options.sizes ?? DEFAULT_SIZES)].sort((a, b) => a - b);
  const resolves = options.resolves ?? 2000;
  const warmup = options.warmup ?? 300;
  const seed = options.seed ?? 'bench-match';
  const base = `${options.prefix ?? 'bm:'}${randomUUID().slice(0, 6)}:`;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  const progress = options.onProgress ?? (() => undefined);
  try {
    const info = await redis.info('server');
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

    const quality = await measureQuality(
      redis,
      `${base}q:`,
      options.qualityCompanies ?? 1000,
      seed,
      options.keep,
      progress,
    );
    const rows = await measureSizes(redis, base, sizes, resolves, warmup, seed, options.keep, progress);
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const costGrowth = last.resolve.costMs / first.resolve.costMs;
    return {
      scenario: 'match',
      seed,
      node: process.version,
      redisVersion,
      precision: quality.precision,
      recall: quality.recall,
      f1: quality.f1,
      quality,
      rows,
      costGrowth,
      goalMet: costGrowth <= 1.5,
    };
  } finally {
    redis.disconnect();
  }
}

async function measureQuality(
  redis: Redis,
  prefix: string,
  companies: number,
  seed: string,
  keep: boolean | undefined,
  progress: (phase: string, done: number, total: number) => void,
): Promise<MatchBenchReport['quality']> {
  const store = new RedisMatchStore({ redis, prefix });
  const engine = new MatchEngine({ store });
  const { records } = simulatedRecords({ companies, seed });
  const truth = new Map<string, string>();
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  try {
    for (const [index, { record, companyId }] of records.entries()) {
      const result = await engine.resolve(record);
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      truth.set(`${record.system}:${record.id}`, companyId);
      if (index % 200 === 0) progress('quality', index, records.length);
    }
    const meanMs = (performance.now() - started) / records.length;
    return { ...pairwiseQuality(await store.xrefs(), truth), companies, outcomes, meanMs };
  } finally {
    if (!keep) await store.deleteAll();
  }
}

/** Rounds the timed resolves are split into; the sizes take turns within each round. */
const ROUNDS = 10;

/**
 * Loads every size into its own prefix first, then times the resolves in rounds in which the
 * sizes take turns (in a rotating order), so that background load on the machine falls on every
 * size alike instead of on whichever happened to run at a bad moment.
 */
async function measureSizes(
  redis: Redis,
  base: string,
  sizes: readonly number[],
  resolves: number,
  warmup: number,
  seed: string,
  keep: boolean | undefined,
  progress: (phase: string, done: number, total: number) => void,
): Promise<MatchBenchRow[]> {
  const runs: SizeRun[] = [];
  try {
    for (const size of sizes) {
      const store = new RedisMatchStore({ redis, prefix: `${base}n${size}:` });
      const run: SizeRun = {
        size,
        store,
        engine: new MatchEngine({ store, metrics: { candidates: (count) => (run.candidates += count) } }),
        workload: measuredRecords(size, warmup + resolves, seed),
        loadSeconds: 0,
        memory: 0,
        candidates: 0,
        latencies: [],
        roundMeans: [],
        outcomes: {},
        correct: 0,
      };
      runs.push(run);
      const memoryBefore = await usedMemory(redis);
      const started = performance.now();
      await preload(store, size, seed, (done) => progress(`load ${size}`, done, size));
      run.loadSeconds = (performance.now() - started) / 1000;
      run.memory = Math.max(0, (await usedMemory(redis)) - memoryBefore);
    }
    for (const run of runs) {
      for (const item of run.workload.slice(0, warmup)) await run.engine.resolve(item.labelled.record);
      run.candidates = 0;
    }
    const perRound = Math.ceil(resolves / ROUNDS);
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = runs.map((_, index) => runs[(index + round) % runs.length]!);
      for (const run of order) {
        const slice = run.workload.slice(
          warmup + round * perRound,
          warmup + Math.min(resolves, (round + 1) * perRound),
        );
        const roundLatencies: number[] = [];
        for (const item of slice) {
          const started = performance.now();
          const result = await run.engine.resolve(item.labelled.record);
          roundLatencies.push(performance.now() - started);
          run.outcomes[result.outcome] = (run.outcomes[result.outcome] ?? 0) + 1;
          const right =
            item.expectedGoldenId === null
              ? result.outcome !== 'auto-merge'
              : result.goldenId === item.expectedGoldenId;
          if (right) run.correct += 1;
        }
        if (roundLatencies.length > 0) {
          run.latencies.push(...roundLatencies);
          run.roundMeans.push(roundLatencies.reduce((sum, value) => sum + value, 0) / roundLatencies.length);
        }
      }
      progress('resolve', round + 1, ROUNDS);
    }
    return runs.map((run) => ({
      goldens: run.size,
      loadSeconds: run.loadSeconds,
      loadedPerSecond: run.size / run.loadSeconds,
      redisMemoryBytes: run.memory,
      bytesPerGolden: run.memory / run.size,
      resolve: summarise(run.latencies, run.roundMeans, run.candidates),
      outcomes: run.outcomes,
      accuracy: run.correct / Math.max(1, run.latencies.length),
    }));
  } finally {
    if (!keep) for (const run of runs) await run.store.deleteAll(5000);
  }
}

interface SizeRun {
  size: number;
  store: RedisMatchStore;
  engine: MatchEngine;
  workload: MeasuredRecord[];
  loadSeconds: number;
  memory: number;
  candidates: number;
  latencies: number[];
  roundMeans: number[];
  outcomes: Record<string, number>;
  correct: number;
}

/**
 * Loads `size` golden records of one record each, as the engine would have written them, with
 * pipelined batches: the golden hash, the xref and the blocking index.
 */
export async function preload(
  store: RedisMatchStore,
  size: number,
  seed: string,
  onProgress?: (done: number) => void,
): Promise<void> {
  const at = Date.UTC(2025, 0, 1);
  for (let start = 0; start < size; start += LOAD_BATCH) {
    const mutation = emptyMutation();
    for (let index = start; index < Math.min(size, start + LOAD_BATCH); index += 1) {
      const company = syntheticCompany(seed, index);
      const record = parseSourceRecord(
        syntheticRecord(company, SYSTEMS[index % SYSTEMS.length]!, seed).record,
      );
      const ref = sourceKey(record);
      const goldenId = goldenIdFor(ref);
      const state: GoldenState = {
        goldenId,
        version: 1,
        status: 'ACTIVE',
        mergedInto: null,
        createdAt: at,
        updatedAt: at,
        change: 'created',
        members: [record],
        links: {
          [ref]: {
            decision: 'NEW_GOLDEN',
            score: null,
            previousGoldenId: null,
            decidedBy: 'match-merge',
            decidedAt: at,
          },
        },
      };
      const profiles = [profileOf(record)];
      mutation.putGoldens.push({ state, profiles });
      mutation.setXrefs.push({ ref, goldenId });
      for (const key of goldenBlockingKeys(profiles)) mutation.blockAdds.push({ key, goldenId });
    }
    await store.bulkWrite(mutation, 10_000);
    onProgress?.(Math.min(size, start + LOAD_BATCH));
  }
}

interface MeasuredRecord {
  labelled: LabelledRecord;
  /** The golden record it belongs to, or null for a company that was not pre-loaded. */
  expectedGoldenId: string | null;
}

/** Half: another system's record of a pre-loaded company; half: a company not pre-loaded. */
function measuredRecords(size: number, count: number, seed: string): MeasuredRecord[] {
  const out: MeasuredRecord[] = [];
  for (let n = 0; n < count; n += 1) {
    if (n % 2 === 0) {
      // Spread over the whole pre-loaded range, so old and recent golden records are both found.
      const index = Math.floor((((n * 2654435761) % 4294967296) / 4294967296) * size);
      const company = syntheticCompany(seed, index);
      const loadedSystem = SYSTEMS[index % SYSTEMS.length]!;
      const system = SYSTEMS[(index + 1 + (n % 3)) % SYSTEMS.length]!;
      const loaded = syntheticRecord(company, loadedSystem, seed).record;
      const labelled = syntheticRecord(company, system, `${seed}:measured:${n}`);
      out.push({ labelled, expectedGoldenId: goldenIdFor(`${loaded.system}:${loaded.id}`) });
    } else {
      const company = syntheticCompany(seed, size + n);
      out.push({
        labelled: syntheticRecord(company, SYSTEMS[n % SYSTEMS.length]!, seed),
        expectedGoldenId: null,
      });
    }
  }
  return out;
}

function summarise(latencies: number[], roundMeans: number[], candidates: number): ResolveCost {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (values: number[], q: number): number =>
    values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? 0;
  const total = latencies.reduce((sum, value) => sum + value, 0);
  const mean = total / Math.max(1, latencies.length);
  return {
    count: latencies.length,
    costMs: round(
      at(
        [...roundMeans].sort((a, b) => a - b),
        0.5,
      ),
    ),
    meanMs: round(mean),
    p50Ms: round(at(sorted, 0.5)),
    p90Ms: round(at(sorted, 0.9)),
    p99Ms: round(at(sorted, 0.99)),
    perSecond: Math.round(1000 / mean),
    meanCandidates: round(candidates / Math.max(1, latencies.length)),
  };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The report as a few lines for people. */
export function formatMatchBench(report: MatchBenchReport): string {
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  const lines = [
    `bench match: seed ${report.seed}, node ${report.node}, redis ${report.redisVersion}`,
    `quality (simulator, ${report.quality.companies} companies, ${report.quality.records} records): precision ${report.precision.toFixed(4)}, recall ${report.recall.toFixed(4)}, F1 ${report.f1.toFixed(4)}; outcomes ${JSON.stringify(report.quality.outcomes)}`,
    '',
    'goldens     load/s   redis mem  B/golden  cost/resolve  mean    p50     p90     p99     /s     cand.  accuracy',
  ];
  for (const row of report.rows) {
    lines.push(
      [
        String(row.goldens).padEnd(10),
        String(Math.round(row.loadedPerSecond)).padStart(7),
        mib(row.redisMemoryBytes).padStart(10),
        String(Math.round(row.bytesPerGolden)).padStart(9),
        `${row.resolve.costMs.toFixed(3)} ms`.padStart(13),
        row.resolve.meanMs.toFixed(3).padStart(7),
        row.resolve.p50Ms.toFixed(3).padStart(7),
        row.resolve.p90Ms.toFixed(3).padStart(7),
        row.resolve.p99Ms.toFixed(3).padStart(7),
        String(row.resolve.perSecond).padStart(6),
        row.resolve.meanCandidates.toFixed(1).padStart(6),
        row.accuracy.toFixed(3).padStart(9),
      ].join(' '),
    );
  }
  lines.push(
    '',
    `cost growth ${report.rows[0]?.goldens ?? 0} → ${report.rows[report.rows.length - 1]?.goldens ?? 0} golden records: ${report.costGrowth.toFixed(2)}× (goal ≤ 1.5×: ${report.goalMet ? 'met' : 'NOT met'})`,
  );
  return lines.join('\n');
}
