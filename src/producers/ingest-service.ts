/**
 * The ingest role: the webhook server for Stripe, Salesforce and Zendesk and, when an ERP API is
 * configured, the ERP polling connector, all publishing to the raw topics through one batching,
 * idempotent producer. Start-up checks what would otherwise fail on the first request: the raw
 * topics exist and their schemas are registered.
 */
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import { createMetricsRegistry, type Registry } from '../runtime/metrics.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError, classify } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import type { Logger } from '../runtime/logger.ts';
import { loadCatalog, type Catalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { Serde } from '../schemas/serde.ts';
import { TopicNames } from '../topology/topics.ts';
import { kafkaPublisher, type AcknowledgedPublisher } from './acknowledged-publisher.ts';
import { ErpClient } from './erp-polling/erp-client.ts';
import { ErpPoller } from './erp-polling/erp-poller.ts';
import { PgCursorStore } from './erp-polling/cursor-store.ts';
import { ingestMetrics } from './ingest-metrics.ts';
import { RawEventSink } from './raw-event-sink.ts';
import { RawRecordCodec } from './raw-record-codec.ts';
import { SalesforceWebhookSource } from './salesforce/salesforce-webhook-source.ts';
import type { WebhookSource } from './source.ts';
import { StripeWebhookSource } from './stripe/stripe-webhook-source.ts';
import { startWebhookServer, type RunningWebhookServer } from './webhook-server.ts';
import { ZendeskWebhookSource } from './zendesk/zendesk-webhook-source.ts';

/** Every raw topic the ingest role writes. */
export const RAW_TOPICS: readonly string[] = Object.values(TopicNames.raw);

export interface IngestOptions {
  /** Where metrics are registered; the process-wide registry by default. */
  registry?: Registry;
  /** Overrides config.webhookPort (0 picks a free port). */
  port?: number;
  host?: string;
  /** The Kafka client; one is created from the config by default. */
  kafka?: Kafka;
  catalog?: Catalog;
  /** Raw topics to check at start-up; all of them by default. */
  topics?: readonly string[];
  publishTimeoutMs?: number;
  bodyLimitBytes?: number;
  /** The ERP poller's connector name (its cursor row and lock). Default `erp`. */
  erpConnector?: string;
  /** Upper bound of the ERP poller's back-off after failures. Default 60 s. */
  erpMaxBackoffMs?: number;
  /**
   * The Kafka topic each raw topic is written to, its schema subject being `<that topic>-value`;
   * the contract names by default. Tests and benchmarks point this at private topics.
   */
  topicOf?: (topic: string) => string;
}

export interface IngestHandle {
  webhook: RunningWebhookServer;
  poller: ErpPoller | undefined;
  publisher: AcknowledgedPublisher;
  /** Whether Kafka can take events now (for /readyz). */
  isReady(): boolean;
  /** Drains the webhook server, stops polling after the page at hand, flushes and disconnects. */
  close(): Promise<void>;
}

export async function startIngest(
  config: Config,
  logger: Logger,
  options: IngestOptions = {},
): Promise<IngestHandle> {
  const log = logger.child({ role: 'ingest' });
  const registry = options.registry ?? createMetricsRegistry();
  const metrics = ingestMetrics(registry);
  const topicOf = options.topicOf ?? ((topic: string) => topic);
  const topics = (options.topics ?? RAW_TOPICS).map(topicOf);
  const kafka = options.kafka ?? ingestKafka(config, log);

  const catalog = options.catalog ?? loadCatalog();
  const bindings = new Map(
    RAW_TOPICS.map(
      (topic) =>
        [topicOf(topic), { subject: `${topicOf(topic)}-value`, writer: catalog.topic(topic) }] as const,
    ),
  );
  const serde = new Serde({ source: new RegistryClient({ url: config.schemaRegistryUrl }), bindings });
  const codec = new RawRecordCodec(catalog, serde);
  await checkTopics(kafka, topics);
  try {
    await codec.prepare(topics);
  } catch (error) {
    const failure = classify(error, { part: 'schema registry' });
    throw new SynclineError(
      failure.code,
      `${failure.message} (register the schemas first: syncline schemas register)`,
      {
        retriable: failure.retriable,
        context: failure.context,
        cause: error,
      },
    );
  }

  const publisher = kafkaPublisher(kafka, log, { registry });
  await publisher.start();
  const sink = new RawEventSink({ publisher, encoder: codec, topicOf });

  const sources: WebhookSource[] = [
    new StripeWebhookSource({ secrets: config.webhookSecrets.stripe }),
    new SalesforceWebhookSource({ secrets: config.webhookSecrets.salesforce }),
    new ZendeskWebhookSource({ secrets: config.webhookSecrets.zendesk }),
  ];
  for (const source of sources) {
    if (config.webhookSecrets[source.name as keyof Config['webhookSecrets']].length === 0) {
      log.warn(
        { source: source.name },
        `no webhook secret configured for ${source.name}: its webhooks will be refused (401)`,
      );
    }
  }

  let webhook: RunningWebhookServer;
  try {
    webhook = await startWebhookServer({
      sources,
      sink,
      logger: log,
      registry,
      port: options.port ?? config.webhookPort,
      ...(options.host ? { host: options.host } : {}),
      validate: (event) => codec.problems(event),
      ...(options.publishTimeoutMs ? { publishTimeoutMs: options.publishTimeoutMs } : {}),
      ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    });
  } catch (error) {
    await publisher.close();
    throw SynclineError.permanent(
      ErrorCodes.INFRA_FAILED,
      `cannot listen for webhooks on port ${options.port ?? config.webhookPort}: ${(error as Error).message}`,
      {
        part: 'webhook server',
      },
    );
  }
  log.info({ url: webhook.url, routes: sources.map((source) => source.route) }, 'webhook server listening');

  let poller: ErpPoller | undefined;
  if (config.erp) {
    const { apiUrl, token, pollIntervalMs } = config.erp;
    poller = new ErpPoller({
      name: options.erpConnector ?? 'erp',
      client: new ErpClient({ baseUrl: apiUrl, ...(token ? { token } : {}) }),
      openStore: () => PgCursorStore.connect(config.databaseUrl),
      sink,
      kafka,
      logger: log,
      metrics,
      intervalMs: pollIntervalMs,
      ...(options.erpMaxBackoffMs ? { maxBackoffMs: options.erpMaxBackoffMs } : {}),
      topicOf,
      validate: (event) => codec.problems(event),
    });
    poller.start();
    log.info({ api: new URL(apiUrl).origin }, 'ERP polling started');
  }

  return {
    webhook,
    poller,
    publisher,
    isReady: () => publisher.isReady(),
    async close() {
      await webhook.close(config.shutdownTimeoutMs);
      await poller?.stop();
      await publisher.close();
      log.info('ingest stopped');
    },
  };
}

/**
 * The Kafka client of the ingest role. Its connection retries are short: the default client keeps
 * reconnecting for many seconds with growing pauses, so after an outage the producer would stay
 * away long after the broker is back, while every webhook meanwhile is answered 503.
 */
export function ingestKafka(config: Config, logger: Logger): Kafka {
  return createKafka(config, logger, `ingest-${hostname()}`, {
    connectionTimeout: 2000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 1000 },
  });
}

/** Fails with the names of the raw topics that do not exist: they come from `topology apply`. */
async function checkTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw SynclineError.permanent(
        ErrorCodes.TOPOLOGY_REFUSED,
        `raw topics missing: ${missing.join(', ')} (create them: syncline topology apply)`,
        {
          part: 'kafka',
        },
      );
    }
  } catch (error) {
    throw classify(error, { part: 'kafka' });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
