/**
 * The admin server: liveness, readiness against the real broker, registry and Redis (503 naming
 * the part that is down), Prometheus metrics, and the /api mount point, which is off without
 * ADMIN_TOKEN, authenticates every call with the bearer token and limits each client's rate.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer, type AdminServerOptions, type ErrorBody } from '../../../src/runtime/admin-server.ts';
import { createKafkajsBus } from '../../../src/runtime/bus/kafkajs.ts';
import type { KafkaHealth } from '../../../src/runtime/bus/types.ts';
import { loadConfig, type Config } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { counter, createMetricsRegistry } from '../../../src/runtime/metrics.ts';
import { Readiness, type ReadinessReport } from '../../../src/runtime/readiness.ts';
import { closeRedis, createRedis, pingRedis } from '../../../src/runtime/redis.ts';
import { pingRegistry } from '../../../src/runtime/registry.ts';

const TOKEN = 'test-admin-token-0123456789';
const config = loadConfig({ ...process.env, ADMIN_TOKEN: TOKEN });
const logger = createLogger({ level: 'silent' });

let redis: Redis;
const healthProbes: KafkaHealth[] = [];
const servers: AdminServer[] = [];

/** A readiness registry with the checks a stage registers: broker, registry, Redis. */
function stackReadiness(brokerConfig: Config = config): Readiness {
  const readiness = new Readiness({ logger, defaultTimeoutMs: 3000 });
  const health = createKafkajsBus(brokerConfig, logger).health();
  healthProbes.push(health);
  readiness.add({ name: 'kafka', check: () => health.ping(2500) });
  readiness.add({ name: 'schema-registry', check: () => pingRegistry(config.schemaRegistryUrl, 2500) });
  readiness.add({ name: 'redis', check: () => pingRedis(redis, 2500) });
  return readiness;
}

/** Starts a server on a free loopback port; `/api/echo` answers who asked. */
async function start(overrides: Partial<AdminServerOptions> = {}): Promise<string> {
  const metrics = createMetricsRegistry();
  counter(metrics, {
    name: 'syncline_test_events_total',
    help: 'Events seen by the test.',
    labelNames: ['topic'],
  }).inc({
    topic: 'canonical.customer',
  });
  const server = new AdminServer({
    config,
    logger,
    metrics,
    readiness: new Readiness({ logger }),
    port: 0,
    ...overrides,
  });
  server.api.get('/echo', (_req, res) => {
    res.json({ ok: true });
  });
  server.api.post('/echo', (req, res) => {
    res.json({ received: req.body as unknown });
  });
  server.api.get('/refuse', () => {
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, 'offset must be a number');
  });
  server.api.get('/explode', () => {
    throw new Error('database password is hunter2');
  });
  servers.push(server);
  await server.listen();
  return server.url!;
}

const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(() => {
  redis = createRedis(config, logger, { name: 'admin-server-test' });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await Promise.all(healthProbes.map((health) => health.close()));
  await closeRedis(redis);
});

describe('AdminServer', () => {
  it('binds to loopback by default', async () => {
    const url = await start();
    expect(new URL(url).hostname).toBe('127.0.0.1');
  });

  it('answers /healthz while the process is alive', async () => {
    const url = await start();
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('serves Syncline and Node default metrics in Prometheus text format', async () => {
    const url = await start();
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('syncline_test_events_total{topic="canonical.customer"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('is ready when the broker, the registry and Redis answer', async () => {
    const url = await start({ readiness: stackReadiness() });
    const response = await fetch(`${url}/readyz`);
    const report = (await response.json()) as ReadinessReport;
    expect(report.checks.map((check) => [check.name, check.state])).toEqual([
      ['kafka', 'up'],
      ['schema-registry', 'up'],
      ['redis', 'up'],
    ]);
    expect(response.status).toBe(200);
    expect(report.ready).toBe(true);
  });

  it('is not ready (503) when the broker is unreachable, and names it', async () => {
    const unreachableBroker = loadConfig({ ...process.env, KAFKA_BROKERS: '127.0.0.1:1' });
    const url = await start({ readiness: stackReadiness(unreachableBroker) });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    const report = (await response.json()) as ReadinessReport;
    expect(report.ready).toBe(false);
    const kafka = report.checks.find((check) => check.name === 'kafka');
    expect(kafka?.state).toBe('down');
    expect(kafka?.reason).toContain('127.0.0.1:1');
    expect(report.checks.filter((check) => check.name !== 'kafka').map((check) => check.state)).toEqual([
      'up',
      'up',
    ]);
  });

  it('is not ready while draining for shutdown, whatever the checks say', async () => {
    const readiness = stackReadiness();
    readiness.drain('received SIGTERM');
    const url = await start({ readiness });
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ ready: false, draining: 'received SIGTERM' });
  });

  describe('/api', () => {
    it('refuses a call without a token (401, JSON)', async () => {
      const url = await start();
      const response = await fetch(`${url}/api/echo`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      expect(((await response.json()) as ErrorBody).error.code).toBe('UNAUTHORIZED');
    });

    it('refuses a call with a wrong token (401)', async () => {
      const url = await start();
      for (const token of ['wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        expect((await fetch(`${url}/api/echo`, bearer(token))).status).toBe(401);
      }
      const basic = await fetch(`${url}/api/echo`, { headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.status).toBe(401);
    });

    it('answers a call with the right token (200)', async () => {
      const url = await start();
      const response = await fetch(`${url}/api/echo`, bearer(TOKEN));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      const posted = await fetch(`${url}/api/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ from: '2024-01-01T00:00:00Z' }),
      });
      expect(await posted.json()).toEqual({ received: { from: '2024-01-01T00:00:00Z' } });
    });

    it('limits the rate per client (429, JSON)', async () => {
      const url = await start({ rateLimit: { windowMs: 60_000, limit: 3 } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await fetch(`${url}/api/echo`, bearer(TOKEN))).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const limited = await fetch(`${url}/api/echo`, bearer(TOKEN));
      expect(((await limited.json()) as ErrorBody).error.code).toBe('RATE_LIMITED');
      // Token guessing counts against the same limit.
      expect((await fetch(`${url}/api/echo`, bearer('guess'))).status).toBe(429);
    });

    it('is disabled (503) when no ADMIN_TOKEN is configured', async () => {
      const url = await start({ config: { ...config, adminToken: undefined } });
      for (const init of [{}, bearer(TOKEN), bearer('')]) {
        const response = await fetch(`${url}/api/echo`, init);
        expect(response.status).toBe(503);
        expect(((await response.json()) as ErrorBody).error.message).toBe(
          'admin API disabled: set ADMIN_TOKEN',
        );
      }
    });

    it('answers errors as JSON: bad input 400, unknown route 404, bad JSON 400, failures 500 without details', async () => {
      const url = await start();
      const refused = await fetch(`${url}/api/refuse`, bearer(TOKEN));
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({
        error: { code: ErrorCodes.INPUT_INVALID, message: 'offset must be a number' },
      });

      const unknown = await fetch(`${url}/api/nothing-here`, bearer(TOKEN));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as ErrorBody).error.code).toBe('NOT_FOUND');

      const badJson = await fetch(`${url}/api/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{"from":',
      });
      expect(badJson.status).toBe(400);
      expect(((await badJson.json()) as ErrorBody).error.code).toBe(ErrorCodes.INPUT_INVALID);

      const exploded = await fetch(`${url}/api/explode`, bearer(TOKEN));
      expect(exploded.status).toBe(500);
      const text = await exploded.text();
      expect(text).not.toContain('hunter2');
      expect((JSON.parse(text) as ErrorBody).error.code).toBe(ErrorCodes.UNEXPECTED);
    });
  });
});
