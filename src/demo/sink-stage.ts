/**
 * The sink stage of the demo: the ERP REST sink into the local stack's reference ERP, and the CRM
 * and support write-backs into in-process doubles of Salesforce and Zendesk (the real platforms
 * cannot run here), each in its own sink runner and consumer group, exactly as `syncline run
 * --role sink-*` runs them. Every applied record's latency from Syncline's acknowledgement of the
 * source event (envelope `ingestedAt`) to the target's commit is kept for the report.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { crmWritebackSinkFactory } from '../consumers/crm-writeback/start-crm-writeback.ts';
import { createSinkRunner, type SinkRunner } from '../consumers/runner/runner.ts';
import { erpRestSinkFactory, type SinkFactory } from '../consumers/sink-service.ts';
import type { Sink, SinkOutcome, SinkRecord } from '../consumers/sink.ts';
import { supportEntitlementSinkFactory } from '../consumers/support-entitlement/start-support-entitlement.ts';
import { createKafkajsBus } from '../runtime/bus/kafkajs.ts';
import type { Config } from '../runtime/config.ts';
import type { Company } from '../producers/simulator/population.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Registry } from '../runtime/metrics.ts';
import type { Serde } from '../schemas/serde.ts';
import { startSalesforceSim, type SalesforceSim } from '../targets-sim/salesforce/salesforce-sim.ts';
import { startZendeskSim, type ZendeskSim } from '../targets-sim/zendesk/zendesk-sim.ts';

export interface SinkStage {
  /** Consumer group and the canonical topics it reads, per running sink. */
  readonly groups: readonly { groupId: string; target: string; topics: readonly string[] }[];
  /** Milliseconds from acknowledgement to target commit of every applied record, per target. */
  readonly latencies: ReadonlyMap<string, number[]>;
  close(): Promise<void>;
}

export interface SinkStageOptions {
  config: Config;
  logger: Logger;
  kafka: Kafka;
  redis: Redis;
  serde: Serde;
  metrics: Registry;
  /** The simulated companies: their CRM accounts and support organizations exist in the doubles. */
  companies: readonly Company[];
}

export async function startSinkStage(options: SinkStageOptions): Promise<SinkStage> {
  const { config, logger } = options;
  const secret = randomBytes(16).toString('hex');
  const salesforce: SalesforceSim = await startSalesforceSim({
    tokens: [randomBytes(16).toString('hex')],
    oauth: { clientId: 'syncline-demo', clientSecret: secret },
    host: '127.0.0.1',
    port: 0,
  });
  const zendeskToken = randomBytes(16).toString('hex');
  const zendesk: ZendeskSim = await startZendeskSim({ tokens: [zendeskToken], host: '127.0.0.1', port: 0 });
  seedPlatforms(options.companies, salesforce, zendesk);
  const factories: SinkFactory[] = [
    erpRestSinkFactory,
    crmWritebackSinkFactory({
      SALESFORCE_LOGIN_URL: salesforce.url,
      SALESFORCE_CLIENT_ID: 'syncline-demo',
      SALESFORCE_CLIENT_SECRET: secret,
    }),
    supportEntitlementSinkFactory({ ZENDESK_URL: zendesk.url, ZENDESK_OAUTH_TOKEN: zendeskToken }),
  ];

  const latencies = new Map<string, number[]>();
  const runners: SinkRunner[] = [];
  const groups: { groupId: string; target: string; topics: readonly string[] }[] = [];
  try {
    for (const factory of factories) {
      const sink = await factory(config, logger);
      const samples: number[] = [];
      latencies.set(sink.target, samples);
      const runner = createSinkRunner({
        sink: measured(sink, samples),
        bus: createKafkajsBus(config, logger, {
          metrics: options.metrics,
          clientSuffix: `demo-${sink.target}`,
        }),
        kafka: options.kafka,
        redis: options.redis,
        serde: options.serde,
        logger: logger.child({ role: `sink-${sink.target}` }),
        metrics: options.metrics,
      });
      await runner.start();
      runners.push(runner);
      groups.push({ groupId: sink.groupId, target: sink.target, topics: sink.topics });
    }
  } catch (error) {
    await closeAll(runners, salesforce, zendesk);
    throw error;
  }
  return { groups, latencies, close: () => closeAll(runners, salesforce, zendesk) };
}

/**
 * The simulated CRM accounts and opportunities, and the support organizations, are records the
 * platforms hold before they send their events: put them into the doubles, so that the write-backs
 * find them as they would in a real org and account.
 */
function seedPlatforms(companies: readonly Company[], salesforce: SalesforceSim, zendesk: ZendeskSim): void {
  for (const company of companies) {
    const crm = company.records.salesforce;
    if (crm) {
      salesforce.seed('Account', { Id: crm.accountId, Name: crm.name, Website: crm.website });
      for (const opportunityId of crm.opportunityIds) {
        salesforce.seed('Opportunity', {
          Id: opportunityId,
          Name: `${crm.name} subscription`,
          AccountId: crm.accountId,
          StageName: 'Prospecting',
          CloseDate: new Date().toISOString().slice(0, 10),
        });
      }
    }
    const support = company.records.zendesk;
    if (support) {
      zendesk.seed({
        id: Number(support.organizationId),
        name: support.name,
        domain_names: support.domainNames,
        ...(support.externalId ? { external_id: support.externalId } : {}),
      });
    }
  }
}

async function closeAll(runners: readonly SinkRunner[], salesforce: SalesforceSim, zendesk: ZendeskSim) {
  await Promise.allSettled(runners.map((runner) => runner.close()));
  await Promise.allSettled([salesforce.close(), zendesk.close()]);
}

/** The sink as it is, keeping each applied record's acknowledgement-to-commit time in `samples`. */
function measured(sink: Sink, samples: number[]): Sink {
  return {
    target: sink.target,
    groupId: sink.groupId,
    topics: sink.topics,
    async apply(records: readonly SinkRecord[]): Promise<SinkOutcome[]> {
      const outcomes = await sink.apply(records);
      const now = Date.now();
      outcomes.forEach((outcome, index) => {
        const record = records[index];
        if (outcome.status !== 'applied' || !record) return;
        const ingestedAt = ingestedAtOf(record);
        if (ingestedAt !== undefined) samples.push(Math.max(0, now - ingestedAt));
      });
      return outcomes;
    },
    probe: () => sink.probe(),
    close: () => sink.close(),
  };
}

function ingestedAtOf(record: SinkRecord): number | undefined {
  const envelope = record.value.envelope as { ingestedAt?: unknown } | undefined;
  const value = envelope?.ingestedAt;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  return undefined;
}
