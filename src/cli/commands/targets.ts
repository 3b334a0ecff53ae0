/**
 * `syncline targets serve`: the SaaS write-back targets as test doubles in one foreground process, a
 * Salesforce-REST-shaped one and a Zendesk-API-shaped one (see src/targets-sim/). They keep their
 * data in memory and run until SIGINT or SIGTERM. With `--json` one line
 * `{"salesforce": {...}, "zendesk": {...}, "pid"}` goes to stdout once both accept requests.
 */
import { Option, type Command } from 'commander';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { startSalesforceSim } from '../../targets-sim/salesforce/salesforce-sim.ts';
import { startZendeskSim } from '../../targets-sim/zendesk/zendesk-sim.ts';
import { printJson, say } from '../output.ts';
import { integerOption, requireTokens, untilSignalled } from '../foreground.ts';

interface ServeOptions {
  host: string;
  salesforcePort: number;
  zendeskPort: number;
  token?: string;
  salesforceClientId: string;
  salesforceClientSecret?: string;
  createUnknownOpportunities?: boolean;
  zendeskRequestsPerMinute: number;
  json?: boolean;
}

export function registerTargets(program: Command): void {
  const targets = program
    .command('targets')
    .description('Test doubles of the SaaS write-back targets (Salesforce, Zendesk)');

  targets
    .command('serve')
    .description('Run the Salesforce and Zendesk doubles in the foreground until SIGINT/SIGTERM')
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--salesforce-port <port>', 'port of the Salesforce double')
        .default(8091)
        .argParser(integerOption('--salesforce-port', 0, 65535)),
    )
    .addOption(
      new Option('--zendesk-port <port>', 'port of the Zendesk double')
        .default(8092)
        .argParser(integerOption('--zendesk-port', 0, 65535)),
    )
    .addOption(
      new Option('--token <tokens>', 'bearer token(s) both doubles accept, comma-separated').env(
        'SYNCLINE_TARGETS_TOKEN',
      ),
    )
    .addOption(
      new Option('--salesforce-client-id <id>', 'connected app id for the OAuth token endpoint').default(
        'syncline',
      ),
    )
    .addOption(
      new Option('--salesforce-client-secret <secret>', 'connected app secret (default: no OAuth flow)').env(
        'SYNCLINE_TARGETS_CLIENT_SECRET',
      ),
    )
    .addOption(
      new Option(
        '--create-unknown-opportunities',
        'a PATCH of an unknown record id creates it (demo convenience, not Salesforce)',
      ),
    )
    .addOption(
      new Option('--zendesk-requests-per-minute <n>', 'the Zendesk account limit')
        .default(700)
        .argParser(integerOption('--zendesk-requests-per-minute', 1, 10_000_000)),
    )
    .addOption(new Option('--json', 'print one JSON line with the endpoints on stdout once ready'))
    .action(async (options: ServeOptions) => {
      const config = loadConfig();
      const tokens = requireTokens(
        options.token,
        'targets',
        'the doubles need a bearer token: pass --token or set SYNCLINE_TARGETS_TOKEN',
      );
      const logger = createLogger({ level: config.logLevel, name: 'syncline-targets' });
      const salesforce = await startSalesforceSim({
        tokens,
        host: options.host,
        port: options.salesforcePort,
        ...(options.salesforceClientSecret
          ? { oauth: { clientId: options.salesforceClientId, clientSecret: options.salesforceClientSecret } }
          : {}),
        createUnknownOnPatch: options.createUnknownOpportunities ?? false,
        logger,
      });
      const zendesk = await startZendeskSim({
        tokens,
        host: options.host,
        port: options.zendeskPort,
        requestsPerMinute: options.zendeskRequestsPerMinute,
        logger,
      }).catch(async (error: unknown) => {
        await salesforce.close();
        throw error;
      });
      if (options.json) {
        printJson({
          salesforce: { url: salesforce.url, apiUrl: salesforce.apiUrl },
          zendesk: { url: zendesk.url, apiUrl: zendesk.apiUrl },
          pid: process.pid,
        });
      } else {
        say(`Salesforce double: ${salesforce.apiUrl}`);
        say(`Zendesk double:    ${zendesk.apiUrl}`);
      }
      await untilSignalled();
      await Promise.all([salesforce.close(), zendesk.close()]);
    });
}
