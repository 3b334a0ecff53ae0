/**
 * The end-to-end demo on the local stack: start what is missing, apply the topology, register the
 * schemas, run the roles in this process (ingest: webhook receivers and the ERP poller; process:
 * canonical mapping and match-merge), drive them with the simulator's signed, noisy traffic, wait
 * until every stage has caught up, and report what arrived where. Each stage of the flow adds its
 * part of the report here.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { pairwiseQuality } from '../bench/match-population.ts';
import { LocalStack } from '../infra/stack.ts';
import { startIngest, RAW_TOPICS } from '../producers/ingest-service.ts';
import { ErpSandbox } from '../producers/erp-polling/erp-sandbox.ts';
import { erpCustomersOf } from '../producers/simulator/event-script.ts';
import { quantile } from '../producers/simulator/http-sender.ts';
import { generatePopulation, type TruthLine } from '../producers/simulator/population.ts';
import { MatchEngine } from '../processors/match-merge/engine.ts';
import { RedisMatchStore } from '../processors/match-merge/store.ts';
import { sourceKey } from '../processors/match-merge/types.ts';
import { createProcessor, type Processor } from '../processors/pipeline/processor.ts';
import { canonicalMapping, MATCH_PREFIX } from '../processors/process-service.ts';
import { createKafkajsBus } from '../runtime/bus/kafkajs.ts';
import { populationSize, simulate, type SimulationSummary } from '../producers/simulator/simulator.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import { deleteByPrefix } from '../runtime/redis.ts';
import type { Logger } from '../runtime/logger.ts';
import { counterSum, createMetricsRegistry, type Registry } from '../runtime/metrics.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { syncRegistry } from '../schemas/registry-sync.ts';
import { bindingsFromCatalog, Serde } from '../schemas/serde.ts';
import { applyAndAwait, diffTopology, refusedError } from '../topology/cluster.ts';
import { dlqTopicOf, GroupIds, TopicNames } from '../topology/topics.ts';
import { resolveTopology } from '../topology/topology.ts';
import { endOffsets, waitUntilConsumed } from './drain.ts';
import { startSinkStage, type SinkStage } from './sink-stage.ts';

/** How long the demo waits for a stage to catch up after the traffic stopped. */
const CATCH_UP_MS = 120_000;

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
  /** The simulator's seed: run again with it to send the same traffic. */
  seed: string;
  /** Golden customers the run's source records resolved to (from the cross-reference). */
  goldenCustomers: number;
  /** Records the processor wrote to each canonical and mdm topic in this run. */
  canonicalRecords: Record<string, number>;
  /** Match-merge of this run's records against the simulator's ground truth (pairwise). */
  matchQuality: { records: number; precision: number; recall: number; f1: number };
  /** Match outcomes of this run: new, auto-merge, review, update. */
  matchOutcomes: Record<string, number>;
  /** Records each group dead-lettered in this run. */
  dlq: number;
  dlqByGroup: Record<string, number>;
  /** False when a stage had not caught up within the demo's wait; `behind` says by how much. */
  caughtUp: boolean;
  behind: Record<string, number>;
  /** Records each sink settled in this run, by target and outcome (applied, duplicate, stale, ...). */
  sinkWrites: Record<string, Record<string, number>>;
  /** Records the ERP REST sink wrote to the reference ERP in this run. */
  erpWrites: number;
  /** From Syncline's acknowledgement of a source event to the ERP's commit of its effect. */
  p50Ms: number;
  p99Ms: number;
  /** Webhook latency at the sender, acknowledgement included (acks=all). */
  webhookP50Ms: number;
  webhookP99Ms: number;
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
    const outputTopics = [...Object.values(TopicNames.canonical), ...Object.values(TopicNames.mdm)];
    const dlqTopics = Object.values(GroupIds).map(dlqTopicOf);
    const before = await endOffsets(admin, [...RAW_TOPICS, ...outputTopics, ...dlqTopics]);
    const metrics = createMetricsRegistry({ defaultMetrics: false });

    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
    const serde = new Serde({
      source: new RegistryClient({ url: config.schemaRegistryUrl }),
      bindings: bindingsFromCatalog(loadCatalog()),
    });
    if (await staleRedisState(admin, redis)) {
      onStep('redis: clearing state of an earlier local stack (its mdm topics are empty here)');
      await clearSynclineState(redis);
    }
    onStep('process: canonical mapping and match-merge (group syncline-processor)');
    const processing = await startDemoProcessing({ config, logger, metrics, redis, serde });
    onStep('sinks: ERP (REST, reference ERP), CRM write-back (Salesforce double), support (Zendesk double)');
    let sinks: SinkStage;
    try {
      // The poller reads the demo's ERP sandbox; the ERP sink writes to the local stack's reference ERP.
      const { erp: _sandbox, ...sinkConfig } = config;
      sinks = await startSinkStage({
        config: baseConfig.erp ? { ...sinkConfig, erp: baseConfig.erp } : sinkConfig,
        logger,
        kafka,
        redis,
        serde,
        metrics,
        companies: population.companies,
      });
    } catch (error) {
      await processing.close();
      redis.disconnect();
      throw error;
    }
    let summary: SimulationSummary;
    let truth: TruthLine[];
    const behind: Record<string, number> = {};
    let assigned: Map<string, string>;
    try {
      onStep(`ingest: webhook server on port ${config.webhookPort}, ERP poller on ${erpUrl}`);
      const ingest = await startIngest(config, logger, { registry: metrics, erpConnector: 'demo-erp' });
      try {
        onStep(`simulate: ${options.rate} webhooks/s for ${options.durationSeconds}s`);
        ({ summary, truth } = await simulate({
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
      onStep('process: waiting until every raw record is processed');
      const drained = await waitUntilConsumed(admin, GroupIds.processor, RAW_TOPICS, CATCH_UP_MS);
      if (!drained.caughtUp) behind[GroupIds.processor] = drained.behind;
      for (const group of sinks.groups) {
        onStep(`sink ${group.target}: waiting until every canonical record is settled`);
        const settled = await waitUntilConsumed(admin, group.groupId, group.topics, CATCH_UP_MS);
        if (!settled.caughtUp) behind[group.groupId] = settled.behind;
      }
      assigned = await processing.goldenIdsOf(truth);
    } finally {
      await sinks.close();
      await processing.close();
      await redis.quit().catch(() => redis.disconnect());
    }

    const after = await endOffsets(admin, [...RAW_TOPICS, ...outputTopics, ...dlqTopics]);
    const delta = (topics: readonly string[]) =>
      Object.fromEntries(topics.map((topic) => [topic, (after[topic] ?? 0) - (before[topic] ?? 0)]));
    const rawRecords = delta(RAW_TOPICS);
    const dlqByGroup = Object.fromEntries(
      Object.values(GroupIds).map((group) => [group, delta([dlqTopicOf(group)])[dlqTopicOf(group)] ?? 0]),
    );
    const truthByRef = new Map(
      truth.flatMap((line) => line.sources.map((source) => [sourceKey(source), line.companyId] as const)),
    );
    const quality = pairwiseQuality(assigned, truthByRef);
    const outcomes: Record<string, number> = {};
    for (const outcome of ['new', 'auto-merge', 'review', 'update']) {
      outcomes[outcome] = await counterSum(metrics, 'syncline_processor_match_outcomes_total', { outcome });
    }
    const sinkWrites: Record<string, Record<string, number>> = {};
    for (const group of sinks.groups) {
      const byOutcome: Record<string, number> = {};
      for (const name of ['applied', 'duplicate', 'stale', 'ignored', 'dlq', 'parked']) {
        byOutcome[name] = await counterSum(metrics, 'syncline_sink_writes_total', {
          target: group.target,
          outcome: name,
        });
      }
      sinkWrites[group.target] = byOutcome;
    }
    const toErp = sinks.latencies.get('erp-rest') ?? [];
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
      seed: options.seed,
      goldenCustomers: new Set(assigned.values()).size,
      canonicalRecords: delta(outputTopics),
      matchQuality: {
        records: quality.records,
        precision: round(quality.precision),
        recall: round(quality.recall),
        f1: round(quality.f1),
      },
      matchOutcomes: outcomes,
      dlq: Object.values(dlqByGroup).reduce((sum, count) => sum + count, 0),
      dlqByGroup,
      caughtUp: Object.keys(behind).length === 0,
      behind,
      sinkWrites,
      erpWrites: sinkWrites['erp-rest']?.applied ?? 0,
      p50Ms: quantile(toErp, 0.5),
      p99Ms: quantile(toErp, 0.99),
      webhookP50Ms: summary.latencyMs.p50,
      webhookP99Ms: summary.latencyMs.p99,
      elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await admin.disconnect();
  }
}

interface DemoProcessing {
  /** The golden id of every source record of the ground truth that has one. */
  goldenIdsOf(truth: readonly TruthLine[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/** Key prefixes of Syncline's own state in Redis: match-merge, the pipeline's keys, the sinks' claims. */
const STATE_PREFIXES = [MATCH_PREFIX, 'syncline:pipeline:', 'syncline:sink:'];

/**
 * Match-merge state in Redis while `mdm.customer.golden` is empty belongs to another Kafka cluster
 * (a local stack started afresh, Redis left as it was): golden records there would take this run's
 * companies without their topics, targets or history. Only the demo clears it; a production role
 * never deletes state (see `syncline mdm rebuild`).
 */
async function staleRedisState(admin: Admin, redis: Redis): Promise<boolean> {
  const golden = await endOffsets(admin, [TopicNames.mdm.golden]);
  if ((golden[TopicNames.mdm.golden] ?? 0) > 0) return false;
  return new RedisMatchStore({ redis, prefix: MATCH_PREFIX }).hasState();
}

async function clearSynclineState(redis: Redis): Promise<void> {
  for (const prefix of STATE_PREFIXES) await deleteByPrefix(redis, prefix);
}

interface ProcessingOptions {
  config: Config;
  logger: Logger;
  metrics: Registry;
  redis: Redis;
  serde: Serde;
}

/** The process role, in this process: the same pipeline as `syncline run --role process`. */
async function startDemoProcessing(options: ProcessingOptions): Promise<DemoProcessing> {
  const { config, logger, metrics, redis, serde } = options;
  const store = new RedisMatchStore({ redis, prefix: MATCH_PREFIX });
  const processor: Processor = createProcessor({
    bus: createKafkajsBus(config, logger, { metrics }),
    redis,
    serde,
    engine: new MatchEngine({ store }),
    mapping: canonicalMapping,
    logger,
    metrics,
  });
  await processor.start();
  return {
    async goldenIdsOf(truth) {
      const assigned = new Map<string, string>();
      for (const line of truth) {
        for (const source of line.sources) {
          const ref = sourceKey(source);
          const goldenId = await store.xrefOf(ref);
          if (goldenId) assigned.set(ref, goldenId);
        }
      }
      return assigned;
    },
    close: () => processor.close(),
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
}
