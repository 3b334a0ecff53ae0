/**
 * `syncline replay --group G [--topic T] --from <time|offset> [--to <time|offset>]`: reprocess a
 * consumer group's records (src/ops/replay/replay.ts; the admin API calls the same function).
 * Audited on `ops.audit`; a dry run shows the per-partition counts and changes nothing.
 */
import type { Command } from 'commander';
import { cliActor } from '../../ops/audit/audit.ts';
import {
  ACTOR_HELP,
  GROUP_HELP,
  PREFIX_HELP,
  withOpsContext,
  type CommonOpsOptions,
} from '../../ops/cli-context.ts';
import { followReplay, parseReplayPoint, replay, type ReplayResult } from '../../ops/replay/replay.ts';
import { printJson, Progress, say } from '../output.ts';

interface ReplayOptions extends CommonOpsOptions {
  topic?: string;
  from: string;
  to?: string;
  dryRun?: boolean;
  follow?: boolean;
}

const HELP = `
How it works:
  Without --to, the group's committed offsets are reset, per topic/partition, to --from; when the
  group's members start again they reprocess everything from there. The group must be stopped
  first: with any member in the group, replay refuses and names the members (it never resets
  offsets under a live member). Stop the process running the group (syncline run --role ...),
  replay, start it again.

  With --to, the window is bounded and the group does not need to stop: the records from --from
  to --to are copied, in order, onto <group>.retry (which only that group reads), marked with
  syncline-replayed-from; the group's offsets are not touched, and nothing after the window is
  reprocessed.

  --from/--to take an ISO time (2026-12-01T08:00:00Z: the first record at or after it; --to as a
  time is exclusive), an offset (1200: every partition; needs --topic), or partition:offset pairs
  (0:1200,1:980: those partitions only; needs --topic). --to as an offset is the last offset
  replayed. Replays are safe because effects are idempotent; --dry-run shows per partition how
  many records would be read again, and how many of them the group had already processed.

Examples:
  syncline replay --group erp-rest-sink --from 2026-12-01T08:00:00Z --dry-run
  syncline replay --group erp-rest-sink --topic canonical.invoice --from 2026-12-01T08:00:00Z --to 2026-12-01T09:00:00Z
  syncline replay --group erp-sql-sink --topic canonical.order --from 0:1200,1:980`;

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      "Reprocess a consumer group's records from a time or offset (offset reset, or a bounded window).",
    )
    .requiredOption('--group <group>', GROUP_HELP)
    .option('--topic <topic>', 'one of the topics the group reads (default: all of them)')
    .requiredOption('--from <time|offset>', 'where to start: ISO time, offset, or partition:offset pairs')
    .option('--to <time|offset>', 'where to stop (bounded window, copied to <group>.retry); see below')
    .option('--dry-run', 'show the per-partition plan and counts; change nothing')
    .option(
      '--follow',
      'after an offset reset, show the group working through the range until it is done (Ctrl-C stops watching, not the replay)',
    )
    .option('--actor <name>', ACTOR_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', HELP)
    .action(async (options: ReplayOptions) => {
      await run(options);
    });
}

async function run(options: ReplayOptions): Promise<void> {
  const json = options.json === true;
  const from = parseReplayPoint(options.from, '--from');
  const to = options.to === undefined ? undefined : parseReplayPoint(options.to, '--to');
  await withOpsContext(options, async (context) => {
    const label = to ? `replaying ${options.group} window` : `resetting ${options.group} offsets`;
    const progress = new Progress(label);
    let reported = false;
    const result = await replay(
      context,
      {
        group: options.group,
        ...(options.topic === undefined ? {} : { topic: options.topic }),
        from,
        ...(to ? { to } : {}),
      },
      {
        actor: cliActor(options.actor),
        dryRun: options.dryRun === true,
        onProgress: (done, total) => {
          reported = true;
          progress.update(done, to ? 'records' : 'partitions');
          if (done === total) progress.done(`${done}/${total}`);
        },
      },
    );
    if (!reported && !result.dryRun && result.records > 0) progress.done();
    if (!json) printPlan(result);
    if (options.follow && result.mode === 'reset' && !result.dryRun && result.records > 0) {
      say(`waiting for ${result.group} to reprocess ${result.records} records (start its members)`, json);
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort);
      const watching = new Progress(`${result.group} reprocessing`, result.records);
      try {
        const reprocessed = await followReplay(context, result, {
          signal: stop.signal,
          onProgress: (done, total) => watching.update(done, `of ${total} records`),
        });
        watching.done(
          `${reprocessed}/${result.records} records${stop.signal.aborted ? ' (stopped watching)' : ''}`,
        );
      } finally {
        process.off('SIGINT', abort);
      }
    }
    if (json) printJson(result);
  });
}

function printPlan(result: ReplayResult): void {
  const window = `from ${result.from}${result.to === null ? '' : ` to ${result.to}`}`;
  const how =
    result.mode === 'reset'
      ? 'offsets reset; the group reprocesses from there when it starts'
      : 'window copied to the retry topic; the running group reprocesses it';
  say(
    result.dryRun
      ? `dry run: replay of ${result.group} ${window} would read ${result.records} records again (${result.reprocess} already processed)`
      : `replayed ${result.group} ${window}: ${result.records} records (${result.reprocess} already processed); ${how}` +
          (result.correlationId ? ` (correlation id ${result.correlationId})` : ''),
  );
  say(
    `  ${'TOPIC'.padEnd(32)} ${'PART'.padEnd(4)} ${'FROM'.padStart(10)} ${'END'.padStart(10)} ${'COMMITTED'.padStart(10)} ${'RECORDS'.padStart(8)} ${'REPROCESS'.padStart(9)}`,
  );
  for (const p of result.partitions) {
    say(
      `  ${p.topic.padEnd(32)} ${String(p.partition).padEnd(4)} ${p.from.padStart(10)} ${p.end.padStart(10)} ${(p.committed ?? '-').padStart(10)} ${String(p.records).padStart(8)} ${String(p.reprocess).padStart(9)}${p.note ? `  (${p.note})` : ''}`,
    );
  }
}
