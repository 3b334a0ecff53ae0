/**
 * The end-to-end demo on the local stack: start what is missing, apply the topology, register the
 * schemas, run the ingest role (webhook receivers and the ERP poller) in this process, drive it with the
 * simulator's signed, noisy traffic, and report what arrived where. Each later stage of the flow adds
 * its part of the report here.
 */
import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { LocalStack } from '../infra/stack.ts';
import { startIngest, RAW_TOPICS } from '../producers/ingest-service.ts';
import { ErpSandbox } from '../producers/erp-polling/erp-sandbox.ts';
import { erpCustomersOf } from '../producers/simulator/event-script.ts';
import { generatePopulation } from '../producers/simulator/population.ts';
import { populationSize, simulate, type SimulationSummary } from '../producers/simulator/simulator.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import type { Logger } from '../runtime/logger.ts';
import { createMetricsRegistry } from '../runtime/metrics.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { syncRegistry } from '../schemas/registry-sync.ts';
import { applyAndAwait, diffTopology, refusedError } from '../topology/cluster.ts';
import { resolveTopology } from '../topology/topology.ts';

export interface DemoOptions {
  rate: number;
  durationSeconds: number;
  seed: string;
  /** Where each step is told as it happens (stderr in the CLI). */
  onStep: (text: string) => void;
  onProgress?: (sent: number, planned: number) => void;
}

export interface DemoReport {
  /** Events Syncline acknowledged: webhooks answered 2xx as accepted, plus ERP records polled. */
  eventsIn: number;
  webhooks: {
    sent: number;
    accepted: number;
    duplicatesRecognised: number;
    ignoredEventTypes: number;
    refused: number;
    unavailable: number;
    byStatus: Record<string, number>;
  };
  erpRecordsPolled: number;
  rawRecords: Record<string, number>;
  companies: number;
  /** Webhook latency at the sender, acknowledgement included (acks=all). */
  p50Ms: number;
  p99Ms: number;
  elapsedSeconds: number;
}

export async function runDemo(baseConfig: Config, logger: Logger, options: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const { onStep } = options;

  onStep('local stack: starting what is not running');
  await new LocalStack(baseConfig).up();

  onStep('topology: applying (profile local)');
  const kafka = createKafka({ ...baseConfig }, logger, 'demo');
  const admin = kafka.admin({ retry: { retries: 3 } });
  await admin.connect();
  try {
    const topology = resolveTopology({ profile: 'local', prefix: '' });
    const planned = await diffTopology(admin, topology);
    if (planned.refusals.length > 0) throw refusedError(planned);
    await applyAndAwait(admin, topology, planned, {});

    onStep('schemas: registering');
    const results = await syncRegistry(
      new RegistryClient({ url: baseConfig.schemaRegistryUrl }),
      loadCatalog(),
    );
    const refused = results.filter((result) => result.action === 'refused');
    if (refused.length > 0) {
      throw SynclineError.permanent(
        ErrorCodes.SCHEMA_INCOMPATIBLE,
        `the registry refused ${refused.map((result) => result.subject).join(', ')}`,
      );
    }

    // The demo signs and verifies with the same secrets; generated per run unless configured.
    const secret = (configured: string[]) => configured[0] ?? randomBytes(24).toString('hex');
    const secrets = {
      stripe: secret(baseConfig.webhookSecrets.stripe),
      salesforce: secret(baseConfig.webhookSecrets.salesforce),
      zendesk: secret(baseConfig.webhookSecrets.zendesk),
    };

    onStep('ERP: serving a customer master for the poller');
    const plannedRequests = Math.round(options.rate * options.durationSeconds);
    const population = generatePopulation({ companies: populationSize(plannedRequests), seed: options.seed });
    const customers = erpCustomersOf(population, options.seed);
    const erp = new ErpSandbox();
    if (customers.length > 0) erp.update(customers);
    const erpUrl = await erp.listen(0, '127.0.0.1');

    const config: Config = {
      ...baseConfig,
      webhookSecrets: {
        stripe: [secrets.stripe],
        salesforce: [secrets.salesforce],
        zendesk: [secrets.zendesk],
      },
      erp: { apiUrl: erpUrl, pollIntervalMs: 500 },
    };
    const before = await endOffsets(admin, RAW_TOPICS);

    onStep(`ingest: webhook server on port ${config.webhookPort}, ERP poller on ${erpUrl}`);
    const ingest = await startIngest(config, logger, {
      registry: createMetricsRegistry({ defaultMetrics: false }),
      erpConnector: 'demo-erp',
    });
    let summary: SimulationSummary;
    try {
      onStep(`simulate: ${options.rate} webhooks/s for ${options.durationSeconds}s`);
      ({ summary } = await simulate({
        target: ingest.webhook.url,
        rate: options.rate,
        durationSeconds: options.durationSeconds,
        seed: options.seed,
        secrets,
        includeErp: true,
        onProgress: ({ sent, planned }) => options.onProgress?.(sent, planned),
      }));
      onStep('ERP: waiting for the poller to catch up');
      await waitFor(() => (ingest.poller?.snapshot().recordsPublished ?? 0) >= customers.length, 30_000);
    } finally {
      await ingest.close();
      await erp.close();
    }

    const after = await endOffsets(admin, RAW_TOPICS);
    const rawRecords = Object.fromEntries(
      RAW_TOPICS.map((topic) => [topic, (after[topic] ?? 0) - (before[topic] ?? 0)]),
    );
    const outcome = (name: string) => summary.byOutcome[name] ?? 0;
    const erpRecordsPolled = rawRecords['raw.erp.customer'] ?? 0;
    const refusedCount = Object.entries(summary.byStatus)
      .filter(([status]) => status.startsWith('4'))
      .reduce((sum, [, count]) => sum + count, 0);
    return {
      eventsIn: outcome('accepted') + erpRecordsPolled,
      webhooks: {
        sent: summary.sent,
        accepted: outcome('accepted'),
        duplicatesRecognised: outcome('duplicate'),
        ignoredEventTypes: outcome('ignored'),
        refused: refusedCount,
        unavailable: outcome('unavailable'),
        byStatus: summary.byStatus,
      },
      erpRecordsPolled,
      rawRecords,
      companies: summary.companies,
      p50Ms: summary.latencyMs.p50,
      p99Ms: summary.latencyMs.p99,
      elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await admin.disconnect();
  }
}

/** The sum over partitions of each topic's end offset. */
async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    result[topic] = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  }
  return result;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
}
