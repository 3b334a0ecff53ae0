/**
 * A population of companies as the four systems see them. Each company is one real customer; each
 * system holds its own record of it, typed in by different people at different times: legal
 * suffixes spelled three ways or left out, typos, capitals, missing tax ids, a website with or
 * without `www.`. A few different companies get confusingly similar names (same brand, another
 * country): the hard negatives a matcher must not merge. The ground truth says which source ids
 * are one company.
 */
import { Random } from './random.ts';
import { to18 } from '../../targets-sim/salesforce/salesforce-ids.ts';

export interface CountryProfile {
  code: string;
  currency: string;
  suffixes: readonly { canonical: string; variants: readonly string[] }[];
  cities: readonly { city: string; postalCode: () => string; region?: string }[];
  streets: readonly string[];
  industries: readonly string[];
  taxId: (random: Random) => string;
}

const DE_INDUSTRIES = [
  'Logistik',
  'Maschinenbau',
  'Software',
  'Medizintechnik',
  'Energie',
  'Bausysteme',
  'Feinmechanik',
];
const EN_INDUSTRIES = [
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
];
const FR_INDUSTRIES = ['Logistique', 'Informatique', 'Conseil', 'Industrie', 'Santé', 'Énergie'];

function postal(random: Random, length: number): () => string {
  return () => random.digits(length);
}

function countries(random: Random): CountryProfile[] {
  return [
    {
      code: 'DE',
      currency: 'EUR',
      suffixes: [
        { canonical: 'GmbH', variants: ['GmbH', 'GmbH', 'G.m.b.H.', 'Gmbh', ''] },
        { canonical: 'AG', variants: ['AG', 'AG', 'Aktiengesellschaft', ''] },
        { canonical: 'GmbH & Co. KG', variants: ['GmbH & Co. KG', 'GmbH & Co KG', 'GmbH u. Co. KG', ''] },
      ],
      cities: [
        { city: 'München', postalCode: postal(random, 5), region: 'BY' },
        { city: 'Hamburg', postalCode: postal(random, 5), region: 'HH' },
        { city: 'Köln', postalCode: postal(random, 5), region: 'NW' },
        { city: 'Stuttgart', postalCode: postal(random, 5), region: 'BW' },
      ],
      streets: ['Hauptstraße', 'Industriestraße', 'Bahnhofstraße', 'Lindenallee', 'Am Hafen'],
      industries: DE_INDUSTRIES,
      taxId: (r) => `DE${r.digits(9)}`,
    },
    {
      code: 'AT',
      currency: 'EUR',
      suffixes: [{ canonical: 'GmbH', variants: ['GmbH', 'Ges.m.b.H.', ''] }],
      cities: [
        { city: 'Wien', postalCode: postal(random, 4) },
        { city: 'Graz', postalCode: postal(random, 4) },
      ],
      streets: ['Ringstraße', 'Mariahilfer Straße', 'Landstraße'],
      industries: DE_INDUSTRIES,
      taxId: (r) => `ATU${r.digits(8)}`,
    },
    {
      code: 'FR',
      currency: 'EUR',
      suffixes: [
        { canonical: 'SAS', variants: ['SAS', 'S.A.S.', ''] },
        { canonical: 'SARL', variants: ['SARL', 'S.A.R.L.', ''] },
        { canonical: 'SA', variants: ['SA', 'S.A.', ''] },
      ],
      cities: [
        { city: 'Paris', postalCode: () => `750${random.digits(2)}` },
        { city: 'Lyon', postalCode: () => `690${random.digits(2)}` },
        { city: 'Toulouse', postalCode: () => `310${random.digits(2)}` },
      ],
      streets: ['Rue de la République', 'Avenue Jean Jaurès', 'Boulevard Voltaire'],
      industries: FR_INDUSTRIES,
      taxId: (r) => `FR${r.digits(2)}${r.digits(9)}`,
    },
    {
      code: 'GB',
      currency: 'GBP',
      suffixes: [
        { canonical: 'Ltd', variants: ['Ltd', 'Ltd.', 'Limited', 'LTD', ''] },
        { canonical: 'PLC', variants: ['PLC', 'plc', 'Public Limited Company', ''] },
      ],
      cities: [
        {
          city: 'London',
          postalCode: () =>
            `EC${random.int(1, 4)}A ${random.digits(1)}${random.chars('ABDEFGHJLNPQRSTUWXYZ', 2)}`,
        },
        {
          city: 'Manchester',
          postalCode: () =>
            `M${random.int(1, 40)} ${random.digits(1)}${random.chars('ABDEFGHJLNPQRSTUWXYZ', 2)}`,
        },
      ],
      streets: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road'],
      industries: EN_INDUSTRIES,
      taxId: (r) => `GB${r.digits(9)}`,
    },
    {
      code: 'NL',
      currency: 'EUR',
      suffixes: [
        { canonical: 'B.V.', variants: ['B.V.', 'BV', 'B.V', ''] },
        { canonical: 'N.V.', variants: ['N.V.', 'NV', ''] },
      ],
      cities: [
        {
          city: 'Amsterdam',
          postalCode: () => `10${random.digits(2)} ${random.chars('ABCDEFGHJKLMNPRSTVWXZ', 2)}`,
        },
        {
          city: 'Rotterdam',
          postalCode: () => `30${random.digits(2)} ${random.chars('ABCDEFGHJKLMNPRSTVWXZ', 2)}`,
        },
      ],
      streets: ['Keizersgracht', 'Coolsingel', 'Stationsplein'],
      industries: EN_INDUSTRIES,
      taxId: (r) => `NL${r.digits(9)}B01`,
    },
    {
      code: 'US',
      currency: 'USD',
      suffixes: [
        { canonical: 'Inc.', variants: ['Inc.', 'Inc', 'Incorporated', 'INC', ''] },
        { canonical: 'LLC', variants: ['LLC', 'L.L.C.', 'Llc', ''] },
        { canonical: 'Corp.', variants: ['Corp.', 'Corporation', 'Corp', ''] },
      ],
      cities: [
        { city: 'Austin', postalCode: () => `787${random.digits(2)}`, region: 'TX' },
        { city: 'Boston', postalCode: () => `021${random.digits(2)}`, region: 'MA' },
        { city: 'Chicago', postalCode: () => `606${random.digits(2)}`, region: 'IL' },
        { city: 'Seattle', postalCode: () => `981${random.digits(2)}`, region: 'WA' },
      ],
      streets: ['Main Street', 'Market Street', 'Congress Avenue', '5th Avenue'],
      industries: EN_INDUSTRIES,
      taxId: (r) => `${r.digits(2)}-${r.digits(7)}`,
    },
  ];
}

const BRANDS = [
  'Nordwind',
  'Alpenglow',
  'Bluewater',
  'Meridian',
  'Kestrel',
  'Silverline',
  'Brightpath',
  'Ironwood',
  'Lumen',
  'Quantum',
  'Evergreen',
  'Falcon',
  'Harbor',
  'Summit',
  'Crescent',
  'Aurora',
  'Vertex',
  'Granite',
  'Cobalt',
  'Orion',
  'Helix',
  'Beacon',
  'Pioneer',
  'Redwood',
  'Stellar',
  'Tidewater',
  'Westbrook',
  'Zephyr',
  'Atlas',
  'Nimbus',
  'Polaris',
  'Sable',
  'Juniper',
  'Larkspur',
  'Northgate',
  'Oakridge',
  'Riverstone',
  'Solstice',
  'Trident',
  'Wavecrest',
  'Bergmann',
  'Vogel',
  'Lindqvist',
  'Duval',
  'Moreau',
  'Hartley',
  'Ashford',
  'Kingsley',
  'Van Dijk',
  'De Vries',
];

export interface Address {
  street: string;
  city: string;
  postalCode: string;
  region: string | null;
  countryCode: string;
}

/** One real company, as it is, before any system has typed it in. */
export interface Company {
  companyId: string;
  brand: string;
  industry: string;
  legalName: string;
  suffix: { canonical: string; variants: readonly string[] };
  countryCode: string;
  currency: string;
  taxId: string;
  domain: string;
  address: Address;
  employees: number;
  /** The source records of this company, one per system it is known to. */
  records: {
    salesforce?: {
      accountId: string;
      name: string;
      taxId: string | null;
      website: string | null;
      opportunityIds: string[];
    };
    stripe?: {
      customerId: string;
      name: string;
      email: string;
      taxId: string | null;
      subscriptionId: string;
      invoiceIds: string[];
    };
    zendesk?: { organizationId: string; name: string; domainNames: string[]; externalId: string | null };
    erp?: { customerId: string; legalName: string; taxId: string | null; creditLimit: number };
  };
}

/** One line of the ground truth: the source ids that are one company. */
export interface TruthLine {
  companyId: string;
  legalName: string;
  countryCode: string;
  taxId: string;
  sources: { system: 'salesforce' | 'stripe' | 'zendesk' | 'erp'; entity: string; id: string }[];
  /** Other companies whose names look alike but are not this one. */
  confusableWith: string[];
}

export interface PopulationOptions {
  companies: number;
  seed: string;
}

export interface Population {
  companies: Company[];
  truth: TruthLine[];
}

/** Builds the population: deterministic for a seed. */
export function generatePopulation(options: PopulationOptions): Population {
  const random = new Random(`population:${options.seed}`);
  const profiles = countries(random.fork('postal'));
  const companies: Company[] = [];
  const confusable = new Map<string, string[]>();
  const usedNames = new Set<string>();
  for (let index = 0; index < options.companies; index += 1) {
    const companyId = `co-${String(index + 1).padStart(5, '0')}`;
    const sibling = companies.length > 3 && random.chance(0.06) ? random.pick(companies) : undefined;
    const profile = sibling
      ? random.pick(profiles.filter((p) => p.code !== sibling.countryCode))
      : random.pick(profiles);
    // A sibling shares the brand of another company in another country: a different legal entity.
    const brand = sibling?.brand ?? uniqueBrand(random, usedNames);
    const industry = sibling ? translateIndustry(sibling.industry, profile) : random.pick(profile.industries);
    const suffix = random.pick(profile.suffixes);
    const city = random.pick(profile.cities);
    const legalName = `${brand} ${industry} ${suffix.canonical}`.trim();
    const domain = `${slug(brand)}${sibling ? `-${profile.code.toLowerCase()}` : ''}.${tld(profile.code)}`;
    const company: Company = {
      companyId,
      brand,
      industry,
      legalName,
      suffix,
      countryCode: profile.code,
      currency: profile.currency,
      taxId: profile.taxId(random),
      domain,
      address: {
        street: `${random.pick(profile.streets)} ${random.int(1, 180)}`,
        city: city.city,
        postalCode: city.postalCode(),
        region: city.region ?? null,
        countryCode: profile.code,
      },
      employees: random.pick([8, 25, 60, 140, 320, 900, 2400]),
      records: {},
    };
    if (sibling) {
      confusable.set(companyId, [sibling.companyId]);
      confusable.set(sibling.companyId, [...(confusable.get(sibling.companyId) ?? []), companyId]);
    }
    presentIn(random, company);
    companies.push(company);
  }
  const truth = companies.map((company) => truthOf(company, confusable.get(company.companyId) ?? []));
  return { companies, truth };
}

function presentIn(random: Random, company: Company): void {
  const inSalesforce = random.chance(0.8);
  const inStripe = random.chance(0.7);
  const inZendesk = random.chance(0.6);
  const inErp = random.chance(0.55) || !(inSalesforce || inStripe || inZendesk);
  if (inSalesforce) {
    company.records.salesforce = {
      accountId: salesforceId(random, '001'),
      name: noisyName(random, company, { typo: 0.08, suffix: 0.85, caps: 0.05 }),
      taxId: random.chance(0.65) ? noisyTaxId(random, company.taxId, company.countryCode) : null,
      website: random.chance(0.85)
        ? `${random.chance(0.5) ? 'https://' : ''}${random.chance(0.5) ? 'www.' : ''}${company.domain}`
        : null,
      opportunityIds: Array.from({ length: random.int(1, 2) }, () => salesforceId(random, '006')),
    };
  }
  if (inStripe) {
    company.records.stripe = {
      customerId: `cus_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
      name: noisyName(random, company, { typo: 0.1, suffix: 0.6, caps: 0.1 }),
      email: `${random.pick(['billing', 'accounts', 'finance', 'ap', 'invoices'])}@${company.domain}`,
      taxId: random.chance(0.4) ? noisyTaxId(random, company.taxId, company.countryCode) : null,
      subscriptionId: `sub_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
      invoiceIds: Array.from(
        { length: random.int(1, 3) },
        () => `in_${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 14)}`,
      ),
    };
  }
  if (inZendesk) {
    company.records.zendesk = {
      organizationId: String(random.int(1, 9)) + random.digits(12),
      name: noisyName(random, company, { typo: 0.12, suffix: 0.3, caps: 0.08 }),
      domainNames: random.chance(0.7) ? [company.domain] : [],
      externalId:
        company.records.salesforce && random.chance(0.2) ? company.records.salesforce.accountId : null,
    };
  }
  if (inErp) {
    company.records.erp = {
      customerId: `C-${random.digits(6)}`,
      legalName: noisyName(random, company, { typo: 0.03, suffix: 1, caps: 0.15 }),
      taxId: random.chance(0.9) ? noisyTaxId(random, company.taxId, company.countryCode) : null,
      creditLimit: random.pick([5000, 10000, 25000, 50000, 100000, 250000]),
    };
  }
}

function truthOf(company: Company, confusableWith: string[]): TruthLine {
  const sources: TruthLine['sources'] = [];
  const { salesforce, stripe, zendesk, erp } = company.records;
  if (salesforce) sources.push({ system: 'salesforce', entity: 'account', id: salesforce.accountId });
  if (stripe) sources.push({ system: 'stripe', entity: 'customer', id: stripe.customerId });
  if (zendesk) sources.push({ system: 'zendesk', entity: 'organization', id: zendesk.organizationId });
  if (erp) sources.push({ system: 'erp', entity: 'customer', id: erp.customerId });
  return {
    companyId: company.companyId,
    legalName: company.legalName,
    countryCode: company.countryCode,
    taxId: company.taxId,
    sources,
    confusableWith,
  };
}

/** The company's name as one person in one system typed it. */
export function noisyName(
  random: Random,
  company: Company,
  noise: { typo: number; suffix: number; caps: number },
): string {
  let name = `${company.brand} ${company.industry}`;
  if (random.chance(0.15)) name = company.brand; // the brand alone, as sales people say it
  if (random.chance(noise.suffix)) {
    const variant = random.pick(company.suffix.variants);
    if (variant) name = `${name}${random.chance(0.15) ? ',' : ''} ${variant}`;
  }
  if (random.chance(0.05)) name = name.replace(' & ', ' and ');
  if (random.chance(noise.typo)) name = typo(random, name);
  if (random.chance(noise.caps)) name = name.toUpperCase();
  else if (random.chance(0.05)) name = name.toLowerCase();
  if (random.chance(0.04)) name = ` ${name}  `.replace(' ', '  '); // stray whitespace from a copy and paste
  return name;
}

function typo(random: Random, text: string): string {
  const letters = [...text];
  const at = random.int(1, Math.max(1, letters.length - 2));
  switch (random.int(0, 2)) {
    case 0: // swap two neighbours
      [letters[at], letters[at - 1]] = [letters[at - 1]!, letters[at]!];
      break;
    case 1: // drop one
      letters.splice(at, 1);
      break;
    default: // double one
      letters.splice(at, 0, letters[at]!);
  }
  return letters.join('');
}

function noisyTaxId(random: Random, taxId: string, countryCode: string): string {
  if (random.chance(0.7)) return taxId;
  if (random.chance(0.4) && taxId.startsWith(countryCode)) return taxId.slice(countryCode.length); // prefix left out
  if (random.chance(0.5)) return taxId.replace(/(\d{3})(?=\d)/g, '$1 '); // grouped with spaces
  return taxId.toLowerCase();
}

function uniqueBrand(random: Random, used: Set<string>): string {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const brand = random.chance(0.7)
      ? random.pick(BRANDS)
      : `${random.pick(BRANDS)} ${random.pick(['Group', 'Partners', 'Works', 'Labs', 'Solutions'])}`;
    if (!used.has(brand)) {
      used.add(brand);
      return brand;
    }
  }
  const brand = `${random.pick(BRANDS)} ${random.chars('ABCDEFGHKLMNPRSTVWXZ', 2)}`;
  used.add(brand);
  return brand;
}

function translateIndustry(industry: string, profile: CountryProfile): string {
  const index = Math.max(
    DE_INDUSTRIES.indexOf(industry),
    EN_INDUSTRIES.indexOf(industry),
    FR_INDUSTRIES.indexOf(industry),
    0,
  );
  return profile.industries[index % profile.industries.length]!;
}

function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

function tld(countryCode: string): string {
  return countryCode === 'US' ? 'com' : countryCode === 'GB' ? 'co.uk' : countryCode.toLowerCase();
}

/** An 18-character Salesforce id with the given key prefix (001 Account, 006 Opportunity). */
/** A well-formed 18-character Salesforce id (its checksum suffix right), as the platform issues them. */
function salesforceId(random: Random, prefix: string): string {
  return to18(
    `${prefix}${random.chars('0123456789', 2)}${random.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 10)}`,
  );
}
