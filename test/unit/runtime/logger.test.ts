/**
 * Secrets and signatures never reach a log line: they are redacted wherever we log them (request
 * headers, config, error context), while the rest of the line stays readable.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, withCorrelation } from '../../../src/runtime/logger.ts';

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination: stream });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, text: () => chunks.join('') };
}

describe('logger', () => {
  it('redacts signature headers and bearer tokens of a logged request', () => {
    const { logger, lines, text } = capture();
    logger.info(
      {
        req: {
          method: 'POST',
          url: '/webhooks/stripe',
          headers: {
            authorization: 'Bearer admin-token-SECRET-1',
            'stripe-signature': 't=1,v1=SIGNATURE-2',
            'x-syncline-signature': 't=1,v1=SIGNATURE-3',
            'x-zendesk-webhook-signature': 'SIGNATURE-4',
            'content-type': 'application/json',
          },
        },
      },
      'webhook received',
    );
    for (const secret of ['SECRET-1', 'SIGNATURE-2', 'SIGNATURE-3', 'SIGNATURE-4']) {
      expect(text()).not.toContain(secret);
    }
    const line = lines()[0]!;
    const headers = (line.req as { headers: Record<string, string> }).headers;
    expect(headers.authorization).toBe('[redacted]');
    expect(headers['stripe-signature']).toBe('[redacted]');
    expect(headers['content-type']).toBe('application/json');
    expect(line.msg).toBe('webhook received');
  });

  it('redacts the secrets of a logged config', () => {
    const { logger, text } = capture();
    logger.info(
      {
        config: {
          adminToken: 'TOKEN-SECRET',
          kafka: { brokers: ['k:9092'], sasl: { username: 'u', password: 'SASL-SECRET' } },
          webhookSecrets: { stripe: ['WHSEC-SECRET'] },
          databaseUrl: 'postgres://u:DB-SECRET@db/syncline',
          redisUrl: 'redis://:REDIS-SECRET@redis:6379',
        },
      },
      'configuration loaded',
    );
    for (const secret of ['TOKEN-SECRET', 'SASL-SECRET', 'WHSEC-SECRET', 'DB-SECRET', 'REDIS-SECRET']) {
      expect(text()).not.toContain(secret);
    }
    expect(text()).toContain('k:9092');
  });

  it('redacts password, secret, token and signature fields one level down', () => {
    const { logger, text } = capture();
    logger.warn({ target: { token: 'T-SECRET', password: 'P-SECRET' }, signature: 'S-SECRET' }, 'x');
    for (const secret of ['T-SECRET', 'P-SECRET', 'S-SECRET']) expect(text()).not.toContain(secret);
  });

  it('carries the correlation id on every line of a child logger', () => {
    const { logger, lines } = capture();
    const child = withCorrelation(logger, 'corr-123', { source: 'stripe' });
    child.info('one');
    child.debug('two');
    expect(lines().map((line) => [line.correlationId, line.source])).toEqual([
      ['corr-123', 'stripe'],
      ['corr-123', 'stripe'],
    ]);
  });
});
