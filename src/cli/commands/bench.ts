/**
 * `syncline bench <scenario>`: reproducible benchmarks, one subcommand per scenario. A scenario is a
 * function that adds its subcommand to `bench`; add new ones to {@link scenarios}. Every scenario
 * takes --json and then prints one JSON object on stdout; progress goes to stderr.
 */
import type { Command } from 'commander';
import { formatSerdeBench, runSerdeBench } from '../../bench/serde.ts';
import { formatIngestBench, runIngestBench } from '../../bench/ingest.ts';
import { formatProcessBench, runProcessBench } from '../../bench/process.ts';
import { registerMatchScenario } from './bench-match.ts';
import { registerSinkScenario } from './bench-sink.ts';
import { registerE2eScenario } from './bench-e2e.ts';
import { registerErpRestScenario } from './bench-erp-rest.ts';
import { loadConfig } from '../../runtime/config.ts';
import { printJson, Progress, say } from '../output.ts';

export type RegisterScenario = (bench: Command) => void;

const registerSerdeScenario: RegisterScenario = (bench) => {
  bench
    .command('serde')
    .description(
      'Avro encode/decode records/s for every canonical record beside JSON.stringify/parse of the same records; ratios and bytes per record',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--records <n>', 'records per schema per round', positiveInt, 2000)
    .option('--rounds <n>', 'counted rounds (the median is reported)', positiveInt, 9)
    .option('--warmup <n>', 'uncounted warm-up rounds', positiveInt, 10)
    .option('--seed <n>', 'seed of the sample records', positiveInt, 42)
    .option('--topic <topic...>', 'measure these topics instead of the canonical ones')
    .action(
      async (options: {
        json?: boolean;
        records: number;
        rounds: number;
        warmup: number;
        seed: number;
        topic?: string[];
      }) => {
        const progress = new Progress('bench serde: record types');
        const report = await runSerdeBench({
          records: options.records,
          rounds: options.rounds,
          warmupRounds: options.warmup,
          seed: options.seed,
          ...(options.topic ? { topics: options.topic } : {}),
          onProgress: (done, total, topic) => progress.update(done, `${topic} (${done}/${total})`),
        });
        progress.done();
        if (options.json) printJson(report);
        else say(formatSerdeBench(report));
      },
    );
};

const registerIngestScenario: RegisterScenario = (bench) => {
  bench
    .command('ingest')
    .description(
      'Webhook requests/s and p50/p99 at acks=all through the real ingest path beside a bare express + kafkajs endpoint, in one run; reports the ratio (goal >= 0.5)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--duration <s>', 'measured seconds per server', positiveInt, 10)
    .option('--warmup <s>', 'uncounted warm-up seconds per server', positiveInt, 3)
    .option('--connections <n>', 'concurrent keep-alive connections of the load generator', positiveInt, 64)
    .action(async (options: { json?: boolean; duration: number; warmup: number; connections: number }) => {
      const report = await runIngestBench({
        config: loadConfig(),
        durationSeconds: Math.max(1, options.duration),
        warmupSeconds: options.warmup,
        connections: Math.max(1, options.connections),
        onProgress: (message) => process.stderr.write(`bench ingest: ${message}\n`),
      });
      if (options.json) printJson(report);
      else say(formatIngestBench(report));
    });
};

const registerProcessScenario: RegisterScenario = (bench) => {
  bench
    .command('process')
    .description(
      'Records/s through the processing pipeline (decode, map, match-merge, idempotency, encode, produce at acks=all) beside a bare kafkajs consume-produce passthrough of the same records, in one run; reports the ratio (goal >= 0.6)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--records <n>', 'measured simulated raw records', positiveInt, 4000)
    .option('--warmup <n>', 'uncounted warm-up records per pipeline', positiveInt, 1000)
    .option('--seed <seed>', 'seed of the simulated population', 'bench-process')
    .option('--partitions <n>', 'partitions per private topic', positiveInt, 3)
    .option(
      '--concurrency <n>',
      'partitions each pipeline processes at once (default: the processor default)',
      positiveInt,
    )
    .action(
      async (options: {
        json?: boolean;
        records: number;
        warmup: number;
        seed: string;
        partitions: number;
        concurrency?: number;
      }) => {
        const report = await runProcessBench({
          config: loadConfig(),
          records: Math.max(1, options.records),
          warmupRecords: options.warmup,
          seed: options.seed,
          partitions: Math.max(1, options.partitions),
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          onProgress: (message) => process.stderr.write(`bench process: ${message}\n`),
        });
        if (options.json) printJson(report);
        else say(formatProcessBench(report));
      },
    );
};

/** Every benchmark scenario. A new scenario is one function here (or imported from its module). */
export const scenarios: RegisterScenario[] = [
  registerSerdeScenario,
  registerIngestScenario,
  registerMatchScenario,
  registerSinkScenario,
  registerErpRestScenario,
  registerE2eScenario,
  registerProcessScenario,
];

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Reproducible benchmarks: bench <scenario> [--json]');
  for (const register of scenarios) register(bench);
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}
