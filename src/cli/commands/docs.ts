/**
 * `syncline docs asyncapi`: the AsyncAPI 3.0 document of every topic (key, value schema, owner,
 * meaning, partitions, retention, who writes and who reads), generated from topology/ and schemas/
 * and validated with the AsyncAPI parser before it is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { buildAsyncApi, validateAsyncApi } from '../../schemas/asyncapi.ts';
import { loadCatalog } from '../../schemas/catalog.ts';
import { say } from '../output.ts';

interface AsyncApiCommandOptions {
  out?: string;
  profile: 'production' | 'local';
}

export function registerDocs(program: Command): void {
  const docs = program
    .command('docs')
    .description('Documentation generated from the code: the AsyncAPI document of the topics');
  docs
    .command('asyncapi')
    .description('Write the AsyncAPI 3.0 document of every topic (validated) as JSON to stdout or a file')
    .option('--out <file>', 'write to this file instead of stdout')
    .addOption(
      new Option('--profile <profile>', 'whose partition counts and replication to document')
        .choices(['production', 'local'])
        .default('production'),
    )
    .action(async (options: AsyncApiCommandOptions) => {
      const config = loadConfig();
      const document = buildAsyncApi({
        catalog: loadCatalog(),
        profile: options.profile,
        version: packageVersion(),
        kafkaHost: config.kafka.brokers[0] ?? 'localhost:9092',
        registryUrl: config.schemaRegistryUrl,
      });
      const problems = await validateAsyncApi(document);
      const errors = problems.filter((problem) => problem.severity === 'error');
      for (const warning of problems.filter((problem) => problem.severity === 'warning')) {
        process.stderr.write(`warning: ${warning.path}: ${warning.message}\n`);
      }
      if (errors.length > 0) {
        throw SynclineError.permanent(
          ErrorCodes.INPUT_INVALID,
          `the generated AsyncAPI document is invalid\n  ${errors.map((e) => `${e.path}: ${e.message}`).join('\n  ')}`,
          { part: 'docs asyncapi' },
        );
      }
      const text = `${JSON.stringify(document, null, 2)}\n`;
      if (options.out) {
        writeFileSync(options.out, text);
        say(
          `docs asyncapi: wrote ${options.out} (${Object.keys(document.channels as object).length} channels, valid AsyncAPI 3.0)`,
          true,
        );
      } else {
        process.stdout.write(text);
      }
    });
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}
