/**
 * The local stack, started and stopped from the command line like a user would: `infra up` is
 * idempotent and waits for health, `status` shows each part, `down` stops only what it started and
 * leaves nothing of ours running. A private stack (own home folder, own ports, in-memory registry)
 * keeps this test from disturbing the shared one the other tests use.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, portOpen } from '../../../src/infra/process.ts';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'syncline-infra-test-'));
const env = {
  ...process.env,
  SYNCLINE_HOME: home,
  KAFKA_BROKERS: '127.0.0.1:29092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:28085/apis/ccompat/v7',
  SYNCLINE_ERP_PORT: '28090',
  LOG_LEVEL: 'warn',
};

async function syncline(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/syncline.js', ...args], { env, timeout: 240_000 });
}

interface Part {
  part: string;
  state: string;
  pid?: number;
  action?: string;
}

afterAll(async () => {
  await syncline('infra', 'down').catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
});

describe('syncline infra', () => {
  it('up starts Kafka and the registry, waits until healthy, and a second up finds everything up', async () => {
    const first = JSON.parse(
      (await syncline('infra', 'up', '--registry-storage', 'memory', '--json')).stdout,
    ) as {
      parts: Part[];
    };
    const byName = new Map(first.parts.map((part) => [part.part, part]));
    expect(byName.get('kafka')).toMatchObject({ state: 'running', action: 'started' });
    expect(byName.get('registry')).toMatchObject({ state: 'running', action: 'started' });
    expect(byName.get('erp')).toMatchObject({ state: 'running', action: 'started' });
    expect(await portOpen('127.0.0.1', 29092)).toBe(true);

    const second = JSON.parse(
      (await syncline('infra', 'up', '--registry-storage', 'memory', '--json')).stdout,
    ) as {
      parts: Part[];
    };
    const again = new Map(second.parts.map((part) => [part.part, part]));
    expect(again.get('kafka')).toMatchObject({ action: 'already-running', pid: byName.get('kafka')?.pid });
    expect(again.get('registry')).toMatchObject({
      action: 'already-running',
      pid: byName.get('registry')?.pid,
    });

    const human = await syncline('infra', 'up', '--registry-storage', 'memory');
    expect(human.stdout).toContain('Local stack already up');
  }, 300_000); // two cold JVM starts; slow on a loaded 2-core machine

  it('status shows each part with its endpoint, and the registry enforces the global compatibility', async () => {
    const status = JSON.parse((await syncline('infra', 'status', '--json')).stdout) as {
      parts: (Part & { endpoint: string })[];
    };
    expect(status.parts.map((part) => part.part)).toEqual(['kafka', 'registry', 'erp', 'redis', 'postgres']);
    expect(status.parts.find((part) => part.part === 'kafka')?.endpoint).toBe('127.0.0.1:29092');
    const config = await fetch('http://127.0.0.1:28085/apis/ccompat/v7/config');
    expect((await config.json()) as { compatibilityLevel?: string; compatibility?: string }).toMatchObject({
      compatibilityLevel: 'BACKWARD_TRANSITIVE',
    });
  });

  it('down stops what up started and leaves nothing of ours running', async () => {
    const status = JSON.parse((await syncline('infra', 'status', '--json')).stdout) as { parts: Part[] };
    const pids = status.parts.filter((part) => part.pid !== undefined).map((part) => part.pid as number);
    expect(pids).toHaveLength(3);

    await syncline('infra', 'down');
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(await portOpen('127.0.0.1', 29092)).toBe(false);
    expect(await portOpen('127.0.0.1', 28085)).toBe(false);
    expect(await portOpen('127.0.0.1', 28090)).toBe(false);

    const after = JSON.parse((await syncline('infra', 'status', '--json')).stdout) as { parts: Part[] };
    expect(
      after.parts.filter((part) => part.part === 'kafka' || part.part === 'registry').map((p) => p.state),
    ).toEqual(['stopped', 'stopped']);
  }, 180_000);

  it('down never stops a server it did not start', async () => {
    // The shared stack's Kafka answers on 9092; a stack whose home never started anything must leave it alone.
    const otherHome = mkdtempSync(join(tmpdir(), 'syncline-infra-other-'));
    try {
      const result = await run(process.execPath, ['bin/syncline.js', 'infra', 'down', '--json'], {
        env: { ...process.env, SYNCLINE_HOME: otherHome },
      });
      expect(JSON.parse(result.stdout)).toEqual({
        parts: [
          { part: 'erp', result: 'not-ours' },
          { part: 'registry', result: 'not-ours' },
          { part: 'kafka', result: 'not-ours' },
        ],
      });
      expect(await portOpen('127.0.0.1', 9092)).toBe(true);
    } finally {
      rmSync(otherHome, { recursive: true, force: true });
    }
  });
});
