/**
 * Classification turns anything thrown into a SynclineError whose `retriable` flag steers the flow:
 * it never throws itself, programmer errors are permanent, kafkajs' own verdict is kept, and
 * network failures are worth retrying.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';

describe('classify', () => {
  it('never throws, whatever was thrown', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(classify(value)).toBeInstanceOf(SynclineError);
      }),
    );
  });

  it('never throws on hostile errors (throwing getters, cyclic causes)', () => {
    const hostile = new Error('boom');
    Object.defineProperty(hostile, 'retriable', {
      get() {
        throw new Error('getter exploded');
      },
    });
    const cyclic = new Error('cycle') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    const noPrototype = Object.create(null) as object;
    for (const value of [hostile, cyclic, noPrototype, Symbol('s'), () => 1]) {
      expect(classify(value)).toBeInstanceOf(SynclineError);
    }
  });

  it.each([new TypeError('x is undefined'), new RangeError('bad length'), new SyntaxError('bad token')])(
    'treats a programmer error (%s) as permanent',
    (error) => {
      const failure = classify(error);
      expect(failure.retriable).toBe(false);
      expect(failure.cause).toBe(error);
    },
  );

  it('keeps the verdict of a kafkajs-style error that says whether it is retriable', () => {
    const retriable = Object.assign(new Error('leader not available'), {
      name: 'KafkaJSProtocolError',
      retriable: true,
    });
    const permanent = Object.assign(new Error('invalid record'), {
      name: 'KafkaJSNonRetriableError',
      retriable: false,
    });
    expect(classify(retriable)).toMatchObject({ retriable: true, code: ErrorCodes.BROKER_UNAVAILABLE });
    expect(classify(permanent).retriable).toBe(false);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'])(
    'treats network code %s as retriable',
    (code) => {
      const error = Object.assign(new Error(`connect ${code}`), { code });
      expect(classify(error).retriable).toBe(true);
    },
  );

  it('treats an unknown error as permanent: unexplained failures are not retried blindly', () => {
    expect(classify(new Error('what happened')).retriable).toBe(false);
    expect(classify('a string').message).toContain('a string');
  });

  it('returns a SynclineError as is, or with the added context merged in', () => {
    const original = SynclineError.retriable(ErrorCodes.TIMEOUT, 'slow', { target: 'erp' });
    expect(classify(original)).toBe(original);
    const withContext = classify(original, { topic: 'canonical.customer' });
    expect(withContext).toMatchObject({
      code: ErrorCodes.TIMEOUT,
      retriable: true,
      context: { target: 'erp', topic: 'canonical.customer' },
    });
  });

  it('serialises to a plain object for logs and DLQ headers', () => {
    const failure = new SynclineError(ErrorCodes.TARGET_RATE_LIMITED, '429', {
      retriable: true,
      retryAfterMs: 2000,
      context: { target: 'erp' },
    });
    expect(JSON.parse(JSON.stringify(failure))).toEqual({
      code: 'TARGET_RATE_LIMITED',
      message: '429',
      retriable: true,
      context: { target: 'erp' },
      retryAfterMs: 2000,
    });
  });
});
