/**
 * Every answer of Salesforce and Zendesk has a class, including the ones the doubles do not produce
 * (Salesforce 429 from a proxy, Zendesk 409 and 403, plain 400s): retriable ones carry the target's
 * Retry-After, permanent ones name the error code and the fields.
 */
import { describe, expect, it } from 'vitest';
import type { HttpAnswer } from '../../../src/consumers/saas/http-target.ts';
import { refusal as salesforceRefusal } from '../../../src/consumers/crm-writeback/salesforce-client.ts';
import { refusal as zendeskRefusal } from '../../../src/consumers/support-entitlement/zendesk-client.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';

function answer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: new Headers(headers), body };
}

const patch = { method: 'PATCH' as const, path: '/sobjects/Opportunity/006000000000001AAA' };
const put = { method: 'PUT' as const, path: '/organizations/360000000001.json' };

describe('Salesforce', () => {
  it.each([
    [
      503,
      [{ errorCode: 'SERVER_UNAVAILABLE', message: 'later' }],
      { 'retry-after': '4' },
      ErrorCodes.TARGET_UNAVAILABLE,
      4000,
    ],
    [429, [], { 'retry-after': '9' }, ErrorCodes.TARGET_RATE_LIMITED, 9000],
    [
      403,
      [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }],
      {},
      ErrorCodes.TARGET_RATE_LIMITED,
      60_000,
    ],
    [400, [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }], {}, ErrorCodes.TARGET_REJECTED, 1000],
    [
      412,
      [{ errorCode: 'PRECONDITION_FAILED', message: 'modified' }],
      {},
      ErrorCodes.TARGET_REJECTED,
      undefined,
    ],
  ])('%i %j is retriable', (status, body, headers, code, retryAfterMs) => {
    const error = salesforceRefusal(answer(status, body, headers), patch, { target: 'crm' });
    expect(error).toMatchObject({ retriable: true, code, retryAfterMs });
  });

  it('field errors, not found and forbidden are permanent, naming the codes and the fields', () => {
    const fields = salesforceRefusal(
      answer(400, [
        {
          errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          message: 'bad value',
          fields: ['ERP_Invoice_Status__c'],
        },
        { errorCode: 'STRING_TOO_LONG', message: 'too long', fields: ['ERP_Invoice_Number__c'] },
      ]),
      patch,
      {},
    );
    const forbidden = salesforceRefusal(
      answer(403, [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'no' }]),
      patch,
      {},
    );
    expect(fields).toMatchObject({ retriable: false, code: ErrorCodes.TARGET_REJECTED });
    expect(fields.context).toMatchObject({
      status: 400,
      errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,STRING_TOO_LONG',
      fields: 'ERP_Invoice_Status__c,ERP_Invoice_Number__c',
    });
    expect(fields.message).toBe(
      'Salesforce PATCH Opportunity: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST on ERP_Invoice_Status__c: bad value; STRING_TOO_LONG on ERP_Invoice_Number__c: too long',
    );
    expect(forbidden.retriable).toBe(false);
    expect(salesforceRefusal(answer(404, 'Not Found'), patch, {}).retriable).toBe(false);
  });
});

describe('Zendesk', () => {
  it.each([
    [429, { error: 'APIRateLimitExceeded' }, { 'retry-after': '12' }, ErrorCodes.TARGET_RATE_LIMITED, 12_000],
    [502, undefined, {}, ErrorCodes.TARGET_UNAVAILABLE, undefined],
    [409, { error: 'Conflict' }, {}, ErrorCodes.TARGET_REJECTED, undefined],
    [401, { error: "Couldn't authenticate you" }, {}, ErrorCodes.TARGET_UNAVAILABLE, 60_000],
    [
      403,
      { error: { title: 'Forbidden', message: 'You do not have access' } },
      {},
      ErrorCodes.TARGET_UNAVAILABLE,
      60_000,
    ],
  ])('%i %j is retriable', (status, body, headers, code, retryAfterMs) => {
    const error = zendeskRefusal(answer(status, body, headers), put, { target: 'support' });
    expect(error).toMatchObject({ retriable: true, code, retryAfterMs });
  });

  it('422 RecordInvalid names each attribute and its error; 400 and 404 are permanent too', () => {
    const invalid = zendeskRefusal(
      answer(422, {
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: {
          name: [{ description: 'Name: has already been taken', error: 'DuplicateValue' }],
          support_level: [
            { description: 'Support level: "gold" is not a valid value', error: 'InvalidValue' },
          ],
        },
      }),
      put,
      {},
    );
    expect(invalid).toMatchObject({ retriable: false, code: ErrorCodes.TARGET_REJECTED });
    expect(invalid.context).toMatchObject({
      status: 422,
      errorCode: 'RecordInvalid',
      fields: 'name,support_level',
    });
    expect(invalid.message).toBe(
      'Zendesk PUT organizations: RecordInvalid: name: Name: has already been taken (DuplicateValue); support_level: Support level: "gold" is not a valid value (InvalidValue)',
    );
    expect(zendeskRefusal(answer(400, { error: 'InvalidParameter' }), put, {}).retriable).toBe(false);
    expect(zendeskRefusal(answer(404, { error: 'RecordNotFound' }), put, {}).retriable).toBe(false);
  });
});
