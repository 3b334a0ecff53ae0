/**
 * `syncline erp serve`: the reference ERP (a Business Central-style REST API over PostgreSQL) as a
 * foreground process. It runs until SIGINT or SIGTERM and then stops cleanly. With `--json` it prints
 * one line `{"url", "apiUrl", "companyId", "pid"}` on stdout once it accepts requests, so a script (or
 * `infra up`) can start it on port 0 and learn where it is.
 */
import { Option, type Command } from 'commander';
import { startErpServer } from '../../erp/server.ts';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { integerOption as integer, requireTokens, untilSignalled } from '../foreground.ts';
import { printJson, say } from '../output.ts';

interface ServeOptions {
  port: number;
  host: string;
  token?: string;
  schema: string;
  company: string;
  currency: string;
  rateLimit: number;
  rateWindow: number;
  maxPageSize: number;
  stackHome?: string;
  json?: boolean;
}

export function registerErp(program: Command): void {
  const erp = program
    .command('erp')
    .description('The reference ERP that Syncline writes to (Business Central-style REST API)');

  erp
    .command('serve')
    .description('Run the reference ERP API in the foreground until SIGINT/SIGTERM')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .default(8090)
        .argParser(integer('--port', 0, 65535)),
    )
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--token <tokens>', 'bearer token(s) the API accepts, comma-separated for rotation').env(
        'ERP_API_TOKEN',
      ),
    )
    .addOption(
      new Option('--schema <name>', 'PostgreSQL schema of the ERP tables (in DATABASE_URL)').default('erp'),
    )
    .addOption(new Option('--company <name>', 'name of the company the API serves').default('SYNCLINE'))
    .addOption(new Option('--currency <code>', "the company's local currency").default('EUR'))
    .addOption(
      new Option('--rate-limit <requests>', 'requests per client and window; 0 for no limit')
        .default(6000)
        .argParser(integer('--rate-limit', 0, 10_000_000)),
    )
    .addOption(
      new Option('--rate-window <seconds>', 'length of the rate-limit window')
        .default(300)
        .argParser(integer('--rate-window', 1, 86_400)),
    )
    .addOption(
      new Option('--max-page-size <n>', 'largest page of a list')
        .default(1000)
        .argParser(integer('--max-page-size', 1, 20_000)),
    )
    .addOption(
      new Option(
        '--stack-home <dir>',
        'the local stack this server belongs to (set by infra; marks the process)',
      ).hideHelp(),
    )
    .addOption(new Option('--json', 'print one JSON line with the endpoints on stdout once ready'))
    .action(async (options: ServeOptions) => {
      const config = loadConfig();
      const tokens = requireTokens(
        options.token,
        'erp',
        'the ERP API needs a bearer token: pass --token or set ERP_API_TOKEN',
      );
      const logger = createLogger({ level: config.logLevel, name: 'syncline-erp' });
      const server = await startErpServer({
        databaseUrl: config.databaseUrl,
        schema: options.schema,
        tokens,
        host: options.host,
        port: options.port,
        companyName: options.company,
        currencyCode: options.currency,
        rateLimit:
          options.rateLimit === 0 ? null : { limit: options.rateLimit, windowMs: options.rateWindow * 1000 },
        maxPageSize: options.maxPageSize,
        logger,
      });
      if (options.json) {
        printJson({ url: server.url, apiUrl: server.apiUrl, companyId: server.company.id, pid: process.pid });
      } else {
        say(`ERP API listening on ${server.apiUrl}`);
      }
      await untilSignalled();
      await server.close();
    });
}
