/**
 * The lifecycle around a golden record, against the real Redis: a redelivered record changes
 * nothing and re-emits the same events; a newer version updates survivorship, an older one is
 * stale; unmerge restores both golden records with their events and keeps them apart; a steward's
 * review decision merges or keeps apart, and different tax ids are refused even to a steward.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MatchEngine } from '../../../../src/processors/match-merge/engine.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';
import {
  matchHarness,
  nordwindBilling,
  nordwindCrm,
  nordwindErp,
  type MatchHarness,
} from '../../../support/match-merge.ts';

const NOW = Date.UTC(2025, 5, 1);

const crm = { ...nordwindCrm, industry: 'Logistics' };
const billing = { ...nordwindBilling, billingEmail: 'billing@nordwind.de' };
const erp = nordwindErp;

describe('match-merge engine lifecycle', () => {
  let harness: MatchHarness;
  let engine: MatchEngine;
  beforeEach(() => {
    harness = matchHarness('steward');
    engine = harness.engine();
  });
  afterEach(async () => {
    await harness.close();
  });

  it('founds a golden record, merges the other systems into it, and keys every event as the topics say', async () => {
    const first = await engine.resolve(crm, { now: NOW });
    expect(first.outcome).toBe('new');
    expect(first.events.map((event) => [event.topic, event.key])).toEqual([
      ['mdm.customer.golden', first.goldenId],
      ['mdm.customer.xref', 'salesforce:001NW'],
    ]);
    const second = await engine.resolve(billing, { now: NOW });
    const third = await engine.resolve(erp, { now: NOW });
    expect([second.outcome, third.outcome]).toEqual(['auto-merge', 'auto-merge']);
    expect(new Set([first.goldenId, second.goldenId, third.goldenId]).size).toBe(1);
    expect(third.golden.version).toBe(3);
    expect(third.golden.sources.map((source) => `${source.system}:${source.id}`)).toEqual([
      'erp:C-1001',
      'salesforce:001NW',
      'stripe:cus_NW',
    ]);
    expect(third.golden.attributes.legalName?.value).toBe('Nordwind Logistik G.m.b.H.');
    expect(third.golden.attributes.email?.provenance.source.system).toBe('stripe');
    const xref = third.events.find((event) => event.topic === 'mdm.customer.xref');
    expect(xref?.value).toMatchObject({
      goldenId: first.goldenId,
      decision: 'AUTO_MERGE',
      decidedBy: 'match-merge',
    });
  });

  it('re-emits the same events for a redelivered record, ignores an older version, applies a newer one', async () => {
    await engine.resolve(crm, { now: NOW });
    const merged = await engine.resolve(billing, { now: NOW });
    const again = await engine.resolve(billing, { now: NOW + 1000 });
    expect(again.outcome).toBe('update');
    expect(again.change).toBe('unchanged');
    expect(again.golden.version).toBe(merged.golden.version);
    const ids = (events: typeof again.events) => events.map((event) => event.value.envelope.eventId);
    expect(ids(again.events)).toEqual(ids(merged.events));

    const stale = await engine.resolve(
      { ...billing, name: 'Old Name', updatedAt: '2024-01-01T00:00:00Z' },
      { now: NOW },
    );
    expect(stale.change).toBe('stale');
    expect(stale.events).toEqual([]);

    const newer = await engine.resolve(
      { ...billing, billingEmail: 'ap@nordwind.de', updatedAt: '2025-04-01T00:00:00Z' },
      { now: NOW },
    );
    expect(newer.change).toBe('updated');
    expect(newer.golden.version).toBe(merged.golden.version + 1);
    expect(newer.golden.attributes.email?.value).toBe('ap@nordwind.de');
  });

  it('unmerges a source record: both golden records restored, events for each, not merged again', async () => {
    await engine.resolve(crm, { now: NOW });
    await engine.resolve(billing, { now: NOW });
    const merged = await engine.resolve(erp, { now: NOW });
    const goldenId = merged.goldenId;

    const split = await engine.unmerge(
      goldenId,
      { system: 'stripe', id: 'cus_NW' },
      { steward: 'alice', now: NOW },
    );
    expect(split.golden.goldenId).not.toBe(goldenId);
    expect(split.golden.sources.map((s) => s.id)).toEqual(['cus_NW']);
    expect(split.other?.goldenId).toBe(goldenId);
    expect(split.other?.sources.map((s) => s.id)).toEqual(['C-1001', '001NW']);
    expect(split.events.map((event) => [event.topic, event.key])).toEqual([
      ['mdm.customer.golden', goldenId],
      ['mdm.customer.golden', split.golden.goldenId],
      ['mdm.customer.xref', 'stripe:cus_NW'],
    ]);
    expect(split.events[2]!.value).toMatchObject({
      decision: 'UNMERGED',
      previousGoldenId: goldenId,
      decidedBy: 'alice',
    });
    expect((await engine.goldenOf({ system: 'stripe', id: 'cus_NW' }))?.goldenId).toBe(split.golden.goldenId);
    expect((await engine.goldenOf({ system: 'erp', id: 'C-1001' }))?.goldenId).toBe(goldenId);
    // The rest no longer shows the split-off record's billing email.
    expect(split.other?.attributes.email).toBeNull();

    // A newer version of the split-off record stays on its own golden record: kept apart.
    const updated = await engine.resolve(
      { ...billing, currency: 'usd', updatedAt: '2025-05-01T00:00:00Z' },
      { now: NOW },
    );
    expect(updated.goldenId).toBe(split.golden.goldenId);
    expect(updated.change).toBe('updated');
  });

  it('refuses to unmerge the only member or a record that is not a member', async () => {
    const only = await engine.resolve(crm, { now: NOW });
    await expect(
      engine.unmerge(only.goldenId, { system: 'salesforce', id: '001NW' }, { steward: 'alice' }),
    ).rejects.toThrow(/only member/);
    await expect(
      engine.unmerge(only.goldenId, { system: 'erp', id: 'nope' }, { steward: 'alice' }),
    ).rejects.toThrow(SynclineError);
  });

  it('lets a steward approve a review: the record and its golden record merge into the chosen one', async () => {
    const established = await engine.resolve(crm, { now: NOW });
    // A support organisation with a typo and nothing else: close, but not enough to merge alone.
    const doubtful = await engine.resolve(
      { system: 'zendesk', id: '9001', name: 'Nordwnid Logistik', updatedAt: '2025-02-05T00:00:00Z' },
      { now: NOW },
    );
    expect(doubtful.outcome).toBe('review');
    const review = doubtful.events.find((event) => event.topic === 'mdm.customer.review');
    expect(review?.key).toBe('zendesk:9001');
    expect(review?.value).toMatchObject({ status: 'OPEN', candidates: [{ goldenId: established.goldenId }] });
    expect((await engine.openReviews()).map((task) => task.source.id)).toEqual(['9001']);

    const decided = await engine.applyReviewDecision(
      { source: { system: 'zendesk', id: '9001' }, decision: 'merge' },
      { steward: 'bob', now: NOW },
    );
    expect(decided.golden.goldenId).toBe(established.goldenId);
    expect(decided.golden.sources.map((s) => s.id).sort()).toEqual(['001NW', '9001']);
    expect(decided.other).toMatchObject({
      goldenId: doubtful.goldenId,
      status: 'MERGED',
      mergedInto: established.goldenId,
    });
    const xref = decided.events.find((event) => event.topic === 'mdm.customer.xref');
    expect(xref?.value).toMatchObject({
      decision: 'STEWARD_APPROVED',
      previousGoldenId: doubtful.goldenId,
      decidedBy: 'bob',
    });
    const closed = decided.events.find((event) => event.topic === 'mdm.customer.review');
    expect(closed?.value).toMatchObject({
      status: 'APPROVED',
      chosenGoldenId: established.goldenId,
      decidedBy: 'bob',
    });
    expect(await engine.openReviews()).toEqual([]);
    await expect(
      engine.applyReviewDecision(
        { source: { system: 'zendesk', id: '9001' }, decision: 'merge' },
        { steward: 'bob' },
      ),
    ).rejects.toThrow(/no open review/);
  });

  it('lets a steward keep a record apart: it stays on its own golden record', async () => {
    const established = await engine.resolve(crm, { now: NOW });
    const doubtful = await engine.resolve(
      { system: 'zendesk', id: '9002', name: 'Nordwnid Logistik', updatedAt: '2025-02-05T00:00:00Z' },
      { now: NOW },
    );
    const decided = await engine.applyReviewDecision(
      { source: { system: 'zendesk', id: '9002' }, decision: 'keep-apart' },
      { steward: 'carol', now: NOW },
    );
    expect(decided.golden.goldenId).toBe(doubtful.goldenId);
    expect(decided.events.map((event) => event.topic)).toEqual([
      'mdm.customer.golden',
      'mdm.customer.xref',
      'mdm.customer.review',
    ]);
    expect(decided.events[2]!.value).toMatchObject({ status: 'REJECTED', decidedBy: 'carol' });
    // Later evidence that would merge it automatically does not override the steward.
    const withDomain = await engine.resolve(
      {
        system: 'zendesk',
        id: '9002',
        name: 'Nordwnid Logistik',
        domains: ['nordwind.de'],
        updatedAt: '2025-03-01T00:00:00Z',
      },
      { now: NOW },
    );
    expect(withDomain.goldenId).toBe(doubtful.goldenId);
    expect(withDomain.goldenId).not.toBe(established.goldenId);
  });

  it('refuses a steward merge of golden records with different valid tax ids', async () => {
    const place = { country: 'DE', address: { postalCode: '50667', country: 'DE' } };
    const candidate = await engine.resolve(
      { ...erp, ...place, id: 'C-1', taxId: 'DE111111111', name: 'Kestrel Maschinenbau GmbH' },
      { now: NOW },
    );
    // A support organisation close to it, but not enough to merge alone: a review.
    const doubtful = await engine.resolve(
      { system: 'zendesk', id: '77', name: 'Kestrel Maschinenbua', domains: ['kestrel-mb.de'], updatedAt: 0 },
      { now: NOW },
    );
    expect(doubtful.outcome).toBe('review');
    // Meanwhile another legal entity (its own tax id) joins the organisation's golden record by domain.
    const entity = await engine.resolve(
      {
        ...erp,
        ...place,
        id: 'C-2',
        taxId: 'DE222222222',
        name: 'Kestrel Maschinenbau AG',
        email: 'ap@kestrel-mb.de',
      },
      { now: NOW },
    );
    expect(entity.goldenId).toBe(doubtful.goldenId);
    await expect(
      engine.applyReviewDecision(
        { source: { system: 'zendesk', id: '77' }, decision: 'merge', goldenId: candidate.goldenId },
        { steward: 'dave' },
      ),
    ).rejects.toThrow(/different valid tax ids/);
    expect((await engine.goldenOf({ system: 'zendesk', id: '77' }))?.goldenId).toBe(doubtful.goldenId);
    expect((await engine.openReviews()).map((task) => task.source.id)).toEqual(['77']);
  });
});
