/**
 * `syncline bench erp-rest`: the ERP REST sink batching its calls as `$batch` beside the same sink
 * sending each call alone, in one run, against private reference ERPs (see src/bench/erp-rest.ts).
 * Needs PostgreSQL.
 */
import type { Command } from 'commander';
import { formatErpRestBench, runErpRestBench } from '../../bench/erp-rest.ts';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { integerOption } from '../foreground.ts';
import { printJson, say } from '../output.ts';

export function registerErpRestScenario(bench: Command): void {
  bench
    .command('erp-rest')
    .description(
      'Records/s and HTTP requests per record of the ERP REST sink with $batch beside one request per call, in one run; and the records/s each sustains within the ERP request limit (20/s)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--rows <n>', 'records per round', integerOption('--rows', 1, 1_000_000), 3000)
    .option('--batch <n>', 'records per sink call', integerOption('--batch', 1, 10_000), 500)
    .option(
      '--rounds <n>',
      'measured rounds per contender (median reported)',
      integerOption('--rounds', 1, 99),
      3,
    )
    .action(async (options: { json?: boolean; rows: number; batch: number; rounds: number }) => {
      const config = loadConfig();
      const report = await runErpRestBench({
        databaseUrl: config.databaseUrl,
        logger: createLogger({ level: 'warn' }),
        rows: options.rows,
        batch: options.batch,
        rounds: options.rounds,
        onProgress: (message) => process.stderr.write(`bench erp-rest: ${message}\n`),
      });
      if (options.json) printJson(report);
      else say(formatErpRestBench(report));
    });
}
