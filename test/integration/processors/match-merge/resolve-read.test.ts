/**
 * A resolve takes its locks and makes its first reads in one round trip (store.readForResolve):
 * the locks are taken all or nothing, what it reads is what separate reads return, and resolves
 * started together in the order of their lock names end as if they had run one after the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lookupKeys } from '../../../../src/processors/match-merge/blocking.ts';
import type { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { goldenIdFor } from '../../../../src/processors/match-merge/events.ts';
import { profileOf } from '../../../../src/processors/match-merge/normalize.ts';
import { parseSourceRecord, type SourceRecordInput } from '../../../../src/processors/match-merge/types.ts';
import { matchHarness, type MatchHarness } from '../../../support/match-merge.ts';

const updatedAt = Date.UTC(2025, 3, 1);
const account: SourceRecordInput = {
  system: 'salesforce',
  id: '001-A',
  name: 'Nordwind Logistik GmbH',
  website: 'https://www.nordwind-logistik.de',
  country: 'DE',
  address: { postalCode: '20095', city: 'Hamburg', country: 'DE' },
  updatedAt,
};
const customer: SourceRecordInput = {
  system: 'stripe',
  id: 'cus_A',
  name: 'NORDWIND LOGISTIK',
  email: 'billing@nordwind-logistik.de',
  updatedAt,
};

function readsOf(input: SourceRecordInput) {
  const profile = profileOf(parseSourceRecord(input));
  return {
    profile,
    refs: [profile.ref, ...profile.refs],
    blocks: lookupKeys(profile).map((key) => ({ key, cap: 200 })),
    seed: goldenIdFor(profile.ref),
  };
}

describe('the first read of a resolve, with its locks', () => {
  let harness: MatchHarness;
  let engine: MatchEngine;

  beforeEach(() => {
    harness = matchHarness('resolve-read');
    engine = harness.engine();
  });
  afterEach(async () => {
    await harness.close();
  });

  it('reads what separate reads return: xrefs, blocks, candidate views and documents, own golden record', async () => {
    const first = await engine.resolve(account);
    const { refs, blocks, seed } = readsOf(customer);

    const read = (await harness.store.readForResolve(refs, blocks, seed, { views: 51, docs: 4 }))!;
    const separate = await harness.store.readIndex(refs, blocks);
    expect(read.xrefs).toEqual(separate.xrefs);
    expect(read.blocks.map((block) => [block.key, block.size, block.members?.sort() ?? null])).toEqual(
      separate.blocks.map((block) => [block.key, block.size, block.members?.sort() ?? null]),
    );
    expect(read.views?.get(first.goldenId)).toEqual(
      (await harness.store.matchViews([first.goldenId])).get(first.goldenId),
    );
    expect(read.docs.get(first.goldenId)).toEqual(await harness.store.golden(first.goldenId));
    expect(read.readIds.has(seed)).toBe(true); // looked up, and absent
    expect(read.views?.has(seed)).toBe(false);
    expect(read.own).toBeNull(); // the stripe record is not linked yet

    // The account's own read carries its golden record whole.
    const own = readsOf(account);
    const again = (await harness.store.readForResolve(own.refs, own.blocks, own.seed, {
      views: 51,
      docs: 4,
    }))!;
    expect(again.xrefs[0]).toBe(first.goldenId);
    expect(again.own?.read).toEqual(await harness.store.golden(first.goldenId));
    expect(again.own?.keptApart).toEqual([]);

    // Over the view limit, the views are left to the caller.
    const capped = (await harness.store.readForResolve(own.refs, own.blocks, own.seed, {
      views: 0,
      docs: 0,
    }))!;
    expect(capped.views).toBeNull();
  });

  it('takes every lock or none, and reads nothing while another holds one', async () => {
    const { profile, refs, blocks, seed } = readsOf(customer);
    const names = lookupKeys(profile);
    const held = names[names.length - 1]!;
    expect(await harness.store.acquireLocks([held], 'other', 5000)).toBe(true);
    const readWithLocks = () =>
      harness.store.readForResolve(
        refs,
        blocks,
        seed,
        { views: 51, docs: 4 },
        { names, token: 'mine', ttlMs: 5000 },
      );

    const refused = await readWithLocks();
    expect(refused).toBeNull();
    for (const name of names.filter((name) => name !== held)) {
      expect(await harness.store.redis.exists(harness.store.lockKey(name))).toBe(0);
    }

    await harness.store.releaseLocks([held], 'other');
    const taken = await readWithLocks();
    expect(taken).not.toBeNull();
    for (const name of names) {
      expect(await harness.store.redis.get(harness.store.lockKey(name))).toBe('mine');
    }
    await harness.store.releaseLocks(names, 'mine');
  });

  it('resolves started together, chained by shared lock names, give one golden record per company', async () => {
    // Three versions of one account, its billing customer, and unrelated companies, all at once:
    // records sharing a lock name wait for the one before (as the processor chains them).
    const inputs: SourceRecordInput[] = [];
    for (let n = 0; n < 12; n += 1) {
      inputs.push({
        system: 'zendesk',
        id: `org-${n}`,
        name: `Firma${String.fromCharCode(97 + n)}x Handel ${n}`,
        country: 'AT',
        address: { postalCode: String(1010 + n), city: 'Wien', country: 'AT' },
        updatedAt,
      });
    }
    inputs.splice(3, 0, { ...account, name: 'Nordwind Logistik', updatedAt: updatedAt + 1 });
    inputs.splice(6, 0, customer);
    inputs.splice(9, 0, { ...account, name: 'Nordwind Logistik GmbH & Co. KG', updatedAt: updatedAt + 2 });

    const tails = new Map<string, Promise<unknown>>();
    const results = await Promise.all(
      inputs.map((input) => {
        const names = engine.lockNamesOf(input);
        const before = names.flatMap((name) => (tails.has(name) ? [tails.get(name)!] : []));
        const resolved = Promise.all(before).then(() => engine.resolve(input));
        for (const name of names)
          tails.set(
            name,
            resolved.catch(() => undefined),
          );
        return resolved;
      }),
    );

    const nordwind = await engine.goldenOf({ system: 'salesforce', id: '001-A' });
    expect(await engine.goldenOf({ system: 'stripe', id: 'cus_A' })).toMatchObject({
      goldenId: nordwind!.goldenId,
    });
    // The account's versions applied in order: the last one's name is its snapshot.
    const member = nordwind!.members.find((candidate) => candidate.id === '001-A');
    expect(member?.name).toBe('Nordwind Logistik GmbH & Co. KG');
    expect(member?.version).toBe(updatedAt + 2);
    const goldenIds = new Set(results.map((result) => result.goldenId));
    expect(goldenIds.size).toBe(13); // twelve unrelated companies and Nordwind
  });
});
