/**
 * `syncline bench match`: match-merge cost per resolve at growing numbers of golden records, and
 * precision / recall / F1 on the simulator's ground truth (see src/bench/match.ts). Needs Redis.
 */
import type { Command } from 'commander';
import { formatMatchBench, runMatchBench } from '../../bench/match.ts';
import { loadConfig } from '../../runtime/config.ts';
import { printJson, Progress, say } from '../output.ts';

export function registerMatchScenario(bench: Command): void {
  bench
    .command('match')
    .description(
      'Match-merge cost per resolve with 10k, 100k and 1M golden records pre-loaded in Redis (goal: grows <= 1.5x), Redis memory, and precision/recall/F1 on the simulator ground truth',
    )
    .option('--json', 'print one JSON object on stdout')
    .option(
      '--sizes <list>',
      'golden records to pre-load, comma-separated',
      sizeList,
      [10_000, 100_000, 1_000_000],
    )
    .option('--resolves <n>', 'timed resolves per size', count, 2000)
    .option('--warmup <n>', 'untimed resolves per size, first', count, 300)
    .option('--quality-companies <n>', 'simulator companies for precision/recall/F1', count, 1000)
    .option('--seed <seed>', 'seed of the synthetic and simulated populations', 'bench-match')
    .option('--keep', 'keep the loaded keys in Redis for inspection (default: deleted)')
    .action(
      async (options: {
        json?: boolean;
        sizes: number[];
        resolves: number;
        warmup: number;
        qualityCompanies: number;
        seed: string;
        keep?: boolean;
      }) => {
        let progress: Progress | null = null;
        let phase = '';
        const report = await runMatchBench({
          redisUrl: loadConfig().redisUrl,
          sizes: options.sizes,
          resolves: Math.max(1, options.resolves),
          warmup: options.warmup,
          qualityCompanies: Math.max(1, options.qualityCompanies),
          seed: options.seed,
          keep: options.keep === true,
          onProgress: (current, done, total) => {
            if (current !== phase) {
              progress?.done();
              phase = current;
              progress = new Progress(`bench match: ${current}`, total);
            }
            progress?.update(done);
          },
        });
        (progress as Progress | null)?.done();
        if (options.json) printJson(report);
        else say(formatMatchBench(report));
      },
    );
}

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}

function sizeList(value: string): number[] {
  const sizes = value.split(',').map((part) => Number(part.trim().replace(/_/g, '')));
  if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new Error(`expected comma-separated positive integers, got ${JSON.stringify(value)}`);
  }
  return sizes;
}
