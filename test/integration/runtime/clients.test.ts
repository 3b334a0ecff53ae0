/**
 * The client factories against the real stack: Redis, PostgreSQL and the schema registry answer
 * their probes when up, and a probe of an unreachable one fails fast with a retriable error that
 * names the part. The registry client built from the config talks to the real registry.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createPgPool, pingDatabase } from '../../../src/runtime/postgres.ts';
import { closeRedis, createRedis, pingRedis } from '../../../src/runtime/redis.ts';
import { createSchemaRegistry, pingRegistry, registryEndpoint } from '../../../src/runtime/registry.ts';

const config = loadConfig();
const logger = createLogger({ level: 'silent' });

describe('Redis client', () => {
  it('connects lazily and answers PING', async () => {
    const redis = createRedis(config, logger, { name: 'clients-test' });
    try {
      expect(redis.status).toBe('wait');
      await expect(pingRedis(redis)).resolves.toBeUndefined();
    } finally {
      await closeRedis(redis);
    }
  });

  it('reports REDIS_UNAVAILABLE when Redis cannot be reached', async () => {
    const redis = createRedis(loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' }), logger);
    try {
      await expect(pingRedis(redis, 1500)).rejects.toMatchObject({
        code: ErrorCodes.REDIS_UNAVAILABLE,
        retriable: true,
      });
    } finally {
      await closeRedis(redis);
    }
  });
});

describe('PostgreSQL pool', () => {
  // The `postgres` maintenance database always exists; `syncline` may not have been created yet.
  const databaseUrl = new URL(config.databaseUrl);
  databaseUrl.pathname = '/postgres';

  it('answers SELECT 1', async () => {
    const pool = createPgPool({ ...config, databaseUrl: databaseUrl.toString() }, logger, { max: 1 });
    try {
      await expect(pingDatabase(pool)).resolves.toBeUndefined();
    } finally {
      await pool.end();
    }
  });

  it('reports DATABASE_UNAVAILABLE when the server cannot be reached', async () => {
    const pool = createPgPool({ ...config, databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres' }, logger);
    try {
      await expect(pingDatabase(pool, 1500)).rejects.toMatchObject({
        code: ErrorCodes.DATABASE_UNAVAILABLE,
        retriable: true,
      });
    } finally {
      await pool.end();
    }
  });
});

describe('schema registry', () => {
  it('answers the probe, and the client from the config reads from the real registry', async () => {
    await expect(pingRegistry(config.schemaRegistryUrl)).resolves.toBeUndefined();
    const registry = createSchemaRegistry(config);
    // A subject that does not exist: the registry itself answers (not a connection failure).
    await expect(registry.getLatestSchemaId(`it-runtime-missing-${Date.now()}`)).rejects.toThrow(
      /not found|40401/i,
    );
  });

  it('reports REGISTRY_UNAVAILABLE naming the registry when it cannot be reached', async () => {
    await expect(pingRegistry('http://127.0.0.1:1/apis/ccompat/v7', 1500)).rejects.toMatchObject({
      code: ErrorCodes.REGISTRY_UNAVAILABLE,
      retriable: true,
      message: expect.stringContaining('127.0.0.1:1') as unknown,
    });
  });

  it('takes credentials out of the URL and never keeps them in the host', () => {
    expect(registryEndpoint('https://svc%40acme:p%3Ass@registry.example/apis/ccompat/v7/')).toEqual({
      host: 'https://registry.example/apis/ccompat/v7',
      auth: { username: 'svc@acme', password: 'p:ss' },
    });
    expect(registryEndpoint('http://localhost:8085')).toEqual({ host: 'http://localhost:8085' });
  });
});
