/**
 * Blocking: the few lookup keys of a record, so that records of one company meet under at least
 * one key despite typos, word order or missing fields, and a bounded, ranked candidate list.
 */
import { describe, expect, it } from 'vitest';
import {
  blockingKeys,
  capOf,
  DEFAULT_BLOCKING,
  goldenBlockingKeys,
  lookupKeys,
  selectCandidates,
} from '../../../../src/processors/match-merge/blocking.ts';
import { profileOf } from '../../../../src/processors/match-merge/normalize.ts';
import { type SourceRecordInput, parseSourceRecord } from '../../../../src/processors/match-merge/types.ts';

function keysOf(fields: Partial<SourceRecordInput>): string[] {
  return blockingKeys(
    profileOf(parseSourceRecord({ system: 'erp', id: 'C-1', name: 'x', updatedAt: 0, ...fields })),
  );
}

function shareAKey(a: string[], b: string[]): boolean {
  return a.some((key) => b.includes(key));
}

describe('blockingKeys', () => {
  it('derives tax, cross-reference, domain, phonetic name, first-word and postal keys', () => {
    expect(
      keysOf({
        name: 'Nordwind Logistik GmbH',
        taxId: 'DE123456789',
        website: 'www.nordwind.de',
        country: 'DE',
        address: { postalCode: '20457', country: 'DE' },
        externalRefs: [{ system: 'salesforce', id: '001A' }],
      }),
    ).toEqual([
      't:DE:DE123456789',
      'r:salesforce:001A',
      'd:nordwind.de',
      'q:LJSTK NRTNT',
      'f:nordwind',
      'p:DE:NRTNT',
      'a:DE:20457:dinorw',
    ]);
  });

  it('gives a record without tax id, domain or country only name keys', () => {
    expect(keysOf({ name: 'Nordwind' })).toEqual(['f:nordwind']);
  });

  it.each([
    ['a dropped letter in the first word', 'Nordwnd Logistik GmbH'],
    ['swapped letters in the first word', 'oNrdwind Logistik'],
    ['a typo in the second word', 'Nordwind Lgoistik'],
    ['the words in another order', 'Logistik Nordwind GmbH'],
    ['the brand alone', 'NORDWIND'],
  ])('lets %s meet the clean name', (_case, variant) => {
    const place = { country: 'DE', address: { postalCode: '20457', country: 'DE' } };
    expect(
      shareAKey(keysOf({ name: 'Nordwind Logistik GmbH', ...place }), keysOf({ name: variant, ...place })),
    ).toBe(true);
  });

  it('lets a typo in the first word meet the clean name without a country', () => {
    expect(shareAKey(keysOf({ name: 'Nordwind Logistik GmbH' }), keysOf({ name: 'Nordwnid Logistik' }))).toBe(
      true,
    );
  });

  it('keeps different companies apart', () => {
    expect(
      shareAKey(
        keysOf({ name: 'Nordwind Logistik', country: 'DE' }),
        keysOf({ name: 'Bluewater Analytics', country: 'DE' }),
      ),
    ).toBe(false);
  });

  it('looks a record up under its own source id too, where cross-references of others point', () => {
    const profile = profileOf(
      parseSourceRecord({ system: 'salesforce', id: '001A', name: 'Nordwind', updatedAt: 0 }),
    );
    expect(lookupKeys(profile)).toContain('r:salesforce:001A');
    expect(blockingKeys(profile)).not.toContain('r:salesforce:001A');
  });

  it('indexes a golden record under the union of its members keys, sorted', () => {
    const a = profileOf(
      parseSourceRecord({ system: 'erp', id: '1', name: 'Nordwind', taxId: 'DE123456789', updatedAt: 0 }),
    );
    const b = profileOf(
      parseSourceRecord({
        system: 'stripe',
        id: '2',
        name: 'Nordwind',
        email: 'ap@nordwind.de',
        updatedAt: 0,
      }),
    );
    expect(goldenBlockingKeys([a, b])).toEqual(['d:nordwind.de', 'f:nordwind', 't:DE:DE123456789']);
  });
});

describe('selectCandidates', () => {
  it('ranks golden records found under strong and several keys first and cuts the list', () => {
    const reads = [
      { key: 'f:nordwind', size: 3, members: ['g-name-only', 'g-both', 'g-other'] },
      { key: 'd:nordwind.de', size: 1, members: ['g-both'] },
      { key: 't:DE:DE123456789', size: 1, members: ['g-tax'] },
    ];
    // A tax id outweighs a domain plus a first word; both outweigh a first word alone.
    expect(selectCandidates(reads, { maxCandidates: 3 })).toEqual(['g-tax', 'g-both', 'g-name-only']);
    expect(selectCandidates(reads, { maxCandidates: 2 })).toEqual(['g-tax', 'g-both']);
  });

  it('skips blocks that were over their cap and leaves out excluded ids', () => {
    const reads = [
      { key: 'f:global', size: 5000, members: null },
      { key: 'q:KLPL LJSTK', size: 2, members: ['g1', 'g-self'] },
    ];
    expect(selectCandidates(reads, DEFAULT_BLOCKING, new Set(['g-self']))).toEqual(['g1']);
  });

  it('gives broad keys a smaller cap', () => {
    expect(capOf('f:nordwind', DEFAULT_BLOCKING)).toBe(DEFAULT_BLOCKING.maxBroadBlockSize);
    expect(capOf('d:nordwind.de', DEFAULT_BLOCKING)).toBe(DEFAULT_BLOCKING.maxBlockSize);
  });
});
