/**
 * `syncline mdm` as a person or a script meets it: help for every subcommand, a one-line reason and
 * exit code 1 for bad arguments (refused before anything is connected), and the read-only
 * subcommands' machine output. The CLI works on the `process` role's own state and topics and
 * cannot be pointed elsewhere, so what it does to that state is tested through the functions it
 * calls (test/integration/processors/match-merge/mdm-operations.test.ts and redis-loss.test.ts);
 * here only reads touch the local stack.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.ts';

describe('syncline mdm (CLI)', () => {
  it('has help for the command and each subcommand', async () => {
    const top = await runCli(['mdm', '--help']);
    expect(top.code).toBe(0);
    for (const sub of ['export', 'review', 'unmerge', 'rebuild']) expect(top.stdout).toContain(sub);
    const review = await runCli(['mdm', 'review', '--help']);
    expect(review.code).toBe(0);
    for (const option of [
      '--approve <candidateId>',
      '--into <goldenId>',
      '--reject <candidateId>',
      '--actor',
    ])
      expect(review.stdout).toContain(option);
  }, 60_000);

  it('refuses bad arguments with one line on stderr and exit code 1', async () => {
    const cases: [string[], string][] = [
      [
        ['mdm', 'unmerge', '--golden', 'not-a-uuid', '--source', 'stripe:cus_1'],
        'syncline: mdm: --golden must be a golden id (a UUID), got "not-a-uuid"',
      ],
      [
        ['mdm', 'unmerge', '--golden', '6f1c2a3e-8b4d-5c6e-9f70-1a2b3c4d5e6f', '--source', 'crm:42'],
        'syncline: mdm: --source must be <system>:<id> with system one of salesforce, stripe, zendesk, erp, got "crm:42"',
      ],
      [
        ['mdm', 'review', '--approve', 'zendesk:1', '--reject', 'zendesk:1'],
        'syncline: mdm review: give either --approve or --reject, not both',
      ],
      [['mdm', 'review', '--limit', '0'], 'syncline: --limit must be an integer from 1 to 10000 (got "0")'],
    ];
    for (const [args, line] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toBe(`${line}\n`);
      expect(result.stdout).toBe('');
    }
  }, 60_000);

  it('export --json writes JSON lines in the documented format, review --json one object', async () => {
    const exported = await runCli(['mdm', 'export', '--json']);
    expect(exported.code).toBe(0);
    for (const line of exported.stdout.split('\n').filter(Boolean)) {
      const golden = JSON.parse(line) as { goldenId: string; sources: { system: string; id: string }[] };
      expect(golden.goldenId).toMatch(/^[0-9a-f-]{36}$/);
      expect(golden.sources.length).toBeGreaterThan(0);
      for (const source of golden.sources) {
        expect(typeof source.system).toBe('string');
        expect(typeof source.id).toBe('string');
      }
    }
    expect(exported.stderr).toMatch(/mdm export done \d+ golden customers/);
    const reviews = await runCli(['mdm', 'review', '--json', '--limit', '5']);
    expect(reviews.code).toBe(0);
    const parsed = JSON.parse(reviews.stdout) as { open: number; reviews: unknown[] };
    expect(parsed.reviews).toHaveLength(parsed.open);
  }, 120_000);
});
