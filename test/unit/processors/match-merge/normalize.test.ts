/**
 * Normalisation: every source's spelling of a company comes out the same. Legal forms in many
 * languages go, accents and punctuation fold, `&` is `and`; domains come from websites and company
 * emails but never from free-mail; tax ids carry their country and an invalid one is no tax id.
 */
import { describe, expect, it } from 'vitest';
import {
  domainFromEmail,
  foldText,
  normalizeAddress,
  normalizeCountry,
  normalizeDomain,
  normalizeName,
  normalizePostalCode,
  normalizeTaxId,
  phoneticKey,
  profileOf,
} from '../../../../src/processors/match-merge/normalize.ts';
import { parseSourceRecord } from '../../../../src/processors/match-merge/types.ts';
import { SynclineError } from '../../../../src/runtime/errors.ts';

describe('normalizeName', () => {
  it.each([
    ['Nordwind Logistik GmbH', 'nordwind logistik', 'gmbh'],
    ['Nordwind Logistik G.m.b.H.', 'nordwind logistik', 'gmbh'],
    ['Alpenglow Energie Ges.m.b.H.', 'alpenglow energie', 'gesmbh'],
    ['Evergreen Group GmbH & Co. KG', 'evergreen group', 'gmbh and co kg'],
    ['Bausysteme Müller GmbH u. Co. KG', 'bausysteme muller', 'gmbh u co kg'],
    ['Siemens Aktiengesellschaft', 'siemens', 'aktiengesellschaft'],
    ['Acme, Inc.', 'acme', 'inc'],
    ['ACME INCORPORATED', 'acme', 'incorporated'],
    ['Acme Corp.', 'acme', 'corp'],
    ['Kestrel Analytics L.L.C.', 'kestrel analytics', 'llc'],
    ['Tidewater Labs Public Limited Company', 'tidewater labs', 'public limited company'],
    ['Harbor Foods Pty Ltd', 'harbor foods', 'pty ltd'],
    ['Société Générale S.A.', 'societe generale', 'sa'],
    ['Duval Conseil S.A.S.', 'duval conseil', 'sas'],
    ['Moreau Informatique SARL', 'moreau informatique', 'sarl'],
    ['Van Dijk Systems B.V.', 'van dijk systems', 'bv'],
    ['De Vries Logistics N.V.', 'de vries logistics', 'nv'],
    ['Kone Oyj', 'kone', 'oyj'],
    ['Nordisk Hygiene A/S', 'nordisk hygiene', 'as'],
    ['Lindqvist Verkstad AB', 'lindqvist verkstad', 'ab'],
    ['Fiat S.p.A.', 'fiat', 'spa'],
    ['Rossi Costruzioni S.r.l.', 'rossi costruzioni', 'srl'],
    ['Sony Kabushiki Kaisha', 'sony', 'kabushiki kaisha'],
    ['Smith & Co.', 'smith', 'co'],
  ])('%s → %s (legal form %s)', (raw, name, legalForm) => {
    const normalized = normalizeName(raw);
    expect(normalized.name).toBe(name);
    expect(normalized.legalForm).toBe(legalForm);
  });

  it('spells & and + as and, so the two spellings of one name are equal', () => {
    expect(normalizeName('Procter & Gamble').name).toBe(normalizeName('Procter and Gamble').name);
    expect(normalizeName('Procter+Gamble').name).toBe('procter and gamble');
  });

  it('keeps the first word even when it is a legal form elsewhere, and a name that is only a legal form', () => {
    expect(normalizeName('AB Volvo').name).toBe('ab volvo');
    expect(normalizeName('GmbH').name).toBe('gmbh');
  });

  it('drops a leading "The", joins spaced initials and collapses stray whitespace', () => {
    expect(normalizeName('  The   Coca-Cola Company ').name).toBe('coca cola');
    expect(normalizeName('I B M Deutschland GmbH').name).toBe('ibm deutschland');
  });

  it('lists significant tokens without stopwords', () => {
    expect(normalizeName('Bank of the West Inc').tokens).toEqual(['bank', 'west']);
  });
});

describe('foldText', () => {
  it('folds case, diacritics and letters that do not decompose', () => {
    expect(foldText('Ærøskøbing Straße')).toBe('aeroskobing strasse');
    expect(foldText('Łódź Ĳssel Ça')).toBe('lodz ijssel ca');
    expect(foldText('MÜNCHEN')).toBe('munchen');
  });

  it('joins what periods and apostrophes separate and splits on other punctuation', () => {
    expect(foldText("O'Neil-Smith, S.A.")).toBe('oneil smith sa');
  });
});

describe('domains', () => {
  it.each([
    ['https://www.Nordwind.de/kontakt', 'nordwind.de'],
    ['www.nordwind.de', 'nordwind.de'],
    ['nordwind.de', 'nordwind.de'],
    ['http://shop.eu.nordwind.co.uk', 'nordwind.co.uk'],
    ['acme.github.io', 'acme.github.io'],
  ])('website %s → %s', (website, domain) => {
    expect(normalizeDomain(website)).toBe(domain);
  });

  it.each([
    '192.168.1.20',
    'http://localhost:8080',
    'https://www.linkedin.com/company/acme',
    'not a domain',
    '',
  ])('no company domain in %j', (website) => {
    expect(normalizeDomain(website)).toBeNull();
  });

  it('takes the company domain of an email, lower case, without subdomain', () => {
    expect(domainFromEmail('AP@Mail.Nordwind.DE')).toBe('nordwind.de');
    expect(domainFromEmail('billing@bluewater.co.uk')).toBe('bluewater.co.uk');
  });

  it.each([
    'jane@gmail.com',
    'j.doe@outlook.com',
    'x@yahoo.co.uk',
    'max@gmx.de',
    'a@web.de',
    'b@hotmail.fr',
    'c@icloud.com',
  ])('ignores the free-mail domain of %s', (email) => {
    expect(domainFromEmail(email)).toBeNull();
  });
});

describe('normalizeTaxId', () => {
  it.each([
    ['DE 123 456 789', null, 'DE', 'DE123456789'],
    ['de123456789', null, 'DE', 'DE123456789'],
    ['123456789', 'DE', 'DE', 'DE123456789'],
    ['123.456.789', 'Germany', 'DE', 'DE123456789'],
    ['ATU12345678', null, 'AT', 'ATU12345678'],
    ['U12345678', 'AT', 'AT', 'ATU12345678'],
    ['FR12 345678901', null, 'FR', 'FR12345678901'],
    ['12345678901', 'FR', 'FR', 'FR12345678901'],
    ['NL123456789B01', null, 'NL', 'NL123456789B01'],
    ['123456789b01', 'NL', 'NL', 'NL123456789B01'],
    ['GB 123 4567 89', null, 'GB', 'GB123456789'],
    ['EL123456789', null, 'GR', 'EL123456789'],
    ['CHE-123.456.789 MWST', null, 'CH', 'CHE123456789'],
    ['12-3456789', 'US', 'US', '123456789'],
    ['ESB12345678', null, 'ES', 'ESB12345678'],
  ])('%s (country %s) → %s %s', (raw, country, expectedCountry, value) => {
    expect(normalizeTaxId(raw, country)).toEqual({ country: expectedCountry, value });
  });

  it.each([
    ['DE12345', 'DE'],
    ['DE1234567890', 'DE'],
    ['ATU1234', 'AT'],
    ['NL123456789', 'NL'],
    ['12-345', 'US'],
    ['123456789', null],
    ['n/a', 'DE'],
    ['', 'DE'],
  ])('treats %j (country %s) as missing: wrong format or no country', (raw, country) => {
    expect(normalizeTaxId(raw, country)).toBeNull();
  });

  it('takes the country from the VAT prefix over the record country', () => {
    expect(normalizeTaxId('ATU12345678', 'DE')).toEqual({ country: 'AT', value: 'ATU12345678' });
  });
});

describe('addresses and countries', () => {
  it.each([
    ['Germany', 'DE'],
    ['Deutschland', 'DE'],
    ['Österreich', 'AT'],
    ['DEU', 'DE'],
    ['uk', 'GB'],
    ['United States', 'US'],
    ['nl', 'NL'],
    ['Atlantis', null],
  ])('country %s → %s', (input, code) => {
    expect(normalizeCountry(input)).toBe(code);
  });

  it('normalises postal codes per country', () => {
    expect(normalizePostalCode('EC1A 1BB', 'GB')).toBe('EC1A1BB');
    expect(normalizePostalCode('02110-1234', 'US')).toBe('02110');
    expect(normalizePostalCode('D-80331', 'DE')).toBe('80331');
    expect(normalizePostalCode('1012 AB', 'NL')).toBe('1012AB');
    expect(normalizePostalCode('??', 'DE')).toBeNull();
  });

  it('normalises an address and falls back to the record country', () => {
    expect(
      normalizeAddress(
        {
          line1: 'Hauptstr. 5',
          line2: null,
          city: 'München',
          region: 'BY',
          postalCode: '80331',
          country: null,
        },
        'DE',
      ),
    ).toEqual({ line1: 'hauptstrasse 5', city: 'munchen', postalCode: '80331', country: 'DE' });
  });
});

describe('profileOf', () => {
  it('gathers the normalised match attributes of a record', () => {
    const record = parseSourceRecord({
      system: 'stripe',
      id: 'cus_1',
      name: 'NORDWIND LOGISTIK GMBH',
      taxId: '123 456 789',
      email: 'billing@nordwind.de',
      website: 'https://www.nordwind.de',
      address: { line1: 'Am Hafen 3', city: 'Hamburg', postalCode: '20457', country: 'DE' },
      externalRefs: [{ system: 'salesforce', id: '001ABC' }],
      updatedAt: '2025-02-01T10:00:00Z',
    });
    expect(profileOf(record)).toEqual({
      ref: 'stripe:cus_1',
      name: 'nordwind logistik',
      tokens: ['nordwind', 'logistik'],
      tax: 'DE:DE123456789',
      domains: ['nordwind.de'],
      country: 'DE',
      postal: '20457',
      city: 'hamburg',
      refs: ['salesforce:001ABC'],
    });
  });

  it('gives typo variants of a first word the same phonetic key', () => {
    expect(phoneticKey('nordwnd')).toBe(phoneticKey('nordwind'));
    expect(phoneticKey('norddwind')).toBe(phoneticKey('nordwind'));
  });
});

describe('parseSourceRecord', () => {
  it('refuses a record without a name, naming the field', () => {
    expect(() => parseSourceRecord({ system: 'erp', id: 'C-1', name: ' ', updatedAt: 0 })).toThrow(/name/);
    expect(() => parseSourceRecord({ system: 'erp', id: 'C-1', name: ' ', updatedAt: 0 })).toThrow(
      SynclineError,
    );
  });

  it('refuses an unknown system and unknown fields', () => {
    expect(() => parseSourceRecord({ system: 'hubspot', id: '1', name: 'A', updatedAt: 0 })).toThrow(
      /system/,
    );
    expect(() =>
      parseSourceRecord({ system: 'erp', id: '1', name: 'A', updatedAt: 0, colour: 'red' }),
    ).toThrow(/colour|unrecognized/i);
  });

  it('fills defaults: entity per system, version from updatedAt, empty lists', () => {
    const record = parseSourceRecord({
      system: 'zendesk',
      id: '42',
      name: 'Acme',
      updatedAt: '2025-01-01T00:00:00Z',
    });
    expect(record.entity).toBe('organization');
    expect(record.version).toBe(Date.parse('2025-01-01T00:00:00Z'));
    expect(record.domains).toEqual([]);
    expect(record.externalRefs).toEqual([]);
    expect(record.taxId).toBeNull();
  });
});
