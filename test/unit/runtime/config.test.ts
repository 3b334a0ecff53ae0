/**
 * Configuration is validated once at start-up: every bad value is named with its variable on a line
 * of its own, secrets never appear in the message, and the defaults are the local stack's
 * (DESIGN.md, "Environment").
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';

/** The message of the CONFIG_INVALID error `env` produces (fails the test if it does not throw). */
function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SynclineError);
    const failure = error as SynclineError;
    expect(failure.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(failure.retriable).toBe(false);
    return failure.message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** The lines naming a problem (after the "invalid configuration:" heading). */
function problemLines(message: string): string[] {
  return message
    .split('\n')
    .slice(1)
    .map((line) => line.trim());
}

describe('loadConfig', () => {
  it('defaults to the local stack described in DESIGN.md', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toEqual(['localhost:9092']);
    expect(config.schemaRegistryUrl).toBe('http://localhost:8085/apis/ccompat/v7');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/syncline');
    expect(config.adminPort).toBe(9464);
    expect(config.adminHost).toBe('127.0.0.1');
    expect(config.webhookPort).toBe(8080);
    expect(config.logLevel).toBe('info');
    expect(config.adminToken).toBeUndefined();
    expect(config.kafka.sasl).toBeUndefined();
    expect(config.webhookSecrets).toEqual({ stripe: [], salesforce: [], zendesk: [] });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KAFKA_BROKERS: '', LOG_LEVEL: '' }).kafka.brokers).toEqual(['localhost:9092']);
  });

  it.each([
    ['KAFKA_BROKERS', 'kafka', 'host:port'],
    ['KAFKA_BROKERS', 'a:9092,b', 'host:port'],
    ['SCHEMA_REGISTRY_URL', 'localhost:8085', 'http://'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'redis://'],
    ['DATABASE_URL', 'mysql://db/syncline', 'postgres://'],
    ['ADMIN_TOKEN', 'short', '16 characters'],
    ['LOG_LEVEL', 'loud', 'must be one of'],
    ['ADMIN_PORT', 'abc', 'port number'],
    ['ADMIN_PORT', '0', 'port number'],
    ['WEBHOOK_PORT', '70000', 'port number'],
    ['KAFKA_SSL', 'yes', 'true, false'],
  ])('names %s=%j in the error', (variable, value, hint) => {
    const lines = problemLines(problems({ [variable]: value }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${variable}: `));
    expect(lines[0]).toContain(hint);
  });

  it('names the missing SASL username and password when a mechanism is set', () => {
    const lines = problemLines(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }));
    expect(lines).toEqual([
      'KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set',
      'KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set',
    ]);
    const onlyUser = problemLines(
      problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'pw-is-here-123' }),
    );
    expect(onlyUser).toEqual(['KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set']);
  });

  it('reports several bad values at once, one line each', () => {
    const lines = problemLines(
      problems({
        KAFKA_BROKERS: 'kafka',
        REDIS_URL: 'nope',
        LOG_LEVEL: 'loud',
        ADMIN_PORT: '-1',
        KAFKA_SASL_MECHANISM: 'plain',
      }),
    );
    const variables = lines.map((line) => line.split(':')[0]);
    expect(variables.sort()).toEqual(
      [
        'ADMIN_PORT',
        'KAFKA_BROKERS',
        'KAFKA_SASL_PASSWORD',
        'KAFKA_SASL_USERNAME',
        'LOG_LEVEL',
        'REDIS_URL',
      ].sort(),
    );
  });

  it('never echoes a secret or a URL that may carry credentials', () => {
    const message = problems({
      ADMIN_TOKEN: 'SECRET1',
      REDIS_URL: 'http://user:SECRET2@redis:6379',
      DATABASE_URL: 'mysql://user:SECRET3@db/syncline',
      KAFKA_SASL_MECHANISM: 'bogus',
      KAFKA_SASL_PASSWORD: 'SECRET4',
    });
    expect(message).toContain('ADMIN_TOKEN');
    expect(message).toContain('REDIS_URL');
    expect(message).toContain('DATABASE_URL');
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4']) expect(message).not.toContain(secret);
  });

  it('echoes a non-secret bad value to help the operator', () => {
    expect(problems({ KAFKA_BROKERS: 'kafka' })).toContain('(got "kafka")');
  });

  it('parses comma-separated webhook secrets into lists, so a secret can be rotated', () => {
    const config = loadConfig({
      STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new',
      SALESFORCE_WEBHOOK_SECRET: 'only-one',
      ZENDESK_WEBHOOK_SECRET: 'a,,b,',
    });
    expect(config.webhookSecrets).toEqual({
      stripe: ['whsec_old', 'whsec_new'],
      salesforce: ['only-one'],
      zendesk: ['a', 'b'],
    });
  });

  it('reads brokers, SASL credentials and the admin settings when they are valid', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'syncline',
      KAFKA_SASL_PASSWORD: 'pw',
      ADMIN_TOKEN: 'a-token-of-sixteen+',
      ADMIN_HOST: '0.0.0.0',
      ADMIN_PORT: '9999',
      SCHEMA_REGISTRY_URL: 'https://registry.example/apis/ccompat/v7/',
    });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'syncline', password: 'pw' });
    expect(config.adminToken).toBe('a-token-of-sixteen+');
    expect(config.adminHost).toBe('0.0.0.0');
    expect(config.adminPort).toBe(9999);
    expect(config.schemaRegistryUrl).toBe('https://registry.example/apis/ccompat/v7');
  });
});
