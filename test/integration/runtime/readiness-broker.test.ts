/**
 * /readyz reflects the broker: it turns false when the broker stops and true again when it is back,
 * by itself, without a restart of the process. A private broker (own home, own ports) is stopped and
 * started for real; nothing here is simulated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaServer } from '../../../src/infra/kafka-server.ts';
import { cacheDir } from '../../../src/infra/paths.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { startServiceHost, type ServiceHost } from '../../../src/runtime/service-host.ts';

const home = mkdtempSync(join(tmpdir(), 'syncline-readiness-'));
const broker = new KafkaServer({ home, cache: cacheDir(), port: 39092, controllerPort: 39093 });
let host: ServiceHost;

interface ReadyBody {
  ready: boolean;
  checks: { name: string; state: string; reason?: string }[];
}

async function readyz(): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`${host.admin.url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

/** Polls /readyz until it answers `status`; bounded, so a broken promise fails instead of hanging. */
async function until(status: number, attempts = 120): Promise<{ status: number; body: ReadyBody }> {
  let last = await readyz();
  for (let i = 0; i < attempts && last.status !== status; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await readyz();
  }
  return last;
}

beforeAll(async () => {
  await broker.start();
  const config = loadConfig({ ...process.env, KAFKA_BROKERS: '127.0.0.1:39092' });
  host = await startServiceHost({
    config,
    logger: createLogger({ level: 'silent' }),
    dependencies: ['kafka', 'registry', 'redis'],
    adminPort: 0,
    handleSignals: false,
    exit: () => undefined,
  });
}, 180_000);

afterAll(async () => {
  await host?.shutdown.shutdown('test done');
  await broker.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('readiness', () => {
  it('is true while broker, registry and Redis answer', async () => {
    const { status, body } = await until(200);
    expect(status).toBe(200);
    expect(body.checks.map((check) => [check.name, check.state])).toEqual([
      ['kafka', 'up'],
      ['registry', 'up'],
      ['redis', 'up'],
    ]);
  });

  it('turns false, naming the broker, when the broker stops', async () => {
    await broker.stop();
    const { status, body } = await until(503);
    expect(status).toBe(503);
    expect(body.ready).toBe(false);
    const kafka = body.checks.find((check) => check.name === 'kafka');
    expect(kafka?.state).not.toBe('up');
    expect(kafka?.reason).toMatch(/39092/);
    expect(body.checks.filter((check) => check.name !== 'kafka').every((check) => check.state === 'up')).toBe(
      true,
    );
  }, 120_000);

  it('turns true again by itself when the broker is back', async () => {
    await broker.start();
    const { status } = await until(200);
    expect(status).toBe(200);
  }, 180_000);
});
