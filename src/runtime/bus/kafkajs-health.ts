/**
 * {@link KafkaHealth} on kafkajs: a metadata request (describeCluster) on an admin client of its own
 * that never retries, so a probe answers within its timeout instead of kafkajs' retry budget. The
 * admin connection is kept between probes and rebuilt after a failure. Concurrent probes share
 * one request, so a burst of /readyz calls sends one metadata request.
 */
import { logLevel, type Admin } from 'kafkajs';
import type { Config } from '../config.ts';
import { ErrorCodes, SynclineError } from '../errors.ts';
import { createKafka } from '../kafka.ts';
import type { Logger } from '../logger.ts';
import { mapKafkaError } from './kafkajs-errors.ts';
import type { KafkaHealth } from './types.ts';

export class KafkajsHealth implements KafkaHealth {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #brokers: string;
  #admin: Admin | undefined;
  #probe: Promise<void> | undefined;
  #closed = false;

  constructor(config: Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger.child({ component: 'kafka-health' });
    this.#brokers = config.kafka.brokers.join(',');
  }

  async ping(timeoutMs = 3000): Promise<void> {
    if (this.#closed) throw unavailable(this.#brokers, 'the health probe is closed');
    this.#probe ??= this.#describe(timeoutMs).finally(() => {
      this.#probe = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailable(this.#brokers, `no answer within ${timeoutMs}ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#probe, deadline]);
    } catch (error) {
      // Whatever state the connection is in, the next probe starts from a fresh one.
      this.#reset();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#probe?.catch(() => undefined);
    this.#reset();
  }

  async #describe(timeoutMs: number): Promise<void> {
    try {
      let admin = this.#admin;
      if (!admin) {
        const kafka = createKafka(this.#config, this.#logger, 'health', {
          connectionTimeout: Math.min(timeoutMs, 3000),
          requestTimeout: timeoutMs,
          retry: { retries: 0 },
          // A down broker is reported by the probe's result; kafkajs' own error lines would repeat
          // it on every probe.
          logLevel: logLevel.NOTHING,
        });
        admin = kafka.admin({ retry: { retries: 0 } });
        this.#admin = admin;
        await admin.connect();
      }
      await admin.describeCluster();
    } catch (error) {
      const mapped = mapKafkaError(error);
      throw unavailable(this.#brokers, mapped.message, error);
    }
  }

  #reset(): void {
    const admin = this.#admin;
    this.#admin = undefined;
    admin?.disconnect().catch(() => undefined);
  }
}

function unavailable(brokers: string, reason: string, cause?: unknown): SynclineError {
  return SynclineError.retriable(
    ErrorCodes.BROKER_UNAVAILABLE,
    `Kafka brokers ${brokers} not reachable: ${reason}`,
    { part: 'kafka' },
    cause,
  );
}
