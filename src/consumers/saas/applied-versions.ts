/**
 * The last source version a sink applied to one target record, per Syncline entity, kept *on the
 * target record itself* (a Salesforce Long Text Area, a Zendesk organization field) as compact JSON:
 * `{"customer:<golden id>":7,"invoice:stripe:in_1":1733097600000}`.
 *
 * Why on the target and per entity: one CRM Opportunity or support organization takes writes from
 * several entities (its contract, each invoice, each renewal, each entitlement) whose versions come
 * from different sources and cannot be compared with each other; the version of one entity can. And
 * because the record sits at the target, the check survives a lost Redis and a replay: the target
 * itself says "I already have this" (duplicate) or "I have something newer" (stale).
 *
 * The map is bounded: past {@link MAX_ENTRIES} the entity applied longest ago is forgotten. A
 * redelivery of that entity's old version would then be applied again; a record that old lies far
 * beyond any redelivery or replay window in practice.
 */

export const MAX_ENTRIES = 100;

/**
 * The entry holding when (source `occurredAt`) the last customer change applied to the record
 * happened, whichever golden id it was of. Versions of two golden ids cannot be compared; when a
 * record moves from one golden id to another (a merge, an unmerge), this is what keeps a late record
 * of the old golden id from taking it back.
 */
export const LAST_CUSTOMER_CHANGE = 'customer@occurredAt';

export type VersionVerdict = 'new' | 'duplicate' | 'stale';

export class AppliedVersions {
  /** Insertion order is application order: the first entry is the one applied longest ago. */
  private readonly entries: ReadonlyMap<string, number>;
  /** True when the stored text could not be read (hand-edited, truncated): treated as empty. */
  readonly unreadable: boolean;

  private constructor(entries: ReadonlyMap<string, number>, unreadable = false) {
    this.entries = entries;
    this.unreadable = unreadable;
  }

  static empty(): AppliedVersions {
    return new AppliedVersions(new Map());
  }

  /** Reads the stored text; null, empty or unreadable text gives an empty map. */
  static parse(text: unknown): AppliedVersions {
    if (text === null || text === undefined || text === '') return AppliedVersions.empty();
    if (typeof text !== 'string') return new AppliedVersions(new Map(), true);
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return new AppliedVersions(new Map(), true);
      }
      const entries = new Map<string, number>();
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof value === 'number' && Number.isFinite(value)) entries.set(key, value);
      }
      return new AppliedVersions(entries);
    } catch {
      return new AppliedVersions(new Map(), true);
    }
  }

  get(key: string): number | undefined {
    return this.entries.get(key);
  }

  /** `stale` when a higher version of the entity was applied, `duplicate` when this very one was. */
  verdict(key: string, version: number): VersionVerdict {
    const applied = this.entries.get(key);
    if (applied === undefined || version > applied) return 'new';
    return version === applied ? 'duplicate' : 'stale';
  }

  /**
   * `stale` when a customer record of `goldenId` would take over a record another golden id holds
   * (`holder`) with a change older than the holder's last one; `new` otherwise.
   */
  takeoverVerdict(goldenId: string, holder: string | null, occurredAt: number): 'new' | 'stale' {
    if (holder === null || holder === '' || holder === goldenId) return 'new';
    const last = this.entries.get(LAST_CUSTOMER_CHANGE);
    return last !== undefined && occurredAt < last ? 'stale' : 'new';
  }

  /** A copy that also remembers a customer change at `occurredAt` (never moving backwards). */
  withCustomerChange(occurredAt: number): AppliedVersions {
    const last = this.entries.get(LAST_CUSTOMER_CHANGE);
    return this.with(LAST_CUSTOMER_CHANGE, last === undefined ? occurredAt : Math.max(last, occurredAt));
  }

  /** A copy with `key` at `version`, as the most recently applied entry. */
  with(key: string, version: number, maxEntries = MAX_ENTRIES): AppliedVersions {
    const next = new Map(this.entries);
    next.delete(key);
    next.set(key, version);
    while (next.size > maxEntries) {
      const oldest = next.keys().next().value;
      if (oldest === undefined) break;
      next.delete(oldest);
    }
    return new AppliedVersions(next);
  }

  get size(): number {
    return this.entries.size;
  }

  toText(): string {
    return JSON.stringify(Object.fromEntries(this.entries));
  }
}
