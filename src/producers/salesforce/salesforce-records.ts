/**
 * Salesforce change event → raw record value (`syncline.raw.salesforce.Account|Opportunity`):
 * the change event header, and the entity's fields by their API names with date-times as epoch
 * milliseconds, dates as days, and currency amounts converted exactly into minor units. Update
 * events are sparse: a field the event does not carry is null, and `changedFields` tells a field
 * that was cleared (`nulledFields`) from one that was not sent.
 */
import {
  listOf,
  obj,
  opt,
  optDateToDays,
  optIsoToMs,
  optMinorUnits,
  symbol,
  type Json,
} from '../avro-values.ts';
import { CHANGE_TYPES, type ChangeEventHeader } from './change-event-schema.ts';

export function changeEventHeader(header: ChangeEventHeader): Json {
  return {
    entityName: header.entityName,
    recordIds: header.recordIds,
    changeType: symbol(header.changeType, CHANGE_TYPES, 'UNKNOWN'),
    changeOrigin: opt(header.changeOrigin),
    transactionKey: header.transactionKey,
    sequenceNumber: header.sequenceNumber,
    commitTimestamp: header.commitTimestamp,
    commitNumber: header.commitNumber,
    commitUser: header.commitUser,
    changedFields: header.changedFields ?? [],
    nulledFields: header.nulledFields ?? [],
    diffFields: header.diffFields ?? [],
  };
}

export function accountFields(payload: Json): Json {
  return {
    Name: opt(payload.Name),
    AccountNumber: opt(payload.AccountNumber),
    Type: opt(payload.Type),
    Industry: opt(payload.Industry),
    Website: opt(payload.Website),
    Phone: opt(payload.Phone),
    BillingStreet: opt(payload.BillingStreet),
    BillingCity: opt(payload.BillingCity),
    BillingState: opt(payload.BillingState),
    BillingPostalCode: opt(payload.BillingPostalCode),
    BillingCountry: opt(payload.BillingCountry),
    BillingCountryCode: opt(payload.BillingCountryCode),
    NumberOfEmployees: opt(payload.NumberOfEmployees),
    OwnerId: opt(payload.OwnerId),
    ParentId: opt(payload.ParentId),
    CurrencyIsoCode: opt(payload.CurrencyIsoCode),
    Tax_Id__c: opt(payload.Tax_Id__c),
    Syncline_Golden_Id__c: opt(payload.Syncline_Golden_Id__c),
    CreatedDate: optIsoToMs(payload.CreatedDate),
    LastModifiedDate: optIsoToMs(payload.LastModifiedDate),
    IsDeleted: opt(payload.IsDeleted),
  };
}

export function opportunityFields(payload: Json): Json {
  const currency = payload.CurrencyIsoCode;
  const lineItems =
    payload.LineItems === undefined || payload.LineItems === null ? null : listOf(payload.LineItems);
  return {
    AccountId: opt(payload.AccountId),
    Name: opt(payload.Name),
    StageName: opt(payload.StageName),
    CloseDate: optDateToDays(payload.CloseDate),
    AmountMinor: optMinorUnits(payload.Amount, currency),
    CurrencyIsoCode: opt(currency),
    // Salesforce stores the probability as a percent with decimals; the record keeps whole percent.
    Probability:
      typeof payload.Probability === 'number' ? Math.round(payload.Probability) : opt(payload.Probability),
    IsClosed: opt(payload.IsClosed),
    IsWon: opt(payload.IsWon),
    Type: opt(payload.Type),
    ForecastCategoryName: opt(payload.ForecastCategoryName),
    OwnerId: opt(payload.OwnerId),
    Pricebook2Id: opt(payload.Pricebook2Id),
    ContractTermMonths__c: opt(payload.ContractTermMonths__c),
    ContractStartDate__c: optDateToDays(payload.ContractStartDate__c),
    LineItems:
      lineItems === null
        ? null
        : lineItems.map((entry) => {
            const item = obj(entry);
            return {
              Id: item.Id,
              Product2Id: opt(item.Product2Id),
              ProductCode: opt(item.ProductCode),
              Name: opt(item.Name),
              Quantity: item.Quantity,
              UnitPriceMinor: optMinorUnits(item.UnitPrice, currency),
              TotalPriceMinor: optMinorUnits(item.TotalPrice, currency),
            };
          }),
    CreatedDate: optIsoToMs(payload.CreatedDate),
    LastModifiedDate: optIsoToMs(payload.LastModifiedDate),
    IsDeleted: opt(payload.IsDeleted),
  };
}
