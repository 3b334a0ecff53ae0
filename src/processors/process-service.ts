/**
 * The `process` role: the processing pipeline (decode → canonical mapping → match-merge → idempotency
 * → canonical and mdm topics) with its real mappers, its Redis state and its Kafka bus, started inside
 * a service host. Scale out by starting more processes with this role: they share the consumer group.
 */
import { canonicalCustomerOf, findMapper } from './canonical-mapping/index.ts';
import { MatchEngine } from './match-merge/engine.ts';
import { RedisMatchStore } from './match-merge/store.ts';
import { createProcessor, type PipelineMapping } from './pipeline/processor.ts';
import { createKafkajsBus } from '../runtime/bus/kafkajs.ts';
import type { Config } from '../runtime/config.ts';
import type { Logger } from '../runtime/logger.ts';
import { closeRedis, createRedis, type RedisClientOptions } from '../runtime/redis.ts';
import type { ServiceHost } from '../runtime/service-host.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../schemas/serde.ts';

/** Key prefix of the golden records, blocking index and xref in Redis. */
export const MATCH_PREFIX = 'syncline:mdm:';

/**
 * The processor's Redis client: fails commands fast while Redis is away (the pipeline then pauses)
 * and reconnects by itself (createRedis); auto-pipelining sends the commands issued together (a
 * chunk's claims, versions and golden-id look-ups, another partition's work) in one socket write.
 */
export const PROCESSOR_REDIS: RedisClientOptions = {
  name: 'syncline-processor',
  overrides: { enableAutoPipelining: true },
};

/** The real mappers; a topic without one gives undefined, which the pipeline dead-letters. */
export const canonicalMapping: PipelineMapping = { mapperFor: findMapper, canonicalCustomerOf };

export async function startProcessing(host: ServiceHost, config: Config, logger: Logger): Promise<void> {
  const log = logger.child({ role: 'process' });
  const redis = createRedis(config, log, PROCESSOR_REDIS);
  const processor = createProcessor({
    // With the host's registry: consumer lag, records and produce metrics of the processor's group.
    bus: createKafkajsBus(config, log, { metrics: host.metrics, clientSuffix: 'process' }),
    redis,
    serde: new Serde({
      source: new RegistryClient({ url: config.schemaRegistryUrl }),
      bindings: bindingsFromCatalog(loadCatalog()),
    }),
    engine: new MatchEngine({ store: new RedisMatchStore({ redis, prefix: MATCH_PREFIX }) }),
    mapping: canonicalMapping,
    logger: log,
    metrics: host.metrics,
  });
  host.shutdown.register('redis (process)', async () => {
    await closeRedis(redis);
  });
  await processor.start();
  host.readiness.add({
    name: 'processor',
    check: () =>
      processor.isReady()
        ? Promise.resolve()
        : Promise.reject(new Error('paused: Redis is unreachable, so idempotency cannot be checked')),
  });
  // Registered after Redis, so it closes first: finish the batch, commit, leave the group.
  host.shutdown.register('processor', () => processor.close());
}
