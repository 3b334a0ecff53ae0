/**
 * `syncline infra up | down | status`: the local stack (Kafka in KRaft mode, the schema registry; Redis
 * and PostgreSQL checked), started from the command line without Docker.
 */
import { Option, type Command } from 'commander';
import { LocalStack } from '../../infra/stack.ts';
import type { PartStatus } from '../../infra/kafka-server.ts';
import { loadConfig } from '../../runtime/config.ts';
import { printJson, Progress, say } from '../output.ts';

interface InfraOptions {
  home?: string;
  json?: boolean;
  registryStorage?: 'sql' | 'memory';
}

export function registerInfra(program: Command): void {
  const infra = program
    .command('infra')
    .description('Run the local stack: Kafka (KRaft) and the schema registry; checks Redis and PostgreSQL');

  const home = new Option(
    '--home <dir>',
    'folder for data, logs and pid files (default: $SYNCLINE_HOME or ./.syncline)',
  );
  const json = new Option('--json', 'print one JSON object on stdout');

  infra
    .command('up')
    .description('Start what is not running yet, wait until every part is healthy, print the endpoints')
    .addOption(home)
    .addOption(json)
    .addOption(
      new Option('--registry-storage <kind>', 'where the registry keeps schemas')
        .choices(['sql', 'memory'])
        .default('sql'),
    )
    .action(async (options: InfraOptions) => {
      const stack = stackFrom(options);
      const downloads = new Map<string, Progress>();
      const report = await stack.up(
        ({ part, downloaded }) => {
          let progress = downloads.get(part);
          if (!progress) {
            progress = new Progress(`${part}: first-time download from Maven Central, files`);
            downloads.set(part, progress);
          }
          progress.update(downloaded);
        },
        (step) => process.stderr.write(`infra: ${step}\n`),
      );
      for (const progress of downloads.values()) progress.done();
      if (options.json) {
        printJson(report);
        return;
      }
      const anyStarted = report.parts.some((part) => part.action === 'started');
      say(anyStarted ? `Local stack up in ${report.seconds.toFixed(1)}s:` : 'Local stack already up:');
      for (const part of report.parts) say(`  ${formatPart(part)}${actionNote(part.action)}`);
      if (report.createdDatabases.length > 0)
        say(`  created databases: ${report.createdDatabases.join(', ')}`);
    });

  infra
    .command('down')
    .description('Stop what `infra up` started (never a server it did not start)')
    .addOption(home)
    .addOption(json)
    .action(async (options: InfraOptions) => {
      const results = await stackFrom(options).down();
      if (options.json) {
        printJson({ parts: results });
        return;
      }
      for (const { part, result } of results) {
        say(
          `  ${part.padEnd(9)} ${result === 'not-ours' ? 'not running (or not started by syncline): left alone' : result}`,
        );
      }
    });

  infra
    .command('status')
    .description('Show each part of the local stack: state, endpoint, pid, memory, log file')
    .addOption(home)
    .addOption(json)
    .action(async (options: InfraOptions) => {
      const parts = await stackFrom(options).status();
      if (options.json) {
        printJson({ parts });
      } else {
        for (const part of parts) say(`  ${formatPart(part)}`);
      }
      // A status that finds a part down is still a successful command; scripts read `state`.
    });
}

function stackFrom(options: InfraOptions): LocalStack {
  return new LocalStack(loadConfig(), {
    ...(options.home ? { home: options.home } : {}),
    ...(options.registryStorage ? { registryStorage: options.registryStorage } : {}),
  });
}

function formatPart(part: PartStatus): string {
  const state = part.state === 'external' ? 'up' : part.state === 'running' ? 'up' : 'DOWN';
  const extras = [
    part.pid ? `pid ${part.pid}` : undefined,
    part.memoryMiB ? `${part.memoryMiB} MiB` : undefined,
    part.detail,
    part.logFile ? `log ${part.logFile}` : undefined,
  ].filter(Boolean);
  return `${part.part.padEnd(9)} ${state.padEnd(5)} ${part.endpoint}  ${extras.join(', ')}`;
}

function actionNote(action: string): string {
  switch (action) {
    case 'started':
      return '  [started now]';
    case 'already-running':
      return '  [was already running]';
    case 'external':
      return '  [already running, not started by syncline]';
    default:
      return '';
  }
}
