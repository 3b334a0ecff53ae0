/**
 * A sink runner with the ERP REST sink in a child process, for the kill -9 test. Environment:
 * SINK_PREFIX (topic prefix), SINK_REDIS_PREFIX, SINK_ERP_API_URL, SINK_ERP_TOKEN. Prints `running`
 * once the consumer runs. Claims have a short lease so a restart need not wait long for the
 * claims the killed process left behind.
 */
import { Redis } from 'ioredis';
import { ErpRestSink } from '../../src/consumers/erp-rest/erp-rest-sink.ts';
import { createSinkRunner } from '../../src/consumers/runner/runner.ts';
import { createKafkajsBus } from '../../src/runtime/bus/kafkajs.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createKafka } from '../../src/runtime/kafka.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { loadCatalog } from '../../src/schemas/catalog.ts';
import { RegistryClient } from '../../src/schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../src/schemas/serde.ts';

const prefix = process.env.SINK_PREFIX ?? '';
const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const runner = createSinkRunner({
  sink: new ErpRestSink({
    apiUrl: process.env.SINK_ERP_API_URL ?? '',
    token: process.env.SINK_ERP_TOKEN ?? '',
    timeoutMs: 5000,
  }),
  bus: createKafkajsBus(config, logger),
  kafka: createKafka(config, logger, 'sink-child'),
  redis: new Redis(config.redisUrl),
  serde: new Serde({
    source: new RegistryClient({ url: config.schemaRegistryUrl }),
    bindings: bindingsFromCatalog(loadCatalog({ prefix })),
  }),
  logger,
  topicPrefix: prefix,
  redisPrefix: process.env.SINK_REDIS_PREFIX ?? '',
  leaseMs: 2000,
  // Small runs, so that a kill lands between the ERP's commit and the offset commit.
  maxBatchRecords: 5,
});
await runner.start();
process.stdout.write('running\n');
process.on('SIGTERM', () => {
  void runner.close().then(() => process.exit(0));
});
