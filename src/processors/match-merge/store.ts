/**
 * The engine's state in Redis: golden records, the cross-reference (source system + id → golden
 * id), the blocking index, kept-apart pairs, review tasks and short locks. Everything lives under
 * one key prefix (configurable, so tests and benchmarks isolate themselves):
 *
 * - `<p>g:<goldenId>`  hash: `v` version, `doc` the {@link GoldenState} as JSON, `m` the members'
 *   match profiles as JSON (what scoring reads, so a candidate is never parsed whole);
 * - `<p>x`             hash: `<system>:<id>` → golden id;
 * - `<p>b:<key>`       set of golden ids per blocking key (see blocking.ts);
 * - `<p>k:<goldenId>`  set of golden ids a steward kept apart from it;
 * - `<p>r:<system>:<id>` the latest review task of a source record (MatchCandidate JSON), and
 *   `<p>ro` a sorted set of the open ones by creation time;
 * - `<p>l:<name>`      a lock (see {@link RedisMatchStore.acquireLocks});
 * - `<p>epoch`         the identity of this state (see {@link RedisMatchStore.ensureEpoch}): a
 *   commit checks it, so an engine never writes into a state that Redis lost under it;
 * - `<p>o:<id>`        a steward action's result waiting to be published (its outbox entry), and
 *   `<p>oq` a sorted set of them by time (see {@link RedisMatchStore.pendingOutbox}).
 *
 * Every change of the engine is one {@link Mutation}, applied by one Lua script that first checks
 * that the locks are still held and that the golden versions and xref entries it read are still
 * current, then writes everything or nothing. Scripts name every key they touch in KEYS; on Redis
 * Cluster use a prefix with a hash tag (`syncline:{mdm}:`) so that they share a slot.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type * as mdm from '../../schemas/generated/mdm.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { BlockRead } from './blocking.ts';
import { rememberProfile } from './normalize.ts';
import { compactRecord, expandRecord, type GoldenState, type MatchProfile } from './types.ts';
import { LuaScript } from '../../runtime/lua-script.ts';
import { deleteByPrefix } from '../../runtime/redis.ts';

export const DEFAULT_PREFIX = 'syncline:mdm:';

/** A golden record as candidate scoring reads it. */
export interface GoldenMatchView {
  goldenId: string;
  version: number;
  status: GoldenState['status'];
  profiles: MatchProfile[];
}

/** A golden record read whole, with the version it was read at. */
export interface GoldenRead {
  state: GoldenState;
  profiles: MatchProfile[];
}

/**
 * What a resolve reads before it decides (see {@link RedisMatchStore.readForResolve}): the golden
 * ids of the given source keys, the blocks, and, read in the same step, the match views of every
 * golden id found (null when there were more than the limit), the documents of those (when there
 * were few enough), and the record's own golden record with its kept-apart ids when it has one.
 */
export interface ResolveRead {
  xrefs: (string | null)[];
  blocks: BlockRead[];
  views: ParsedOnUse<GoldenMatchView> | null;
  /** The golden ids whose views were read (an id here without a view does not exist). */
  readIds: Set<string>;
  docs: ParsedOnUse<GoldenRead>;
  own: { read: GoldenRead | null; keptApart: string[] } | null;
}

/** Values read as text, parsed on first use and kept. */
export class ParsedOnUse<V> {
  private readonly pending = new Map<string, () => V>();
  private readonly parsed = new Map<string, V>();

  set(key: string, parse: () => V): void {
    this.pending.set(key, parse);
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  get(key: string): V | undefined {
    let value = this.parsed.get(key);
    if (value === undefined) {
      const parse = this.pending.get(key);
      if (!parse) return undefined;
      value = parse();
      this.parsed.set(key, value);
    }
    return value;
  }
}

/** A golden record to write, with the profiles of its members (computed by the caller). */
export interface GoldenWrite {
  state: GoldenState;
  profiles: MatchProfile[];
}

/** One atomic change: preconditions, then writes. */
export interface Mutation {
  /** Golden versions read (0: must not exist yet). */
  expectGoldens: { goldenId: string; version: number }[];
  /** Xref entries read (null: must be absent). */
  expectXrefs: { ref: string; goldenId: string | null }[];
  putGoldens: GoldenWrite[];
  setXrefs: { ref: string; goldenId: string }[];
  blockAdds: { key: string; goldenId: string }[];
  blockRemoves: { key: string; goldenId: string }[];
  /** Kept-apart pairs, stored both ways. */
  keptApart: { a: string; b: string }[];
  putReviews: { review: mdm.MatchCandidate; sourceKey: string }[];
  /** Outbox entries written with the state: what a caller must publish once it is committed. */
  outbox: { id: string; payload: string; at: number }[];
}

export function emptyMutation(): Mutation {
  return {
    expectGoldens: [],
    expectXrefs: [],
    putGoldens: [],
    setXrefs: [],
    blockAdds: [],
    blockRemoves: [],
    keptApart: [],
    putReviews: [],
    outbox: [],
  };
}

/**
 * Why a commit was refused. The caller re-reads and tries again, except for the epoch: STATE_LOST
 * (the epoch key is gone: Redis lost the state) and STATE_REPLACED (another state is there now,
 * e.g. one a rebuild wrote).
 */
export type CommitConflict =
  'LOCK_LOST' | 'GOLDEN_CHANGED' | 'XREF_CHANGED' | 'STATE_LOST' | 'STATE_REPLACED';

/** The epoch a rebuild writes: engines that see it adopt it (see {@link RedisMatchStore.ensureEpoch}). */
export const REBUILT_EPOCH_PREFIX = 'rebuilt:';

// ---------------------------------------------------------------------------------------------
// Lua scripts

/** All or nothing: takes every lock or none, so two resolvers can never deadlock. */
const ACQUIRE = new LuaScript(`
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return 1`);

/** Compare-and-delete: a lock that expired and was taken by another holder is left alone. */
const RELEASE = new LuaScript(`
local released = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
return released`);

/**
 * KEYS[1] the xref hash, then the block keys. ARGV[1] the number of xref fields, then the fields,
 * then one cap per block key. Returns the xref values and, per block, {size} or {size, members}.
 */
const READ = new LuaScript(`
local fields = tonumber(ARGV[1])
local xrefs = {}
for i = 1, fields do
  xrefs[i] = redis.call('HGET', KEYS[1], ARGV[1 + i]) or ''
end
local blocks = {}
for i = 2, #KEYS do
  local size = redis.call('SCARD', KEYS[i])
  if size > tonumber(ARGV[1 + fields + i - 1]) then
    blocks[i - 1] = {size}
  else
    blocks[i - 1] = {size, redis.call('SMEMBERS', KEYS[i])}
  end
end
return {xrefs, blocks}`);

/**
 * KEYS: every key of the plan (the plan refers to them by index). ARGV[1] the lock token, ARGV[2]
 * the plan as JSON, then the documents it writes (the plan refers to them by ARGV index, so they
 * are neither escaped into the plan's JSON nor decoded from it). Checks, then writes, then releases
 * the locks.
 */
const COMMIT = new LuaScript(`
local token = ARGV[1]
local plan = cjson.decode(ARGV[2])
if plan.epoch then
  local current = redis.call('GET', KEYS[plan.epoch[1]])
  if not current then return 'STATE_LOST' end
  if current ~= plan.epoch[2] then return 'STATE_REPLACED' end
end
for _, i in ipairs(plan.locks) do
  if redis.call('GET', KEYS[i]) ~= token then return 'LOCK_LOST' end
end
for _, e in ipairs(plan.eg) do
  local current = tonumber(redis.call('HGET', KEYS[e[1]], 'v')) or 0
  if current ~= e[2] then return 'GOLDEN_CHANGED' end
end
for _, e in ipairs(plan.ex) do
  local current = redis.call('HGET', KEYS[e[1]], e[2]) or ''
  if current ~= e[3] then return 'XREF_CHANGED' end
end
for _, g in ipairs(plan.pg) do
  redis.call('HSET', KEYS[g[1]], 'v', g[2], 'doc', ARGV[g[3]], 'm', ARGV[g[4]])
end
for _, x in ipairs(plan.sx) do
  redis.call('HSET', KEYS[x[1]], x[2], x[3])
end
for _, b in ipairs(plan.sr) do
  redis.call('SREM', KEYS[b[1]], b[2])
end
for _, b in ipairs(plan.sa) do
  redis.call('SADD', KEYS[b[1]], b[2])
end
for _, r in ipairs(plan.rv) do
  redis.call('SET', KEYS[r[1]], ARGV[r[2]])
  if r[4] == 1 then
    redis.call('ZADD', KEYS[r[3]], r[5], r[6])
  else
    redis.call('ZREM', KEYS[r[3]], r[6])
  end
end
for _, o in ipairs(plan.ob) do
  redis.call('SET', KEYS[o[1]], ARGV[o[2]])
  redis.call('ZADD', KEYS[o[3]], o[4], o[5])
end
for _, i in ipairs(plan.locks) do
  redis.call('DEL', KEYS[i])
end
return 'OK'`);

/**
 * Everything a resolve reads before it decides, in one round trip, taken (when `nl` > 0) together
 * with its locks, all or nothing like {@link ACQUIRE}: returns 0 when a lock is held by another.
 * KEYS[1] the xref hash, then the `nl` lock keys, then the block keys. ARGV: token, ttl, nl, the
 * number of xref fields and the fields (the record's own source key first), one cap per block, the
 * golden key prefix and the kept-apart key prefix, the seed golden id, and the most golden records
 * whose match views (`v`, `m`) and the most whose documents too are read.
 * Returns {1, xrefs, blocks, views, own}: views is {id, v, m[, doc]} per golden id found in the
 * blocks, the xrefs and the seed (0 when there were more than the limit: the caller reads them
 * itself); own is {v, doc, m, kept-apart ids} of the record's own golden record, or 0.
 * The golden and kept-apart keys are derived from their ids here, not named in KEYS: they share
 * the store's prefix, so on Redis Cluster a hash-tagged prefix puts them in the same slot.
 */
const ACQUIRE_AND_READ = new LuaScript(`
local token, ttl, nl, nrefs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 2, nl + 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 2, nl + 1 do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
end
local nblocks = #KEYS - 1 - nl
local at = 4 + nrefs
local gprefix, kprefix, seed = ARGV[at + nblocks + 1], ARGV[at + nblocks + 2], ARGV[at + nblocks + 3]
local viewLimit, docLimit = tonumber(ARGV[at + nblocks + 4]), tonumber(ARGV[at + nblocks + 5])
local ids, seen = {}, {}
local function note(id)
  if id and id ~= '' and not seen[id] then seen[id] = true; ids[#ids + 1] = id end
end
local xrefs = {}
for i = 1, nrefs do
  xrefs[i] = redis.call('HGET', KEYS[1], ARGV[4 + i]) or ''
  if i > 1 then note(xrefs[i]) end
end
local blocks = {}
for i = 1, nblocks do
  local key = KEYS[1 + nl + i]
  local size = redis.call('SCARD', key)
  if size > tonumber(ARGV[at + i]) then
    blocks[i] = {size}
  else
    local members = redis.call('SMEMBERS', key)
    blocks[i] = {size, members}
    for _, id in ipairs(members) do note(id) end
  end
end
note(seed)
local views = 0
if #ids <= viewLimit then
  views = {}
  local withDocs = #ids <= docLimit
  for i, id in ipairs(ids) do
    local fields = withDocs and redis.call('HMGET', gprefix .. id, 'v', 'm', 'doc')
      or redis.call('HMGET', gprefix .. id, 'v', 'm')
    views[i] = {id, fields[1] or '', fields[2] or '', fields[3] or ''}
  end
end
local own = 0
if xrefs[1] ~= '' then
  local fields = redis.call('HMGET', gprefix .. xrefs[1], 'v', 'doc', 'm')
  own = {fields[1] or '', fields[2] or '', fields[3] or '', redis.call('SMEMBERS', kprefix .. xrefs[1])}
end
return {1, xrefs, blocks, views, own}`);

/** The epoch, created with ARGV[1] when there is none. */
const ENSURE_EPOCH = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`);

// ---------------------------------------------------------------------------------------------

export interface MatchStoreOptions {
  redis: Redis;
  /** Key prefix of everything this store writes; default `syncline:mdm:`. */
  prefix?: string;
}

/** Redis-backed state of the match-merge engine. Safe to share between concurrent resolves. */
export class RedisMatchStore {
  readonly redis: Redis;
  readonly prefix: string;

  constructor(options: MatchStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  goldenKey(goldenId: string): string {
    return `${this.prefix}g:${goldenId}`;
  }
  get xrefKey(): string {
    return `${this.prefix}x`;
  }
  blockKey(key: string): string {
    return `${this.prefix}b:${key}`;
  }
  apartKey(goldenId: string): string {
    return `${this.prefix}k:${goldenId}`;
  }
  reviewKey(sourceKey: string): string {
    return `${this.prefix}r:${sourceKey}`;
  }
  get openReviewsKey(): string {
    return `${this.prefix}ro`;
  }
  lockKey(name: string): string {
    return `${this.prefix}l:${name}`;
  }
  get epochKey(): string {
    return `${this.prefix}epoch`;
  }
  outboxKey(id: string): string {
    return `${this.prefix}o:${id}`;
  }
  get outboxQueueKey(): string {
    return `${this.prefix}oq`;
  }

  // -- epoch --------------------------------------------------------------------------------

  /**
   * The identity of the state under the prefix, created with `fresh` when there is none (a first
   * start). An engine reads it once and has every commit check it: when Redis loses its data
   * while processors run (a restart without persistence, a flush), the epoch is gone and every
   * commit is refused (STATE_LOST) instead of founding new golden records for known companies,
   * until `mdm rebuild` restores the state and writes a new epoch (prefixed `rebuilt:`), which
   * running engines adopt. An engine starting after the loss and before a rebuild cannot tell an
   * empty state from a lost one: run the rebuild before starting processors again.
   */
  async ensureEpoch(fresh: string): Promise<string> {
    return String(await this.guard('epoch', () => ENSURE_EPOCH.run(this.redis, [this.epochKey], [fresh])));
  }

  async epoch(): Promise<string | null> {
    return this.guard('epoch', () => this.redis.get(this.epochKey));
  }

  async setEpoch(value: string): Promise<void> {
    await this.guard('epoch', () => this.redis.set(this.epochKey, value));
  }

  // -- outbox -------------------------------------------------------------------------------

  /** Outbox entries committed and not yet acknowledged, oldest first. */
  async pendingOutbox(limit = 1000): Promise<{ id: string; payload: string }[]> {
    const ids = await this.guard('read', () =>
      this.redis.zrange(this.outboxQueueKey, '0', String(Math.max(0, limit - 1))),
    );
    if (ids.length === 0) return [];
    const payloads = await this.guard('read', () => this.redis.mget(...ids.map((id) => this.outboxKey(id))));
    const out: { id: string; payload: string }[] = [];
    ids.forEach((id, index) => {
      const payload = payloads[index];
      if (typeof payload === 'string') out.push({ id, payload });
    });
    return out;
  }

  /** Removes an outbox entry once what it holds is published. */
  async ackOutbox(id: string): Promise<void> {
    await this.guard('write', () =>
      this.redis.multi().del(this.outboxKey(id)).zrem(this.outboxQueueKey, id).exec(),
    );
  }

  // -- locks --------------------------------------------------------------------------------

  /** Takes all the named locks with `token` for `ttlMs`, or none. */
  async acquireLocks(names: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    if (names.length === 0) return true;
    const result = await this.guard('lock', () =>
      ACQUIRE.run(
        this.redis,
        names.map((name) => this.lockKey(name)),
        [token, ttlMs],
      ),
    );
    return result === 1;
  }

  async releaseLocks(names: readonly string[], token: string): Promise<void> {
    if (names.length === 0) return;
    await this.guard('unlock', () =>
      RELEASE.run(
        this.redis,
        names.map((name) => this.lockKey(name)),
        [token],
      ),
    );
  }

  // -- reads --------------------------------------------------------------------------------

  /**
   * In one round trip: the golden ids of the given source keys (null when unknown), and each block
   * with its size, its members left out when it is larger than its cap.
   */
  async readIndex(
    refs: readonly string[],
    blocks: readonly { key: string; cap: number }[],
  ): Promise<{ xrefs: (string | null)[]; blocks: BlockRead[] }> {
    const raw = (await this.guard('read', () =>
      READ.run(
        this.redis,
        [this.xrefKey, ...blocks.map((block) => this.blockKey(block.key))],
        [refs.length, ...refs, ...blocks.map((block) => block.cap)],
      ),
    )) as [string[], [number, string[]?][]];
    const [xrefs, reads] = raw;
    return {
      xrefs: xrefs.map((value) => (value === '' ? null : value)),
      blocks: blocks.map((block, index) => {
        const read = reads[index] ?? [0];
        return { key: block.key, size: Number(read[0]), members: read[1] ?? null };
      }),
    };
  }

  /**
   * What a resolve reads before deciding, in one round trip, and (with `lock`) its locks taken in
   * the same step, all or nothing: null when another holder has one of them. See
   * {@link ResolveRead}.
   */
  async readForResolve(
    refs: readonly string[],
    blocks: readonly { key: string; cap: number }[],
    seed: string,
    limits: { views: number; docs: number },
    lock?: { names: readonly string[]; token: string; ttlMs: number },
  ): Promise<ResolveRead | null> {
    const lockKeys = (lock?.names ?? []).map((name) => this.lockKey(name));
    const raw = (await this.guard(lock && lockKeys.length > 0 ? 'lock' : 'read', () =>
      ACQUIRE_AND_READ.run(
        this.redis,
        [this.xrefKey, ...lockKeys, ...blocks.map((block) => this.blockKey(block.key))],
        [
          lock?.token ?? '',
          lock?.ttlMs ?? 0,
          lockKeys.length,
          refs.length,
          ...refs,
          ...blocks.map((block) => block.cap),
          this.goldenKey(''),
          this.apartKey(''),
          seed,
          limits.views,
          limits.docs,
        ],
      ),
    )) as 0 | [1, string[], [number, string[]?][], 0 | string[][], 0 | [string, string, string, string[]]];
    if (raw === 0) return null;
    const [, xrefs, reads, views, own] = raw;
    const out: ResolveRead = {
      xrefs: xrefs.map((value) => (value === '' ? null : value)),
      blocks: blocks.map((block, index) => {
        const read = reads[index] ?? [0];
        return { key: block.key, size: Number(read[0]), members: read[1] ?? null };
      }),
      views: null,
      readIds: new Set(),
      docs: new ParsedOnUse(),
      own: null,
    };
    if (views !== 0) {
      const parsedViews = new ParsedOnUse<GoldenMatchView>();
      out.views = parsedViews;
      for (const [goldenId, version, match, doc] of views) {
        if (!goldenId) continue;
        out.readIds.add(goldenId);
        if (!version || !match) continue;
        // Parsed when the plan asks for them: most of what is read is never looked at again.
        const view = (): GoldenMatchView => {
          const parsed = JSON.parse(match) as { s: GoldenState['status']; p: MatchProfile[] };
          return { goldenId, version: Number(version), status: parsed.s, profiles: parsed.p };
        };
        parsedViews.set(goldenId, view);
        if (doc) {
          out.docs.set(goldenId, () => {
            const profiles = parsedViews.get(goldenId)!.profiles;
            return { state: decodeState(doc, profiles), profiles };
          });
        }
      }
    }
    if (own !== 0) {
      const [version, doc, match, keptApart] = own;
      if (version && doc && match) {
        const profiles = (JSON.parse(match) as { p: MatchProfile[] }).p;
        out.own = { read: { state: decodeState(doc, profiles), profiles }, keptApart };
      } else {
        out.own = { read: null, keptApart };
      }
    }
    return out;
  }

  async xrefOf(ref: string): Promise<string | null> {
    return this.guard('read', () => this.redis.hget(this.xrefKey, ref));
  }

  /** The match view of each golden id that exists (profiles only, no full document). */
  async matchViews(goldenIds: readonly string[]): Promise<Map<string, GoldenMatchView>> {
    const out = new Map<string, GoldenMatchView>();
    if (goldenIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const goldenId of goldenIds) pipeline.hmget(this.goldenKey(goldenId), 'v', 'm');
    const replies = await this.guard('read', () => execPipeline(pipeline));
    goldenIds.forEach((goldenId, index) => {
      const [version, match] = (replies[index] ?? []) as (string | null)[];
      if (!version || !match) return;
      const parsed = JSON.parse(match) as { s: GoldenState['status']; p: MatchProfile[] };
      out.set(goldenId, { goldenId, version: Number(version), status: parsed.s, profiles: parsed.p });
    });
    return out;
  }

  /** Golden records read whole; absent ids are left out. */
  async goldens(goldenIds: readonly string[]): Promise<Map<string, GoldenRead>> {
    const out = new Map<string, GoldenRead>();
    if (goldenIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const goldenId of goldenIds) pipeline.hmget(this.goldenKey(goldenId), 'doc', 'm');
    const replies = await this.guard('read', () => execPipeline(pipeline));
    goldenIds.forEach((goldenId, index) => {
      const [doc, match] = (replies[index] ?? []) as (string | null)[];
      if (!doc || !match) return;
      const profiles = (JSON.parse(match) as { p: MatchProfile[] }).p;
      out.set(goldenId, {
        state: decodeState(doc, profiles),
        profiles,
      });
    });
    return out;
  }

  async golden(goldenId: string): Promise<GoldenRead | null> {
    return (await this.goldens([goldenId])).get(goldenId) ?? null;
  }

  async goldenExists(goldenIds: readonly string[]): Promise<boolean[]> {
    if (goldenIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const goldenId of goldenIds) pipeline.exists(this.goldenKey(goldenId));
    const replies = await this.guard('read', () => execPipeline(pipeline));
    return replies.map((reply) => Number(reply) === 1);
  }

  async keptApartOf(goldenId: string): Promise<string[]> {
    return this.guard('read', () => this.redis.smembers(this.apartKey(goldenId)));
  }

  async review(sourceKey: string): Promise<mdm.MatchCandidate | null> {
    const raw = await this.guard('read', () => this.redis.get(this.reviewKey(sourceKey)));
    return raw ? (JSON.parse(raw) as mdm.MatchCandidate) : null;
  }

  /** Open review tasks, oldest first. */
  async openReviews(limit = 100): Promise<mdm.MatchCandidate[]> {
    const keys = await this.guard('read', () =>
      this.redis.zrange(this.openReviewsKey, '0', String(Math.max(0, limit - 1))),
    );
    if (keys.length === 0) return [];
    const raws = await this.guard('read', () => this.redis.mget(...keys.map((key) => this.reviewKey(key))));
    return raws
      .filter((raw): raw is string => raw !== null)
      .map((raw) => JSON.parse(raw) as mdm.MatchCandidate);
  }

  /** Every open review task, oldest first, read in pages (a steward looking one up by id). */
  async *scanOpenReviews(page = 500): AsyncGenerator<mdm.MatchCandidate> {
    for (let start = 0; ; start += page) {
      const keys = await this.guard('read', () =>
        this.redis.zrange(this.openReviewsKey, String(start), String(start + page - 1)),
      );
      if (keys.length === 0) return;
      const raws = await this.guard('read', () => this.redis.mget(...keys.map((key) => this.reviewKey(key))));
      for (const raw of raws) if (raw !== null) yield JSON.parse(raw) as mdm.MatchCandidate;
      if (keys.length < page) return;
    }
  }

  /** Whether a match state is under the prefix: every linked source record is in the xref. */
  async hasState(): Promise<boolean> {
    return (await this.guard('read', () => this.redis.exists(this.xrefKey))) > 0;
  }

  /** Every golden record under the prefix (SCAN: for exports and checks, never on the resolve path). */
  async *scanGoldens(batch = 500): AsyncGenerator<GoldenState> {
    let cursor = '0';
    const match = `${escapeGlob(this.prefix)}g:*`;
    do {
      const [next, keys] = await this.guard('scan', () =>
        this.redis.scan(cursor, 'MATCH', match, 'COUNT', batch),
      );
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.hget(key, 'doc');
      const docs = await this.guard('scan', () => execPipeline(pipeline));
      for (const doc of docs) if (typeof doc === 'string') yield decodeState(doc);
    } while (cursor !== '0');
  }

  /** The whole cross-reference (HSCAN), `<system>:<id>` → golden id. */
  async xrefs(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.guard('scan', () =>
        this.redis.hscan(this.xrefKey, cursor, 'COUNT', 1000),
      );
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    } while (cursor !== '0');
    return out;
  }

  // -- writes -------------------------------------------------------------------------------

  /**
   * Applies a mutation atomically if its preconditions hold, the locks are still held by `token`
   * and (when given) the state's epoch is still `epoch`; releases the locks in the same step.
   * Returns null on success, else the conflict.
   */
  async commit(
    mutation: Mutation,
    lockNames: readonly string[],
    token: string,
    epoch?: string,
  ): Promise<CommitConflict | null> {
    const keys: string[] = [];
    const indexOf = new Map<string, number>();
    const k = (key: string): number => {
      let index = indexOf.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length; // Lua is 1-based
        indexOf.set(key, index);
      }
      return index;
    };
    const blobs: string[] = [];
    const blob = (text: string): number => {
      blobs.push(text);
      return blobs.length + 2; // ARGV[1] token, ARGV[2] plan; Lua is 1-based
    };
    const plan = {
      ...(epoch === undefined ? {} : { epoch: [k(this.epochKey), epoch] }),
      locks: lockNames.map((name) => k(this.lockKey(name))),
      eg: mutation.expectGoldens.map((e) => [k(this.goldenKey(e.goldenId)), e.version]),
      ex: mutation.expectXrefs.map((e) => [k(this.xrefKey), e.ref, e.goldenId ?? '']),
      pg: mutation.putGoldens.map((g) => [
        k(this.goldenKey(g.state.goldenId)),
        g.state.version,
        blob(encodeState(g.state)),
        blob(matchField(g)),
      ]),
      sx: mutation.setXrefs.map((x) => [k(this.xrefKey), x.ref, x.goldenId]),
      sr: mutation.blockRemoves.map((b) => [k(this.blockKey(b.key)), b.goldenId]),
      sa: [
        ...mutation.blockAdds.map((b) => [k(this.blockKey(b.key)), b.goldenId]),
        ...mutation.keptApart.flatMap((pair) => [
          [k(this.apartKey(pair.a)), pair.b],
          [k(this.apartKey(pair.b)), pair.a],
        ]),
      ],
      rv: mutation.putReviews.map((r) => [
        k(this.reviewKey(r.sourceKey)),
        blob(JSON.stringify(r.review)),
        k(this.openReviewsKey),
        r.review.status === 'OPEN' ? 1 : 0,
        r.review.createdAt,
        r.sourceKey,
      ]),
      ob: mutation.outbox.map((o) => [
        k(this.outboxKey(o.id)),
        blob(o.payload),
        k(this.outboxQueueKey),
        o.at,
        o.id,
      ]),
    };
    const result = await this.guard('commit', () =>
      COMMIT.run(this.redis, keys, [token, JSON.stringify(plan), ...blobs]),
    );
    if (result === 'OK') return null;
    return result as CommitConflict;
  }

  /**
   * Writes state without locks or preconditions, pipelined in batches: for a rebuild (with the
   * processors stopped) and for loading benchmark data. Not for the resolve path.
   */
  async bulkWrite(mutation: Mutation, batchSize = 2000): Promise<void> {
    const commands: ((pipeline: ChainableCommander) => void)[] = [];
    for (const g of mutation.putGoldens) {
      commands.push((p) =>
        p.hset(
          this.goldenKey(g.state.goldenId),
          'v',
          g.state.version,
          'doc',
          encodeState(g.state),
          'm',
          matchField(g),
        ),
      );
    }
    for (const x of mutation.setXrefs) commands.push((p) => p.hset(this.xrefKey, x.ref, x.goldenId));
    for (const b of mutation.blockAdds) commands.push((p) => p.sadd(this.blockKey(b.key), b.goldenId));
    for (const b of mutation.blockRemoves) commands.push((p) => p.srem(this.blockKey(b.key), b.goldenId));
    for (const pair of mutation.keptApart) {
      commands.push((p) => p.sadd(this.apartKey(pair.a), pair.b));
      commands.push((p) => p.sadd(this.apartKey(pair.b), pair.a));
    }
    for (const r of mutation.putReviews) {
      commands.push((p) => p.set(this.reviewKey(r.sourceKey), JSON.stringify(r.review)));
      commands.push((p) =>
        r.review.status === 'OPEN'
          ? p.zadd(this.openReviewsKey, r.review.createdAt, r.sourceKey)
          : p.zrem(this.openReviewsKey, r.sourceKey),
      );
    }
    for (let start = 0; start < commands.length; start += batchSize) {
      const pipeline = this.redis.pipeline();
      for (const command of commands.slice(start, start + batchSize)) command(pipeline);
      await this.guard('bulk-write', () => execPipeline(pipeline));
    }
  }

  /** Deletes every key under the prefix (SCAN + UNLINK). Returns how many. */
  async deleteAll(batch = 1000): Promise<number> {
    return this.guard('delete', () => deleteByPrefix(this.redis, this.prefix, batch));
  }

  /**
   * Runs a Redis call, turning failures into SynclineErrors: connection trouble and a busy or
   * loading server are retriable (the stage pauses and resumes); a script or reply error is a bug.
   */
  private async guard<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof SynclineError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const isReply = error instanceof Error && error.name === 'ReplyError';
      const transient = !isReply || /^(BUSY|LOADING|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)/.test(message);
      const context = { part: 'match-merge', operation };
      throw transient
        ? SynclineError.retriable(
            ErrorCodes.REDIS_UNAVAILABLE,
            `Redis ${operation} failed: ${message}`,
            context,
            error,
          )
        : SynclineError.permanent(
            ErrorCodes.UNEXPECTED,
            `Redis ${operation} failed: ${message}`,
            context,
            error,
          );
    }
  }
}

/** A golden state as stored: members without their empty fields. */
function encodeState(state: GoldenState): string {
  return JSON.stringify({ ...state, members: state.members.map((member) => compactRecord(member)) });
}

/**
 * A stored golden state. With the members' stored profiles (the `m` field, written with it in
 * one step, so in the same order), each member remembers its profile: the next write of this
 * golden record need not normalise every member again.
 */
function decodeState(doc: string, profiles?: readonly MatchProfile[]): GoldenState {
  const state = JSON.parse(doc) as GoldenState;
  const members = state.members.map((member) => expandRecord(member));
  if (profiles && profiles.length === members.length) {
    members.forEach((member, index) => rememberProfile(member, profiles[index]!));
  }
  return { ...state, members };
}

function matchField(write: GoldenWrite): string {
  return JSON.stringify({ s: write.state.status, p: write.profiles });
}

/** Runs a pipeline; the first command error fails the whole call. */
async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
