/**
 * Consumer lag of one group member: `syncline_consumer_lag{group,topic,partition}`, the records
 * between the member's position (what it processed, or what the group committed, whichever is
 * further) and the partition's high watermark, for every partition assigned to the member.
 *
 * It is kept current two ways: after every batch, from the high watermark the fetch returned and
 * the records the handler marked done (no extra request); and on a timer, from the broker, for the
 * assigned partitions. The timer covers what batches cannot see: kafkajs does not hand over empty
 * fetches, so an idle partition never gets a batch, and a partition whose handler is stuck (a
 * paused pipeline, Redis away) gets no new batch while records keep arriving. Series of partitions
 * that left the member (rebalance, close) are removed, so another member's value is the only one.
 */
import type { Admin, Kafka } from 'kafkajs';
import { Gauge } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Registry } from '../metrics.ts';

export const CONSUMER_LAG_METRIC = 'syncline_consumer_lag';

type LagLabel = 'group' | 'topic' | 'partition';

/**
 * The gauge, registered once per registry. Built on prom-client directly because the shared
 * helper's label list (src/runtime/metrics.ts METRIC_LABELS) has no `partition` yet: a partition
 * number is a small, bounded label (a few per topic), never an id.
 */
export function consumerLagGauge(registry: Registry): Gauge<LagLabel> {
  const existing = registry.getSingleMetric(CONSUMER_LAG_METRIC);
  if (existing instanceof Gauge) return existing;
  return new Gauge<LagLabel>({
    name: CONSUMER_LAG_METRIC,
    help: 'Records between the consumer group member position (processed or committed) and the high watermark, per assigned partition.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
  });
}

export interface ConsumerLagOptions {
  kafka: Kafka;
  groupId: string;
  registry: Registry;
  logger: Logger;
  /** Where a partition without a committed offset starts: its low watermark (true) or its end. */
  fromBeginning: boolean;
  /** How often assigned partitions are refreshed from the broker (ms). */
  refreshMs: number;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ConsumerLag {
  readonly #kafka: Kafka;
  readonly #groupId: string;
  readonly #gauge: Gauge<LagLabel>;
  readonly #logger: Logger;
  readonly #fromBeginning: boolean;
  readonly #refreshMs: number;
  /** Next offset to process, per partition, as this member knows it. */
  readonly #positions = new Map<string, bigint>();
  /** Assigned partitions per topic (from the last group join). */
  #assigned = new Map<string, number[]>();
  readonly #reported = new Map<string, { topic: string; partition: number }>();
  #timer: NodeJS.Timeout | undefined;
  #admin: Admin | undefined;
  #refreshing: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ConsumerLagOptions) {
    this.#kafka = options.kafka;
    this.#groupId = options.groupId;
    this.#gauge = consumerLagGauge(options.registry);
    this.#logger = options.logger;
    this.#fromBeginning = options.fromBeginning;
    this.#refreshMs = options.refreshMs;
  }

  /** The member's assignment after a (re)join: forgets partitions that left, refreshes at once. */
  assigned(assignment: Readonly<Record<string, readonly number[]>>): void {
    this.#assigned = new Map(
      Object.entries(assignment).map(([topic, partitions]) => [topic, [...partitions]]),
    );
    for (const [key, { topic, partition }] of this.#reported) {
      if (!this.#assigned.get(topic)?.includes(partition)) {
        this.#gauge.remove({ group: this.#groupId, topic, partition: String(partition) });
        this.#reported.delete(key);
        this.#positions.delete(key);
      }
    }
    void this.refresh();
  }

  /** A record was processed: the position moves past it. */
  processed(topic: string, partition: number, offset: string): void {
    const key = keyOf(topic, partition);
    const next = BigInt(offset) + 1n;
    if (next > (this.#positions.get(key) ?? -1n)) this.#positions.set(key, next);
  }

  /** The position was moved (seek): forget what this member knew, the next batch tells again. */
  moved(topic: string, partition: number): void {
    this.#positions.delete(keyOf(topic, partition));
  }

  /**
   * A batch was handled (or failed): `firstOffset` is where it started (the position is at least
   * there), `highWatermark` what the fetch said the partition's end was.
   */
  batchHandled(
    topic: string,
    partition: number,
    firstOffset: string | undefined,
    highWatermark: string,
  ): void {
    const key = keyOf(topic, partition);
    let position = this.#positions.get(key);
    if (position === undefined && firstOffset !== undefined) {
      position = BigInt(firstOffset);
      this.#positions.set(key, position);
    }
    if (position !== undefined) this.#set(topic, partition, BigInt(highWatermark) - position);
  }

  /** Starts the refresh timer. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  /** Reads high watermarks and committed offsets of the assigned partitions; never throws. */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#refreshing ??= this.#refresh()
      .catch((error: unknown) => {
        this.#logger.debug(
          { err: error instanceof Error ? error.message : String(error) },
          'consumer lag refresh failed; trying again later',
        );
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Stops the timer and removes this member's series. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#refreshing;
    for (const { topic, partition } of this.#reported.values())
      this.#gauge.remove({ group: this.#groupId, topic, partition: String(partition) });
    this.#reported.clear();
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
  }

  async #refresh(): Promise<void> {
    const topics = [...this.#assigned.keys()].filter((topic) => (this.#assigned.get(topic) ?? []).length > 0);
    if (topics.length === 0) return;
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      await admin.connect();
      this.#admin = admin;
    }
    const admin = this.#admin;
    const [committed, ends] = await Promise.all([
      admin.fetchOffsets({ groupId: this.#groupId, topics }),
      Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
    ]);
    if (this.#stopped) return;
    const committedOf = new Map<string, bigint>();
    for (const entry of committed)
      for (const partition of entry.partitions) {
        const offset = BigInt(partition.offset);
        if (offset >= 0n) committedOf.set(keyOf(entry.topic, partition.partition), offset);
      }
    for (const { topic, offsets } of ends) {
      const assigned = this.#assigned.get(topic) ?? [];
      for (const end of offsets) {
        if (!assigned.includes(end.partition)) continue;
        const key = keyOf(topic, end.partition);
        const known = [committedOf.get(key), this.#positions.get(key)].filter(
          (value): value is bigint => value !== undefined,
        );
        const start = this.#fromBeginning ? BigInt(end.low) : BigInt(end.high);
        const position = known.length > 0 ? known.reduce((a, b) => (a > b ? a : b)) : start;
        this.#set(topic, end.partition, BigInt(end.high) - position);
      }
    }
  }

  #set(topic: string, partition: number, lag: bigint): void {
    if (this.#stopped || !(this.#assigned.get(topic)?.includes(partition) ?? false)) return;
    this.#reported.set(keyOf(topic, partition), { topic, partition });
    this.#gauge.set(
      { group: this.#groupId, topic, partition: String(partition) },
      Number(lag > 0n ? lag : 0n),
    );
  }
}
