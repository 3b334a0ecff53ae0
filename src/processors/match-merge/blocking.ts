/**
 * Blocking: which golden records are worth scoring against an incoming one. Never a scan: each
 * normalised record yields a handful of lookup keys, the index in Redis holds one set of golden
 * ids per key (see store.ts), and only the golden records found under the incoming record's keys
 * are scored. Blocks are bounded: a key whose set has grown past its cap (a first word such as
 * `global` shared by thousands) is skipped for that lookup ("block purging"), and the candidates
 * of all keys together are cut to the best `maxCandidates`, ranked by how strong the keys that
 * found them are. That keeps the cost of one resolve flat as the number of golden records grows.
 *
 * The keys, by kind:
 * - `t` tax id with its country; `d` a registrable domain; `r` a source id that a record names as
 *   the same customer in another system (a golden record is indexed under its members'
 *   cross-references, and a record looks up its own id there, so the two meet whichever comes
 *   first; the other direction is a plain xref lookup). Each identifies a company on its own.
 * - `q` Double Metaphone codes of the first two name tokens, sorted: the same for `Nordwind
 *   Logistik`, `Nordwnid Logistik` and `Logistik Nordwind`, and needs no country (a support
 *   organisation has none).
 * - `a` country + postal code + the letters of the first token, sorted and deduplicated (typos
 *   that swap or double letters: `oMreau` and `Moreau` both give `aemoru`).
 * - `p` country + Double Metaphone of the first token (typos in it); `f` the first token alone
 *   (a brand written without the rest of the name). These two are broad, with a smaller cap.
 */
import { phoneticKey } from './normalize.ts';
import type { MatchProfile } from './types.ts';

export const BlockKinds = {
  tax: 't',
  ref: 'r',
  domain: 'd',
  postalName: 'a',
  phoneticName: 'q',
  phonetic: 'p',
  firstToken: 'f',
} as const;
export type BlockKind = (typeof BlockKinds)[keyof typeof BlockKinds];

/** How much a shared key says: ranks candidates when there are more than `maxCandidates`. */
const KIND_WEIGHT: Record<BlockKind, number> = { t: 8, r: 8, d: 6, q: 4, a: 3, p: 2, f: 1 };
const STRONG_KINDS = new Set<BlockKind>(['t', 'r', 'd']);
const BROAD_KINDS = new Set<BlockKind>(['p', 'f']);

export interface BlockingOptions {
  /** Largest block read for strong and name keys; a larger one is skipped. Default 200. */
  maxBlockSize: number;
  /** Largest block read for the broad keys (`p`, `f`). Default 40. */
  maxBroadBlockSize: number;
  /** Most candidate golden records scored per record. Default 50. */
  maxCandidates: number;
}

export const DEFAULT_BLOCKING: BlockingOptions = {
  maxBlockSize: 200,
  maxBroadBlockSize: 40,
  maxCandidates: 50,
};

/** The keys a record is indexed under, deduplicated, in a stable order. Pure. */
export function blockingKeys(profile: MatchProfile): string[] {
  const keys: string[] = [];
  if (profile.tax) keys.push(`t:${profile.tax}`);
  for (const ref of profile.refs) keys.push(`r:${ref}`);
  for (const domain of profile.domains) keys.push(`d:${domain}`);
  const [first, second] = profile.tokens;
  if (first !== undefined) {
    if (second !== undefined) {
      const codes = [phoneticKey(first) ?? first, phoneticKey(second) ?? second].sort();
      keys.push(`q:${codes.join(' ')}`);
    }
    keys.push(`f:${first}`);
    if (profile.country) {
      const phonetic = phoneticKey(first);
      if (phonetic) keys.push(`p:${profile.country}:${phonetic}`);
      if (profile.postal) keys.push(`a:${profile.country}:${profile.postal}:${letterSet(first)}`);
    }
  }
  return [...new Set(keys)];
}

/** The distinct letters of a word, sorted. */
export function letterSet(word: string): string {
  return [...new Set(word)].sort().join('');
}

/**
 * The keys a record looks candidates up under: its own keys, and its own source id among the
 * cross-references of others. These are also the keys locked while it is resolved. Pure.
 */
export function lookupKeys(profile: MatchProfile): string[] {
  return [...new Set([...blockingKeys(profile), `r:${profile.ref}`])];
}

/** The keys a golden record is indexed under: the union of its members' keys. Pure. */
export function goldenBlockingKeys(profiles: readonly MatchProfile[]): string[] {
  return [...new Set(profiles.flatMap((profile) => blockingKeys(profile)))].sort();
}

export function kindOf(key: string): BlockKind {
  return key.slice(0, 1) as BlockKind;
}

export function isStrongKind(kind: BlockKind): boolean {
  return STRONG_KINDS.has(kind);
}

/** The cap of a key's block. */
export function capOf(key: string, options: BlockingOptions): number {
  return BROAD_KINDS.has(kindOf(key)) ? options.maxBroadBlockSize : options.maxBlockSize;
}

/** One block as read from the index: its size, and its members unless it was over its cap. */
export interface BlockRead {
  key: string;
  size: number;
  /** Null when the block was larger than its cap and was skipped. */
  members: string[] | null;
}

/**
 * The golden ids worth scoring, at most `maxCandidates`, those found under the strongest and most
 * keys first; ties broken by id so the choice is deterministic. Ids in `exclude` (the record's own
 * golden record, on an update) are left out. Pure.
 */
export function selectCandidates(
  reads: readonly BlockRead[],
  options: Pick<BlockingOptions, 'maxCandidates'>,
  exclude: ReadonlySet<string> = new Set(),
): string[] {
  const weight = new Map<string, number>();
  for (const read of reads) {
    if (!read.members) continue;
    const kindWeight = KIND_WEIGHT[kindOf(read.key)] ?? 1;
    for (const goldenId of read.members) {
      if (exclude.has(goldenId)) continue;
      weight.set(goldenId, (weight.get(goldenId) ?? 0) + kindWeight);
    }
  }
  return [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, options.maxCandidates)
    .map(([goldenId]) => goldenId);
}
