/**
 * The services the local stack uses but does not run: Redis and PostgreSQL. On these machines they run
 * already; elsewhere they may not, so we check each and say exactly what is missing and how to get it.
 * `infra up` also creates Syncline's databases (the application's and the registry's).
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { PartStatus } from './kafka-server.ts';

export interface DatabaseCoordinates {
  host: string;
  port: number;
  name: string;
  user: string;
  password: string;
}

export function parseDatabaseUrl(databaseUrl: string): DatabaseCoordinates {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    name: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'syncline',
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
}

/** Where a URL points, without its credentials, for messages and status. */
export function safeEndpoint(serviceUrl: string): string {
  const url = new URL(serviceUrl);
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

export async function redisStatus(redisUrl: string): Promise<PartStatus> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const version = info.match(/redis_version:(\S+)/)?.[1] ?? '?';
    return { part: 'redis', state: 'external', endpoint: safeEndpoint(redisUrl), detail: `Redis ${version}` };
  } catch (error) {
    return {
      part: 'redis',
      state: 'stopped',
      endpoint: safeEndpoint(redisUrl),
      detail: `not reachable (${(error as Error).message}); install and start Redis (apt-get install redis-server; redis-server --daemonize yes --bind 127.0.0.1) or set REDIS_URL`,
    };
  } finally {
    client.disconnect();
  }
}

export async function postgresStatus(databaseUrl: string): Promise<PartStatus> {
  const db = parseDatabaseUrl(databaseUrl);
  const client = new pg.Client({ ...clientConfig(db), database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return {
      part: 'postgres',
      state: 'external',
      endpoint: `postgres://${db.host}:${db.port}`,
      detail: `PostgreSQL ${result.rows[0]?.server_version ?? '?'}`,
    };
  } catch (error) {
    return {
      part: 'postgres',
      state: 'stopped',
      endpoint: `postgres://${db.host}:${db.port}`,
      detail: `not reachable (${(error as Error).message}); install and start PostgreSQL (apt-get install postgresql; pg_ctlcluster <version> main start) or set DATABASE_URL`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the named databases if they do not exist yet. */
export async function ensureDatabases(databaseUrl: string, names: string[]): Promise<string[]> {
  const db = parseDatabaseUrl(databaseUrl);
  const client = new pg.Client({ ...clientConfig(db), database: 'postgres' });
  client.on('error', () => undefined);
  const created: string[] = [];
  try {
    await client.connect();
    for (const name of names) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) {
        // Identifiers cannot be bound as parameters; the name is quoted and comes from our own config.
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
        created.push(name);
      }
    }
    return created;
  } catch (error) {
    throw SynclineError.permanent(
      ErrorCodes.DATABASE_UNAVAILABLE,
      `cannot create databases ${names.join(', ')}: ${(error as Error).message}`,
      { part: 'postgres' },
      error,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function clientConfig(db: DatabaseCoordinates): pg.ClientConfig {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    ...(db.password ? { password: db.password } : {}),
    connectionTimeoutMillis: 3000,
  };
}
