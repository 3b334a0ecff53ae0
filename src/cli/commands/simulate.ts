/**
 * `syncline simulate`: realistic, correctly signed webhook traffic for a population of companies
 * across Stripe, Salesforce and Zendesk (and, with --erp-listen, an ERP customer master to poll),
 * at a given rate for a given time, with the ground truth of which source ids are one company
 * written beside it. Loopback targets only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { defaultStackHome } from '../../infra/paths.ts';
import { ErpSandbox } from '../../producers/erp-polling/erp-sandbox.ts';
import { erpCustomersOf } from '../../producers/simulator/event-script.ts';
import { assertLoopback } from '../../producers/simulator/http-sender.ts';
import { generatePopulation } from '../../producers/simulator/population.ts';
import { Random } from '../../producers/simulator/random.ts';
import {
  populationSize,
  SIMULATION_LIMITS,
  simulate,
  type SimulationSummary,
} from '../../producers/simulator/simulator.ts';
import { loadConfig } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { printJson, Progress, say } from '../output.ts';

interface SimulateOptions {
  rate: number;
  duration: number;
  companies?: number;
  seed: string;
  truth?: string;
  target?: string;
  concurrency: number;
  duplicates: number;
  reorder: number;
  erpListen?: number;
  erpLinger: number;
  json?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description(
      'Send realistic, signed webhooks for a population of companies to the webhook server (loopback only) and write the ground truth',
    )
    .option(
      '--rate <n>',
      `requests per second (1..${SIMULATION_LIMITS.maxRate})`,
      bounded(1, SIMULATION_LIMITS.maxRate),
      50,
    )
    .option(
      '--duration <s>',
      `seconds to send for (1..${SIMULATION_LIMITS.maxDurationSeconds})`,
      bounded(1, SIMULATION_LIMITS.maxDurationSeconds),
      10,
    )
    .option(
      '--companies <k>',
      'size of the population (default: enough for rate × duration)',
      bounded(1, SIMULATION_LIMITS.maxCompanies),
    )
    .option('--seed <x>', 'seed: the same seed gives the same companies, ids, bodies and order', 'syncline')
    .option(
      '--truth <file>',
      'where to write the ground truth, JSON lines (default .syncline/simulate/truth-<seed>.jsonl)',
    )
    .option(
      '--target <url>',
      'webhook server base URL, loopback only (default http://127.0.0.1:$WEBHOOK_PORT)',
    )
    .option('--concurrency <n>', 'requests in flight at most', bounded(1, 512), 32)
    .option(
      '--duplicates <rate>',
      'share of deliveries sent twice, as platforms retry (0..0.5)',
      fraction(0.5),
      0.05,
    )
    .option('--reorder <rate>', 'share of deliveries sent out of order (0..1)', fraction(1), 0.1)
    .option(
      '--erp-listen <port>',
      "also serve the population's ERP customer master on 127.0.0.1:<port> for the polling connector",
      bounded(1, 65535),
    )
    .option(
      '--erp-linger <s>',
      'keep the ERP API up this long after the last webhook, for the poller to catch up',
      bounded(0, 3600),
      15,
    )
    .option('--json', 'print the summary as one JSON object on stdout')
    .action(async (options: SimulateOptions) => {
      const config = loadConfig();
      const target = options.target ?? `http://127.0.0.1:${config.webhookPort}`;
      assertLoopback(target);
      const planned = options.rate * options.duration;
      if (planned > SIMULATION_LIMITS.maxRequests) {
        throw SynclineError.permanent(
          ErrorCodes.INPUT_INVALID,
          `rate × duration is ${planned} requests; the limit is ${SIMULATION_LIMITS.maxRequests}`,
        );
      }
      const missing = (['stripe', 'salesforce', 'zendesk'] as const).filter(
        (platform) => config.webhookSecrets[platform].length === 0,
      );
      if (missing.length > 0) {
        const names = missing.map((platform) => `${platform.toUpperCase()}_WEBHOOK_SECRET`).join(', ');
        throw SynclineError.permanent(
          ErrorCodes.CONFIG_INVALID,
          `set ${names}: the simulator signs with the same secrets the webhook server checks`,
        );
      }
      const secrets = {
        stripe: config.webhookSecrets.stripe[0]!,
        salesforce: config.webhookSecrets.salesforce[0]!,
        zendesk: config.webhookSecrets.zendesk[0]!,
      };

      let erp: ErpSandbox | undefined;
      let erpChanges: NodeJS.Timeout | undefined;
      if (options.erpListen !== undefined) {
        erp = new ErpSandbox();
        const population = generatePopulation({
          companies: populationSize(planned, options.companies),
          seed: options.seed,
        });
        const customers = erpCustomersOf(population, options.seed);
        if (customers.length > 0) erp.update(customers);
        const url = await erp.listen(options.erpListen, '127.0.0.1');
        say(
          `ERP customer master: ${customers.length} customers at ${url} (set ERP_API_URL to poll it)`,
          options.json,
        );
        // Credit standing moves while the simulation runs, as it does in a real ERP.
        const random = new Random(`erp-changes:${options.seed}`);
        erpChanges = setInterval(() => {
          if (customers.length === 0) return;
          const picked = random.pick(customers);
          erp?.update([
            {
              customerNumber: picked.customerNumber,
              creditStatus: random.pick(['CLEAR', 'WATCH', 'HOLD', 'BLOCKED'] as const),
            },
          ]);
        }, 1000);
      }

      const progress = new Progress('simulate: requests', planned);
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      let summary: SimulationSummary;
      let truthLines: string[];
      try {
        const result = await simulate({
          target,
          rate: options.rate,
          durationSeconds: options.duration,
          ...(options.companies ? { companies: options.companies } : {}),
          seed: options.seed,
          secrets,
          duplicateRate: options.duplicates,
          reorderRate: options.reorder,
          concurrency: options.concurrency,
          includeErp: erp !== undefined,
          signal: abort.signal,
          onProgress: ({ sent, answered }) => progress.update(sent, `(${answered} answered)`),
        });
        summary = result.summary;
        truthLines = result.truth.map((line) => JSON.stringify(line));
        progress.done(`${summary.sent} sent in ${summary.elapsedSeconds}s`);
        if (erp && options.erpLinger > 0 && !abort.signal.aborted) {
          say(`keeping the ERP API up ${options.erpLinger}s more for the poller`, options.json);
          await new Promise((done) => setTimeout(done, options.erpLinger * 1000));
        }
      } finally {
        process.removeListener('SIGINT', onSignal);
        if (erpChanges) clearInterval(erpChanges);
        await erp?.close();
      }

      const truthFile = resolve(
        options.truth ??
          join(defaultStackHome(), 'simulate', `truth-${options.seed.replace(/[^\w.-]+/g, '_')}.jsonl`),
      );
      mkdirSync(dirname(truthFile), { recursive: true });
      writeFileSync(truthFile, truthLines.length > 0 ? `${truthLines.join('\n')}\n` : '');

      if (options.json) {
        printJson({ ...summary, truthFile, truthCompanies: truthLines.length });
      } else {
        say(describe(summary));
        say(`ground truth: ${truthLines.length} companies in ${truthFile}`);
      }
      if (summary.transportErrors === summary.sent && summary.sent > 0) {
        throw SynclineError.retriable(
          ErrorCodes.TARGET_UNAVAILABLE,
          `no request reached ${target}: is the webhook server running (syncline run --role ingest)?`,
        );
      }
    });
}

function describe(summary: SimulationSummary): string {
  const counts = (record: Record<string, number>, extra: Record<string, number> = {}): string =>
    Object.entries({ ...record, ...extra })
      .filter(([, value]) => value > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => `${key} ${value}`)
      .join(', ') || 'none';
  return [
    `sent ${summary.sent} requests to ${summary.target} in ${summary.elapsedSeconds}s (${summary.achievedRate}/s) for ${summary.companies} companies, seed ${summary.seed}`,
    `  by source:  ${counts(summary.bySource)}`,
    `  answers:    ${counts(summary.byStatus, { 'no answer': summary.transportErrors })}`,
    `  outcomes:   ${counts(summary.byOutcome)}`,
    `  injected:   ${summary.duplicatesSent} duplicate deliveries, ${summary.outOfOrder} out of order`,
    `  latency:    p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`,
  ].join('\n');
}

function bounded(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return parsed;
  };
}

function fraction(max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0 || parsed > max)
      throw new InvalidArgumentError(`must be a number from 0 to ${max}`);
    return parsed;
  };
}
