/**
 * Source records with a ground truth, for measuring match-merge: the simulator's population
 * (src/producers/simulator) turned into match-merge input records, a larger synthetic population
 * of distinct companies for pre-loading many golden records, and pairwise precision / recall / F1.
 *
 * Shared by the match benchmark and the integration tests, so both measure the same thing.
 */
import { generatePopulation, type Company, type Population } from '../producers/simulator/population.ts';
import { erpCustomersOf } from '../producers/simulator/event-script.ts';
import { Random } from '../producers/simulator/random.ts';
import type { SourceRecordInput } from '../processors/match-merge/types.ts';

/** A source record and the company it truly belongs to. */
export interface LabelledRecord {
  record: SourceRecordInput & { system: 'salesforce' | 'stripe' | 'zendesk' | 'erp'; id: string };
  companyId: string;
}

export interface SimulatedRecords {
  population: Population;
  /** Every source record of every company, in a seeded random arrival order. */
  records: LabelledRecord[];
}

const BASE_TIME = Date.UTC(2025, 0, 1);

/**
 * The simulator's population as match-merge input: one record per company per system it is known
 * to, with the fields the canonical mapping carries (the ERP's from the same ERP customer rows the
 * ERP sandbox serves). Deterministic for a seed.
 */
export function simulatedRecords(options: { companies: number; seed: string }): SimulatedRecords {
  const population = generatePopulation({ companies: options.companies, seed: options.seed });
  const erpRows = new Map(erpCustomersOf(population, options.seed).map((row) => [row.customerNumber, row]));
  const random = new Random(`match-records:${options.seed}`);
  const records: LabelledRecord[] = [];
  for (const company of population.companies) {
    records.push(...recordsOf(company, random, erpRows));
  }
  random.shuffle(records);
  return { population, records };
}

function recordsOf(
  company: Company,
  random: Random,
  erpRows: Map<string, ReturnType<typeof erpCustomersOf>[number]>,
): LabelledRecord[] {
  const out: LabelledRecord[] = [];
  const at = (): number => BASE_TIME + random.int(0, 90 * 24 * 3600) * 1000;
  const address = {
    line1: company.address.street,
    city: company.address.city,
    postalCode: company.address.postalCode,
    region: company.address.region,
    country: company.address.countryCode,
  };
  const { salesforce, stripe, zendesk, erp } = company.records;
  if (salesforce) {
    out.push({
      companyId: company.companyId,
      record: {
        system: 'salesforce',
        id: salesforce.accountId,
        name: salesforce.name,
        taxId: salesforce.taxId,
        website: salesforce.website,
        country: company.address.countryCode,
        address,
        industry: company.industry,
        currency: company.currency,
        employees: company.employees,
        ownerId: `005${random.digits(15)}`,
        updatedAt: at(),
      },
    });
  }
  if (stripe) {
    out.push({
      companyId: company.companyId,
      record: {
        system: 'stripe',
        id: stripe.customerId,
        name: stripe.name,
        email: stripe.email,
        billingEmail: stripe.email,
        taxId: stripe.taxId,
        country: company.address.countryCode,
        address,
        currency: company.currency,
        updatedAt: at(),
      },
    });
  }
  if (zendesk) {
    out.push({
      companyId: company.companyId,
      record: {
        system: 'zendesk',
        id: zendesk.organizationId,
        name: zendesk.name,
        domains: zendesk.domainNames,
        externalRefs: zendesk.externalId ? [{ system: 'salesforce', id: zendesk.externalId }] : null,
        supportTier: random.pick(['standard', 'premium', 'enterprise']),
        updatedAt: at(),
      },
    });
  }
  if (erp) {
    const row = erpRows.get(erp.customerId);
    out.push({
      companyId: company.companyId,
      record: {
        system: 'erp',
        id: erp.customerId,
        name: row?.name ?? erp.legalName,
        taxId: row?.vatId ?? row?.taxNumber ?? erp.taxId,
        country: row?.address?.countryCode ?? company.countryCode,
        address: row?.address
          ? {
              line1: row.address.line1,
              city: row.address.city,
              postalCode: row.address.postalCode,
              region: row.address.region,
              country: row.address.countryCode,
            }
          : address,
        email: row?.email ?? null,
        billingEmail: row?.email ?? null,
        currency: row?.currency ?? company.currency,
        creditStatus: row?.creditStatus ?? null,
        updatedAt: at(),
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pairwise quality

export interface PairwiseQuality {
  records: number;
  /** Pairs of records that truly are one company. */
  truePairs: number;
  /** Pairs of records put in one golden record. */
  predictedPairs: number;
  /** Pairs in both. */
  correctPairs: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Precision, recall and F1 of the pairwise "same company" decisions: every pair of records put
 * in one golden record is a predicted pair, every pair of one company a true pair. Counted from
 * cluster sizes (no pair enumeration), so it scales to large populations.
 */
export function pairwiseQuality(
  assigned: ReadonlyMap<string, string>,
  truth: ReadonlyMap<string, string>,
): PairwiseQuality {
  const pairs = (n: number): number => (n * (n - 1)) / 2;
  const byGolden = new Map<string, number>();
  const byCompany = new Map<string, number>();
  const byBoth = new Map<string, number>();
  let records = 0;
  for (const [ref, companyId] of truth) {
    const goldenId = assigned.get(ref);
    if (goldenId === undefined) continue;
    records += 1;
    byGolden.set(goldenId, (byGolden.get(goldenId) ?? 0) + 1);
    byCompany.set(companyId, (byCompany.get(companyId) ?? 0) + 1);
    const both = `${goldenId}|${companyId}`;
    byBoth.set(both, (byBoth.get(both) ?? 0) + 1);
  }
  const sum = (counts: Map<string, number>): number =>
    [...counts.values()].reduce((total, n) => total + pairs(n), 0);
  const predictedPairs = sum(byGolden);
  const truePairs = sum(byCompany);
  const correctPairs = sum(byBoth);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { records, truePairs, predictedPairs, correctPairs, precision, recall, f1 };
}

// ---------------------------------------------------------------------------------------------
// Synthetic population for scale

const SYLLABLES = [
  'ka',
  'ro',
  'vin',
  'tel',
  'mar',
  'lo',
  'zen',
  'qua',
  'bri',
  'dor',
  'fel',
  'gan',
  'hul',
  'jas',
  'kel',
  'lum',
  'nor',
  'pex',
  'ral',
  'sen',
  'tor',
  'vex',
  'wyn',
  'xan',
  'yor',
  'zil',
  'ab',
  'el',
  'ix',
  'on',
  'ur',
  'cal',
  'dra',
  'fen',
  'gor',
  'hal',
  'ist',
  'jun',
  'kor',
  'lyn',
  'mor',
  'nex',
  'ost',
  'pra',
  'quin',
  'rus',
  'sol',
  'tra',
];
const WORDS = [
  'Logistics',
  'Analytics',
  'Software',
  'Health',
  'Energy',
  'Systems',
  'Consulting',
  'Manufacturing',
  'Foods',
  'Robotics',
  'Media',
  'Capital',
  'Labs',
  'Networks',
  'Dynamics',
  'Materials',
  'Pharma',
  'Retail',
  'Studios',
  'Security',
  'Mobility',
  'Textiles',
  'Instruments',
  'Partners',
  'Engineering',
  'Biotech',
  'Solar',
  'Aerospace',
];
const SYNTHETIC_COUNTRIES = [
  { code: 'DE', suffix: ['GmbH', 'AG'], tax: (r: Random) => `DE${r.digits(9)}`, tld: 'de', postal: 5 },
  { code: 'FR', suffix: ['SAS', 'SA'], tax: (r: Random) => `FR${r.digits(11)}`, tld: 'fr', postal: 5 },
  { code: 'GB', suffix: ['Ltd', 'PLC'], tax: (r: Random) => `GB${r.digits(9)}`, tld: 'co.uk', postal: 0 },
  { code: 'NL', suffix: ['B.V.', 'N.V.'], tax: (r: Random) => `NL${r.digits(9)}B01`, tld: 'nl', postal: 4 },
  {
    code: 'US',
    suffix: ['Inc.', 'LLC', 'Corp.'],
    tax: (r: Random) => `${r.digits(2)}-${r.digits(7)}`,
    tld: 'com',
    postal: 5,
  },
  { code: 'AT', suffix: ['GmbH'], tax: (r: Random) => `ATU${r.digits(8)}`, tld: 'at', postal: 4 },
] as const;

/** One synthetic company: its clean identity. */
export interface SyntheticCompany {
  companyId: string;
  brand: string;
  word: string;
  suffix: string;
  country: string;
  taxId: string;
  domain: string;
  postalCode: string;
  city: string;
}

/**
 * The `index`-th synthetic company of a seed: brands from three or four syllables (hundreds of
 * thousands of them, some shared, as real first words are), a trade word, a legal form, a tax id,
 * a domain and a postal code. Deterministic per (seed, index), so any slice can be generated alone.
 */
export function syntheticCompany(seed: string, index: number): SyntheticCompany {
  const random = new Random(`synthetic:${seed}:${index}`);
  const syllables = random.chance(0.5) ? 3 : 4;
  let brand = '';
  for (let i = 0; i < syllables; i += 1) brand += random.pick(SYLLABLES);
  brand = brand[0]!.toUpperCase() + brand.slice(1);
  const country = random.pick(SYNTHETIC_COUNTRIES);
  const postalCode =
    country.postal === 0
      ? `EC${random.int(1, 4)}A ${random.digits(1)}${random.chars('ABDEFGHJ', 2)}`
      : random.digits(country.postal);
  return {
    companyId: `syn-${index}`,
    brand,
    word: random.pick(WORDS),
    suffix: random.pick(country.suffix),
    country: country.code,
    taxId: country.tax(random),
    domain: `${brand.toLowerCase()}${random.digits(3)}.${country.tld}`,
    postalCode,
    city: `City${random.int(1, 400)}`,
  };
}

/** The record a system holds of a synthetic company, with that system's typical noise. */
export function syntheticRecord(
  company: SyntheticCompany,
  system: LabelledRecord['record']['system'],
  seed: string,
): LabelledRecord {
  const random = new Random(`synthetic-record:${seed}:${company.companyId}:${system}`);
  let name = `${company.brand} ${company.word}`;
  if (random.chance(0.7)) name = `${name} ${company.suffix}`;
  if (random.chance(0.08)) name = typo(random, name);
  if (random.chance(0.1)) name = name.toUpperCase();
  const updatedAt = BASE_TIME + random.int(0, 90 * 24 * 3600) * 1000;
  const address = {
    line1: `Street ${random.int(1, 200)}`,
    city: company.city,
    postalCode: company.postalCode,
    country: company.country,
  };
  const id = `${system}-${company.companyId}`;
  const withTax = random.chance(system === 'erp' ? 0.9 : 0.4);
  switch (system) {
    case 'salesforce':
      return {
        companyId: company.companyId,
        record: {
          system,
          id,
          name,
          website: `https://www.${company.domain}`,
          country: company.country,
          address,
          taxId: withTax ? company.taxId : null,
          industry: company.word,
          updatedAt,
        },
      };
    case 'stripe':
      return {
        companyId: company.companyId,
        record: {
          system,
          id,
          name,
          email: `billing@${company.domain}`,
          billingEmail: `billing@${company.domain}`,
          country: company.country,
          address,
          taxId: withTax ? company.taxId : null,
          currency: 'EUR',
          updatedAt,
        },
      };
    case 'zendesk':
      return {
        companyId: company.companyId,
        record: { system, id, name, domains: random.chance(0.7) ? [company.domain] : [], updatedAt },
      };
    case 'erp':
      return {
        companyId: company.companyId,
        record: {
          system,
          id,
          name,
          country: company.country,
          address,
          taxId: withTax ? company.taxId : null,
          email: random.chance(0.6) ? `ap@${company.domain}` : null,
          updatedAt,
        },
      };
  }
}

function typo(random: Random, text: string): string {
  const letters = [...text];
  const at = random.int(1, Math.max(1, letters.length - 2));
  if (random.chance(0.5)) letters.splice(at, 1);
  else [letters[at], letters[at - 1]] = [letters[at - 1]!, letters[at]!];
  return letters.join('');
}
