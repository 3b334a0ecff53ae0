/**
 * `syncline bench sink`: rows/s into PostgreSQL through the ERP SQL sink beside a plain batched
 * INSERT of the same rows, in one run (see src/bench/sink.ts). Needs PostgreSQL and Redis.
 */
import type { Command } from 'commander';
import { formatSinkBench, runSinkBench } from '../../bench/sink.ts';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { createPgPool } from '../../runtime/postgres.ts';
import { closeRedis, createRedis } from '../../runtime/redis.ts';
import { integerOption } from '../foreground.ts';
import { printJson, say } from '../output.ts';

export function registerSinkScenario(bench: Command): void {
  bench
    .command('sink')
    .description(
      'Rows/s into PostgreSQL through the ERP SQL sink (locks, version and idempotency-key checks, ON CONFLICT) beside a plain batched INSERT of the same rows, in one run; reports the ratio (goal >= 0.7)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--rows <n>', 'records per round', integerOption('--rows', 1, 10_000_000), 20_000)
    .option('--batch <n>', 'records per transaction', integerOption('--batch', 1, 10_000), 500)
    .option(
      '--rounds <n>',
      'measured rounds per contender (median reported)',
      integerOption('--rounds', 1, 99),
      3,
    )
    .action(async (options: { json?: boolean; rows: number; batch: number; rounds: number }) => {
      const config = loadConfig();
      const logger = createLogger({ level: 'warn' });
      const pool = createPgPool(config, logger, { applicationName: 'syncline-bench-sink', max: 2 });
      const redis = createRedis(config, logger, { name: 'syncline-bench-sink' });
      try {
        const report = await runSinkBench({
          pool,
          redis,
          rows: options.rows,
          batch: options.batch,
          rounds: options.rounds,
          onProgress: (message) => process.stderr.write(`bench sink: ${message}\n`),
        });
        if (options.json) printJson(report);
        else say(formatSinkBench(report));
      } finally {
        await pool.end();
        await closeRedis(redis);
      }
    });
}
