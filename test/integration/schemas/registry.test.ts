import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import type { Catalog } from '../../../src/schemas/catalog.ts';
import { SCHEMAS_ROOT, loadCatalog } from '../../../src/schemas/catalog.ts';
import { checkContracts } from '../../../src/schemas/contract-check.ts';
import { loadHistory } from '../../../src/schemas/history.ts';
import type { SchemaJson } from '../../../src/schemas/model.ts';
import { parseSchema, toSchemaText } from '../../../src/schemas/model.ts';
import type { raw_stripe } from '../../../src/schemas/generated/index.ts';
import { RegistryClient } from '../../../src/schemas/registry-client.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';
import { Serde, schemaFromJson } from '../../../src/schemas/serde.ts';
import { syncRegistry, syncSubject } from '../../../src/schemas/registry-sync.ts';
import { TOPICS } from '../../../src/topology/topics.ts';

const client = new RegistryClient({ url: loadConfig().schemaRegistryUrl });
const prefix = `it-schemas-${randomUUID().slice(0, 8)}.`;
const subjects: string[] = [];
const FIXTURE_V3 = join(
  SCHEMAS_ROOT,
  '..',
  'test',
  'fixtures',
  'schemas',
  'stripe-customer-v3-incompatible.avsc',
);

function kept(subject: string, version: number): string {
  const json = JSON.parse(
    readFileSync(join(SCHEMAS_ROOT, 'history', subject, `v${version}.avsc`), 'utf8'),
  ) as SchemaJson;
  return toSchemaText(parseSchema(json));
}

const temporary: string[] = [];

/** The catalog of a copy of schemas/ with the incompatible v3 fixture in place of the Stripe customer. */
function catalogWithV3(topicPrefix: string): Catalog {
  const root = mkdtempSync(join(tmpdir(), 'syncline-v3-'));
  temporary.push(root);
  cpSync(SCHEMAS_ROOT, root, { recursive: true });
  copyFileSync(FIXTURE_V3, join(root, 'raw', 'stripe', 'Customer.avsc'));
  return loadCatalog({
    root,
    prefix: topicPrefix,
    topics: TOPICS.filter((topic) => topic.name === 'raw.stripe.customer'),
  });
}

afterAll(async () => {
  for (const subject of subjects) await client.deleteSubject(subject, true);
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

describe('registering the catalog in the real registry', () => {
  const catalog = loadCatalog({
    prefix,
    topics: TOPICS.filter(
      (topic) => topic.name.startsWith('canonical.') || topic.name === 'raw.stripe.customer',
    ),
  });

  it('registers every schema under <topic>-value and pins its compatibility; a second run changes nothing', async () => {
    subjects.push(...catalog.topics.map((entry) => entry.subject));
    const first = await syncRegistry(client, catalog);
    expect(first.map((result) => result.action)).toEqual(catalog.topics.map(() => 'registered'));
    for (const result of first) {
      const entry = catalog.bySubject(result.subject)!;
      expect(await client.ownCompatibility(result.subject)).toBe(entry.compatibility);
      expect(result.version).toBe(1);
    }
    const second = await syncRegistry(client, catalog);
    expect(second.map((result) => result.action)).toEqual(catalog.topics.map(() => 'unchanged'));
    expect(second.map((result) => result.id)).toEqual(first.map((result) => result.id));
    expect(second.every((result) => result.compatibilityWas === undefined)).toBe(true);
    expect(await client.versions(`${prefix}canonical.customer-value`)).toEqual([1]);
  });

  it('serves a registered schema by id, the same schema as registered', async () => {
    const entry = catalog.topic(`${prefix}canonical.invoice`);
    const id = await client.idOf(entry.subject, entry.text);
    const text = await client.schemaById(id);
    expect(toSchemaText(parseSchema(JSON.parse(text) as SchemaJson))).toBe(entry.text);
  });

  it('an unknown id or subject is a permanent SCHEMA_NOT_FOUND', async () => {
    await expect(client.schemaById(2_000_000_000)).rejects.toMatchObject({
      code: ErrorCodes.SCHEMA_NOT_FOUND,
      retriable: false,
    });
    await expect(client.idOf(`${prefix}nothing-value`, '"string"')).rejects.toMatchObject({
      code: ErrorCodes.SCHEMA_NOT_FOUND,
    });
    expect(await client.versions(`${prefix}nothing-value`)).toEqual([]);
  });

  it('an unreachable registry is a retriable REGISTRY_UNAVAILABLE', async () => {
    const nowhere = new RegistryClient({ url: 'http://127.0.0.1:9/apis/ccompat/v7', timeoutMs: 2000 });
    const error = await nowhere.schemaById(1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SynclineError);
    expect(error).toMatchObject({ code: ErrorCodes.REGISTRY_UNAVAILABLE, retriable: true });
  });
});

describe('evolution of the Stripe customer in the real registry', () => {
  const subject = `${prefix}evolution.raw.stripe.customer-value`;

  it('takes v1 then v2 (an optional field added), refuses the incompatible v3 naming the fields, and the contract check sees it', async () => {
    subjects.push(subject);
    await client.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    const v1 = await client.register(subject, kept('raw.stripe.customer-value', 1));
    const v2 = await client.register(subject, kept('raw.stripe.customer-value', 2));
    expect(v2).not.toBe(v1);
    expect(await client.versions(subject)).toEqual([1, 2]);
    expect((await client.version(subject, 2)).id).toBe(v2);

    // Old and new producers coexist: a consumer on v1 reads v2 records and a consumer on v2 reads v1 records.
    const topic = subject.replace(/-value$/, '');
    const serdeOn = (version: 1 | 2): Serde =>
      new Serde({
        source: client,
        bindings: new Map([
          [
            topic,
            {
              subject,
              writer: schemaFromJson(JSON.parse(kept('raw.stripe.customer-value', version)) as SchemaJson),
            },
          ],
        ]),
      });
    const [record] = sampleValues(serdeOn(2).binding(topic).writer.node, 1, 5, {
      nullRate: 0,
    }) as raw_stripe.Customer[];
    record!.data.preferred_locales = ['fr-FR'];
    const fromV2 = await serdeOn(2).encode(topic, record!);
    expect(fromV2.readUInt32BE(1)).toBe(v2);
    const readByV1 = (await serdeOn(1).decode(topic, fromV2)) as raw_stripe.Customer;
    expect(readByV1.data.id).toBe(record!.data.id);
    expect(readByV1.data).not.toHaveProperty('preferred_locales');
    const { preferred_locales: _dropped, ...v1Data } = record!.data;
    const fromV1 = await serdeOn(1).encode(topic, { ...record!, data: v1Data });
    expect(fromV1.readUInt32BE(1)).toBe(v1);
    const readByV2 = (await serdeOn(2).decode(topic, fromV1)) as raw_stripe.Customer;
    expect(readByV2.data.preferred_locales).toBeNull();
    expect(readByV2.data.id).toBe(record!.data.id);

    // The registry's own check refuses v3; our client names the fields behind its JSON pointers.
    const v3 = catalogWithV3(`${prefix}evolution.`).topics[0]!;
    const refusal = (await client
      .register(subject, v3.text)
      .catch((caught: unknown) => caught)) as SynclineError;
    expect(refusal).toBeInstanceOf(SynclineError);
    expect(refusal).toMatchObject({ code: ErrorCodes.SCHEMA_INCOMPATIBLE, retriable: false });
    expect(refusal.message).toContain('(field data.balance)');
    expect(refusal.message).toContain('(field data.account_country)');
    expect(await client.isCompatible(subject, v3.text)).toBe(false);
    expect(await client.versions(subject)).toEqual([1, 2]);

    // Through the sync, the refusal names subject, field and rule before anything is sent.
    const result = await syncSubject(client, v3);
    expect(result.action).toBe('refused');
    expect(result.reasons).toContain(
      `${subject}: field data.balance: TYPE_MISMATCH: type changed from long in v1 to string, which cannot read it (BACKWARD_TRANSITIVE, against registry v1)`,
    );
    expect(
      result.reasons?.some((reason) =>
        reason.includes('field data.account_country: READER_FIELD_MISSING_DEFAULT_VALUE'),
      ),
    ).toBe(true);
    expect(await client.versions(subject)).toEqual([1, 2]);

    const catalog = loadCatalog({
      prefix: `${prefix}evolution.`,
      topics: TOPICS.filter((topic) => topic.name === 'raw.stripe.customer'),
    });
    const entry = catalog.topics[0]!;
    // The live v2 is what the registry already has: registering it is a no-op.
    expect((await syncSubject(client, entry)).action).toBe('unchanged');

    // And the contract check compares the working tree with the registry's versions too.
    const report = await checkContracts({ catalog, history: loadHistory(catalog.root), registry: client });
    expect(report.registry).toBe('checked');
    expect(report.subjects[0]?.comparedWith).toEqual(['repo v1', 'repo v2', 'registry v1', 'registry v2']);
    expect(report.subjects[0]?.violations).toEqual([]);
  });

  it("names the field in the registry's own refusal of an enum symbol removal", async () => {
    const enumSubject = `${prefix}evolution.enum-value`;
    subjects.push(enumSubject);
    const schema = (symbols: string[]): string =>
      JSON.stringify({
        type: 'record',
        name: 'R',
        namespace: 'it',
        fields: [{ name: 'status', type: { type: 'enum', name: 'S', symbols } }],
      });
    await client.setCompatibility(enumSubject, 'BACKWARD_TRANSITIVE');
    await client.register(enumSubject, schema(['OPEN', 'PAID', 'VOID']));
    const refusal = (await client
      .register(enumSubject, schema(['OPEN', 'PAID']))
      .catch((caught: unknown) => caught)) as SynclineError;
    expect(refusal.code).toBe(ErrorCodes.SCHEMA_INCOMPATIBLE);
    expect(refusal.message).toMatch(/409/);
    expect(refusal.message).toMatch(/\/fields\/0\/type\/symbols \(field status\)/);
  });
});
