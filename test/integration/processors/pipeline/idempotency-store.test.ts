/**
 * The chunk-wide idempotency and source-order commands on the real Redis (one command for many
 * keys): a claim never takes a key another live claim holds or one marked done, takes back a claim
 * of ours left behind (reclaim), marking done and releasing touch only our own claims, and source
 * versions only grow.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../../../src/processors/pipeline/idempotency.ts';
import { SourceOrder } from '../../../../src/processors/pipeline/ordering.ts';
import { loadConfig } from '../../../../src/runtime/config.ts';

const redis = new Redis(loadConfig().redisUrl);
const prefix = `test:idem-store:${randomBytes(4).toString('hex')}:`;
const ours = new IdempotencyStore({ redis, prefix, leaseMs: 10_000 });
const theirs = new IdempotencyStore({ redis, prefix, leaseMs: 10_000 });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('IdempotencyStore, many keys at once', () => {
  it('claims free keys, reports held and done ones, and takes back its own left-behind claim', async () => {
    const held = await theirs.claim('held');
    const done = await theirs.claim('done');
    if (held.status !== 'claimed' || done.status !== 'claimed') throw new Error('setup');
    await theirs.markDone(done.claim, ['e-1', 'e-2']);
    const leftBehind = await ours.claim('left-behind');
    if (leftBehind.status !== 'claimed') throw new Error('setup');

    const results = await ours.claimMany([
      { idempotencyKey: 'free' },
      { idempotencyKey: 'held' },
      { idempotencyKey: 'done' },
      { idempotencyKey: 'left-behind', reclaim: leftBehind.claim.token },
      { idempotencyKey: 'held', reclaim: 'claim:not-the-holders-token' },
    ]);
    expect(results.map((result) => result.status)).toEqual(['claimed', 'held', 'done', 'claimed', 'held']);
    expect(results[1]).toMatchObject({ status: 'held' });
    expect((results[1] as { leaseLeftMs: number }).leaseLeftMs).toBeGreaterThan(0);
    expect(results[2]).toEqual({ status: 'done', eventIds: ['e-1', 'e-2'] });
  });

  it('marks done and releases only its own claims', async () => {
    const [mine, other] = await Promise.all([
      ours.claimMany([{ idempotencyKey: 'a' }, { idempotencyKey: 'b' }]),
      theirs.claim('c'),
    ]);
    if (mine[0]?.status !== 'claimed' || mine[1]?.status !== 'claimed' || other.status !== 'claimed')
      throw new Error('setup');
    const forged = { key: other.claim.key, token: 'claim:forged' };
    await ours.markDoneMany([
      { claim: mine[0].claim, eventIds: ['x'] },
      { claim: forged, eventIds: ['y'] },
    ]);
    await ours.releaseMany([mine[1].claim, forged]);

    const [a, b, c] = await ours.claimMany([
      { idempotencyKey: 'a' },
      { idempotencyKey: 'b' },
      { idempotencyKey: 'c' },
    ]);
    expect(a).toEqual({ status: 'done', eventIds: ['x'] }); // marked
    expect(b?.status).toBe('claimed'); // released, so free again
    expect(c?.status).toBe('held'); // the other's claim untouched by a forged token
  });
});

describe('SourceOrder, many entities at once', () => {
  it('reads versions in order and only ever raises them', async () => {
    const order = new SourceOrder({ redis, prefix });
    const x = { system: 'stripe', entity: 'subscription', id: 'sub_x' };
    const y = { system: 'stripe', entity: 'subscription', id: 'sub_y' };
    expect(await order.highestAppliedMany([x, y])).toEqual([null, null]);
    await order.appliedMany([
      { entity: x, version: 5 },
      { entity: y, version: 2 },
    ]);
    await order.appliedMany([
      { entity: x, version: 3 },
      { entity: y, version: 7 },
    ]);
    expect(await order.highestAppliedMany([x, y])).toEqual([5, 7]);
  });
});
