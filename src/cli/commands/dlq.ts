/**
 * `syncline dlq list|show|redrive|discard --group G`: a consumer group's dead letters, read as the
 * folded log of src/processors/pipeline/dead-letter.ts, acted on through src/ops/dlq/dlq-ops.ts
 * (the admin API calls the same functions). Redrive and discard are audited on `ops.audit`.
 */
import type { Command } from 'commander';
import {
  ACTOR_HELP,
  collect,
  GROUP_HELP,
  PREFIX_HELP,
  withOpsContext,
  type CommonOpsOptions,
} from '../../ops/cli-context.ts';
import { cliActor } from '../../ops/audit/audit.ts';
import { FILTER_HELP, parseFilterArguments } from '../../ops/dlq/dlq-filter.ts';
import {
  DEFAULT_MAX_REDRIVES,
  discardDlq,
  listDlq,
  parseEntryId,
  redriveDlq,
  showDlqEntry,
  type DlqEntrySummary,
  type DlqSelection,
} from '../../ops/dlq/dlq-ops.ts';
import { integerOption } from '../foreground.ts';
import { printJson, printJsonLine, Progress, say } from '../output.ts';

interface ListOptions extends CommonOpsOptions {
  filter?: string[];
  limit?: number;
}

interface ActOptions extends ListOptions {
  entry?: string[];
  all?: boolean;
  dryRun?: boolean;
}

interface RedriveOptions extends ActOptions {
  maxRedrives?: number;
  skipOverLimit?: boolean;
}

interface DiscardOptions extends ActOptions {
  reason: string;
}

/** Moves above this many records show a progress bar. */
const PROGRESS_FROM = 200;

export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      "A consumer group's dead-letter topic: list and show entries, redrive them to <group>.retry, or discard them.",
    );

  dlq
    .command('list')
    .description('Counts of the open entries by reason, error code and topic, then the entries.')
    .requiredOption('--group <group>', GROUP_HELP)
    .option('--filter <field=value>', FILTER_HELP, collect)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option(
      '--json',
      'JSON lines on stdout: one {"type":"summary"} line, then one {"type":"entry"} line per entry',
    )
    .action(async (options: ListOptions) => {
      await list(options);
    });

  dlq
    .command('show')
    .description('One entry in full: failure context, headers, key, and the value (decoded when it is Avro).')
    .argument('<entry>', 'the entry as <partition>/<offset>, as dlq list shows it')
    .requiredOption('--group <group>', GROUP_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (entry: string, options: CommonOpsOptions) => {
      await show(entry, options);
    });

  dlq
    .command('redrive')
    .description(
      'Move open entries back to <group>.retry (read by that group only) and resolve them. Works per key: ' +
        'a key’s open entries (its failure and the records parked behind it) move together, in DLQ order. ' +
        'Redriven records carry syncline-redriven-from and syncline-redrive-count; entries already ' +
        'redriven --max-redrives times are refused, by name.',
    )
    .requiredOption('--group <group>', GROUP_HELP)
    .option('--filter <field=value>', FILTER_HELP, collect)
    .option(
      '--entry <partition/offset>',
      'an entry to redrive (repeatable), instead of a filter',
      collect,
      [],
    )
    .option('--all', 'every open entry (needed when there is neither a filter nor an entry)')
    .option(
      '--max-redrives <n>',
      `refuse entries redriven this often already (default ${DEFAULT_MAX_REDRIVES})`,
      integerOption('--max-redrives', 1, 1000),
    )
    .option('--skip-over-limit', 'redrive the other keys and list the refused ones, instead of refusing all')
    .option('--dry-run', 'show what would move; change nothing')
    .option('--actor <name>', ACTOR_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: RedriveOptions) => {
      await redrive(options);
    });

  dlq
    .command('discard')
    .description('Resolve open entries as discarded, without moving them (resolution markers only).')
    .requiredOption('--group <group>', GROUP_HELP)
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .option('--filter <field=value>', FILTER_HELP, collect)
    .option(
      '--entry <partition/offset>',
      'an entry to discard (repeatable), instead of a filter',
      collect,
      [],
    )
    .option('--all', 'every open entry (needed when there is neither a filter nor an entry)')
    .option('--dry-run', 'show what would be discarded; change nothing')
    .option('--actor <name>', ACTOR_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: DiscardOptions) => {
      await discard(options);
    });
}

async function list(options: ListOptions): Promise<void> {
  const json = options.json === true;
  const filter = parseFilterArguments(options.filter ?? []);
  await withOpsContext(options, async (context) => {
    const progress = new Progress(`reading ${options.group} DLQ`);
    const listing = await listDlq(context, options.group, filter, {
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      onProgress: (read, total) => {
        if (total >= PROGRESS_FROM) progress.update(read, `of ${total} records`);
      },
    });
    if (json) {
      const { entries, ...summary } = listing;
      printJsonLine({ type: 'summary', ...summary });
      for (const entry of entries) printJsonLine({ type: 'entry', ...entry });
      return;
    }
    say(
      `${listing.topic}: ${listing.openTotal} open, ${listing.resolvedTotal} resolved; ` +
        `${listing.parkedKeys} parked key${listing.parkedKeys === 1 ? '' : 's'}; matching ${listing.filter}: ${listing.matching}`,
    );
    if (listing.matching === 0) return;
    say(`  by reason: ${counts(listing.byReason)}`);
    say(`  by code:   ${counts(listing.byCode)}`);
    say(`  by topic:  ${counts(listing.byTopic)}`);
    say('');
    say(
      row([
        'ENTRY',
        'KIND',
        'KEY',
        'ORIGINAL',
        'CODE',
        'REASON',
        'ATT',
        'REDRIVES',
        'LAST FAILURE',
        'MESSAGE',
      ]),
    );
    for (const entry of listing.entries) say(row(entryColumns(entry)));
    if (listing.truncated)
      say(`(first ${listing.entries.length} of ${listing.matching}; raise --limit for more)`);
  });
}

async function show(id: string, options: CommonOpsOptions): Promise<void> {
  const { partition, offset } = parseEntryId(id);
  await withOpsContext(options, async (context) => {
    const view = await showDlqEntry(context, options.group, partition, offset);
    if (options.json) {
      printJson(view);
      return;
    }
    say(`${view.topic} ${view.id} (${view.kind}, written ${view.timestamp})`);
    say(
      `  status:    ${view.resolution ? `${view.resolution.resolution} by ${view.resolution.resolvedBy || 'unknown'} at ${view.resolution.at}` : 'open'}`,
    );
    say(`  key:       ${view.keyText ?? '(null)'}`);
    say(`  original:  ${view.originalTopic}/${view.originalPartition ?? '?'}/${view.originalOffset ?? '?'}`);
    say(
      `  error:     ${view.errorCode} (${view.errorClass}), reason ${view.reason}, ${view.attempts} attempt(s)`,
    );
    say(`  message:   ${view.message}`);
    say(`  failed:    first ${view.firstFailureAt ?? '?'}, last ${view.lastFailureAt ?? '?'}`);
    if (view.parkedBehind) say(`  parked behind: ${view.parkedBehind}`);
    say(`  redriven:  ${view.redriveCount} time(s) before`);
    say('  headers:');
    for (const [name, value] of Object.entries(view.headers)) say(`    ${name}: ${String(value)}`);
    const value = view.value;
    if (value.encoding === 'none') say('  value: (null)');
    else if (value.encoding === 'avro') {
      say(`  value (Avro, schema id ${value.schemaId}${value.schema ? `, ${value.schema}` : ''}):`);
      for (const line of JSON.stringify(value.value, null, 2).split('\n')) say(`    ${line}`);
    } else {
      say(`  value (${value.bytes} bytes, base64${value.note ? `; ${value.note}` : ''}):`);
      say(`    ${value.base64}`);
    }
  });
}

function selectionOf(options: ActOptions): DlqSelection {
  const filter = parseFilterArguments(options.filter ?? []);
  return {
    filter,
    entries: options.entry ?? [],
    ...(options.all ? { all: true } : {}),
  };
}

async function redrive(options: RedriveOptions): Promise<void> {
  const json = options.json === true;
  const selection = selectionOf(options);
  await withOpsContext(options, async (context) => {
    const progress = new Progress(`redriving ${options.group}`);
    const result = await redriveDlq(context, options.group, selection, {
      actor: cliActor(options.actor),
      dryRun: options.dryRun === true,
      ...(options.maxRedrives === undefined ? {} : { maxRedrives: options.maxRedrives }),
      skipOverLimit: options.skipOverLimit === true,
      onProgress: (moved, total) => {
        if (total >= PROGRESS_FROM) progress.update(moved, `of ${total} entries`);
      },
    });
    if (result.entries.length >= PROGRESS_FROM && !result.dryRun) progress.done(`${result.moved} moved`);
    if (json) {
      printJson(result);
      return;
    }
    const verb = result.dryRun ? 'would move' : 'moved';
    const count = result.dryRun ? result.entries.length : result.moved;
    say(
      `${verb} ${count} entr${count === 1 ? 'y' : 'ies'} of ${result.keys} key${result.keys === 1 ? '' : 's'} to ${result.retryTopic}` +
        (result.correlationId ? ` (correlation id ${result.correlationId})` : ''),
    );
    if (result.takenWithKey.length > 0) {
      say(`  taken with their key (same key, in DLQ order): ${result.takenWithKey.join(', ')}`);
    }
    for (const refused of result.refused) {
      say(
        `  refused ${refused.id} (key ${refused.key ?? 'null'}): redriven ${refused.redriveCount} times, limit ${result.maxRedrives}`,
      );
    }
    for (const entry of result.entries) say(row(entryColumns(entry)));
  });
}

async function discard(options: DiscardOptions): Promise<void> {
  const json = options.json === true;
  const selection = selectionOf(options);
  await withOpsContext(options, async (context) => {
    const result = await discardDlq(context, options.group, selection, {
      actor: cliActor(options.actor),
      reason: options.reason,
      dryRun: options.dryRun === true,
    });
    if (json) {
      printJson(result);
      return;
    }
    const count = result.dryRun ? result.entries.length : result.discarded;
    say(
      `${result.dryRun ? 'would discard' : 'discarded'} ${count} entr${count === 1 ? 'y' : 'ies'}` +
        (result.correlationId ? ` (correlation id ${result.correlationId})` : ''),
    );
    for (const entry of result.entries) say(row(entryColumns(entry)));
  });
}

function entryColumns(entry: DlqEntrySummary): string[] {
  return [
    entry.id,
    entry.kind,
    entry.key ?? '(null)',
    `${entry.originalTopic}/${entry.originalPartition ?? '?'}/${entry.originalOffset ?? '?'}`,
    entry.errorCode,
    entry.reason,
    String(entry.attempts),
    String(entry.redriveCount),
    entry.lastFailureAt ?? '',
    entry.message.length > 60 ? `${entry.message.slice(0, 57)}...` : entry.message,
  ];
}

const WIDTHS = [10, 7, 24, 36, 18, 16, 4, 8, 25, 0];

function row(columns: string[]): string {
  return columns
    .map((column, index) => {
      const width = WIDTHS[index] ?? 0;
      return width > 0 ? column.padEnd(width) : column;
    })
    .join(' ')
    .trimEnd();
}

function counts(byName: Record<string, number>): string {
  return Object.entries(byName)
    .sort(([, a], [, b]) => b - a)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}
