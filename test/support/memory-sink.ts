/**
 * A stand-in for the Kafka side of the webhook server in unit tests: it keeps what it is given, and
 * can be told to refuse (as an unreachable broker does) or to hold calls until released.
 */
import { ErrorCodes, SynclineError } from '../../src/runtime/errors.ts';
import type { PublishOptions } from '../../src/producers/acknowledged-publisher.ts';
import type { RawEvent } from '../../src/producers/source.ts';
import type { EventSink } from '../../src/producers/webhook-server.ts';

export class MemorySink implements EventSink {
  readonly published: RawEvent[][] = [];
  mode: 'accept' | 'refuse' | 'hold' = 'accept';
  private readonly held: (() => void)[] = [];

  publish(events: readonly RawEvent[], _options?: PublishOptions): Promise<void> {
    if (this.mode === 'refuse') {
      return Promise.reject(SynclineError.retriable(ErrorCodes.BROKER_UNAVAILABLE, 'Kafka is not reachable'));
    }
    if (this.mode === 'hold') {
      return new Promise((resolve) =>
        this.held.push(() => {
          this.published.push([...events]);
          resolve();
        }),
      );
    }
    this.published.push([...events]);
    return Promise.resolve();
  }

  /** Lets every held call complete. */
  release(): void {
    for (const done of this.held.splice(0)) done();
  }

  get heldCount(): number {
    return this.held.length;
  }

  isReady(): boolean {
    return this.mode !== 'refuse';
  }
}
