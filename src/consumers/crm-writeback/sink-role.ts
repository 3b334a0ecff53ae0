/**
 * Runs one SaaS sink as a role of `syncline run` inside a service host: the shared sink runner
 * (consumer group, decoding, Redis idempotency claims, retries, circuit breaker, DLQ and parking)
 * around the sink, with its Redis client and Kafka bus, readiness and an orderly shutdown. The CRM
 * and support roles differ only in the sink they hand in.
 */
import { Redis } from 'ioredis';
import { createKafkajsBus } from '../../runtime/bus/kafkajs.ts';
import type { Config } from '../../runtime/config.ts';
import { classify } from '../../runtime/errors.ts';
import { createKafka } from '../../runtime/kafka.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { ServiceHost } from '../../runtime/service-host.ts';
import { loadCatalog } from '../../schemas/catalog.ts';
import { RegistryClient } from '../../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../schemas/serde.ts';
import { createSinkRunner, type SinkRunner, type SinkRunnerOptions } from '../runner/runner.ts';
import type { Sink } from '../sink.ts';

/** What tests (isolated topologies) and tuning may change; production passes nothing. */
export interface SinkRoleOptions {
  /** Prepended to every topic and to the group id. */
  topicPrefix?: string;
  /** Key prefix of the idempotency claims in Redis. */
  redisPrefix?: string;
  /** The decoder; by default one over the registry with the catalog's bindings. */
  serde?: Serde;
  /** The runner's tuning (retry policy, batch size, timeouts). */
  runner?: Partial<
    Pick<
      SinkRunnerOptions,
      'retry' | 'leaseMs' | 'maxBatchRecords' | 'applyTimeoutMs' | 'probeTimeoutMs' | 'inlineWaitMs'
    >
  >;
}

export async function runSinkRole(
  host: ServiceHost,
  config: Config,
  logger: Logger,
  sink: Sink,
  options: SinkRoleOptions = {},
): Promise<SinkRunner> {
  const name = `sink-${sink.target}`;
  const redis = new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
  redis.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
  host.shutdown.register(`redis (${name})`, async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const serde =
    options.serde ??
    new Serde({
      source: new RegistryClient({ url: config.schemaRegistryUrl }),
      bindings: bindingsFromCatalog(loadCatalog()),
    });
  const runner = createSinkRunner({
    sink,
    bus: createKafkajsBus(config, logger, { clientSuffix: name }),
    kafka: createKafka(config, logger, `${name}-dlq`),
    redis,
    serde,
    logger,
    metrics: host.metrics,
    ...(options.topicPrefix === undefined ? {} : { topicPrefix: options.topicPrefix }),
    ...(options.redisPrefix === undefined ? {} : { redisPrefix: options.redisPrefix }),
    ...options.runner,
  });
  // Not a start condition: a target that is down is what the circuit breaker is for. Said early,
  // a wrong URL or credentials show in the log at start instead of at the first record.
  await sink.probe().then(
    () => logger.info({ target: sink.target }, 'target answers'),
    (error: unknown) =>
      logger.warn({ target: sink.target, err: classify(error).toJSON() }, 'target does not answer yet'),
  );
  await runner.start();
  host.readiness.add({
    name,
    check: () =>
      runner.isReady()
        ? Promise.resolve()
        : Promise.reject(new Error('paused: Redis is unreachable, so idempotency cannot be checked')),
  });
  // Registered after Redis, so it closes first: finish the record at hand, commit, leave the group.
  host.shutdown.register(name, () => runner.close());
  return runner;
}
