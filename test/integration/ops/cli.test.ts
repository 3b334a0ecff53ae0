/**
 * The `syncline dlq` and `syncline replay` commands as an operator runs them (a child process of
 * bin/syncline.js against a private, prefixed copy of the erp-rest-sink group's topics): JSON lines
 * for list, one JSON object for the others, a one-line reason and a non-zero exit on refusal, and
 * the actor from --actor in the audit trail.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { TopicNames } from '../../../src/topology/topics.ts';
import { DlqHeaders } from '../../../src/processors/pipeline/dead-letter.ts';
import { createOpsTopology, GROUP, type OpsTopology } from './ops-topology.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });
const kafka = createKafka(config, logger, 'it-ops-cli');
let ops: OpsTopology;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function syncline(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/syncline.js', ...args, '--prefix', ops.prefix], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  ops = await createOpsTopology(kafka, config, logger, 'cli');
}, 90_000);

afterAll(async () => {
  await ops?.cleanup();
}, 60_000);

describe('syncline dlq', () => {
  it('list --json prints a summary line, then one line per open entry', async () => {
    await ops.deadLetter({ key: 'cli-a', originalOffset: 1 });
    await ops.deadLetter({ key: 'cli-b', originalOffset: 2, reason: 'mapping' });
    const run = await syncline(
      'dlq',
      'list',
      '--group',
      GROUP,
      '--filter',
      'key=cli-a',
      '--filter',
      'key=cli-b',
      '--json',
    );
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      type: 'summary',
      group: GROUP,
      matching: 2,
      byReason: { 'target rejected': 1, mapping: 1 },
    });
    expect(lines.slice(1).map((line) => [line.type, line.key])).toEqual([
      ['entry', 'cli-a'],
      ['entry', 'cli-b'],
    ]);
  });

  it('redrive refuses a looping entry with a one-line reason and exit 1; --actor goes to the audit trail', async () => {
    const looping = await ops.deadLetter({
      key: 'cli-loop',
      originalOffset: 3,
      headers: { [DlqHeaders.redriveCount]: '5' },
    });
    const refused = await syncline('dlq', 'redrive', '--group', GROUP, '--filter', 'key=cli-loop');
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(
      `syncline: refused: 1 entry was redriven 5 times already (limit 5): ${looping.partition}/${looping.offset} (key cli-loop, 5x); fix the cause and discard them, or redrive the others with --skip-over-limit`,
    );

    const discarded = await syncline(
      'dlq',
      'discard',
      '--group',
      GROUP,
      '--entry',
      `${looping.partition}/${looping.offset}`,
      '--reason',
      'loops on a deleted ERP customer',
      '--actor',
      'bob',
      '--json',
    );
    expect(discarded.code).toBe(0);
    const result = JSON.parse(discarded.stdout) as { discarded: number; correlationId: string };
    expect(result.discarded).toBe(1);
    const [event] = (await ops.auditEvents()).filter((e) => e.correlationId === result.correlationId);
    expect(event).toMatchObject({
      action: 'DISCARD',
      actor: 'bob',
      channel: 'CLI',
      reason: 'loops on a deleted ERP customer',
    });
  });

  it('refuses an unknown group with the known ones, exit 1', async () => {
    const run = await syncline('dlq', 'list', '--group', 'erp');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'syncline: unknown group "erp"; known groups: syncline-processor, erp-rest-sink',
    );
  });
});

describe('syncline replay', () => {
  it('--dry-run --json prints the per-partition plan and changes nothing', async () => {
    const topic = ops.topicOf(TopicNames.canonical.invoice);
    for (let index = 0; index < 4; index += 1) {
      await ops.producer.send({ topic, acks: -1, messages: [{ key: `k${index}`, value: `v${index}` }] });
    }
    const run = await syncline(
      'replay',
      '--group',
      GROUP,
      '--topic',
      TopicNames.canonical.invoice,
      '--from',
      '2000-01-01T00:00:00Z',
      '--dry-run',
      '--json',
    );
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as {
      records: number;
      dryRun: boolean;
      partitions: Array<{ records: number }>;
    };
    expect(plan.dryRun).toBe(true);
    expect(plan.records).toBe(4);
    expect(plan.partitions.reduce((sum, p) => sum + p.records, 0)).toBe(4);
  });
});
