/**
 * `syncline bench process`: records per second through the real processing pipeline (decode →
 * canonical mapping → match-merge → idempotency → encode → produce with acks=all), beside a bare
 * kafkajs consume → produce passthrough of the same records, in one run, and the ratio of the two
 * (the goal is at least 0.6).
 *
 * The records are the simulator's: the webhook bodies of a seeded population, taken apart by the
 * real connectors into raw records, encoded once before anything is measured. Both pipelines
 * consume the same raw topics in groups of their own, in lockstep phases: a phase's records are
 * published while both consumers are held at a gate; then each pipeline in turn is let through and
 * timed from the gate opening to its last record marked done. Phases: a warm-up (uncounted), then
 * the measured records in two steps, customer records (CRM accounts, billing customers, support
 * organisations) first and everything else second, so that a contract or invoice never waits for
 * a customer still in flight on another topic (which measures a pause, not the pipeline).
 * Topics, schema subjects, groups and Redis keys are private to the run and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { MatchEngine } from '../processors/match-merge/engine.ts';
import type { MatchMetrics } from '../processors/match-merge/types.ts';
import { RedisMatchStore } from '../processors/match-merge/store.ts';
import {
  createProcessor,
  DEFAULT_PARTITIONS_CONCURRENTLY,
  type Processor,
} from '../processors/pipeline/processor.ts';
import { canonicalMapping, PROCESSOR_REDIS } from '../processors/process-service.ts';
import { SalesforceWebhookSource } from '../producers/salesforce/salesforce-webhook-source.ts';
import { scriptWebhooks } from '../producers/simulator/event-script.ts';
import { generatePopulation } from '../producers/simulator/population.ts';
import type { RawEvent, WebhookSource } from '../producers/source.ts';
import { StripeWebhookSource } from '../producers/stripe/stripe-webhook-source.ts';
import { ZendeskWebhookSource } from '../producers/zendesk/zendesk-webhook-source.ts';
import { createKafkajsBus } from '../runtime/bus/kafkajs.ts';
import type { BatchHandler, EventBus, IncomingBatch } from '../runtime/bus/types.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import { createLogger } from '../runtime/logger.ts';
import { closeRedis, createRedis, deleteByPrefix } from '../runtime/redis.ts';
import { counterSum } from '../runtime/metrics.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../schemas/serde.ts';
import { createTopicsReady } from '../topology/create-topics.ts';
import { dlqTopicOf, GroupIds, retryTopicOf, TopicNames } from '../topology/topics.ts';

export interface ProcessBenchOptions {
  config: Config;
  /** Measured records. Default 4000. */
  records?: number;
  /** Uncounted records processed first by each pipeline. Default 1000. */
  warmupRecords?: number;
  /** Seed of the simulated population. Default `bench-process`. */
  seed?: string;
  /** Partitions per topic. Default 3. */
  partitions?: number;
  /** Partitions each pipeline processes at once. Default the processor's default. */
  concurrency?: number;
  onProgress?: (message: string) => void;
}

export interface ProcessBenchRun {
  pipeline: 'syncline' | 'bare';
  records: number;
  seconds: number;
  recordsPerSecond: number;
  /** Seconds per measured phase (customers, then the rest). */
  phaseSeconds: { customers: number; others: number };
  /**
   * Share of each measured phase the process's event loop was busy (0..1): near 1, the pipeline
   * is short of CPU (more Redis round trips in flight would not help); well below, it waits.
   */
  eventLoopBusy: { customers: number; others: number };
}

export interface ProcessBenchReport {
  scenario: 'process';
  seed: string;
  records: number;
  warmupRecords: number;
  partitions: number;
  concurrency: number;
  /** Measured records by raw topic. */
  recordsByTopic: Record<string, number>;
  acks: 'all';
  syncline: ProcessBenchRun & {
    /** Records produced by the pipeline (canonical and mdm) and records dead-lettered. */
    outputs: number;
    deadLettered: number;
    /**
     * Where the customer records' time went, from the match engine's own hooks (measured phases
     * only): resolves, their summed duration, the part spent waiting for locks, lock retries and
     * optimistic commits retried. With several partitions in flight the sums exceed wall time.
     */
    matchMerge: MatchMergeTally;
  };
  bare: ProcessBenchRun;
  /** syncline ÷ bare records per second. */
  ratio: number;
  goal: number;
  meetsGoal: boolean;
}

const GOAL = 0.6;

export interface MatchMergeTally {
  resolves: number;
  resolveSeconds: number;
  lockWaitSeconds: number;
  lockRetries: number;
  conflicts: number;
}

/** Match engine hooks that add up what the engine reports. */
function tallyMatchMerge(): { tally: MatchMergeTally; metrics: MatchMetrics; reset(): void } {
  const tally: MatchMergeTally = {
    resolves: 0,
    resolveSeconds: 0,
    lockWaitSeconds: 0,
    lockRetries: 0,
    conflicts: 0,
  };
  return {
    tally,
    metrics: {
      resolved: (_outcome, _change, seconds) => {
        tally.resolves += 1;
        tally.resolveSeconds += seconds;
      },
      lockWait: (seconds, attempts) => {
        tally.lockWaitSeconds += seconds;
        tally.lockRetries += attempts - 1;
      },
      conflict: () => {
        tally.conflicts += 1;
      },
    },
    reset() {
      Object.assign(tally, {
        resolves: 0,
        resolveSeconds: 0,
        lockWaitSeconds: 0,
        lockRetries: 0,
        conflicts: 0,
      });
    },
  };
}
const IDENTITY_TOPICS: ReadonlySet<string> = new Set([
  TopicNames.raw.salesforceAccount,
  TopicNames.raw.stripeCustomer,
  TopicNames.raw.zendeskOrganization,
  TopicNames.raw.erpCustomer,
]);

/** The simulator's raw records, as the connectors build them, in script order. */
export function simulatedRawRecords(count: number, seed: string): RawEvent[] {
  const sources: Record<string, WebhookSource> = {
    stripe: new StripeWebhookSource({ secrets: ['bench'] }),
    salesforce: new SalesforceWebhookSource({ secrets: ['bench'] }),
    zendesk: new ZendeskWebhookSource({ secrets: ['bench'] }),
  };
  const receivedAt = new Date(Date.UTC(2026, 0, 5, 8, 0, 0));
  const records: RawEvent[] = [];
  // About a dozen consumed webhooks per company; grow the population until there are enough.
  for (let companies = Math.max(10, Math.ceil(count / 8)); records.length < count; companies *= 2) {
    records.length = 0;
    for (const webhook of scriptWebhooks(generatePopulation({ companies, seed }), seed)) {
      if (!webhook.consumed) continue;
      const source = sources[webhook.platform];
      const parsed = source?.parse(JSON.parse(webhook.body));
      if (!source || parsed?.kind !== 'event') continue;
      records.push(...source.toRawEvents(parsed.event, { receivedAt }));
      if (records.length >= count) break;
    }
  }
  return records.slice(0, count);
}

/** Holds batches until opened; counts records marked done. */
class Gate {
  #open = false;
  done = 0;
  openedAt = 0;
  lastDoneAt = 0;

  open(): void {
    this.done = 0;
    this.openedAt = performance.now();
    this.#open = true;
  }

  close(): void {
    this.#open = false;
  }

  /** Waits until open, heartbeating so that a held member is not evicted. */
  async pass(heartbeat: () => Promise<void>): Promise<void> {
    while (!this.#open) {
      await sleep(20);
      await heartbeat().catch(() => undefined);
    }
  }

  marked(count = 1): void {
    this.done += count;
    this.lastDoneAt = performance.now();
  }

  async until(count: number, what: string, timeoutMs = 300_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.done < count) {
      if (Date.now() > deadline)
        throw SynclineError.retriable(ErrorCodes.TIMEOUT, `${what}: ${this.done} of ${count} records done`, {
          part: 'bench',
        });
      await sleep(5);
    }
    return (this.lastDoneAt - this.openedAt) / 1000;
  }
}

/** The bus, with every batch of its consumers held at `gate` and every record marked counted. */
function gatedBus(bus: EventBus, gate: Gate): EventBus {
  return {
    producer: (options) => bus.producer(options),
    health: () => bus.health(),
    consumer: (options) => {
      const consumer = bus.consumer({ ...options, sessionTimeoutMs: 60_000 });
      return {
        connect: () => consumer.connect(),
        pause: (targets) => consumer.pause(targets),
        resume: (targets) => consumer.resume(targets),
        seek: (topic, partition, offset) => consumer.seek(topic, partition, offset),
        onCrash: (listener) => consumer.onCrash(listener),
        close: () => consumer.close(),
        run: (handler: BatchHandler) =>
          consumer.run(async (batch: IncomingBatch) => {
            await gate.pass(() => batch.heartbeat());
            await handler({
              topic: batch.topic,
              partition: batch.partition,
              records: batch.records,
              markDone: (record) => {
                batch.markDone(record);
                gate.marked();
              },
              heartbeat: () => batch.heartbeat(),
              isRunning: () => batch.isRunning(),
              isStale: () => batch.isStale(),
              pause: () => batch.pause(),
            });
          }),
      };
    },
  };
}

/** The bare passthrough: kafkajs eachBatch, one acks=all send per batch, resolve, commit. */
async function startBare(
  kafka: Kafka,
  topics: string[],
  outTopic: string,
  groupId: string,
  gate: Gate,
  concurrency: number,
) {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 60_000, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: concurrency,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const heartbeat = (): Promise<void> => payload.heartbeat();
      await gate.pass(heartbeat);
      await producer.send({
        topic: outTopic,
        acks: -1,
        messages: batch.messages.map((message) => ({
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        })),
      });
      for (const message of batch.messages) payload.resolveOffset(message.offset);
      gate.marked(batch.messages.length);
      await payload.commitOffsetsIfNecessary();
      await heartbeat();
    },
  });
  return {
    async stop() {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

export async function runProcessBench(options: ProcessBenchOptions): Promise<ProcessBenchReport> {
  const { config } = options;
  const measured = options.records ?? 4000;
  const warmup = options.warmupRecords ?? 1000;
  const seed = options.seed ?? 'bench-process';
  const partitions = options.partitions ?? 3;
  const concurrency = options.concurrency ?? DEFAULT_PARTITIONS_CONCURRENTLY;
  const progress = options.onProgress ?? (() => undefined);
  const logger = createLogger({ level: 'warn', name: 'bench-process' });
  const kafka = createKafka(config, logger, 'bench-process');
  const prefix = `bench-process-${randomBytes(4).toString('hex')}.`;
  const topicOf = (topic: string): string => `${prefix}${topic}`;
  const catalog = loadCatalog({ prefix });
  const registry = new RegistryClient({ url: config.schemaRegistryUrl });
  const schemaTopics = [
    ...Object.values(TopicNames.raw),
    ...Object.values(TopicNames.canonical),
    ...Object.values(TopicNames.mdm),
  ].map(topicOf);
  const bareOut = topicOf('bare.passthrough');
  const allTopics = [
    ...schemaTopics,
    topicOf(dlqTopicOf(GroupIds.processor)),
    topicOf(retryTopicOf(GroupIds.processor)),
    bareOut,
  ];
  const bindings = new Map(
    [...bindingsFromCatalog(catalog)].filter(([topic]) => schemaTopics.includes(topic)),
  );
  const redis = createRedis(config, logger, PROCESSOR_REDIS); // as `syncline run --role process`
  const redisPrefix = `bench:process:${randomBytes(4).toString('hex')}:`;
  const store = new RedisMatchStore({ redis, prefix: `${redisPrefix}mdm:` });
  const bareGroup = `${prefix}bare-passthrough`;
  let processor: Processor | undefined;
  let bare: { stop(): Promise<void> } | undefined;

  progress(`generating ${warmup + measured} raw records (seed ${seed})`);
  const records = simulatedRawRecords(warmup + measured, seed);
  const admin = kafka.admin();
  await admin.connect();
  try {
    progress('creating private topics and schema subjects');
    await createTopicsReady(
      admin,
      allTopics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    );
    for (const binding of bindings.values()) await registry.register(binding.subject, binding.writer.text);
    const serde = new Serde({ source: registry, bindings });
    const encoded = await Promise.all(
      records.map(async (record) => ({
        topic: topicOf(record.topic),
        contract: record.topic,
        key: record.key,
        value: await serde.encode(topicOf(record.topic), record.value),
      })),
    );
    const publisher = kafka.producer({ allowAutoTopicCreation: false });
    await publisher.connect();
    const publish = async (slice: typeof encoded): Promise<void> => {
      const byTopic = new Map<string, { key: string; value: Buffer }[]>();
      for (const record of slice) {
        const list = byTopic.get(record.topic) ?? [];
        list.push({ key: record.key, value: record.value });
        byTopic.set(record.topic, list);
      }
      await publisher.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    };

    const syncGate = new Gate();
    const bareGate = new Gate();
    const metrics = new Registry();
    const matchTally = tallyMatchMerge();
    processor = createProcessor({
      bus: gatedBus(createKafkajsBus(config, logger, { metrics, clientSuffix: 'bench-process' }), syncGate),
      redis,
      serde,
      engine: new MatchEngine({ store, metrics: matchTally.metrics }),
      mapping: canonicalMapping,
      logger,
      metrics,
      topicPrefix: prefix,
      redisPrefix,
      // A draft whose customer is not among the records goes to the DLQ at once instead of waiting.
      unknownCustomerWindowMs: 0,
      partitionsConsumedConcurrently: concurrency,
    });
    await processor.start();
    bare = await startBare(
      kafka,
      Object.values(TopicNames.raw).map(topicOf),
      bareOut,
      bareGroup,
      bareGate,
      concurrency,
    );

    /** One phase: publish while both are held, then time each pipeline in turn. */
    const phase = async (
      name: string,
      slice: typeof encoded,
    ): Promise<{ syncline: number; bare: number; busy: { syncline: number; bare: number } }> => {
      syncGate.close();
      bareGate.close();
      await publish(slice);
      progress(`${name}: syncline pipeline, ${slice.length} records`);
      let loop = performance.eventLoopUtilization();
      syncGate.open();
      const syncSeconds = await syncGate.until(slice.length, `${name} (syncline)`);
      const syncBusy = performance.eventLoopUtilization(loop).utilization;
      progress(`${name}: bare passthrough, ${slice.length} records`);
      loop = performance.eventLoopUtilization();
      bareGate.open();
      const bareSeconds = await bareGate.until(slice.length, `${name} (bare)`);
      const bareBusy = performance.eventLoopUtilization(loop).utilization;
      return { syncline: syncSeconds, bare: bareSeconds, busy: { syncline: syncBusy, bare: bareBusy } };
    };

    const warm = encoded.slice(0, warmup);
    const counted = encoded.slice(warmup);
    const isIdentity = (record: (typeof encoded)[number]): boolean => IDENTITY_TOPICS.has(record.contract);
    await phase('warm-up customers', warm.filter(isIdentity));
    await phase(
      'warm-up others',
      warm.filter((record) => !isIdentity(record)),
    );
    const outputsBefore = await counterSum(metrics, 'syncline_processor_records_total', { outcome: 'out' });
    const dlqBefore = await counterSum(metrics, 'syncline_processor_records_total', { outcome: 'dlq' });
    matchTally.reset();
    const customers = await phase('measured customers', counted.filter(isIdentity));
    const others = await phase(
      'measured others',
      counted.filter((record) => !isIdentity(record)),
    );
    await publisher.disconnect();

    const run = (pipeline: 'syncline' | 'bare'): ProcessBenchRun => {
      const seconds = customers[pipeline] + others[pipeline];
      return {
        pipeline,
        records: counted.length,
        seconds: round(seconds, 3),
        recordsPerSecond: Math.round(counted.length / seconds),
        phaseSeconds: { customers: round(customers[pipeline], 3), others: round(others[pipeline], 3) },
        eventLoopBusy: {
          customers: round(customers.busy[pipeline], 2),
          others: round(others.busy[pipeline], 2),
        },
      };
    };
    const syncline = {
      ...run('syncline'),
      outputs:
        (await counterSum(metrics, 'syncline_processor_records_total', { outcome: 'out' })) - outputsBefore,
      deadLettered:
        (await counterSum(metrics, 'syncline_processor_records_total', { outcome: 'dlq' })) - dlqBefore,
      matchMerge: {
        ...matchTally.tally,
        resolveSeconds: round(matchTally.tally.resolveSeconds, 3),
        lockWaitSeconds: round(matchTally.tally.lockWaitSeconds, 3),
      },
    };
    const bareRun = run('bare');
    const ratio = round(syncline.recordsPerSecond / Math.max(bareRun.recordsPerSecond, 1), 2);
    const recordsByTopic: Record<string, number> = {};
    for (const record of counted)
      recordsByTopic[record.contract] = (recordsByTopic[record.contract] ?? 0) + 1;
    return {
      scenario: 'process',
      seed,
      records: counted.length,
      warmupRecords: warm.length,
      partitions,
      concurrency,
      recordsByTopic,
      acks: 'all',
      syncline,
      bare: bareRun,
      ratio,
      goal: GOAL,
      meetsGoal: ratio >= GOAL,
    };
  } finally {
    progress('removing private topics, subjects, groups and Redis keys');
    await processor?.close().catch(() => undefined);
    await bare?.stop().catch(() => undefined);
    await admin.deleteTopics({ topics: allTopics }).catch(() => undefined);
    await admin.deleteGroups([`${prefix}${GroupIds.processor}`, bareGroup]).catch(() => undefined);
    await admin.disconnect();
    for (const binding of bindings.values()) {
      await registry.deleteSubject(binding.subject).catch(() => undefined);
      await registry.deleteSubject(binding.subject, true).catch(() => undefined);
    }
    await store.deleteAll().catch(() => undefined);
    await deleteByPrefix(redis, redisPrefix).catch(() => undefined);
    await closeRedis(redis);
  }
}

export function formatProcessBench(report: ProcessBenchReport): string {
  const row = (run: ProcessBenchRun): string =>
    `${run.pipeline.padEnd(9)} ${String(run.recordsPerSecond).padStart(8)} records/s   ${run.records} records in ${run.seconds.toFixed(2)} s (customers ${run.phaseSeconds.customers.toFixed(2)} s, others ${run.phaseSeconds.others.toFixed(2)} s)`;
  return [
    `bench process: ${report.records} simulated raw records (seed ${report.seed}, ${report.warmupRecords} warm-up), ${report.partitions} partitions per topic, ${report.concurrency} processed at once, acks=all`,
    `  ${Object.entries(report.recordsByTopic)
      .map(([topic, count]) => `${topic} ${count}`)
      .join(', ')}`,
    row(report.syncline),
    `          ${report.syncline.outputs} records produced, ${report.syncline.deadLettered} dead-lettered`,
    `          match-merge: ${report.syncline.matchMerge.resolves} resolves, ${report.syncline.matchMerge.resolveSeconds.toFixed(2)} s summed (${(
      (report.syncline.matchMerge.resolveSeconds * 1000) /
      Math.max(1, report.syncline.matchMerge.resolves)
    ).toFixed(
      1,
    )} ms each), of which lock waits ${report.syncline.matchMerge.lockWaitSeconds.toFixed(2)} s (${report.syncline.matchMerge.lockRetries} retries), ${report.syncline.matchMerge.conflicts} commit conflicts`,
    row(report.bare),
    `ratio     ${report.ratio.toFixed(2)} (goal >= ${report.goal}: ${report.meetsGoal ? 'met' : 'NOT met'})`,
  ].join('\n');
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
