/**
 * The simulator's promises: the same seed gives the same companies, ids, bodies and delivery order;
 * the population carries real-data noise and hard negatives; deliveries include duplicates and
 * out-of-order ones, each company's history complete; and it never sends anywhere but loopback.
 */
import { describe, expect, it } from 'vitest';
import { scriptWebhooks } from '../../../../src/producers/simulator/event-script.ts';
import { assertLoopback } from '../../../../src/producers/simulator/http-sender.ts';
import { generatePopulation } from '../../../../src/producers/simulator/population.ts';
import { planDeliveries } from '../../../../src/producers/simulator/simulator.ts';

describe('population', () => {
  it('is the same for the same seed and different for another', () => {
    const a = generatePopulation({ companies: 50, seed: 's1' });
    const b = generatePopulation({ companies: 50, seed: 's1' });
    const c = generatePopulation({ companies: 50, seed: 's2' });
    expect(b).toEqual(a);
    expect(c.truth).not.toEqual(a.truth);
  });

  it("knows each company in at least one system, with ids in each system's format", () => {
    const { truth } = generatePopulation({ companies: 300, seed: 'formats' });
    for (const line of truth) {
      expect(line.sources.length).toBeGreaterThan(0);
      for (const source of line.sources) {
        const format = {
          salesforce: /^001[A-Za-z0-9]{15}$/,
          stripe: /^cus_[A-Za-z0-9]{14}$/,
          zendesk: /^\d{13}$/,
          erp: /^C-\d{6}$/,
        }[source.system];
        expect(source.id).toMatch(format);
      }
    }
  });

  it('spells the same company differently across systems, drops tax ids, and has look-alike companies', () => {
    const { companies, truth } = generatePopulation({ companies: 400, seed: 'noise' });
    const spelledDifferently = companies.filter((company) => {
      const names = [
        company.records.salesforce?.name,
        company.records.stripe?.name,
        company.records.zendesk?.name,
      ].filter(Boolean);
      return new Set(names).size > 1;
    });
    expect(spelledDifferently.length).toBeGreaterThan(100);
    expect(
      companies.filter((company) => company.records.salesforce && company.records.salesforce.taxId === null)
        .length,
    ).toBeGreaterThan(20);
    expect(truth.filter((line) => line.confusableWith.length > 0).length).toBeGreaterThan(5);
  });
});

describe('delivery plan', () => {
  const population = generatePopulation({ companies: 120, seed: 'plan' });
  const script = scriptWebhooks(population, 'plan');

  it('is the same for the same seed', () => {
    const first = planDeliveries(script, 5000, { seed: 'plan' });
    const second = planDeliveries(
      scriptWebhooks(generatePopulation({ companies: 120, seed: 'plan' }), 'plan'),
      5000,
      { seed: 'plan' },
    );
    expect(second.deliveries.map((delivery) => delivery.webhook.body)).toEqual(
      first.deliveries.map((delivery) => delivery.webhook.body),
    );
  });

  it('delivers every scripted webhook, some twice and some out of order', () => {
    const { deliveries, outOfOrder } = planDeliveries(script, 100_000, {
      seed: 'plan',
      duplicateRate: 0.05,
      reorderRate: 0.1,
    });
    const originals = deliveries
      .filter((delivery) => !delivery.duplicate)
      .map((delivery) => delivery.webhook.platformEventId);
    expect(new Set(originals)).toEqual(new Set(script.map((webhook) => webhook.platformEventId)));
    const duplicates = deliveries.filter((delivery) => delivery.duplicate);
    expect(duplicates.length).toBeGreaterThan(0);
    for (const duplicate of duplicates) expect(originals).toContain(duplicate.webhook.platformEventId);
    expect(outOfOrder).toBeGreaterThan(0);
  });

  it('stops at the requested number of deliveries', () => {
    expect(planDeliveries(script, 37, { seed: 'plan' }).deliveries).toHaveLength(37);
  });
});

describe('loopback guard', () => {
  it.each(['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'http://127.1.2.3'])(
    'allows %s',
    (url) => {
      expect(() => assertLoopback(url)).not.toThrow();
    },
  );

  it.each([
    'http://10.0.0.5:8080',
    'https://127.0.0.1:8080',
    'http://example.com',
    'http://127.0.0.1.nip.io',
    'not a url',
  ])('refuses %s', (url) => {
    expect(() => assertLoopback(url)).toThrow(/loopback|not a URL/);
  });
});
