/**
 * The engine's events fit the `mdm.*` topics' Avro schemas as they are (a processor encodes them
 * without mapping), and their ids are deterministic: the same state gives the same event id, so a
 * re-emitted event is recognised downstream.
 */
import { describe, expect, it } from 'vitest';
import { memberOfSnapshot } from '../../../../src/processors/match-merge/member-snapshot.ts';
import {
  goldenEvent,
  goldenIdFor,
  goldenRecordOf,
  originOfRecord,
  reviewEvent,
  reviewIdFor,
  xrefEvent,
} from '../../../../src/processors/match-merge/events.ts';
import {
  type GoldenState,
  MdmTopics,
  parseSourceRecord,
} from '../../../../src/processors/match-merge/types.ts';
import { loadCatalog } from '../../../../src/schemas/catalog.ts';
import { InMemorySchemaSource, Serde, bindingsFromCatalog } from '../../../../src/schemas/serde.ts';

const at = Date.UTC(2025, 2, 1);
const erp = parseSourceRecord({
  system: 'erp',
  id: 'C-1',
  name: 'Nordwind Logistik GmbH',
  taxId: 'DE123456789',
  country: 'DE',
  address: { line1: 'Am Hafen 3', city: 'Hamburg', postalCode: '20457', country: 'DE' },
  creditStatus: 'CLEAR',
  updatedAt: at,
  version: 3,
});
const stripe = parseSourceRecord({
  system: 'stripe',
  id: 'cus_1',
  name: 'Nordwind',
  billingEmail: 'billing@nordwind.de',
  currency: 'eur',
  updatedAt: at + 1,
});

const state: GoldenState = {
  goldenId: goldenIdFor('erp:C-1'),
  version: 2,
  status: 'ACTIVE',
  mergedInto: null,
  createdAt: at,
  updatedAt: at + 5,
  change: 'merged',
  members: [erp, stripe],
  links: {
    'erp:C-1': {
      decision: 'NEW_GOLDEN',
      score: null,
      previousGoldenId: null,
      decidedBy: 'match-merge',
      decidedAt: at,
    },
    'stripe:cus_1': {
      decision: 'AUTO_MERGE',
      score: 0.93,
      previousGoldenId: null,
      decidedBy: 'match-merge',
      decidedAt: at + 5,
    },
  },
};
const origin = originOfRecord(stripe, { ingestedAt: at + 4 }, at + 5);

function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('mdm events', () => {
  const serde = new Serde({
    source: new InMemorySchemaSource(),
    bindings: bindingsFromCatalog(loadCatalog()),
    autoRegister: true,
  });

  it('encodes a golden event with the GoldenCustomer schema, member snapshots included', async () => {
    const event = goldenEvent(goldenRecordOf(state), state.change, origin);
    expect(event.topic).toBe(MdmTopics.golden);
    expect(event.key).toBe(state.goldenId);
    const decoded = await serde.decode(event.topic, await serde.encode(event.topic, event.value));
    expect(json(decoded)).toEqual(json(event.value));
    expect(decoded.members?.map((snapshot) => memberOfSnapshot(snapshot))).toEqual(state.members);
    expect(event.value.legalName).toMatchObject({
      value: 'Nordwind Logistik GmbH',
      provenance: { rule: 'TRUST_RANK' },
    });
    expect(event.value.envelope.eventType).toBe('mdm.customer.golden.merged');
  });

  it('encodes xref and review events with their schemas', async () => {
    const xref = xrefEvent(stripe, state.goldenId, state.links['stripe:cus_1']!, origin);
    expect(xref.key).toBe('stripe:cus_1');
    expect(json(await serde.decode(xref.topic, await serde.encode(xref.topic, xref.value)))).toEqual(
      json(xref.value),
    );

    const review = reviewEvent(
      {
        reviewId: reviewIdFor('stripe:cus_1', [state.goldenId], 1),
        source: { system: 'stripe', instance: null, entity: 'customer', id: 'cus_1' },
        attributes: { legalName: 'Nordwind' },
        candidates: [{ goldenId: state.goldenId, score: 0.7, features: { name: 0.91, country: 1 } }],
        autoMergeThreshold: 0.85,
        reviewThreshold: 0.55,
        status: 'OPEN',
        chosenGoldenId: null,
        decidedBy: null,
        decidedAt: null,
        createdAt: at,
      },
      origin,
    );
    expect(review.key).toBe('stripe:cus_1');
    expect(json(await serde.decode(review.topic, await serde.encode(review.topic, review.value)))).toEqual(
      json(review.value),
    );
  });

  it('derives event ids from what the event says, not from when it is emitted', () => {
    const golden = goldenRecordOf(state);
    const once = goldenEvent(golden, state.change, origin);
    const again = goldenEvent(
      golden,
      state.change,
      originOfRecord(stripe, { ingestedAt: at + 999 }, at + 999),
    );
    expect(again.value.envelope.eventId).toBe(once.value.envelope.eventId);
    const next = goldenEvent(goldenRecordOf({ ...state, version: 3 }), state.change, origin);
    expect(next.value.envelope.eventId).not.toBe(once.value.envelope.eventId);
  });

  it('derives golden ids from the founding source record, with generations for reuse', () => {
    expect(goldenIdFor('erp:C-1')).toBe(goldenIdFor('erp:C-1'));
    expect(goldenIdFor('erp:C-1', 2)).not.toBe(goldenIdFor('erp:C-1'));
    expect(goldenIdFor('erp:C-1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
