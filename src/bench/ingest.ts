/**
 * `syncline bench ingest`: webhook requests per second and latency (p50, p99) of the real ingest
 * path at acks=all, beside a bare express endpoint that publishes the same request bodies with a
 * plain kafkajs producer, in one run, and the ratio of the two (the goal is at least 0.5).
 *
 * Both servers run in a child process of their own and get the same load: realistic, signed
 * webhooks from the simulator (unique events, so none is answered as a duplicate), sent by a
 * closed-loop keep-alive load generator on loopback with a fixed number of connections. Each server
 * gets a warm-up that is not counted. Topics and schema subjects are private to the run and
 * removed afterwards, so the benchmark needs only a running broker and registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { createKafka } from '../runtime/kafka.ts';
import { createLogger } from '../runtime/logger.ts';
import { createScratchRawTopics } from '../producers/scratch-raw-topics.ts';
import { scriptWebhooks, type ScriptedWebhook } from '../producers/simulator/event-script.ts';
import { LoopbackClient, quantile } from '../producers/simulator/http-sender.ts';
import { generatePopulation } from '../producers/simulator/population.ts';
import { signedHeaders, webhookPath } from '../producers/simulator/webhook-signers.ts';

export interface IngestBenchOptions {
  config: Config;
  /** Measured seconds per server. Default 10. */
  durationSeconds?: number;
  /** Uncounted seconds per server before measuring. Default 3. */
  warmupSeconds?: number;
  /** Concurrent keep-alive connections of the load generator. Default 64. */
  connections?: number;
  seed?: string;
  onProgress?: (message: string) => void;
}

export interface IngestBenchRun {
  server: 'syncline' | 'bare';
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** Answers other than 200, by status ('error' when there was no answer). */
  failures: Record<string, number>;
}

export interface IngestBenchReport {
  scenario: 'ingest';
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  acks: 'all';
  syncline: IngestBenchRun;
  bare: IngestBenchRun;
  /** syncline ÷ bare requests per second. */
  ratio: number;
  goal: number;
  meetsGoal: boolean;
}

const TARGET_SCRIPT = fileURLToPath(new URL('./ingest-target.ts', import.meta.url));
const GOAL = 0.5;

export async function runIngestBench(options: IngestBenchOptions): Promise<IngestBenchReport> {
  const { config } = options;
  const durationSeconds = options.durationSeconds ?? 10;
  const warmupSeconds = options.warmupSeconds ?? 3;
  const connections = options.connections ?? 64;
  const seed = options.seed ?? 'bench-ingest';
  const progress = options.onProgress ?? (() => undefined);
  const secrets = {
    stripe: config.webhookSecrets.stripe[0] ?? 'whsec_bench_ingest',
    salesforce: config.webhookSecrets.salesforce[0] ?? 'bench-ingest-salesforce',
    zendesk: config.webhookSecrets.zendesk[0] ?? 'bench-ingest-zendesk',
  };

  const logger = createLogger({ level: 'warn', name: 'bench-ingest' });
  const kafka = createKafka(config, logger, 'bench-ingest');
  progress('creating private topics and schema subjects');
  const scratch = await createScratchRawTopics(kafka, config.schemaRegistryUrl, {
    label: 'bench-ingest',
    partitions: 3,
    extraTopics: ['bare'],
  });
  try {
    // Enough unique webhooks for both servers at a generous rate; each server gets its own half.
    const perServer = Math.max(20_000, (durationSeconds + warmupSeconds) * 6000);
    progress(`generating ${perServer * 2} signed webhooks`);
    const script = scriptWebhooks(
      generatePopulation({ companies: Math.ceil((perServer * 2) / 12), seed }),
      seed,
    ).filter((webhook) => webhook.consumed);
    const halves = [
      script.filter((_, index) => index % 2 === 0),
      script.filter((_, index) => index % 2 === 1),
    ] as const;
    const env = {
      ...process.env,
      BENCH_TOPIC_PREFIX: scratch.prefix,
      STRIPE_WEBHOOK_SECRET: secrets.stripe,
      SALESFORCE_WEBHOOK_SECRET: secrets.salesforce,
      ZENDESK_WEBHOOK_SECRET: secrets.zendesk,
    };
    const runOne = async (
      server: 'syncline' | 'bare',
      webhooks: readonly ScriptedWebhook[],
    ): Promise<IngestBenchRun> => {
      const child = await startTarget(server, env);
      try {
        progress(`${server}: warming up ${warmupSeconds}s`);
        const requests = prepare(webhooks, secrets);
        let next = 0;
        const take = (): PreparedRequest => {
          const request = requests[next % requests.length]!;
          next += 1;
          return request;
        };
        await drive(child.url, connections, warmupSeconds * 1000, take);
        progress(`${server}: measuring ${durationSeconds}s with ${connections} connections`);
        const measured = await drive(child.url, connections, durationSeconds * 1000, take);
        if (next > requests.length)
          progress(`${server}: note: ${next - requests.length} requests repeated an earlier event`);
        return { server, ...measured };
      } finally {
        await child.stop();
      }
    };
    const syncline = await runOne('syncline', halves[0]);
    const bare = await runOne('bare', halves[1]);
    const ratio = Math.round((syncline.requestsPerSecond / Math.max(bare.requestsPerSecond, 1)) * 100) / 100;
    return {
      scenario: 'ingest',
      connections,
      durationSeconds,
      warmupSeconds,
      acks: 'all',
      syncline,
      bare,
      ratio,
      goal: GOAL,
      meetsGoal: ratio >= GOAL,
    };
  } finally {
    progress('removing private topics and subjects');
    await scratch.cleanup();
  }
}

export function formatIngestBench(report: IngestBenchReport): string {
  const row = (run: IngestBenchRun): string =>
    `${run.server.padEnd(9)} ${String(run.requestsPerSecond).padStart(8)} req/s   p50 ${run.latencyMs.p50.toFixed(2).padStart(7)} ms   p99 ${run.latencyMs.p99.toFixed(2).padStart(7)} ms   ${run.requests} requests${
      Object.keys(run.failures).length > 0 ? `, failures ${JSON.stringify(run.failures)}` : ''
    }`;
  return [
    `bench ingest: webhooks at acks=all, ${report.connections} connections, ${report.durationSeconds}s measured after ${report.warmupSeconds}s warm-up`,
    row(report.syncline),
    row(report.bare),
    `ratio syncline/bare ${report.ratio} (goal ≥ ${report.goal}: ${report.meetsGoal ? 'met' : 'NOT met'})`,
  ].join('\n');
}

interface PreparedRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function prepare(
  webhooks: readonly ScriptedWebhook[],
  secrets: Record<'stripe' | 'salesforce' | 'zendesk', string>,
): PreparedRequest[] {
  // Signed now, so every signature is well inside the replay window during the run.
  return webhooks.map((webhook) => ({
    path: webhookPath(webhook.platform),
    headers: signedHeaders(webhook.platform, webhook.body, secrets[webhook.platform]),
    body: Buffer.from(webhook.body),
  }));
}

/** Closed loop: each connection sends its next request as soon as the previous one is answered. */
async function drive(
  url: string,
  connections: number,
  durationMs: number,
  take: () => PreparedRequest,
): Promise<Omit<IngestBenchRun, 'server'>> {
  const client = new LoopbackClient(url, connections);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + durationMs;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const request = take();
      try {
        const answer = await client.post(request.path, request.headers, request.body, 30_000);
        if (answer.status === 200) latencies.push(answer.latencyMs);
        else failures[String(answer.status)] = (failures[String(answer.status)] ?? 0) + 1;
      } catch {
        failures.error = (failures.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  const elapsed = (performance.now() - started) / 1000;
  client.close();
  return {
    requests: latencies.length,
    requestsPerSecond: Math.round(latencies.length / elapsed),
    latencyMs: { p50: round2(quantile(latencies, 0.5)), p99: round2(quantile(latencies, 0.99)) },
    failures,
  };
}

async function startTarget(
  mode: 'syncline' | 'bare',
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [TARGET_SCRIPT], {
    env: { ...env, BENCH_MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(failure(`the ${mode} server did not start within 60s`, stderr)),
      60_000,
    );
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /ready (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(failure(`the ${mode} server exited with code ${code} during start-up`, stderr));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function failure(message: string, stderr: string): SynclineError {
  const last = stderr.trim().split('\n').slice(-3).join(' | ');
  return SynclineError.permanent(ErrorCodes.UNEXPECTED, `${message}${last ? `: ${last}` : ''}`, {
    part: 'bench ingest',
  });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
