/**
 * The `syncline` command line. Each command lives in its own module under `commands/` and registers
 * itself on the program; this file only wires them up and turns any failure into a one-line reason
 * on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { classify } from '../runtime/errors.ts';
import { commands } from './commands/index.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('syncline')
    .description(
      'Event-streaming integration backbone: ERP, CRM, billing and support kept in step over Kafka.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed what they had to.
      process.exitCode = error.exitCode;
      return;
    }
    const failure = classify(error);
    const where = failure.context.part ? `${failure.context.part}: ` : '';
    const log = failure.context.logFile ? ` (see ${failure.context.logFile})` : '';
    process.stderr.write(`syncline: ${where}${firstLine(failure.message)}${log}\n`);
    const rest = failure.message.split('\n').slice(1);
    if (rest.length > 0) process.stderr.write(`${rest.join('\n')}\n`);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
