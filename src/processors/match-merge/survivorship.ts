/**
 * Survivorship: which source's value each attribute of a golden record takes. Per attribute, the
 * sources are ranked by trust (the ERP owns the legal name and tax id, billing owns the billing
 * email and currency, the CRM owns industry, owner and website, support owns the support tier);
 * among equally trusted sources with a value, the most recently updated wins. Every surviving value
 * keeps its provenance: the contributing source (system, instance, entity, id), the source version
 * and time it was observed at, and the rule that chose it. Pure.
 */
import type * as common from '../../schemas/generated/common.ts';
import type * as mdm from '../../schemas/generated/mdm.ts';
import { domainsOf, normalizeCountry, normalizeName, normalizeTaxId } from './normalize.ts';
import type { GoldenAttributes, MatchSystem, SourceRecord, Surviving } from './types.ts';
import { sourceKey } from './types.ts';

export type AttributeName = keyof GoldenAttributes;

/**
 * Per attribute, the systems from most to least trusted. A system not listed ranks below every
 * listed one (its value still survives when no listed system has one).
 */
export type TrustRanking = Record<AttributeName, readonly MatchSystem[]>;

export const DEFAULT_TRUST: TrustRanking = {
  legalName: ['erp', 'salesforce', 'stripe', 'zendesk'],
  displayName: ['salesforce', 'erp', 'zendesk', 'stripe'],
  domain: ['salesforce', 'zendesk', 'erp', 'stripe'],
  website: ['salesforce', 'erp', 'zendesk', 'stripe'],
  taxId: ['erp', 'stripe', 'salesforce', 'zendesk'],
  // Always taken from the source that won `taxId`, so the two never disagree; listed for completeness.
  taxCountry: ['erp', 'stripe', 'salesforce', 'zendesk'],
  countryCode: ['erp', 'salesforce', 'stripe', 'zendesk'],
  address: ['erp', 'stripe', 'salesforce', 'zendesk'],
  email: ['stripe', 'erp', 'salesforce', 'zendesk'],
  phone: ['salesforce', 'erp', 'zendesk', 'stripe'],
  industry: ['salesforce', 'erp', 'zendesk', 'stripe'],
  ownerId: ['salesforce', 'erp', 'zendesk', 'stripe'],
  currency: ['stripe', 'erp', 'salesforce', 'zendesk'],
  supportTier: ['zendesk', 'salesforce', 'stripe', 'erp'],
  creditStatus: ['erp', 'stripe', 'salesforce', 'zendesk'],
  employees: ['salesforce', 'erp', 'stripe', 'zendesk'],
};

/** The value an attribute takes from one source record; null when that record has none. */
const EXTRACT: { [K in Exclude<AttributeName, 'taxCountry'>]: (record: SourceRecord) => ValueOf<K> | null } =
  {
    legalName: (record) => collapse(record.name),
    displayName: (record) => displayNameOf(record.name),
    domain: (record) => domainsOf(record)[0] ?? null,
    website: (record) => record.website,
    taxId: (record) => normalizeTaxId(record.taxId, record.country ?? record.address?.country)?.value ?? null,
    countryCode: (record) => normalizeCountry(record.country) ?? normalizeCountry(record.address?.country),
    address: (record) => addressOf(record),
    email: (record) => record.billingEmail ?? record.email,
    phone: (record) => record.phone,
    industry: (record) => record.industry,
    ownerId: (record) => record.ownerId,
    currency: (record) =>
      record.currency && /^[A-Za-z]{3}$/.test(record.currency) ? record.currency.toUpperCase() : null,
    supportTier: (record) => record.supportTier,
    creditStatus: (record) => record.creditStatus,
    employees: (record) => record.employees,
  };

type ValueOf<K extends AttributeName> = NonNullable<GoldenAttributes[K]>['value'];

/** The golden attributes of a set of member records. */
export function survive(
  members: readonly SourceRecord[],
  trust: TrustRanking = DEFAULT_TRUST,
): GoldenAttributes {
  const pick = <K extends Exclude<AttributeName, 'taxCountry'>>(attribute: K): Surviving<ValueOf<K>> | null =>
    choose(members, trust[attribute], EXTRACT[attribute]);
  const taxId = pick('taxId');
  const taxSource = taxId ? members.find((member) => sameRef(member, taxId.provenance.source)) : undefined;
  const taxCountry =
    taxId && taxSource
      ? {
          value:
            normalizeTaxId(taxSource.taxId, taxSource.country ?? taxSource.address?.country)?.country ?? '',
          provenance: taxId.provenance,
        }
      : null;
  return {
    legalName: pick('legalName'),
    displayName: pick('displayName'),
    domain: pick('domain'),
    website: pick('website'),
    taxId,
    taxCountry: taxCountry?.value ? taxCountry : null,
    countryCode: pick('countryCode'),
    address: pick('address'),
    email: pick('email'),
    phone: pick('phone'),
    industry: pick('industry'),
    ownerId: pick('ownerId'),
    currency: pick('currency'),
    supportTier: pick('supportTier'),
    creditStatus: pick('creditStatus'),
    employees: pick('employees'),
  };
}

/**
 * The winning value of one attribute: most trusted system first, then most recent update, then
 * highest source version, then source key (so the outcome never depends on member order).
 */
export function choose<T>(
  members: readonly SourceRecord[],
  ranking: readonly MatchSystem[],
  extract: (record: SourceRecord) => T | null,
): Surviving<T> | null {
  const rankOf = (system: MatchSystem): number => {
    const index = ranking.indexOf(system);
    return index === -1 ? ranking.length : index;
  };
  const holders = members
    .map((record) => ({ record, value: extract(record) }))
    .filter(
      (entry): entry is { record: SourceRecord; value: T } =>
        entry.value !== null && entry.value !== undefined && entry.value !== '',
    )
    .sort(
      (a, b) =>
        rankOf(a.record.system) - rankOf(b.record.system) ||
        b.record.updatedAt - a.record.updatedAt ||
        b.record.version - a.record.version ||
        (sourceKey(a.record) < sourceKey(b.record) ? -1 : 1),
    );
  const winner = holders[0];
  if (!winner) return null;
  const runnerUp = holders[1];
  const rule: mdm.SurvivorshipRule = !runnerUp
    ? 'ONLY_SOURCE'
    : rankOf(winner.record.system) < rankOf(runnerUp.record.system)
      ? 'TRUST_RANK'
      : 'RECENCY';
  return { value: winner.value, provenance: provenanceOf(winner.record, rule) };
}

export function sourceRefOf(record: SourceRecord): common.SourceRef {
  return { system: record.system, instance: record.instance, entity: record.entity, id: record.id };
}

function provenanceOf(record: SourceRecord, rule: mdm.SurvivorshipRule): mdm.Provenance {
  return { source: sourceRefOf(record), sourceVersion: record.version, observedAt: record.updatedAt, rule };
}

function sameRef(record: SourceRecord, ref: common.SourceRef): boolean {
  return record.system === ref.system && record.id === ref.id;
}

function collapse(text: string): string | null {
  const collapsed = text.trim().replace(/\s+/g, ' ');
  return collapsed || null;
}

/**
 * The name as written, without its legal form: `Nordwind Logistik GmbH & Co. KG` → `Nordwind
 * Logistik`: the shortest leading run of its words that normalises to the same name.
 */
export function displayNameOf(name: string): string | null {
  const words = collapse(name)?.split(' ') ?? [];
  const target = normalizeName(name).name;
  for (let count = 1; count < words.length; count += 1) {
    const prefix = words.slice(0, count).join(' ');
    if (normalizeName(prefix).name === target) return prefix.replace(/[\s,;]+$/, '') || null;
  }
  return words.join(' ') || null;
}

function addressOf(record: SourceRecord): common.PostalAddress | null {
  const address = record.address;
  if (!address || !(address.line1 || address.city || address.postalCode)) return null;
  return {
    line1: address.line1,
    line2: address.line2,
    city: address.city,
    region: address.region,
    postalCode: address.postalCode,
    countryCode: normalizeCountry(address.country) ?? normalizeCountry(record.country),
  };
}
