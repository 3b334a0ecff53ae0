/**
 * The conformance suite every sink passes: what the runner relies on, checked against the real
 * target. Call it inside a test file with a description of the target:
 *
 *   sinkConformance({
 *     name: 'ERP REST',
 *     createSink: () => new ErpRestSink({ ... }),     // a fresh instance each time: no shared memory
 *     record: (key, entity, version) => ...,            // entity 0 first: e.g. the customer
 *     state: { version: (record) => ..., effects: (record) => ... },
 *     refused: (key) => ...,                            // optional: a record the target refuses
 *     outage: { down: ..., up: ... },                   // optional: make the target unreachable
 *   });
 *
 * Promised, and proven here:
 * - batching: a call with many records of many keys answers one outcome per record, in order;
 * - per-key order: versions of one entity in one call are applied in order, the last one wins;
 * - redelivery: the same records again (a new sink instance, as after a crash) change nothing and
 *   answer `duplicate` (or `stale`), never `applied`;
 * - idempotency: one record applied twice has one effect at the target;
 * - stale version: an older version after a newer one is `stale` and leaves the newer one;
 * - failure isolation: a record the target refuses is `failed` (permanent), records before it are
 *   applied, and nothing after it is reported applied;
 * - probe: resolves while the target answers, rejects (retriable) while it is down.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sink, SinkOutcome, SinkRecord } from '../../src/consumers/sink.ts';
import { SynclineError } from '../../src/runtime/errors.ts';

/** How to look at what the target holds for the entity of a record. */
export interface TargetState {
  /** The source version the target holds for the record's entity; undefined when it has none. */
  version(record: SinkRecord): Promise<number | undefined>;
  /** How many changes the target took for the record's entity (rows staged, create + updates). */
  effects(record: SinkRecord): Promise<number>;
}

export interface SinkConformanceTarget {
  name: string;
  /** A new sink instance on the shared target. */
  createSink(): Sink | Promise<Sink>;
  /**
   * Version `version` of entity number `entity` of customer `key` (a golden id). Entity 0 is applied
   * first for every key (e.g. the customer itself), so later entities may depend on it. The same
   * arguments must give the same record (same idempotency key): that is a redelivery.
   */
  record(key: string, entity: number, version: number): SinkRecord;
  state: TargetState;
  /** A record of `key` the target refuses for good (e.g. invalid data); omit to skip that case. */
  refused?(key: string): SinkRecord;
  /** Makes the target unreachable and reachable again; omit to skip the probe-down case. */
  outage?: { down(): Promise<void>; up(): Promise<void> };
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

function statuses(outcomes: SinkOutcome[]): string[] {
  return outcomes.map((outcome) => outcome.status);
}

/** Registers the suite as a `describe` block. */
export function sinkConformance(target: SinkConformanceTarget): void {
  describe(`sink conformance: ${target.name}`, () => {
    const sinks: Sink[] = [];
    const newSink = async (): Promise<Sink> => {
      const sink = await target.createSink();
      sinks.push(sink);
      return sink;
    };

    beforeAll(async () => {
      await target.setup?.();
    });

    afterAll(async () => {
      for (const sink of sinks) await sink.close().catch(() => undefined);
      await target.teardown?.();
    });

    it('batching: one outcome per record, in order, for a call with many keys', async () => {
      const keys = Array.from({ length: 8 }, () => randomUUID());
      const records = keys.flatMap((key) => [
        target.record(key, 0, 1),
        target.record(key, 1, 1),
        target.record(key, 2, 1),
      ]);
      const sink = await newSink();

      const outcomes = await sink.apply(records);

      expect(statuses(outcomes)).toEqual(records.map(() => 'applied'));
      for (const record of records) {
        expect(await target.state.version(record)).toBe(1);
        expect(await target.state.effects(record)).toBe(1);
      }
    });

    it('per-key order: versions of one entity in one call are applied in order and the last one wins', async () => {
      const key = randomUUID();
      const first = [1, 2, 3, 4, 5].map((version) => target.record(key, 0, version));
      const second = [1, 2, 3].map((version) => target.record(key, 1, version));
      const sink = await newSink();

      const outcomes = await sink.apply([...first, ...second]);

      expect(statuses(outcomes)).toEqual([...first, ...second].map(() => 'applied'));
      expect(await target.state.version(first[4]!)).toBe(5);
      expect(await target.state.effects(first[4]!)).toBe(5);
      expect(await target.state.version(second[2]!)).toBe(3);
      expect(await target.state.effects(second[2]!)).toBe(3);
    });

    it('redelivery: the same records again, to a new instance, take no effect', async () => {
      const key = randomUUID();
      const records = [target.record(key, 0, 1), target.record(key, 1, 1), target.record(key, 0, 2)];
      expect(statuses(await (await newSink()).apply(records))).toEqual(['applied', 'applied', 'applied']);

      const again = await (await newSink()).apply(records);

      expect(again).toHaveLength(records.length);
      for (const outcome of again) expect(['duplicate', 'stale']).toContain(outcome.status);
      expect(await target.state.effects(records[0]!)).toBe(2);
      expect(await target.state.effects(records[1]!)).toBe(1);
      expect(await target.state.version(records[0]!)).toBe(2);
    });

    it('idempotency: one record applied twice has one effect', async () => {
      const key = randomUUID();
      const record = target.record(key, 0, 1);

      const first = await (await newSink()).apply([record]);
      const second = await (await newSink()).apply([record]);

      expect(statuses(first)).toEqual(['applied']);
      expect(statuses(second)).toEqual(['duplicate']);
      expect(await target.state.effects(record)).toBe(1);
    });

    it('stale version: an older version after a newer one is stale and leaves the newer one', async () => {
      const key = randomUUID();
      const sink = await newSink();
      expect(statuses(await sink.apply([target.record(key, 0, 3)]))).toEqual(['applied']);

      const outcomes = await sink.apply([target.record(key, 0, 2)]);

      expect(statuses(outcomes)).toEqual(['stale']);
      expect(await target.state.version(target.record(key, 0, 3))).toBe(3);
      expect(await target.state.effects(target.record(key, 0, 3))).toBe(1);
    });

    it.runIf(target.refused !== undefined)(
      'failure isolation: a refused record fails permanently, records before it are applied, none after it reported applied',
      async () => {
        const good = randomUUID();
        const bad = randomUUID();
        const later = randomUUID();
        const records = [target.record(good, 0, 1), target.refused!(bad), target.record(later, 0, 1)];

        const outcomes = await (await newSink()).apply(records);

        expect(outcomes[0]?.status).toBe('applied');
        const failed = outcomes[1];
        expect(failed?.status).toBe('failed');
        if (failed?.status === 'failed') {
          expect(failed.error).toBeInstanceOf(SynclineError);
          expect(failed.error.retriable).toBe(false);
        }
        expect(outcomes.length).toBeLessThanOrEqual(3);
        expect(await target.state.version(records[0]!)).toBe(1);
        // The runner hands the unanswered record over again; it applies then.
        const rest = await (await newSink()).apply([records[2]!]);
        expect(['applied', 'duplicate']).toContain(rest[0]?.status);
      },
    );

    it('probe: resolves while the target answers', async () => {
      await expect((await newSink()).probe()).resolves.toBeUndefined();
    });

    it.runIf(target.outage !== undefined)(
      'probe: rejects with a retriable error while the target is down, resolves when it is back',
      async () => {
        const sink = await newSink();
        await target.outage!.down();
        try {
          const error = await sink.probe().then(
            () => undefined,
            (failure: unknown) => failure,
          );
          expect(error).toBeInstanceOf(SynclineError);
          expect((error as SynclineError).retriable).toBe(true);
        } finally {
          await target.outage!.up();
        }
        await expect(sink.probe()).resolves.toBeUndefined();
      },
    );
  });
}
