/**
 * The AsyncAPI 3.0 document of Syncline's topics, generated from `topology/` and `schemas/`, for
 * downstream subscribers: every topic with its key, its value schema (the Avro schema as registered,
 * with its registry subject), its owner, its meaning, its partitions and retention; which component
 * sends to it and which consumer groups receive from it. Validated with the AsyncAPI initiative's
 * parser (`@asyncapi/parser` with its Avro schema parser).
 */
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import { ALL_TOPICS, GROUPS } from '../topology/topics.ts';
import { resolveTopology } from '../topology/topology.ts';
import type { DesiredTopic, ProfileName, TopicDeclaration } from '../topology/types.ts';
import type { Catalog } from './catalog.ts';

export const AVRO_SCHEMA_FORMAT = 'application/vnd.apache.avro+json;version=1.9.0';
const KAFKA_BINDING_VERSION = '0.5.0';

const KEY_MEANINGS: Record<string, string> = {
  'source-entity-id': 'The entity id in the source system (Salesforce Account Id, Stripe customer id, ...).',
  'golden-customer-id':
    'The golden customer id from match-merge: all events of one customer share a partition, in order.',
  'source-reference': '`<system>:<source id>`, e.g. `stripe:cus_123`.',
  'correlation-id': 'The correlation id of the business transaction.',
  'audit-subject': 'The consumer group or topic the operator action applied to.',
  'original-key': 'The key of the record that failed, unchanged.',
};

export interface AsyncApiOptions {
  catalog: Catalog;
  /** Which profile's partition counts and replication to document; default production. */
  profile?: ProfileName;
  /** The document's version, normally the package version. */
  version: string;
  /** Kafka bootstrap server and registry URL to name in `servers`. */
  kafkaHost?: string;
  registryUrl?: string;
  /** Topic declarations; default every Syncline topic. */
  topics?: readonly TopicDeclaration[];
}

/** The AsyncAPI document as a plain object (serialise it as JSON or YAML). */
export function buildAsyncApi(options: AsyncApiOptions): Record<string, unknown> {
  const declarations = options.topics ?? ALL_TOPICS;
  const topology = resolveTopology({
    profile: options.profile ?? 'production',
    topics: declarations,
    groups: GROUPS,
  });
  const desired = new Map(topology.topics.map((topic) => [topic.name, topic]));

  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const declaration of declarations) {
    const id = channelId(declaration.name);
    const entry = options.catalog.topics.find((topic) => topic.topic === declaration.name);
    const topic = desired.get(declaration.name);
    const keyMeaning = KEY_MEANINGS[declaration.key.identity] ?? declaration.key.identity;
    const message: Record<string, unknown> = {
      name: entry ? entry.fullName : 'OriginalRecord',
      title: entry ? entry.fullName.split('.').at(-1) : `${declaration.kind.toUpperCase()} record`,
      summary: declaration.description,
      bindings: {
        kafka: {
          key: { type: 'string', description: keyMeaning },
          ...(entry
            ? {
                schemaIdLocation: 'payload',
                schemaIdPayloadEncoding: 'confluent',
                schemaLookupStrategy: 'TopicIdStrategy',
              }
            : {}),
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
    };
    if (entry) {
      message.contentType = 'application/vnd.apache.avro';
      message.description = `Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. Registry subject \`${entry.subject}\`, compatibility ${entry.compatibility}.`;
      message.payload = { schemaFormat: AVRO_SCHEMA_FORMAT, schema: entry.json };
      message['x-syncline-subject'] = entry.subject;
      message['x-syncline-compatibility'] = entry.compatibility;
    } else {
      message.contentType = 'application/octet-stream';
      message.description =
        'The failed record exactly as it was (key, value bytes with their original schema id, headers); the failure context (original topic, partition, offset, error class and message, attempts, first and last failure time) is in the headers.';
    }
    messages[id] = message;

    channels[id] = {
      address: declaration.name,
      title: declaration.name,
      description: `${declaration.description} Owner: ${declaration.owner}. Key: ${keyMeaning}`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
      ...(topic ? { bindings: { kafka: channelBinding(topic) } } : {}),
    };

    operations[`send_${id}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      title: `${declaration.owner} writes ${declaration.name}`,
      summary: `The only writer of ${declaration.name}: ${declaration.owner}.`,
      messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
    };
  }

  for (const group of topology.groups) {
    for (const read of group.subscriptions) {
      const id = channelId(read);
      if (!channels[id]) continue;
      operations[`receive_${channelId(group.id)}_${id}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${id}` },
        title: `${group.id} reads ${read}`,
        summary: `Consumer group ${group.id} (${group.role}, ${group.owner}): ${group.description}`,
        messages: [{ $ref: `#/channels/${id}/messages/${id}` }],
        bindings: {
          kafka: { groupId: { type: 'string', enum: [group.id] }, bindingVersion: KAFKA_BINDING_VERSION },
        },
      };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Syncline event contracts',
      version: options.version,
      description:
        'The Kafka topics of Syncline, the event-streaming backbone that keeps an ERP, the CRM, billing and support in step. Topic names, keys and value schemas are the public contract for downstream subscribers; value schemas evolve under the registry compatibility level named on each message. Generated by `syncline docs asyncapi` from topology/ and schemas/.',
    },
    defaultContentType: 'application/vnd.apache.avro',
    servers: {
      local: {
        host: options.kafkaHost ?? 'localhost:9092',
        protocol: 'kafka',
        description: 'The local single-node stack (`syncline infra up`).',
        bindings: {
          kafka: {
            schemaRegistryUrl: options.registryUrl ?? 'http://localhost:8085/apis/ccompat/v7',
            schemaRegistryVendor: 'apicurio',
            bindingVersion: KAFKA_BINDING_VERSION,
          },
        },
      },
    },
    channels,
    operations,
    components: { messages },
  };
}

function channelBinding(topic: DesiredTopic): Record<string, unknown> {
  const configuration: Record<string, unknown> = {};
  const policy = topic.config['cleanup.policy'];
  if (policy) configuration['cleanup.policy'] = policy.split(',');
  if (topic.config['retention.ms']) configuration['retention.ms'] = Number(topic.config['retention.ms']);
  if (topic.config['delete.retention.ms'])
    configuration['delete.retention.ms'] = Number(topic.config['delete.retention.ms']);
  return {
    topic: topic.name,
    partitions: topic.partitions,
    replicas: topic.replicationFactor,
    topicConfiguration: configuration,
    bindingVersion: KAFKA_BINDING_VERSION,
  };
}

/** `raw.stripe.customer` → `raw_stripe_customer`: channel ids must be plain keys. */
function channelId(topic: string): string {
  return topic.replace(/[^A-Za-z0-9_]/g, '_');
}

export interface AsyncApiProblem {
  severity: 'error' | 'warning';
  message: string;
  path: string;
}

/**
 * Validates the document with the AsyncAPI parser and its Avro schema parser. Returns the errors and
 * warnings it reports (information and hints are left out). The parser is a development dependency,
 * loaded only here.
 */
export async function validateAsyncApi(document: Record<string, unknown>): Promise<AsyncApiProblem[]> {
  const [{ Parser }, { AvroSchemaParser }] = await Promise.all([
    import('@asyncapi/parser'),
    import('@asyncapi/avro-schema-parser'),
  ]).catch((error: unknown) => {
    throw SynclineError.permanent(
      ErrorCodes.UNEXPECTED,
      'the AsyncAPI parser is not installed (it is a development dependency): run npm install',
      { part: 'docs asyncapi' },
      error,
    );
  });
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const { diagnostics } = await parser.parse(document as never);
  return (
    diagnostics
      // Severity: 0 error, 1 warning, 2 information, 3 hint (Spectral's DiagnosticSeverity).
      .filter((diagnostic) => Number(diagnostic.severity) <= 1)
      .map((diagnostic) => ({
        severity: Number(diagnostic.severity) === 0 ? ('error' as const) : ('warning' as const),
        message: diagnostic.message,
        path: diagnostic.path.join('/'),
      }))
  );
}
