/**
 * Normalisation: every source spells a company differently (legal form written three ways or left
 * out, capitals, accents, `&` or `and`, a website with `www.` and a path, a VAT id with spaces or
 * without its country prefix). These pure functions bring each attribute to one comparable form,
 * the same for every source, before blocking and scoring see it. Invalid values (a tax id of the
 * wrong format, a free-mail domain) become null: treated as missing, never as evidence.
 */
import { doubleMetaphone } from 'double-metaphone';
import { getDomain, parse as parseHost } from 'tldts';
import type { MatchProfile, SourceAddress, SourceRecord } from './types.ts';
import { sourceKey } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Text folding

/** Letters that Unicode decomposition leaves alone but people write in ASCII. */
const LETTER_FOLDS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/**
 * Lower case, without diacritics, `&` and `+` spelled `and`, periods inside abbreviations removed
 * (`G.m.b.H.` → `gmbh`), every other punctuation a space, whitespace collapsed.
 */
export function foldText(input: string): string {
  let text = input
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  text = text.replace(/[ßæœøłđðþı]/g, (letter) => LETTER_FOLDS[letter] ?? letter);
  text = text.replace(/[&+]/g, ' and ');
  // Periods and apostrophes join what they separate (S.A. → sa, O'Neil → oneil); all other
  // punctuation separates.
  text = text.replace(/['’`´.]/g, '');
  text = text.replace(/[^\p{L}\p{N}]+/gu, ' ');
  return text.trim().replace(/\s+/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Company names

/**
 * Legal forms, folded, as whole token sequences. A name loses them only at its end (after other
 * legal-form tokens or connectors), never its first token: `AB Volvo` keeps its `ab`.
 */
const LEGAL_FORMS: readonly string[] = [
  // English-speaking
  'inc',
  'incorporated',
  'corp',
  'corporation',
  'co',
  'company',
  'cos',
  'llc',
  'llp',
  'lp',
  'ltd',
  'limited',
  'plc',
  'public limited company',
  'limited liability company',
  'limited partnership',
  'pty',
  'pty ltd',
  'pte',
  'pte ltd',
  'pvt',
  'pvt ltd',
  'private limited',
  'unlimited',
  'lc',
  'pllc',
  'pc',
  'dac',
  'cic',
  // German-speaking
  'gmbh',
  'mbh',
  'gesmbh',
  'ag',
  'aktiengesellschaft',
  'kg',
  'kgaa',
  'ohg',
  'gbr',
  'ug',
  'haftungsbeschrankt',
  'ev',
  'eg',
  'gmbh and co kg',
  'gmbh u co kg',
  'gmbh und co kg',
  'ag and co kg',
  'se',
  'sarl',
  // French, Belgian, Swiss, Luxembourgish
  'sa',
  'sas',
  'sasu',
  'eurl',
  'sca',
  'snc',
  'scs',
  'sci',
  'scop',
  'sprl',
  'srl',
  'sc',
  'sa de cv',
  // Dutch
  'bv',
  'nv',
  'vof',
  'cv',
  // Nordic
  'oy',
  'oyj',
  'ab',
  'publ',
  'as',
  'asa',
  'aps',
  'a s',
  'ans',
  'hf',
  'ehf',
  'ou',
  // Southern and Eastern Europe, Latin America
  'spa',
  'sapa',
  'sl',
  'slu',
  'sll',
  'lda',
  'ltda',
  'sp z oo',
  'sp zoo',
  'spzoo',
  'sro',
  'spol sro',
  'kft',
  'zrt',
  'nyrt',
  'doo',
  'ad',
  'dd',
  'ood',
  'eood',
  'ooo',
  'zao',
  'oao',
  'pao',
  'ao',
  'sde rl',
  'sa de cv',
  // Asia-Pacific
  'kk',
  'kabushiki kaisha',
  'gk',
  'yk',
  'co ltd',
  'bhd',
  'sdn bhd',
  'tbk',
  'pt',
];

/** Connectors left dangling at the end once a legal form is gone (`Smith & Co.` → `smith`). */
const CONNECTORS = new Set(['and', 'und', 'u', 'et', 'y', 'e', 'the']);

/** Tokens that carry no identity: ignored in the token list that blocking keys are made of. */
const STOPWORDS = new Set(['the', 'and', 'of', 'und', 'et', 'der', 'die', 'das', 'le', 'la', 'les']);

const LEGAL_FORM_SEQUENCES: readonly string[][] = [...new Set(LEGAL_FORMS)]
  .map((form) => form.split(' '))
  .sort((a, b) => b.length - a.length);

export interface NormalizedName {
  /** Folded, without legal form: `nordwind logistik`. */
  name: string;
  /** Significant tokens of `name` (no stopwords). */
  tokens: string[];
  /** The legal form that was removed, folded (`gmbh`, `sa`), or null. */
  legalForm: string | null;
}

/**
 * `Nordwind Logistik G.m.b.H.` → `{ name: 'nordwind logistik', tokens: ['nordwind', 'logistik'],
 * legalForm: 'gmbh' }`. A leading `The` goes too; runs of single letters join (`I B M` → `ibm`).
 */
export function normalizeName(raw: string): NormalizedName {
  let tokens = joinSingleLetters(foldText(raw).split(' ').filter(Boolean));
  if (tokens.length > 1 && tokens[0] === 'the') tokens = tokens.slice(1);
  const removed: string[] = [];
  for (;;) {
    const form = LEGAL_FORM_SEQUENCES.find(
      (sequence) => sequence.length < tokens.length && endsWith(tokens, sequence),
    );
    if (form) {
      removed.unshift(...form);
      tokens = tokens.slice(0, tokens.length - form.length);
      continue;
    }
    const last = tokens[tokens.length - 1];
    if (removed.length > 0 && tokens.length > 1 && last !== undefined && CONNECTORS.has(last)) {
      tokens = tokens.slice(0, -1);
      continue;
    }
    break;
  }
  const significant = tokens.filter((token) => !STOPWORDS.has(token));
  return {
    name: tokens.join(' '),
    tokens: significant.length > 0 ? significant : tokens,
    legalForm: removed.length > 0 ? removed.join(' ') : null,
  };
}

function endsWith(tokens: readonly string[], tail: readonly string[]): boolean {
  const offset = tokens.length - tail.length;
  return tail.every((token, index) => tokens[offset + index] === token);
}

function joinSingleLetters(tokens: string[]): string[] {
  const out: string[] = [];
  let run = '';
  for (const token of tokens) {
    if (token.length === 1 && /\p{L}/u.test(token)) {
      run += token;
      continue;
    }
    if (run) out.push(run);
    run = '';
    out.push(token);
  }
  if (run) out.push(run);
  return out;
}

/** The first Double Metaphone code of a token: `nordwind`, `nordwnd` and `norddwind` all give `NRTNT`. */
export function phoneticKey(token: string): string | null {
  const [primary] = doubleMetaphone(token);
  return primary ? primary : null;
}

// ---------------------------------------------------------------------------------------------
// Domains

/**
 * Mailbox providers: an address there says nothing about the company. Matched on the registrable
 * domain; providers with many country domains are matched on their brand label too.
 */
const FREE_MAIL_DOMAINS = new Set([
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'ymail.com',
  'rocketmail.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'gmx.de',
  'gmx.net',
  'gmx.at',
  'gmx.ch',
  'gmx.com',
  'web.de',
  't-online.de',
  'freenet.de',
  'posteo.de',
  'mailbox.org',
  'protonmail.com',
  'proton.me',
  'pm.me',
  'tutanota.com',
  'tuta.io',
  'zoho.com',
  'zohomail.com',
  'mail.com',
  'email.com',
  'fastmail.com',
  'hey.com',
  'yandex.ru',
  'yandex.com',
  'mail.ru',
  'bk.ru',
  'inbox.ru',
  'list.ru',
  'orange.fr',
  'wanadoo.fr',
  'free.fr',
  'laposte.net',
  'sfr.fr',
  'libero.it',
  'virgilio.it',
  'tiscali.it',
  'seznam.cz',
  'wp.pl',
  'o2.pl',
  'interia.pl',
  'onet.pl',
  'qq.com',
  '163.com',
  '126.com',
  'sina.com',
  'naver.com',
  'daum.net',
  'comcast.net',
  'verizon.net',
  'att.net',
  'sbcglobal.net',
  'btinternet.com',
  'sky.com',
  'virginmedia.com',
  'ntlworld.com',
  'bigpond.com',
  'optusnet.com.au',
  'shaw.ca',
  'rogers.com',
  'sympatico.ca',
  'rediffmail.com',
  'telenet.be',
  'skynet.be',
  'ziggo.nl',
  'kpnmail.nl',
  'home.nl',
  'bluewin.ch',
  'hispeed.ch',
  'terra.com.br',
  'uol.com.br',
  'bol.com.br',
]);
const FREE_MAIL_BRANDS = new Set([
  'gmail',
  'googlemail',
  'hotmail',
  'outlook',
  'yahoo',
  'ymail',
  'icloud',
  'gmx',
  'protonmail',
  'yandex',
]);

/** Websites that are somebody else's: a social profile or a placeholder is no company domain. */
const NOT_COMPANY_DOMAINS = new Set([
  'facebook.com',
  'linkedin.com',
  'twitter.com',
  'x.com',
  'instagram.com',
  'youtube.com',
  'google.com',
  'xing.com',
  'github.com',
  'example.com',
  'example.org',
  'example.net',
  'localhost',
]);

/**
 * The registrable domain of a website, host name or URL, lower case, without `www.` or any other
 * subdomain (`https://www.shop.nordwind.co.uk/de` → `nordwind.co.uk`), using the Public Suffix
 * List (private suffixes included, so `acme.github.io` stays `acme.github.io`). Null for IP
 * addresses, free-mail and social domains, and anything that is no domain.
 */
export function normalizeDomain(input: string | null | undefined): string | null {
  if (!input) return null;
  let value = input.trim().toLowerCase();
  if (!value) return null;
  if (value.includes('@')) return domainFromEmail(value);
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(value)) value = `http://${value}`;
  const parsed = parseHost(value, { allowPrivateDomains: true });
  if (parsed.isIp || !parsed.hostname) return null;
  const domain = getDomain(value, { allowPrivateDomains: true });
  return acceptable(domain);
}

/** The company domain of an email address; null for free-mail providers (`jane@gmail.com`). */
export function domainFromEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at < 1) return null;
  const host = email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/[>\s].*$/, '');
  if (!host) return null;
  return acceptable(getDomain(host, { allowPrivateDomains: true }));
}

function acceptable(domain: string | null): string | null {
  if (!domain) return null;
  if (FREE_MAIL_DOMAINS.has(domain) || NOT_COMPANY_DOMAINS.has(domain)) return null;
  const brand = domain.split('.')[0] ?? '';
  if (FREE_MAIL_BRANDS.has(brand)) return null;
  return domain;
}

/** Is this a mailbox provider's domain? */
export function isFreeMailDomain(domain: string): boolean {
  const lower = domain.toLowerCase();
  return FREE_MAIL_DOMAINS.has(lower) || FREE_MAIL_BRANDS.has(lower.split('.')[0] ?? '');
}

// ---------------------------------------------------------------------------------------------
// Countries

const COUNTRY_NAMES: Record<string, string> = {
  germany: 'DE',
  deutschland: 'DE',
  austria: 'AT',
  osterreich: 'AT',
  oesterreich: 'AT',
  switzerland: 'CH',
  schweiz: 'CH',
  suisse: 'CH',
  svizzera: 'CH',
  france: 'FR',
  belgium: 'BE',
  belgique: 'BE',
  belgie: 'BE',
  netherlands: 'NL',
  'the netherlands': 'NL',
  nederland: 'NL',
  holland: 'NL',
  luxembourg: 'LU',
  italy: 'IT',
  italia: 'IT',
  spain: 'ES',
  espana: 'ES',
  portugal: 'PT',
  ireland: 'IE',
  'united kingdom': 'GB',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  uk: 'GB',
  'united states': 'US',
  'united states of america': 'US',
  usa: 'US',
  us: 'US',
  america: 'US',
  canada: 'CA',
  mexico: 'MX',
  brazil: 'BR',
  brasil: 'BR',
  sweden: 'SE',
  sverige: 'SE',
  norway: 'NO',
  norge: 'NO',
  denmark: 'DK',
  danmark: 'DK',
  finland: 'FI',
  suomi: 'FI',
  iceland: 'IS',
  poland: 'PL',
  polska: 'PL',
  czechia: 'CZ',
  'czech republic': 'CZ',
  slovakia: 'SK',
  hungary: 'HU',
  romania: 'RO',
  bulgaria: 'BG',
  greece: 'GR',
  croatia: 'HR',
  slovenia: 'SI',
  estonia: 'EE',
  latvia: 'LV',
  lithuania: 'LT',
  cyprus: 'CY',
  malta: 'MT',
  australia: 'AU',
  'new zealand': 'NZ',
  japan: 'JP',
  china: 'CN',
  india: 'IN',
  singapore: 'SG',
  'south africa': 'ZA',
  israel: 'IL',
  turkey: 'TR',
  turkiye: 'TR',
};

const ALPHA3: Record<string, string> = {
  DEU: 'DE',
  AUT: 'AT',
  CHE: 'CH',
  FRA: 'FR',
  BEL: 'BE',
  NLD: 'NL',
  LUX: 'LU',
  ITA: 'IT',
  ESP: 'ES',
  PRT: 'PT',
  IRL: 'IE',
  GBR: 'GB',
  USA: 'US',
  CAN: 'CA',
  MEX: 'MX',
  BRA: 'BR',
  SWE: 'SE',
  NOR: 'NO',
  DNK: 'DK',
  FIN: 'FI',
  POL: 'PL',
  CZE: 'CZ',
  SVK: 'SK',
  HUN: 'HU',
  ROU: 'RO',
  BGR: 'BG',
  GRC: 'GR',
  HRV: 'HR',
  SVN: 'SI',
  EST: 'EE',
  LVA: 'LV',
  LTU: 'LT',
  CYP: 'CY',
  MLT: 'MT',
  AUS: 'AU',
  NZL: 'NZ',
  JPN: 'JP',
  CHN: 'CN',
  IND: 'IN',
  SGP: 'SG',
};

/** ISO 3166-1 alpha-2, upper case, from a code (alpha-2 or alpha-3) or a common name; else null. */
export function normalizeCountry(input: string | null | undefined): string | null {
  if (!input) return null;
  const trimmed = input.trim();
  if (/^[A-Za-z]{2}$/.test(trimmed)) {
    const code = trimmed.toUpperCase();
    return code === 'UK' ? 'GB' : code === 'EL' ? 'GR' : code;
  }
  if (/^[A-Za-z]{3}$/.test(trimmed)) {
    const code = ALPHA3[trimmed.toUpperCase()];
    if (code) return code;
  }
  return COUNTRY_NAMES[foldText(trimmed)] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Tax ids

/** A valid tax id: the country that issued it and the id in its normalised form. */
export interface TaxId {
  country: string;
  /** No spaces or punctuation, upper case; EU VAT ids with their prefix (`DE123456789`). */
  value: string;
}

/** VAT prefixes that differ from the ISO country code. */
const VAT_PREFIX_COUNTRY: Record<string, string> = { EL: 'GR', XI: 'GB' };

/**
 * Format of the VAT id (prefix included) per country that uses the EU scheme, and of the national
 * id elsewhere. Format only: check digits are deliberately not verified, since a wrong check digit
 * in a source is better caught by a steward than silently turned into "no tax id".
 */
const VAT_FORMATS: Record<string, RegExp> = {
  AT: /^ATU\d{8}$/,
  BE: /^BE[01]\d{9}$/,
  BG: /^BG\d{9,10}$/,
  CY: /^CY\d{8}[A-Z]$/,
  CZ: /^CZ\d{8,10}$/,
  DE: /^DE\d{9}$/,
  DK: /^DK\d{8}$/,
  EE: /^EE\d{9}$/,
  GR: /^EL\d{9}$/,
  ES: /^ES[A-Z0-9]\d{7}[A-Z0-9]$/,
  FI: /^FI\d{8}$/,
  FR: /^FR[A-HJ-NP-Z0-9]{2}\d{9}$/,
  HR: /^HR\d{11}$/,
  HU: /^HU\d{8}$/,
  IE: /^IE\d[A-Z0-9+*]\d{5}[A-Z]{1,2}$/,
  IT: /^IT\d{11}$/,
  LT: /^LT(\d{9}|\d{12})$/,
  LU: /^LU\d{8}$/,
  LV: /^LV\d{11}$/,
  MT: /^MT\d{8}$/,
  NL: /^NL\d{9}B\d{2}$/,
  PL: /^PL\d{10}$/,
  PT: /^PT\d{9}$/,
  RO: /^RO\d{2,10}$/,
  SE: /^SE\d{10}01$/,
  SI: /^SI\d{8}$/,
  SK: /^SK\d{10}$/,
  GB: /^(GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})|XI(\d{9}|\d{12}))$/,
  CH: /^CHE\d{9}$/,
  NO: /^NO\d{9}$/,
};

/** National ids without a VAT-style prefix. */
const NATIONAL_FORMATS: Record<string, RegExp> = {
  US: /^\d{9}$/, // EIN
  CA: /^\d{9}([A-Z]{2}\d{4})?$/, // Business Number (+ program account)
  AU: /^\d{11}$/, // ABN
  NZ: /^\d{8,9}$/, // IRD / GST
  IN: /^\d{2}[A-Z]{5}\d{4}[A-Z]\d[A-Z0-9][A-Z0-9]$/, // GSTIN
  JP: /^T?\d{13}$/,
  SG: /^(\d{8,9}[A-Z]|[A-Z]\d{8}[A-Z]|M\d{8}[A-Z])$/,
  BR: /^\d{14}$/, // CNPJ
  MX: /^[A-Z&]{3}\d{6}[A-Z0-9]{3}$/, // RFC
};

/** Prefix of the VAT-style id of a country (`GR` → `EL`, `CH` → `CHE`). */
function vatPrefix(country: string): string {
  if (country === 'GR') return 'EL';
  if (country === 'CH') return 'CHE';
  return country;
}

/**
 * Normalises a tax id with the country it belongs to. The country comes from the id's own VAT
 * prefix when it has one (`DE123...`), else from `countryHint` (the record's country). Spaces,
 * dots, dashes and case are ignored; a missing EU prefix is added. Returns null when the id does
 * not have its country's format, or when no country can be told: an invalid id is no evidence.
 */
export function normalizeTaxId(raw: string | null | undefined, countryHint?: string | null): TaxId | null {
  if (!raw) return null;
  let compact = raw.toUpperCase().replace(/[^A-Z0-9+*]/g, '');
  // Swiss ids end in their VAT register (MWST/TVA/IVA), Norwegian ones in MVA.
  compact = compact.replace(/(MWST|TVA|IVA|MVA)$/, '');
  if (compact.length < 5 || compact.length > 20) return null;
  const hint = normalizeCountry(countryHint ?? null);

  if (/^[A-Z]{2}/.test(compact)) {
    const prefix = compact.slice(0, 2);
    const country = VAT_PREFIX_COUNTRY[prefix] ?? prefix;
    if (VAT_FORMATS[country]?.test(compact)) return { country, value: compact };
  }
  if (!hint) return null;
  const vatFormat = VAT_FORMATS[hint];
  if (vatFormat) {
    const withPrefix = `${vatPrefix(hint)}${compact}`;
    if (vatFormat.test(withPrefix)) return { country: hint, value: withPrefix };
    if (vatFormat.test(compact)) return { country: hint, value: compact };
    return null;
  }
  const national = NATIONAL_FORMATS[hint];
  if (national) {
    // Some write the ISO code in front of a national id (`US12-3456789`).
    const bare = compact.startsWith(hint) && !national.test(compact) ? compact.slice(hint.length) : compact;
    return national.test(bare) ? { country: hint, value: bare } : null;
  }
  // A country whose format we do not know: accept a plausible id, so that two different ones
  // still keep two companies apart.
  return /^[A-Z0-9]{5,20}$/.test(compact) && /\d/.test(compact) ? { country: hint, value: compact } : null;
}

/** `DE:DE123456789`: how a tax id is compared and blocked on. */
export function taxKey(taxId: TaxId): string {
  return `${taxId.country}:${taxId.value}`;
}

// ---------------------------------------------------------------------------------------------
// Addresses

export interface NormalizedAddress {
  line1: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
}

/**
 * Postal code in its comparable form: upper case without spaces or dashes (`EC1A 1BB` →
 * `EC1A1BB`); US ZIP+4 cut to the ZIP. Null when it cannot be a postal code.
 */
export function normalizePostalCode(raw: string | null | undefined, country: string | null): string | null {
  if (!raw) return null;
  let code = raw.toUpperCase().replace(/[\s.-]/g, '');
  if (country === 'US' && /^\d{9}$/.test(code)) code = code.slice(0, 5);
  // "D-80331" and "DE-80331": a country prefix written in front of the code.
  if (country && code.startsWith(country) && /^\d+$/.test(code.slice(country.length)))
    code = code.slice(country.length);
  if (country === 'DE' && /^D\d{5}$/.test(code)) code = code.slice(1);
  return /^[A-Z0-9]{2,10}$/.test(code) ? code : null;
}

/** Street abbreviations written out, so `Hauptstr. 5` and `Hauptstraße 5` compare equal. */
const STREET_WORDS: Record<string, string> = {
  str: 'strasse',
  st: 'street',
  rd: 'road',
  ave: 'avenue',
  av: 'avenue',
  blvd: 'boulevard',
  bd: 'boulevard',
  ln: 'lane',
  dr: 'drive',
};

export function normalizeAddress(
  address: SourceAddress | null,
  fallbackCountry: string | null,
): NormalizedAddress {
  const country = normalizeCountry(address?.country) ?? fallbackCountry;
  if (!address) return { line1: null, city: null, postalCode: null, country };
  const line1 = address.line1
    ? foldText(address.line1)
        .split(' ')
        .map((word) => STREET_WORDS[word] ?? (word.length > 3 && word.endsWith('str') ? `${word}asse` : word))
        .join(' ') || null
    : null;
  return {
    line1,
    city: address.city ? foldText(address.city) || null : null,
    postalCode: normalizePostalCode(address.postalCode, country),
    country,
  };
}

// ---------------------------------------------------------------------------------------------
// The match profile of a record

/** Every domain a record shows: website, listed domains, then its emails. */
export function domainsOf(record: SourceRecord): string[] {
  const found = [
    normalizeDomain(record.website),
    ...record.domains.map((domain) => normalizeDomain(domain)),
    domainFromEmail(record.email),
    domainFromEmail(record.billingEmail),
  ];
  return [...new Set(found.filter((domain): domain is string => domain !== null))];
}

/** The normalised attributes of a record that blocking and scoring use. Pure. */
export function profileOf(record: SourceRecord): MatchProfile {
  const name = normalizeName(record.name);
  const country = normalizeCountry(record.country) ?? normalizeCountry(record.address?.country);
  const address = normalizeAddress(record.address, country);
  const taxId = normalizeTaxId(record.taxId, country ?? address.country);
  const ref = sourceKey(record);
  return {
    ref,
    name: name.name,
    tokens: name.tokens,
    tax: taxId ? taxKey(taxId) : null,
    domains: domainsOf(record),
    country: country ?? address.country,
    postal: address.postalCode,
    city: address.city,
    refs: [...new Set(record.externalRefs.map((other) => sourceKey(other)).filter((other) => other !== ref))],
  };
}

/**
 * Profiles known for record objects: a member read from Redis comes with the profile stored beside
 * it, and a record being resolved is profiled once; writing a golden record then reuses them
 * instead of normalising every member again. Keyed by object identity (records are not mutated
 * once profiled), so an entry goes away with its record.
 */
const knownProfiles = new WeakMap<SourceRecord, MatchProfile>();

/** Remembers the profile of a record (it must be `profileOf(record)`, e.g. as stored with it). */
export function rememberProfile(record: SourceRecord, profile: MatchProfile): void {
  if (profile.ref === sourceKey(record)) knownProfiles.set(record, profile);
}

/** {@link profileOf}, reusing a profile remembered for this very record object. */
export function memberProfileOf(record: SourceRecord): MatchProfile {
  let profile = knownProfiles.get(record);
  if (!profile) {
    profile = profileOf(record);
    knownProfiles.set(record, profile);
  }
  return profile;
}
