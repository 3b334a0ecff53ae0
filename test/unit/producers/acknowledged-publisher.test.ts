/**
 * The bounds the connectors put around the event bus producer: a caller hears back within its
 * timeout; once Kafka has failed, calls are refused at once during a cool-down while one call at a
 * time probes for recovery; a refused record (a permanent error) does not count as Kafka failing.
 */
import { describe, expect, it } from 'vitest';
import { AcknowledgedPublisher } from '../../../src/producers/acknowledged-publisher.ts';
import type { EventProducer, OutgoingRecord } from '../../../src/runtime/bus/types.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';

/** An EventProducer stand-in whose sends the test settles by hand. */
class HeldProducer implements EventProducer {
  readonly sends: {
    records: readonly OutgoingRecord[];
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  closed = false;
  connect(): Promise<void> {
    return Promise.resolve();
  }
  send(records: readonly OutgoingRecord[]): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ records, resolve, reject }));
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const record: OutgoingRecord = { topic: 'raw.test', key: 'k', value: Buffer.from('v') };
const logger = createLogger({ level: 'silent' });

function setup() {
  const producer = new HeldProducer();
  let now = 1_000_000;
  const publisher = new AcknowledgedPublisher({
    producer,
    logger,
    defaultTimeoutMs: 50,
    coolDownMs: 1000,
    now: () => now,
  });
  return { producer, publisher, advance: (ms: number) => (now += ms) };
}

describe('AcknowledgedPublisher', () => {
  it("resolves once the producer acknowledges the call's records", async () => {
    const { producer, publisher } = setup();
    const call = publisher.publish([record, record]);
    expect(producer.sends[0]!.records).toHaveLength(2);
    producer.sends[0]!.resolve();
    await expect(call).resolves.toBeUndefined();
  });

  it('answers a caller with a retriable error when Kafka does not acknowledge in time', async () => {
    const { publisher } = setup();
    await expect(publisher.publish([record], { timeoutMs: 20 })).rejects.toMatchObject({
      code: ErrorCodes.BROKER_UNAVAILABLE,
      retriable: true,
    });
    expect(publisher.isReady()).toBe(false);
  });

  it('refuses calls at once while Kafka is failing, lets one probe through after the cool-down, and recovers', async () => {
    const { producer, publisher, advance } = setup();
    const first = publisher.publish([record]);
    producer.sends[0]!.reject(SynclineError.retriable(ErrorCodes.BROKER_UNAVAILABLE, 'connection refused'));
    await expect(first).rejects.toMatchObject({ retriable: true });

    await expect(publisher.publish([record])).rejects.toMatchObject({ code: ErrorCodes.BROKER_UNAVAILABLE });
    expect(producer.sends).toHaveLength(1);

    advance(1001);
    const probe = publisher.publish([record]);
    await expect(publisher.publish([record])).rejects.toMatchObject({ code: ErrorCodes.BROKER_UNAVAILABLE });
    expect(producer.sends).toHaveLength(2);
    producer.sends[1]!.resolve();
    await probe;
    expect(publisher.isReady()).toBe(true);

    const after = publisher.publish([record]);
    producer.sends[2]!.resolve();
    await after;
  });

  it('does not take a refused record for a failing Kafka', async () => {
    const { producer, publisher } = setup();
    const call = publisher.publish([record]);
    producer.sends[0]!.reject(SynclineError.permanent(ErrorCodes.PAYLOAD_TOO_LARGE, 'message too large'));
    await expect(call).rejects.toMatchObject({ code: ErrorCodes.PAYLOAD_TOO_LARGE, retriable: false });
    expect(publisher.isReady()).toBe(true);
  });

  it('refuses calls after close and closes the producer', async () => {
    const { producer, publisher } = setup();
    await publisher.close();
    expect(producer.closed).toBe(true);
    await expect(publisher.publish([record])).rejects.toMatchObject({
      code: ErrorCodes.SHUTTING_DOWN,
      retriable: true,
    });
  });
});
