/**
 * ERP customer → raw record value (`syncline.raw.erp.Customer`): the poll that found it and the
 * customer master with its amounts converted exactly into minor units of its currency.
 */
import { obj, opt, optIsoToMs, optMinorUnits, isoToMs, symbol, type Json } from '../avro-values.ts';
import { CREDIT_STATUSES, type ErpCustomer } from './erp-customer.ts';

export interface PollMeta {
  cursor: string;
  page: number;
  polledAt: number;
}

export function customerMaster(customer: ErpCustomer): Json {
  const address = obj(customer.address);
  return {
    customerNumber: customer.customerNumber,
    name: customer.name,
    name2: opt(customer.name2),
    legalForm: opt(customer.legalForm),
    taxNumber: opt(customer.taxNumber),
    vatId: opt(customer.vatId),
    address: {
      line1: opt(address.line1),
      line2: opt(address.line2),
      city: opt(address.city),
      region: opt(address.region),
      postalCode: opt(address.postalCode),
      countryCode: opt(address.countryCode),
    },
    email: opt(customer.email),
    phone: opt(customer.phone),
    currency: customer.currency,
    paymentTermsCode: opt(customer.paymentTermsCode),
    // ERPs hand out decimal amounts (converted exactly) or, some, minor units already.
    creditLimitMinor: customer.creditLimitMinor ?? optMinorUnits(customer.creditLimit, customer.currency),
    creditExposureMinor:
      customer.creditExposureMinor ?? optMinorUnits(customer.creditExposure, customer.currency),
    creditStatus: symbol(customer.creditStatus, CREDIT_STATUSES, 'UNKNOWN'),
    creditStatusChangedAt: optIsoToMs(customer.creditStatusChangedAt),
    salesBlocked: customer.salesBlocked ?? false,
    blockReason: opt(customer.blockReason),
    accountGroup: opt(customer.accountGroup),
    companyCode: customer.companyCode,
    deleted: customer.deleted ?? false,
    updatedAt: isoToMs(customer.updatedAt),
    rowVersion: customer.rowVersion,
  };
}
