/**
 * The broker-free parts of the event bus: how kafkajs errors map to SynclineErrors (looking down
 * the cause chain kafkajs wraps them in), and how `eachRecord` walks a batch.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { eachRecord } from '../../../src/runtime/bus/each-record.ts';
import { mapKafkaError } from '../../../src/runtime/bus/kafkajs-errors.ts';
import { headerText, type IncomingBatch, type IncomingRecord } from '../../../src/runtime/bus/types.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';

// kafkajs is CommonJS; Node's ESM loader cannot see its error classes as named exports.
const {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} = kafkajs;

function protocolError(type: string, retriable: boolean): Error {
  const reason = Object.assign(new Error(`${type} from broker`), { type, code: 0, retriable });
  return new KafkaJSProtocolError(reason);
}

describe('mapKafkaError', () => {
  it('maps a missing topic, even wrapped in "retries exceeded", to TOPIC_NOT_FOUND', () => {
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true), {
      retryCount: 5,
      retryTime: 100,
    });
    expect(mapKafkaError(wrapped, { topic: 'raw.stripe.customer' })).toMatchObject({
      code: ErrorCodes.TOPIC_NOT_FOUND,
      retriable: true,
      context: { topic: 'raw.stripe.customer', part: 'kafka' },
    });
  });

  it('treats connection failures and exhausted retries as a retriable BROKER_UNAVAILABLE', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', {
      broker: '127.0.0.1:1',
      code: 'ECONNREFUSED',
    });
    const exhausted = new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 100 });
    // As kafkajs' retrier wraps a failure: a non-retriable error whose cause is the real one.
    for (const error of [
      refused,
      exhausted,
      Object.assign(new KafkaJSNonRetriableError(refused), { cause: refused }),
    ]) {
      expect(mapKafkaError(error)).toMatchObject({ code: ErrorCodes.BROKER_UNAVAILABLE, retriable: true });
    }
    expect(mapKafkaError(exhausted).message).toContain('ECONNREFUSED');
  });

  it('treats refused credentials, oversize and invalid records as permanent', () => {
    expect(mapKafkaError(protocolError('SASL_AUTHENTICATION_FAILED', false))).toMatchObject({
      code: ErrorCodes.BROKER_AUTH_FAILED,
      retriable: false,
    });
    expect(mapKafkaError(protocolError('MESSAGE_TOO_LARGE', false))).toMatchObject({
      code: ErrorCodes.PAYLOAD_TOO_LARGE,
      retriable: false,
    });
    expect(mapKafkaError(protocolError('INVALID_RECORD', false))).toMatchObject({
      code: ErrorCodes.INPUT_INVALID,
      retriable: false,
    });
  });

  it('keeps a programmer error permanent and never throws', () => {
    expect(mapKafkaError(new TypeError('x is undefined')).retriable).toBe(false);
    const cyclic = new Error('cycle') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    for (const value of [cyclic, null, undefined, 42, 'text', Object.create(null) as object]) {
      expect(() => mapKafkaError(value)).not.toThrow();
    }
  });
});

/** A batch as the consumer builds it, with controls the test can steer. */
function batchOf(count: number, options: { stopAfter?: number } = {}) {
  const records: IncomingRecord[] = Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition: 0,
    offset: String(i),
    key: null,
    value: Buffer.from(String(i)),
    headers: { seq: [Buffer.from('old'), Buffer.from(String(i))] },
    timestamp: 0,
  }));
  const done: string[] = [];
  let heartbeats = 0;
  const batch: IncomingBatch = {
    topic: 't',
    partition: 0,
    records,
    markDone: (record) => void done.push(record.offset),
    heartbeat: () => {
      heartbeats += 1;
      return Promise.resolve();
    },
    isRunning: () => options.stopAfter === undefined || done.length < options.stopAfter,
    isStale: () => false,
    pause: () => () => undefined,
  };
  return { batch, done, heartbeats: () => heartbeats };
}

describe('eachRecord', () => {
  it('marks each record done after its handler resolved, in order, with a heartbeat each', async () => {
    const { batch, done, heartbeats } = batchOf(4);
    await eachRecord(() => Promise.resolve())(batch);
    expect(done).toEqual(['0', '1', '2', '3']);
    expect(heartbeats()).toBe(4);
  });

  it('leaves the failing record and every later one unmarked', async () => {
    const { batch, done } = batchOf(5);
    const handler = eachRecord((record) =>
      record.offset === '2' ? Promise.reject(new Error('refused')) : Promise.resolve(),
    );
    await expect(handler(batch)).rejects.toThrow('refused');
    expect(done).toEqual(['0', '1']);
  });

  it('takes no next record once the consumer stops', async () => {
    const { batch, done } = batchOf(5, { stopAfter: 2 });
    const seen: string[] = [];
    await eachRecord((record) => {
      seen.push(record.offset);
      return Promise.resolve();
    })(batch);
    expect(seen).toEqual(['0', '1']);
    expect(done).toEqual(['0', '1']);
  });

  it('reads the last value of a repeated header as text', () => {
    const { batch } = batchOf(1);
    expect(headerText(batch.records[0]!.headers, 'seq')).toBe('0');
    expect(headerText(batch.records[0]!.headers, 'absent')).toBeUndefined();
  });
});
