import { describe, expect, it } from 'vitest';
import { buildAsyncApi, validateAsyncApi } from '../../../src/schemas/asyncapi.ts';
import { loadCatalog } from '../../../src/schemas/catalog.ts';
import { ALL_TOPICS } from '../../../src/topology/topics.ts';

const catalog = loadCatalog();
const document = buildAsyncApi({ catalog, version: '1.2.3' });
type Channel = {
  address: string;
  description: string;
  messages: Record<string, { $ref: string }>;
  bindings?: { kafka: Record<string, unknown> };
};
type Message = {
  payload?: { schemaFormat: string; schema: unknown };
  bindings: { kafka: Record<string, unknown> };
  'x-syncline-subject'?: string;
};

describe('the AsyncAPI document', () => {
  it('is valid AsyncAPI 3.0 according to the AsyncAPI parser with its Avro schema parser', async () => {
    expect(document.asyncapi).toBe('3.0.0');
    expect(await validateAsyncApi(document)).toEqual([]);
  }, 60_000); // the parser is CPU-bound: seconds on a loaded 2-core machine

  it('has a channel for every declared topic, with its owner, meaning, key, partitions and retention', () => {
    const channels = Object.values(document.channels as Record<string, Channel>);
    expect(channels.map((channel) => channel.address).sort()).toEqual(
      ALL_TOPICS.map((topic) => topic.name).sort(),
    );
    const golden = channels.find((channel) => channel.address === 'mdm.customer.golden') as Channel;
    expect(golden.description).toContain('Owner: processors/match-merge');
    expect(golden.description).toContain('golden customer id');
    expect(golden.bindings?.kafka).toMatchObject({
      topic: 'mdm.customer.golden',
      partitions: 6,
      replicas: 3,
      topicConfiguration: { 'cleanup.policy': ['compact'] },
    });
  });

  it('gives every Avro topic its registered schema, subject and string key', () => {
    const messages = (document.components as { messages: Record<string, Message> }).messages;
    for (const entry of catalog.topics) {
      const message = messages[entry.topic.replace(/[^A-Za-z0-9_]/g, '_')] as Message;
      expect(message.payload).toEqual({
        schemaFormat: 'application/vnd.apache.avro+json;version=1.9.0',
        schema: entry.json,
      });
      expect(message['x-syncline-subject']).toBe(entry.subject);
      expect(message.bindings.kafka).toMatchObject({
        key: { type: 'string' },
        schemaIdPayloadEncoding: 'confluent',
        schemaLookupStrategy: 'TopicIdStrategy',
      });
    }
  });

  it('says who writes each topic and which consumer groups read it', () => {
    const operations = Object.values(
      document.operations as Record<string, { action: string; channel: { $ref: string }; title: string }>,
    );
    expect(operations.filter((op) => op.action === 'send')).toHaveLength(ALL_TOPICS.length);
    expect(operations.map((op) => op.title)).toContain('erp-rest-sink reads canonical.invoice');
  });

  it('the validation catches a broken document (so the check above can fail)', async () => {
    const messages = (document.components as { messages: Record<string, Message> }).messages;
    const broken = structuredClone(document);
    const first = Object.keys(messages)[0] as string;
    (broken.components as { messages: Record<string, Message> }).messages[first]!.payload = {
      schemaFormat: 'application/vnd.apache.avro+json;version=1.9.0',
      schema: { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nosuchtype' }] },
    };
    delete (broken as { info?: unknown }).info;
    const problems = await validateAsyncApi(broken);
    expect(problems.filter((problem) => problem.severity === 'error').length).toBeGreaterThan(0);
  });
});
