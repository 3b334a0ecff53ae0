import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  AvroDeserializer,
  AvroSerializer,
  SchemaRegistryClient,
  SerdeType,
  SubjectNameStrategyType,
} from '@confluentinc/schemaregistry';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createTopicsReady } from '../../../src/topology/create-topics.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import type { canonical } from '../../../src/schemas/generated/index.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { RegistryClient } from '../../../src/schemas/registry-client.ts';
import { sampleValues } from '../../../src/schemas/samples.ts';
import { Serde } from '../../../src/schemas/serde.ts';
import { withTimeout } from '../../../src/runtime/timeout.ts';

const run = promisify(execFile);
const config = loadConfig();
const registry = new RegistryClient({ url: config.schemaRegistryUrl });
const catalog = loadCatalog();
const topic = `it-wire-${randomUUID().slice(0, 8)}.canonical.customer`;
const subject = `${topic}-value`;
const entry = catalog.topic('canonical.customer');
/**
 * Subjects by topic name, as Syncline registers them. The client's default since 1.10 (ASSOCIATED)
 * first asks Confluent's associations API, which Apicurio does not serve (404); under a loaded
 * suite the client then sat for 20 s before its next request.
 */
const byTopicName = { subjectNameStrategyType: SubjectNameStrategyType.TOPIC };
let kafka: Kafka;

beforeAll(async () => {
  kafka = createKafka(config, createLogger({ level: 'silent' }), 'it-wire');
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsReady(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
  await registry.setCompatibility(subject, entry.compatibility);
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await registry.deleteSubject(subject, true);
});

/**
 * `work`, or an error naming the step after `ms`: this file once timed out as a whole on a loaded
 * machine, and the next failure should say which of the registry, the broker or kcat was slow.
 */
function step<T>(what: string, work: Promise<T>, ms = 20_000): Promise<T> {
  return withTimeout(work, ms, () => new Error(`${what}: no answer within ${ms} ms`));
}

/** The first `count` raw values of the topic, read by kcat (an independent client), as bytes. */
async function readWithKcat(count: number): Promise<Buffer[]> {
  const broker = config.kafka.brokers[0]!.replace(/^localhost:/, '127.0.0.1:');
  // One value per line would break on binary values: ask kcat for a length-prefixed frame instead.
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-e', '-c', String(count), '-f', '%S:%s'],
    {
      encoding: 'buffer',
      timeout: 15_000,
      killSignal: 'SIGKILL',
    },
  );
  const values: Buffer[] = [];
  let at = 0;
  while (at < stdout.length) {
    const colon = stdout.indexOf(0x3a, at);
    const length = Number(stdout.subarray(at, colon).toString('ascii'));
    values.push(stdout.subarray(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return values;
}

describe('a record written by Syncline is readable by independent clients', () => {
  it('kcat reads the wire format (magic byte 0, the registered schema id) and the Confluent deserializer decodes it against the registry', async () => {
    const serde = new Serde({
      source: registry,
      bindings: new Map([[topic, { subject, writer: entry }]]),
      autoRegister: true,
    });
    const [value] = sampleValues(entry.node, 1, 2024, { nullRate: 0 }) as canonical.Customer[];
    const written = await step('registry: register and encode', serde.encode(topic, value!));
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await step('broker: connect', producer.connect());
    await step(
      'broker: produce',
      producer.send({ topic, acks: -1, messages: [{ key: value!.goldenId, value: written }] }),
    );
    await producer.disconnect();

    const [raw] = await step('kcat: read', readWithKcat(1));
    expect(raw!.equals(written)).toBe(true);
    expect(raw![0]).toBe(0);
    const schemaId = raw!.readUInt32BE(1);
    expect(schemaId).toBe(await step('registry: id of the schema', registry.idOf(subject, entry.text)));

    const confluent = new SchemaRegistryClient({ baseURLs: [config.schemaRegistryUrl] });
    const decoded = (await step(
      'registry: Confluent deserializer',
      new AvroDeserializer(confluent, SerdeType.VALUE, byTopicName).deserialize(topic, raw!),
    )) as Record<string, unknown>;
    const expected = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
    expect(decoded.goldenId).toBe(value!.goldenId);
    expect(decoded.legalName).toBe(value!.legalName);
    expect(decoded.status).toBe(value!.status);
    expect(JSON.parse(JSON.stringify(decoded.sources))).toEqual(expected.sources);
    expect(JSON.parse(JSON.stringify(decoded.creditLimit))).toEqual(expected.creditLimit);
    expect((decoded.envelope as Record<string, unknown>).eventId).toBe(value!.envelope.eventId);
    expect(Number((decoded.envelope as Record<string, unknown>).sourceVersion)).toBe(
      value!.envelope.sourceVersion,
    );
  });

  it("Syncline decodes what the Confluent serializer writes with the registry's latest version", async () => {
    const confluent = new SchemaRegistryClient({ baseURLs: [config.schemaRegistryUrl] });
    const serializer = new AvroSerializer(confluent, SerdeType.VALUE, {
      ...byTopicName,
      autoRegisterSchemas: false,
      useLatestVersion: true,
    });
    const [value] = sampleValues(entry.node, 1, 7, { nullRate: 0.5 }) as canonical.Customer[];
    const bytes = await step('registry: Confluent serializer', serializer.serialize(topic, value));
    const serde = new Serde({ source: registry, bindings: new Map([[topic, { subject, writer: entry }]]) });
    const decoded = await step(
      'registry: decode by id',
      serde.decode(topic, bytes, { partition: 0, offset: '0' }),
    );
    expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(value)));
  });
});
