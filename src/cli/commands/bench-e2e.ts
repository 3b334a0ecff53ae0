/**
 * `syncline bench e2e`: the whole flow at a steady webhook rate (default 2000/s, issue 6's load
 * point): the demo's stages in one process (ingest, process, the ERP REST sink and the two
 * write-backs), measuring each applied ERP record from Syncline's acknowledgement of its source event
 * to the ERP's commit. What cannot keep up shows as a growing latency and, at the end, as records
 * still behind: both are reported, never hidden.
 */
import type { Command } from 'commander';
import { runDemo } from '../../demo/demo.ts';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { integerOption } from '../foreground.ts';
import { printJson, Progress, say } from '../output.ts';

export function registerE2eScenario(bench: Command): void {
  bench
    .command('e2e')
    .description(
      'Webhook to ERP row at a steady rate through every stage (the demo flow): p50/p99 from acknowledgement to ERP commit, and whether every stage kept up (goal p99 <= 100 ms at 2000/s)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--rate <n>', 'webhooks per second', integerOption('--rate', 1, 10_000), 2000)
    .option('--duration <s>', 'seconds of traffic', integerOption('--duration', 1, 600), 20)
    .option('--seed <seed>', 'seed of the simulated population (default: a new one per run)')
    .action(async (options: { json?: boolean; rate: number; duration: number; seed?: string }) => {
      const config = loadConfig();
      const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'error' });
      let progress: Progress | undefined;
      const report = await runDemo(config, logger, {
        rate: options.rate,
        durationSeconds: options.duration,
        seed: options.seed ?? `bench-e2e-${Date.now().toString(36)}`,
        onStep: (text) => process.stderr.write(`bench e2e: ${text}\n`),
        onProgress: (sent, planned) => {
          progress ??= new Progress('bench e2e: webhooks', planned);
          progress.update(sent);
        },
      });
      progress?.done();
      const result = {
        scenario: 'e2e',
        rate: options.rate,
        durationSeconds: options.duration,
        webhooksSent: report.webhooks.sent,
        eventsIn: report.eventsIn,
        erpWrites: report.erpWrites,
        p50Ms: report.p50Ms,
        p99Ms: report.p99Ms,
        webhookP50Ms: report.webhookP50Ms,
        webhookP99Ms: report.webhookP99Ms,
        caughtUp: report.caughtUp,
        behind: report.behind,
        dlq: report.dlq,
        elapsedSeconds: report.elapsedSeconds,
        goalP99Ms: 100,
      };
      if (options.json) {
        printJson(result);
        return;
      }
      say(
        [
          '',
          `bench e2e: ${result.webhooksSent} webhooks at ${result.rate}/s for ${result.durationSeconds}s; ${result.eventsIn} events in, ${result.erpWrites} ERP writes, ${result.dlq} dead letters (${result.elapsedSeconds}s in all)`,
          `  acknowledgement to ERP commit: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (goal p99 <= 100 ms)`,
          `  webhook answer with acks=all: p50 ${result.webhookP50Ms} ms, p99 ${result.webhookP99Ms} ms`,
          result.caughtUp
            ? '  every stage kept up'
            : `  NOT every stage kept up: ${Object.entries(result.behind)
                .map(([group, count]) => `${group} ${count} records behind after the wait`)
                .join(', ')}`,
        ].join('\n'),
      );
    });
}
