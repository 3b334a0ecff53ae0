/**
 * `syncline bench erp-rest`: the ERP REST sink with its calls sent together as `$batch` requests,
 * beside the same sink sending every call alone (at the concurrency it used to have), in one run,
 * against a private reference ERP without a request limit.
 *
 * What matters at a real cloud ERP is not only records/s on this machine but HTTP requests per
 * record: Business Central allows 6000 requests per 5 minutes per client (20 a second), and a
 * `$batch` of up to 100 operations counts as one. So the report gives both, and the records/s each
 * contender could sustain within that limit.
 *
 * Every round writes fresh records (a customer, two orders, three invoices per golden customer),
 * every chunk through each contender in turn (the order rotating per chunk), medians reported.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ErpRestSink } from '../consumers/erp-rest/erp-rest-sink.ts';
import type { SinkRecord } from '../consumers/sink.ts';
import { startErpServer, type ErpServer } from '../erp/server.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import { median, pass, rate } from './rounds.ts';
import { recordsOf } from './sink.ts';

export interface ErpRestBenchOptions {
  databaseUrl: string;
  logger: Logger;
  /** Records per round. */
  rows: number;
  /** Records per sink call (the runner's batch). */
  batch: number;
  rounds: number;
  onProgress?: (message: string) => void;
}

interface ContenderFigures {
  recordsPerSecond: number;
  requestsPerRecord: number;
  /** Records/s within Business Central's 20 requests/s per client. */
  recordsPerSecondWithinLimit: number;
}

export interface ErpRestBenchReport {
  rows: number;
  batch: number;
  rounds: number;
  batched: ContenderFigures;
  single: ContenderFigures;
  /** batched / single records/s on this machine. */
  speedRatio: number;
  /** single / batched requests per record: how many fewer requests batching needs. */
  requestRatio: number;
  samples: { batched: number[]; single: number[] };
}

/** Business Central: 6000 requests per 5-minute window per client. */
const LIMIT_PER_SECOND = 6000 / 300;
const TOKEN = `bench-erp-rest-${randomBytes(8).toString('hex')}`;

export async function runErpRestBench(options: ErpRestBenchOptions): Promise<ErpRestBenchReport> {
  const say = options.onProgress ?? (() => undefined);
  // One private ERP per contender: the same records go to both, and neither finds the other's rows.
  const schemas = [0, 1].map(() => `erp_bench_${randomBytes(4).toString('hex')}`);
  const erps: ErpServer[] = [];
  const samples = { batched: [] as number[], single: [] as number[] };
  const requests = { batched: 0, single: 0 };
  try {
    for (const schema of schemas) {
      erps.push(
        await startErpServer({
          databaseUrl: options.databaseUrl,
          schema,
          port: 0,
          tokens: [TOKEN],
          rateLimit: null,
          logger: options.logger,
        }),
      );
    }
    const sinks = [
      new ErpRestSink({ apiUrl: erps[0]!.apiUrl, token: TOKEN }),
      new ErpRestSink({ apiUrl: erps[1]!.apiUrl, token: TOKEN, concurrency: 8, maxBatchOperations: 1 }),
    ];
    const calls = [0, 0];
    const contenders = sinks.map((sink, index) => async (chunk: readonly SinkRecord[]) => {
      const before = erps[index]!.apiRequests();
      await applyAll(sink, chunk);
      calls[index]! += erps[index]!.apiRequests() - before;
    });
    await pass(recordsOf(Math.min(options.rows, 300)), options.batch, contenders); // warm-up: not counted
    for (let round = 1; round <= options.rounds; round += 1) {
      calls.fill(0);
      const seconds = await pass(recordsOf(options.rows), options.batch, contenders);
      samples.batched.push(rate(options.rows, seconds[0]!));
      samples.single.push(rate(options.rows, seconds[1]!));
      requests.batched += calls[0]!;
      requests.single += calls[1]!;
      say(
        `round ${round}/${options.rounds}: batched ${samples.batched.at(-1)} records/s (${calls[0]} requests), one by one ${samples.single.at(-1)} records/s (${calls[1]} requests)`,
      );
    }
  } finally {
    for (const erp of erps) await erp.close().catch(() => undefined);
    await dropSchemas(options.databaseUrl, schemas).catch(() => undefined);
  }
  const figures = (rates: number[], calls: number): ContenderFigures => {
    const perRecord = calls / (options.rows * options.rounds);
    return {
      recordsPerSecond: median(rates),
      requestsPerRecord: round3(perRecord),
      recordsPerSecondWithinLimit: Math.round(LIMIT_PER_SECOND / perRecord),
    };
  };
  const batched = figures(samples.batched, requests.batched);
  const single = figures(samples.single, requests.single);
  return {
    rows: options.rows,
    batch: options.batch,
    rounds: options.rounds,
    batched,
    single,
    speedRatio: round3(batched.recordsPerSecond / single.recordsPerSecond),
    requestRatio: round3(single.requestsPerRecord / batched.requestsPerRecord),
    samples,
  };
}

export function formatErpRestBench(report: ErpRestBenchReport): string {
  const line = (label: string, figures: ContenderFigures) =>
    `  ${label.padEnd(24)}${figures.recordsPerSecond.toLocaleString('en')} records/s here, ${figures.requestsPerRecord} requests per record, ${figures.recordsPerSecondWithinLimit.toLocaleString('en')} records/s within 20 requests/s`;
  return [
    `ERP REST sink: ${report.rows} records per round, ${report.batch} per sink call, median of ${report.rounds} rounds`,
    line('$batch (up to 100)', report.batched),
    line('one request per call', report.single),
    `  batched / one by one: ${report.speedRatio}x the records/s here, ${report.requestRatio}x fewer requests`,
  ].join('\n');
}

/** Every record applied (or a clear error): the benchmark measures success, not failures. */
async function applyAll(sink: ErpRestSink, chunk: readonly SinkRecord[]): Promise<void> {
  const outcomes = await sink.apply(chunk);
  const applied = outcomes.filter((outcome) => outcome.status === 'applied').length;
  if (applied !== chunk.length) {
    const other = outcomes.find((outcome) => outcome.status !== 'applied');
    throw SynclineError.permanent(
      ErrorCodes.UNEXPECTED,
      `the ERP REST sink applied ${applied} of ${chunk.length} fresh records: ${JSON.stringify(other ?? 'no answer for the rest')}`,
    );
  }
}

async function dropSchemas(databaseUrl: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
