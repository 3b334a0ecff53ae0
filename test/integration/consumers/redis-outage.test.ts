/**
 * Redis away: a sink fails closed. Its Redis connection runs through a TCP proxy the test cuts:
 * while Redis cannot be reached the runner applies nothing (it never skips the idempotency claim),
 * reports not ready, and when Redis is reachable again it resumes by itself and delivers what came
 * in meanwhile, once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErpSqlSink } from '../../../src/consumers/erp-sql/erp-sql-sink.ts';
import type { SinkRunner } from '../../../src/consumers/runner/runner.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { closeRedis, createRedis } from '../../../src/runtime/redis.ts';
import { GroupIds, TopicNames } from '../../../src/topology/topics.ts';
import { customerValue } from '../../support/erp-sink-records.ts';
import { createSinkTopology, eventually, type SinkTopology } from '../../support/sink-topology.ts';

const config = loadConfig();
const logger = createLogger({ level: 'fatal' });
const kafka = createKafka(config, logger, 'it-sink-redis-outage');
const schema = `erp_sql_ro_${randomBytes(4).toString('hex')}`;
const redisPrefix = `test:sink-redis-outage:${randomBytes(4).toString('hex')}:`;

/** A TCP proxy to the real Redis that can be cut (listener closed, connections reset) and restored. */
class CuttableProxy {
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  port = 0;

  async open(): Promise<void> {
    if (this.#server) return;
    const target = new URL(config.redisUrl);
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

const proxy = new CuttableProxy();
let topology: SinkTopology;
let pool: pg.Pool;
let runner: SinkRunner;
let redis: ReturnType<typeof createRedis>;

async function stagedCustomers(): Promise<number> {
  const result = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.customer_interface`);
  return Number(result.rows[0]!.n);
}

beforeAll(async () => {
  await proxy.open();
  redis = createRedis({ ...config, redisUrl: `redis://127.0.0.1:${proxy.port}` }, logger, {
    name: 'sink-test',
  });
  pool = new pg.Pool({ connectionString: config.databaseUrl, max: 3 });
  topology = await createSinkTopology(kafka, config, logger, 'sink-redis', [GroupIds.erpSqlSink]);
  const sink = new ErpSqlSink({ pool, schema });
  await sink.migrate();
  ({ runner } = topology.runner(sink, redis, redisPrefix));
  await runner.start();
}, 60_000);

afterAll(async () => {
  await runner?.close();
  await topology?.cleanup();
  await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool?.end();
  await proxy.open().catch(() => undefined);
  const keys = await redis.keys(`${redisPrefix}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys);
  await closeRedis(redis);
  await proxy.cut();
}, 60_000);

describe('Redis away', () => {
  it('applies nothing and reports not ready while Redis is away, then resumes by itself and delivers once', async () => {
    await topology.publish(
      TopicNames.canonical.customer,
      Array.from({ length: 5 }, () => customerValue(randomUUID(), 1)),
    );
    await eventually(async () => (await stagedCustomers()) === 5, 30_000, 'the first five staged');
    expect(runner.isReady()).toBe(true);

    await proxy.cut();
    await topology.publish(
      TopicNames.canonical.customer,
      Array.from({ length: 5 }, () => customerValue(randomUUID(), 1)),
    );
    await eventually(() => Promise.resolve(!runner.isReady()), 30_000, 'the runner reports not ready');
    await sleep(3000);
    expect(await stagedCustomers()).toBe(5);
    expect(runner.isReady()).toBe(false);

    await proxy.open();
    await eventually(
      async () => (await stagedCustomers()) === 10,
      60_000,
      'the rest staged after Redis is back',
    );
    await eventually(() => Promise.resolve(runner.isReady()), 10_000, 'ready again');
    await sleep(1000);
    expect(await stagedCustomers()).toBe(10);
  }, 120_000);
});
