/**
 * `syncline demo`: the end-to-end demo on the local stack (see src/demo/demo.ts), with a summary for
 * people or, with --json, one JSON object for machines.
 */
import { Option, type Command } from 'commander';
import { runDemo, type DemoReport } from '../../demo/demo.ts';
import { loadConfig } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { createLogger } from '../../runtime/logger.ts';
import { integerOption } from '../foreground.ts';
import { printJson, Progress, say } from '../output.ts';

interface DemoCliOptions {
  rate: number;
  duration: number;
  seed?: string;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run the end-to-end demo on the local stack (starts what is missing) and print a summary')
    .addOption(
      new Option('--rate <n>', 'simulated webhooks per second')
        .argParser(integerOption('--rate', 1, 2000))
        .default(40),
    )
    .addOption(
      new Option('--duration <s>', 'seconds of simulated traffic')
        .argParser(integerOption('--duration', 1, 600))
        .default(15),
    )
    .option(
      '--seed <seed>',
      'seed of the simulated population (same seed, same companies and event ids; default: a new one per run, ' +
        'since a seed already run is recognised as duplicates all the way down)',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: DemoCliOptions) => {
      const config = loadConfig();
      // The demo's own log lines would drown the summary; warnings and errors still show.
      const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
      let progress: Progress | undefined;
      const report = await runDemo(config, logger, {
        rate: options.rate,
        durationSeconds: options.duration,
        seed: options.seed ?? `demo-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`,
        onStep: (text) => process.stderr.write(`demo: ${text}\n`),
        onProgress: (sent, planned) => {
          progress ??= new Progress('simulate: webhooks', planned);
          progress.update(sent);
        },
      });
      progress?.done();
      if (options.json) printJson(report);
      else say(describe(report));
      if (report.eventsIn === 0) {
        throw SynclineError.permanent(
          ErrorCodes.UNEXPECTED,
          'no event was acknowledged: see the log lines above',
        );
      }
    });
}

function describe(report: DemoReport): string {
  const raw = Object.entries(report.rawRecords)
    .map(([topic, count]) => `    ${topic.padEnd(28)} ${count}`)
    .join('\n');
  const canonical = Object.entries(report.canonicalRecords)
    .map(([topic, count]) => `    ${topic.padEnd(28)} ${count}`)
    .join('\n');
  const dlq = Object.entries(report.dlqByGroup)
    .filter(([, count]) => count > 0)
    .map(([group, count]) => `${group} ${count}`)
    .join(', ');
  const sinks = Object.entries(report.sinkWrites)
    .map(
      ([target, outcomes]) =>
        `    ${target.padEnd(28)} ${Object.entries(outcomes)
          .map(([outcome, count]) => `${outcome} ${count}`)
          .join(', ')}`,
    )
    .join('\n');
  const w = report.webhooks;
  return [
    '',
    `Syncline demo: ${report.eventsIn} events in, from ${report.companies} simulated companies (seed ${report.seed}, ${report.elapsedSeconds}s)`,
    `  webhooks sent ${w.sent}: accepted ${w.accepted}, duplicates recognised ${w.duplicatesRecognised}, ` +
      `event types ignored ${w.ignoredEventTypes}, refused ${w.refused}, unavailable ${w.unavailable}`,
    `  webhook latency with acks=all: p50 ${report.webhookP50Ms.toFixed(1)} ms, p99 ${report.webhookP99Ms.toFixed(1)} ms`,
    `  ERP customer-master records polled: ${report.erpRecordsPolled}`,
    '  records on the raw topics (Avro, Confluent wire format):',
    raw,
    `  golden customers: ${report.goldenCustomers} for ${report.companies} companies; match quality on the ground truth: ` +
      `precision ${report.matchQuality.precision}, recall ${report.matchQuality.recall}, F1 ${report.matchQuality.f1} ` +
      `(${report.matchQuality.records} source records)`,
    `  match outcomes: ${Object.entries(report.matchOutcomes)
      .map(([outcome, count]) => `${outcome} ${count}`)
      .join(', ')}`,
    '  records written by the processor:',
    canonical,
    '  records settled by each sink (applied, duplicate, stale, ignored, dlq, parked):',
    sinks,
    `  ERP writes: ${report.erpWrites}; from acknowledgement to ERP commit: p50 ${report.p50Ms.toFixed(0)} ms, p99 ${report.p99Ms.toFixed(0)} ms`,
    `  dead-lettered: ${report.dlq}${report.dlq > 0 ? ` (${dlq}; see syncline dlq list --group <group>)` : ''}`,
    report.caughtUp
      ? '  every stage caught up'
      : `  NOT caught up within the wait: ${Object.entries(report.behind)
          .map(([group, count]) => `${group} ${count} records behind`)
          .join(', ')}`,
  ].join('\n');
}
