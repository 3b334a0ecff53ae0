/**
 * Side-by-side rounds, the way every benchmark here compares contenders: each batch goes through
 * every contender in turn, in an order that rotates per batch, so that a slow moment of the shared
 * machine falls on all of them alike; the median of the rounds is reported.
 */

/** Seconds `work` took. */
export async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * One pass over `records` in batches of `batch`; every batch goes through every contender, in an
 * order that rotates per batch. Returns the seconds each contender spent.
 */
export async function pass<R>(
  records: readonly R[],
  batch: number,
  contenders: ReadonlyArray<(chunk: readonly R[]) => Promise<void>>,
): Promise<number[]> {
  const seconds = contenders.map(() => 0);
  for (let start = 0, turn = 0; start < records.length; start += batch, turn += 1) {
    const chunk = records.slice(start, start + batch);
    for (let n = 0; n < contenders.length; n += 1) {
      const index = (turn + n) % contenders.length;
      seconds[index]! += await timed(() => contenders[index]!(chunk));
    }
  }
  return seconds;
}

/** Items per second, whole. */
export function rate(items: number, seconds: number): number {
  return Math.round(items / seconds);
}

/** The median (the mean of the middle two for an even count), whole. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? Math.round(sorted[middle]!)
    : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}
