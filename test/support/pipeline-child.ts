/**
 * A processor in a child process, for the kill -9 test: env PIPELINE_PREFIX (topic prefix),
 * PIPELINE_REDIS_PREFIX, PIPELINE_MATCH_PREFIX. Prints `running` once the consumer runs.
 */
import { Redis } from 'ioredis';
import { MatchEngine } from '../../src/processors/match-merge/engine.ts';
import { RedisMatchStore } from '../../src/processors/match-merge/store.ts';
import { createProcessor } from '../../src/processors/pipeline/processor.ts';
import { createKafkajsBus } from '../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { loadCatalog } from '../../src/schemas/catalog.ts';
import { RegistryClient } from '../../src/schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../src/schemas/serde.ts';
import { testMapping } from './pipeline.ts';

const prefix = process.env.PIPELINE_PREFIX ?? '';
const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const redis = new Redis(config.redisUrl);
const processor = createProcessor({
  bus: createKafkajsBus(config, logger),
  redis,
  serde: new Serde({
    source: new RegistryClient({ url: config.schemaRegistryUrl }),
    bindings: bindingsFromCatalog(loadCatalog({ prefix })),
  }),
  engine: new MatchEngine({
    store: new RedisMatchStore({
      redis: new Redis(config.redisUrl),
      prefix: process.env.PIPELINE_MATCH_PREFIX ?? '',
    }),
  }),
  mapping: testMapping,
  logger,
  topicPrefix: prefix,
  redisPrefix: process.env.PIPELINE_REDIS_PREFIX ?? '',
  leaseMs: 2000,
});
await processor.start();
process.stdout.write('running\n');
process.on('SIGTERM', () => {
  void processor.close().then(() => process.exit(0));
});
