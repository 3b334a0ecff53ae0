/**
 * One read-check-write at a time per target record, within this process. The runner applies
 * several partitions at once, and records of one golden customer sit in the same partition number
 * of *different* topics (its contract and its invoices both land on one Opportunity): without this,
 * two of them read the same version guard and the second write drops the first one's entry.
 * Writers in other processes are kept apart by the target's conditional write where it has one
 * (Salesforce If-Unmodified-Since, to the second) and by the group assigning each partition to one
 * member.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key` is done; the next waits for this one. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      // The last holder leaves no entry behind: the map only holds keys in use.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
