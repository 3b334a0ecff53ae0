/**
 * The ERP polling connector as its own process, for the crash tests: the test kills it (or it kills
 * itself with SIGKILL right after a chosen page is on Kafka and before its cursor is committed) and
 * starts it again. Configured by the environment:
 *   KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, ERP_API_URL  as for syncline itself
 *   CHILD_CONNECTOR     the connector name (cursor row and lock)
 *   CHILD_TOPIC_PREFIX  the private topic prefix of the test
 *   CHILD_PAGE_SIZE     page size
 *   CHILD_CRASH_AFTER   kill -9 itself after this page is published (optional)
 * SIGTERM stops it gracefully.
 */
import { kafkaPublisher } from '../../src/producers/acknowledged-publisher.ts';
import { ErpClient } from '../../src/producers/erp-polling/erp-client.ts';
import { ErpPoller } from '../../src/producers/erp-polling/erp-poller.ts';
import { PgCursorStore } from '../../src/producers/erp-polling/cursor-store.ts';
import { RawEventSink } from '../../src/producers/raw-event-sink.ts';
import { RawRecordCodec } from '../../src/producers/raw-record-codec.ts';
import { scratchBindings } from '../../src/producers/scratch-raw-topics.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import { createKafka } from '../../src/runtime/kafka.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { loadCatalog } from '../../src/schemas/catalog.ts';
import { RegistryClient } from '../../src/schemas/registry-client.ts';
import { Serde } from '../../src/schemas/serde.ts';

const config = loadConfig();
const logger = createLogger({ level: 'info', name: 'erp-poller-child' });
const prefix = process.env.CHILD_TOPIC_PREFIX ?? '';
const topicOf = (topic: string): string => `${prefix}${topic}`;
const crashAfter = process.env.CHILD_CRASH_AFTER ? Number(process.env.CHILD_CRASH_AFTER) : undefined;

const catalog = loadCatalog();
const serde = new Serde({
  source: new RegistryClient({ url: config.schemaRegistryUrl }),
  bindings: scratchBindings(catalog, prefix),
});
const codec = new RawRecordCodec(catalog, serde);
const kafka = createKafka(config, logger, 'erp-poller-child');
const publisher = kafkaPublisher(kafka, logger);
await publisher.start();

const poller = new ErpPoller({
  name: process.env.CHILD_CONNECTOR ?? 'erp',
  client: new ErpClient({ baseUrl: config.erp!.apiUrl }),
  openStore: () => PgCursorStore.connect(config.databaseUrl),
  sink: new RawEventSink({ publisher, encoder: codec, topicOf }),
  kafka,
  logger,
  topicOf,
  pageSize: Number(process.env.CHILD_PAGE_SIZE ?? '50'),
  intervalMs: 100,
  maxBackoffMs: 1000,
  validate: (event) => codec.problems(event),
  afterPublish: (page) => {
    process.stdout.write(`published ${page}\n`);
    if (page === crashAfter) process.kill(process.pid, 'SIGKILL');
  },
});
poller.start();
process.stdout.write('started\n');

process.once('SIGTERM', () => {
  void (async () => {
    await poller.stop();
    await publisher.close();
    process.stdout.write('stopped\n');
    process.exit(0);
  })();
});
