/**
 * Graceful shutdown, proven on a real child process and real signals: on SIGTERM the task in
 * flight finishes, parts close in reverse order of registration and the process exits 0; a second
 * signal changes nothing; a task that hangs makes the process exit 1 after the bound, naming the
 * part that hung.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/runtime/errors.ts';
import { InFlight } from '../../../src/runtime/shutdown.ts';

const CHILD = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

interface Outcome {
  code: number | null;
  stdout: string[];
  stderr: string;
}

/** Starts the child, waits for `ready`, sends the signals, and collects what it did. */
function runChild(scenario: 'slow' | 'hung', signals: NodeJS.Signals[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (!signalled && stdout.includes('task started\n') && stdout.includes('ready\n')) {
        signalled = true;
        for (const signal of signals) child.kill(signal);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.split('\n').filter(Boolean), stderr }));
  });
}

describe('Shutdown', () => {
  it('lets the task in flight finish, closes parts in reverse order and exits 0 on SIGTERM', async () => {
    const outcome = await runChild('slow', ['SIGTERM']);
    expect(outcome.code).toBe(0);
    const finished = outcome.stdout.indexOf('task finished');
    expect(finished).toBeGreaterThan(-1);
    // tasks was registered after producer, so it closes first; the task ends before it closes.
    expect(outcome.stdout.slice(finished)).toEqual(['task finished', 'closed tasks', 'closed producer']);
  });

  it('ignores a second signal while shutting down', async () => {
    const outcome = await runChild('slow', ['SIGTERM', 'SIGINT', 'SIGTERM']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('task finished');
    expect(outcome.stdout.filter((line) => line === 'closed producer')).toHaveLength(1);
    expect(outcome.stderr).toContain('already shutting down');
  });

  it('exits 1 after the bound and names the part that hung', async () => {
    const outcome = await runChild('hung', ['SIGTERM']);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).not.toContain('closed tasks');
    expect(outcome.stdout).not.toContain('closed producer');
    const fatal = outcome.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; hung?: string; notClosed?: string[] })
      .find((line) => line.level === 60);
    expect(fatal).toMatchObject({ hung: 'hung-task', notClosed: ['hung-task', 'producer'] });
  });
});

describe('InFlight', () => {
  it('refuses new work once stopped and drains what is running', async () => {
    const work = new InFlight();
    let release!: () => void;
    const task = work.run(() => new Promise<string>((resolve) => (release = () => resolve('done'))));
    expect(work.size).toBe(1);
    const drained = work.drain();
    await expect(work.run(() => Promise.resolve('late'))).rejects.toMatchObject({
      code: ErrorCodes.SHUTTING_DOWN,
      retriable: true,
    });
    release();
    await expect(task).resolves.toBe('done');
    await drained;
    expect(work.size).toBe(0);
  });

  it('counts a failed task as finished, and its caller still sees the failure', async () => {
    const work = new InFlight();
    await expect(work.run(() => Promise.reject(new Error('target down')))).rejects.toThrow('target down');
    await work.drain();
    expect(work.size).toBe(0);
  });
});
