/**
 * A golden record's member snapshots as `mdm.customer.golden` carries them (Avro `MemberSnapshot`,
 * schema version 2), and back. The engine keeps each linked source record whole because matching
 * (blocking keys, scoring profiles) and survivorship read every member, not only the values that
 * survived; a rebuild from the compacted topic therefore needs them whole too. Pure.
 */
import type * as common from '../../schemas/generated/common.ts';
import type * as mdm from '../../schemas/generated/mdm.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { MatchSystems, type MatchSystem, type SourceAddress, type SourceRecord } from './types.ts';

/** The Avro snapshot of a member. */
export function memberSnapshotOf(record: SourceRecord): mdm.MemberSnapshot {
  return {
    source: { system: record.system, instance: record.instance, entity: record.entity, id: record.id },
    name: record.name,
    taxId: record.taxId,
    country: record.country,
    website: record.website,
    domains: [...record.domains],
    email: record.email,
    billingEmail: record.billingEmail,
    phone: record.phone,
    address: record.address ? postalAddressOf(record.address) : null,
    industry: record.industry,
    ownerId: record.ownerId,
    currency: record.currency,
    supportTier: record.supportTier,
    creditStatus: record.creditStatus,
    employees: record.employees,
    externalRefs: record.externalRefs.map((ref) => ({ system: ref.system, id: ref.id })),
    updatedAt: record.updatedAt,
    sourceVersion: record.version,
  };
}

/**
 * The member a snapshot describes, as the engine keeps it. A snapshot naming a system match-merge
 * does not resolve (a reader that read a newer symbol as `unknown`) is refused: guessing would
 * corrupt the cross-reference.
 */
export function memberOfSnapshot(snapshot: mdm.MemberSnapshot): SourceRecord {
  return {
    system: matchSystem(snapshot.source.system, `${snapshot.source.system}:${snapshot.source.id}`),
    id: snapshot.source.id,
    entity: snapshot.source.entity,
    instance: snapshot.source.instance,
    name: snapshot.name,
    taxId: snapshot.taxId,
    country: snapshot.country,
    website: snapshot.website,
    domains: [...snapshot.domains],
    email: snapshot.email,
    billingEmail: snapshot.billingEmail,
    phone: snapshot.phone,
    address: snapshot.address ? sourceAddressOf(snapshot.address) : null,
    industry: snapshot.industry,
    ownerId: snapshot.ownerId,
    currency: snapshot.currency,
    supportTier: snapshot.supportTier,
    creditStatus: snapshot.creditStatus,
    employees: snapshot.employees,
    externalRefs: snapshot.externalRefs.map((ref) => ({
      system: matchSystem(ref.system, `external ref ${ref.system}:${ref.id}`),
      id: ref.id,
    })),
    updatedAt: snapshot.updatedAt,
    version: snapshot.sourceVersion,
  };
}

function postalAddressOf(address: SourceAddress): common.PostalAddress {
  return {
    line1: address.line1,
    line2: address.line2,
    city: address.city,
    region: address.region,
    postalCode: address.postalCode,
    countryCode: address.country,
  };
}

function sourceAddressOf(address: common.PostalAddress): SourceAddress {
  return {
    line1: address.line1,
    line2: address.line2,
    city: address.city,
    region: address.region,
    postalCode: address.postalCode,
    country: address.countryCode,
  };
}

function matchSystem(system: string, what: string): MatchSystem {
  if ((MatchSystems as readonly string[]).includes(system)) return system as MatchSystem;
  throw SynclineError.permanent(
    ErrorCodes.INPUT_INVALID,
    `member snapshot ${what}: system ${system} is not one match-merge resolves`,
    { part: 'match-merge' },
  );
}
