/**
 * `syncline bench sink`: rows/s into PostgreSQL through the ERP SQL sink, beside a plain batched
 * INSERT of the same rows into identical tables, in one run (goal: the sink at >= 0.7x the plain
 * INSERT). What the sink does on top of the plain INSERT is what makes it safe: advisory locks per
 * record, the look-up of the highest staged version and of already staged idempotency keys, and
 * `ON CONFLICT (idempotency_key) DO NOTHING`. Both write the same rows (customers, orders and
 * invoices, one transaction per batch of `batch` records, the runner's batch size) into tables with
 * the same columns and indexes, in a private schema dropped afterwards.
 *
 * Every batch goes through each contender in turn (the order rotating per batch), each into its own
 * tables, and the median of the rounds is reported, so that a slow moment of the shared machine
 * hits all of them alike. A third figure adds the runner's Redis
 * idempotency claims (claim and mark done per record) to the sink: the whole per-record cost of the
 * SQL sink role apart from Kafka.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { ErpSqlSink } from '../consumers/erp-sql/erp-sql-sink.ts';
import {
  columnArrays,
  ddlOf,
  insertSql,
  INTERFACE_TABLES,
  tableOf,
} from '../consumers/erp-sql/interface-tables.ts';
import type { SinkRecord } from '../consumers/sink.ts';
import { IdempotencyStore } from '../processors/pipeline/idempotency.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { median, pass, rate } from './rounds.ts';

export interface SinkBenchOptions {
  pool: pg.Pool;
  redis: Redis;
  /** Records per round. */
  rows: number;
  /** Records per transaction (the runner's maxBatchRecords). */
  batch: number;
  /** Measured rounds per contender (the median is reported). */
  rounds: number;
  onProgress?: (message: string) => void;
}

export interface SinkBenchReport {
  rows: number;
  batch: number;
  rounds: number;
  plainRowsPerSecond: number;
  sinkRowsPerSecond: number;
  /** sink / plain: the goal is >= 0.7. */
  ratio: number;
  goal: number;
  goalMet: boolean;
  sinkWithClaimsRowsPerSecond: number;
  ratioWithClaims: number;
  /** Every round's rows/s, in the order run. */
  samples: { plain: number[]; sink: number[]; sinkWithClaims: number[] };
}

const GOAL = 0.7;
const PLAIN_SUFFIX = '_plain';

export async function runSinkBench(options: SinkBenchOptions): Promise<SinkBenchReport> {
  const suffix = randomBytes(4).toString('hex');
  const schema = `bench_sink_${suffix}`;
  const claimsSchema = `bench_sink_claims_${suffix}`;
  const redisPrefix = `syncline:bench-sink:${suffix}:`;
  const sink = new ErpSqlSink({ pool: options.pool, schema });
  const sinkWithClaims = new ErpSqlSink({ pool: options.pool, schema: claimsSchema });
  const claims = new IdempotencyStore({ redis: options.redis, prefix: redisPrefix });
  const say = options.onProgress ?? (() => undefined);
  const samples = { plain: [] as number[], sink: [] as number[], sinkWithClaims: [] as number[] };
  try {
    await sink.migrate();
    await sinkWithClaims.migrate();
    for (const definition of INTERFACE_TABLES) {
      await options.pool.query(ddlOf(schema, definition, `${definition.table}${PLAIN_SUFFIX}`));
    }
    const contenders: Array<(chunk: readonly SinkRecord[]) => Promise<void>> = [
      (chunk) => plainInsert(options.pool, schema, chunk),
      (chunk) => throughSink(sink, chunk),
      (chunk) => throughSink(sinkWithClaims, chunk, claims),
    ];
    // Warm-up: connections, plans, buffers; not counted.
    await pass(recordsOf(Math.min(options.rows, 2000)), options.batch, contenders);
    for (let round = 1; round <= options.rounds; round += 1) {
      const seconds = await pass(recordsOf(options.rows), options.batch, contenders);
      samples.plain.push(rate(options.rows, seconds[0]!));
      samples.sink.push(rate(options.rows, seconds[1]!));
      samples.sinkWithClaims.push(rate(options.rows, seconds[2]!));
      say(
        `round ${round}/${options.rounds}: plain ${samples.plain.at(-1)} rows/s, sink ${samples.sink.at(-1)} rows/s, with claims ${samples.sinkWithClaims.at(-1)} rows/s`,
      );
    }
  } finally {
    for (const name of [schema, claimsSchema]) {
      await options.pool.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => undefined);
    }
    const keys = await options.redis.keys(`${redisPrefix}*`).catch(() => [] as string[]);
    for (let start = 0; start < keys.length; start += 1000) {
      await options.redis.del(...keys.slice(start, start + 1000)).catch(() => undefined);
    }
  }
  const plain = median(samples.plain);
  const viaSink = median(samples.sink);
  const withClaims = median(samples.sinkWithClaims);
  return {
    rows: options.rows,
    batch: options.batch,
    rounds: options.rounds,
    plainRowsPerSecond: plain,
    sinkRowsPerSecond: viaSink,
    ratio: round2(viaSink / plain),
    goal: GOAL,
    goalMet: viaSink / plain >= GOAL,
    sinkWithClaimsRowsPerSecond: withClaims,
    ratioWithClaims: round2(withClaims / plain),
    samples,
  };
}

export function formatSinkBench(report: SinkBenchReport): string {
  return [
    `ERP SQL sink: ${report.rows} rows per round, ${report.batch} per transaction, median of ${report.rounds} rounds`,
    `  plain batched INSERT      ${report.plainRowsPerSecond.toLocaleString('en')} rows/s`,
    `  through the SQL sink      ${report.sinkRowsPerSecond.toLocaleString('en')} rows/s  (${report.ratio}x, goal >= ${report.goal}: ${report.goalMet ? 'met' : 'NOT met'})`,
    `  sink + Redis claims       ${report.sinkWithClaimsRowsPerSecond.toLocaleString('en')} rows/s  (${report.ratioWithClaims}x)`,
  ].join('\n');
}

/** The same rows with the plain INSERT: one transaction per batch, one INSERT per table. */
async function plainInsert(pool: pg.Pool, schema: string, chunk: readonly SinkRecord[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const definition of INTERFACE_TABLES) {
      const rows = chunk.filter((record) => record.topic === definition.topic);
      if (rows.length === 0) continue;
      await client.query(
        insertSql(schema, definition, `${definition.table}${PLAIN_SUFFIX}`),
        columnArrays(definition, rows),
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** One batch through the sink (and the runner's Redis claims, when given). */
async function throughSink(
  sink: ErpSqlSink,
  chunk: readonly SinkRecord[],
  claims?: IdempotencyStore,
): Promise<void> {
  const held = claims ? await Promise.all(chunk.map((record) => claims.claim(record.idempotencyKey))) : [];
  const outcomes = await sink.apply(chunk);
  const applied = outcomes.filter((outcome) => outcome.status === 'applied').length;
  if (applied !== chunk.length) {
    throw SynclineError.permanent(
      ErrorCodes.UNEXPECTED,
      `the sink applied ${applied} of ${chunk.length} fresh records: ${JSON.stringify(outcomes.find((o) => o.status !== 'applied'))}`,
    );
  }
  if (claims) {
    await Promise.all(
      held.map((claim) =>
        claim.status === 'claimed' ? claims.markDone(claim.claim, []) : Promise.resolve(),
      ),
    );
  }
}

/** Fresh records: per customer one customer, two orders and three invoices (a typical mix). */
export function recordsOf(count: number): SinkRecord[] {
  const records: SinkRecord[] = [];
  const now = Date.now();
  while (records.length < count) {
    const goldenId = randomUUID();
    records.push(record('canonical.customer', goldenId, goldenId, 1, now, customerOf(goldenId)));
    for (let n = 0; n < 2 && records.length < count; n += 1) {
      const id = `stripe:sub_${randomBytes(8).toString('hex')}`;
      records.push(record('canonical.order', goldenId, id, 1, now, orderOf(goldenId, id, now)));
    }
    for (let n = 0; n < 3 && records.length < count; n += 1) {
      const id = `stripe:in_${randomBytes(8).toString('hex')}`;
      records.push(record('canonical.invoice', goldenId, id, 1, now, invoiceOf(goldenId, id, now)));
    }
  }
  return records.slice(0, count);
}

function record(
  topic: string,
  goldenId: string,
  entityId: string,
  version: number,
  at: number,
  fields: Record<string, unknown>,
): SinkRecord {
  if (!tableOf(topic)) throw new Error(`no interface table for ${topic}`);
  const idempotencyKey = `bench:${entityId}:v${version}|${topic.slice('canonical.'.length)}`;
  const eventId = randomUUID();
  const correlationId = randomUUID();
  const envelope = {
    eventId,
    eventType: `${topic}.updated`,
    source: { system: 'stripe', instance: 'acct_bench' },
    sourceEntityId: entityId,
    sourceVersion: version,
    occurredAt: at,
    ingestedAt: at,
    idempotencyKey,
    correlationId,
    causationId: null,
  };
  return {
    topic,
    key: goldenId,
    eventId,
    eventType: envelope.eventType,
    idempotencyKey,
    correlationId,
    sourceEntityId: entityId,
    sourceVersion: version,
    occurredAt: at,
    value: { envelope, goldenId, ...fields },
    position: { topic, partition: 0, offset: '0' },
  };
}

const lines = [
  {
    lineId: 'l1',
    productCode: 'SKU-PRO',
    description: 'Pro plan',
    quantity: 3,
    unitPriceMinor: 4900,
    amountMinor: 14_700,
  },
];

function customerOf(goldenId: string): Record<string, unknown> {
  return {
    goldenVersion: 1,
    status: 'ACTIVE',
    legalName: `Bench Customer ${goldenId.slice(0, 8)} GmbH`,
    taxId: `DE${goldenId.replace(/\D/g, '').slice(0, 9)}`,
    taxCountry: 'DE',
    countryCode: 'DE',
    email: `billing@${goldenId.slice(0, 8)}.example`,
    currency: 'EUR',
    address: {
      line1: 'Hauptstrasse 1',
      line2: null,
      city: 'Berlin',
      region: null,
      postalCode: '10115',
      countryCode: 'DE',
    },
  };
}

function orderOf(goldenId: string, orderId: string, at: number): Record<string, unknown> {
  return {
    orderId,
    contractId: null,
    status: 'CONFIRMED',
    orderedAt: at,
    purchaseOrderNumber: null,
    currency: 'EUR',
    lines,
    totalMinor: 14_700,
    goldenId,
  };
}

function invoiceOf(goldenId: string, invoiceId: string, at: number): Record<string, unknown> {
  return {
    invoiceId,
    goldenId,
    contractId: null,
    number: `INV-${invoiceId.slice(-8)}`,
    status: 'ISSUED',
    currency: 'EUR',
    subtotalMinor: 14_700,
    taxMinor: 2793,
    totalMinor: 17_493,
    amountDueMinor: 17_493,
    amountPaidMinor: 0,
    issuedAt: at,
    dueAt: at + 30 * 86_400_000,
    paidAt: null,
    lines,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
