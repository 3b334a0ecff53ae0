/**
 * `raw.erp.customer` → an identity for match-merge (the ERP customer master), no drafts. The ERP
 * owns the legal name, tax id, address and credit status (see survivorship's trust ranking).
 * Customers flagged for deletion yield nothing: match-merge has no delete, the cross-reference stays.
 */
import type * as erp from '../../schemas/generated/raw/erp.ts';
import type { SourceRecordInput } from '../match-merge/types.ts';
import { mappingFailed, requireId, text } from './mapping-support.ts';
import type { MappingResult, RawMapper } from './types.ts';

export const ERP_CUSTOMER_TOPIC = 'raw.erp.customer';

export const mapErpCustomer: RawMapper = (value): MappingResult => {
  const record = value as unknown as erp.Customer;
  const customer = record.customer;
  const id = requireId(ERP_CUSTOMER_TOPIC, 'customer.customerNumber', customer.customerNumber);
  if (customer.deleted) return { drafts: [] };
  const name = text(customer.name);
  if (name === null) throw mappingFailed(ERP_CUSTOMER_TOPIC, 'customer.name', 'missing');
  const legalName = joinLegalForm(name, text(customer.legalForm));
  const address = customer.address;
  const identity: SourceRecordInput = {
    system: 'erp',
    id,
    entity: 'customer',
    instance: customer.companyCode,
    name: legalName,
    // The VAT id carries its country; the national tax number is read with the seat's country.
    taxId: customer.vatId ?? customer.taxNumber,
    country: address.countryCode,
    email: customer.email,
    billingEmail: customer.email,
    phone: customer.phone,
    address: {
      line1: address.line1,
      line2: address.line2,
      city: address.city,
      region: address.region,
      postalCode: address.postalCode,
      country: address.countryCode,
    },
    currency: customer.currency,
    creditStatus: customer.creditStatus,
    updatedAt: customer.updatedAt,
    version: customer.rowVersion,
  };
  return { identity, drafts: [] };
};

/** The name with its legal form, unless the name already ends with it (`Nordwind GmbH` + `GmbH`). */
function joinLegalForm(name: string, legalForm: string | null): string {
  if (legalForm === null) return name;
  const normalise = (value: string): string => value.toLowerCase().replace(/[.,\s]/g, '');
  return normalise(name).endsWith(normalise(legalForm)) ? name : `${name} ${legalForm}`;
}
