/**
 * The schema registry of the local stack is a real Confluent-compatible server: two independent
 * clients (@kafkajs/confluent-schema-registry and Confluent's own @confluentinc/schemaregistry) register,
 * fetch by id and list versions; it refuses a breaking change under the global BACKWARD_TRANSITIVE
 * rule; and, with its PostgreSQL storage, schemas and ids survive a restart. A private registry (own
 * port, own database) lets this test restart it without disturbing the shared one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir } from '../../../src/infra/paths.ts';
import { RegistryServer } from '../../../src/infra/registry-server.ts';
import { ensureDatabases, parseDatabaseUrl } from '../../../src/infra/services.ts';
import { loadConfig } from '../../../src/runtime/config.ts';

const config = loadConfig();
const suffix = Math.random().toString(36).slice(2, 8);
const databaseName = `syncline_regtest_${suffix}`;
const home = mkdtempSync(join(tmpdir(), 'syncline-registry-test-'));
const server = new RegistryServer({
  home,
  cache: cacheDir(),
  port: 28185,
  storage: 'sql',
  database: { ...parseDatabaseUrl(config.databaseUrl), name: databaseName },
});
const subject = `test.registry.${suffix}-value`;

const v1 = {
  type: 'record',
  name: 'Customer',
  namespace: 'io.syncline.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'name', type: 'string' },
  ],
};
const v2 = { ...v1, fields: [...v1.fields, { name: 'country', type: ['null', 'string'], default: null }] };
/** Breaking: `name` changes type, which no reader of v1 or v2 can resolve. */
const breaking = {
  ...v1,
  fields: [
    { name: 'id', type: 'string' },
    { name: 'name', type: 'int' },
  ],
};

let kafkajsClient: SchemaRegistry;
let confluentClient: SchemaRegistryClient;

beforeAll(async () => {
  await ensureDatabases(config.databaseUrl, [databaseName]);
  await server.start();
  kafkajsClient = new SchemaRegistry({ host: server.url });
  confluentClient = new SchemaRegistryClient({ baseURLs: [server.url], cacheCapacity: 1 });
});

afterAll(async () => {
  await server.stop();
  rmSync(home, { recursive: true, force: true });
  const admin = new pg.Client({
    ...parseDatabaseUrl(config.databaseUrl),
    user: parseDatabaseUrl(config.databaseUrl).user,
    database: 'postgres',
  });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  await admin.end();
});

describe('the local schema registry', () => {
  let idV1 = 0;
  let idV2 = 0;

  it('registers with one client and serves the schema by id to the other', async () => {
    ({ id: idV1 } = await kafkajsClient.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
      { subject },
    ));
    expect(idV1).toBeGreaterThan(0);
    const fetched = await confluentClient.getBySubjectAndId(subject, idV1);
    expect(JSON.parse(fetched.schema)).toEqual(v1);
  });

  it('registering the same schema again returns the same id (idempotent)', async () => {
    const again = await confluentClient.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) });
    expect(again).toBe(idV1);
  });

  it('accepts a compatible v2 as version 2, listed by both clients', async () => {
    idV2 = await confluentClient.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v2) });
    expect(idV2).not.toBe(idV1);
    expect(await confluentClient.getAllVersions(subject)).toEqual([1, 2]);
    expect(await kafkajsClient.getLatestSchemaId(subject)).toBe(idV2);
  });

  it('refuses a breaking change under the global BACKWARD_TRANSITIVE rule, through both clients', async () => {
    await expect(
      confluentClient.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(breaking) }),
    ).rejects.toThrow(/409|incompatible/i);
    await expect(
      kafkajsClient.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject }),
    ).rejects.toThrow(/409|incompatible/i);
    expect(await confluentClient.getAllVersions(subject)).toEqual([1, 2]);
  });

  it('keeps schemas, ids and versions across a restart (PostgreSQL storage)', async () => {
    await server.stop();
    await server.start();
    const fresh = new SchemaRegistryClient({ baseURLs: [server.url], cacheCapacity: 1 });
    expect(JSON.parse((await fresh.getBySubjectAndId(subject, idV1)).schema)).toEqual(v1);
    expect(JSON.parse((await fresh.getBySubjectAndId(subject, idV2)).schema)).toEqual(v2);
    expect(await fresh.getAllVersions(subject)).toEqual([1, 2]);
    // The compatibility rule is set again at every start, so a breaking change is still refused.
    await expect(
      fresh.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(breaking) }),
    ).rejects.toThrow();
  });
});
