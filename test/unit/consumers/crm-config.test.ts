/**
 * The CRM and support targets are configured from the environment, validated once: one line per bad
 * variable, naming it, with the value shown only when it is no secret.
 */
import { describe, expect, it } from 'vitest';
import { loadCrmTargetConfig } from '../../../src/consumers/crm-writeback/crm-config.ts';
import { loadSupportTargetConfig } from '../../../src/consumers/support-entitlement/support-config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';

function problem(load: () => unknown): SynclineError {
  try {
    load();
  } catch (error) {
    if (error instanceof SynclineError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('Salesforce (sink-crm)', () => {
  it('reads the org URL, the connected app and the defaults', () => {
    expect(
      loadCrmTargetConfig({
        SALESFORCE_LOGIN_URL: 'https://acme.my.salesforce.com/',
        SALESFORCE_CLIENT_ID: 'app',
        SALESFORCE_CLIENT_SECRET: 'secret',
      }),
    ).toEqual({
      loginUrl: 'https://acme.my.salesforce.com',
      clientId: 'app',
      clientSecret: 'secret',
      apiVersion: 'v60.0',
      timeoutMs: 10_000,
    });
  });

  it('names every bad variable on its own line and never shows the secret', () => {
    const error = problem(() =>
      loadCrmTargetConfig({
        SALESFORCE_LOGIN_URL: 'acme',
        SALESFORCE_CLIENT_SECRET: '',
        SALESFORCE_API_VERSION: '60',
        SALESFORCE_TIMEOUT_MS: 'x',
      }),
    );
    expect(error.code).toBe(ErrorCodes.CONFIG_INVALID);
    const lines = error.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
    expect(lines).toEqual([
      'SALESFORCE_LOGIN_URL: must be a URL starting with http:// or https:// (got "acme")',
      "SALESFORCE_CLIENT_ID: required: the connected app's consumer key",
      "SALESFORCE_CLIENT_SECRET: required: the connected app's consumer secret",
      'SALESFORCE_API_VERSION: must look like v60.0 (got "60")',
      expect.stringMatching(/^SALESFORCE_TIMEOUT_MS: .* \(got "x"\)$/) as string,
    ]);
  });
});

describe('Zendesk (sink-support)', () => {
  it('takes an OAuth token, or an API token with the agent email', () => {
    expect(
      loadSupportTargetConfig({ ZENDESK_URL: 'https://acme.zendesk.com', ZENDESK_OAUTH_TOKEN: 't' }),
    ).toEqual({
      url: 'https://acme.zendesk.com',
      credentials: { kind: 'oauth', token: 't' },
      timeoutMs: 10_000,
    });
    expect(
      loadSupportTargetConfig({
        ZENDESK_URL: 'https://acme.zendesk.com',
        ZENDESK_EMAIL: 'ops@acme.example',
        ZENDESK_API_TOKEN: 'k',
      }).credentials,
    ).toEqual({ kind: 'api-token', email: 'ops@acme.example', token: 'k' });
  });

  it('asks for credentials, and for the email an API token belongs to, without showing the token', () => {
    const none = problem(() => loadSupportTargetConfig({ ZENDESK_URL: 'https://acme.zendesk.com' }));
    const noEmail = problem(() =>
      loadSupportTargetConfig({ ZENDESK_URL: 'https://acme.zendesk.com', ZENDESK_API_TOKEN: 'tok-123' }),
    );
    expect(none.message).toContain(
      'ZENDESK_OAUTH_TOKEN: required (or ZENDESK_EMAIL and ZENDESK_API_TOKEN instead)',
    );
    expect(noEmail.message).toContain('ZENDESK_EMAIL: required with ZENDESK_API_TOKEN');
    expect(noEmail.message).not.toContain('tok-123');
  });
});
