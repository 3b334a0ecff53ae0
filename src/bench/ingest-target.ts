/**
 * The server side of `syncline bench ingest`, run as its own process so that the load generator
 * does not share its event loop. Two modes, chosen by BENCH_MODE:
 *
 * - `syncline`: the real webhook server: signature check, JSON parse, validation, the Avro record in
 *   the wire format, the batching idempotent producer, 200 after acks=all.
 * - `bare`: an express endpoint that publishes the request body as it came with a plain kafkajs
 *   producer (acks=all, one send per request) and answers 200: the ceiling to compare against.
 *
 * Prints `ready <port>` on stdout once it listens; SIGTERM stops it.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { kafkaPublisher } from '../producers/acknowledged-publisher.ts';
import { ingestKafka } from '../producers/ingest-service.ts';
import { RawEventSink } from '../producers/raw-event-sink.ts';
import { RawRecordCodec } from '../producers/raw-record-codec.ts';
import { SalesforceWebhookSource } from '../producers/salesforce/salesforce-webhook-source.ts';
import { scratchBindings } from '../producers/scratch-raw-topics.ts';
import { StripeWebhookSource } from '../producers/stripe/stripe-webhook-source.ts';
import { startWebhookServer } from '../producers/webhook-server.ts';
import { ZendeskWebhookSource } from '../producers/zendesk/zendesk-webhook-source.ts';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { RegistryClient } from '../schemas/registry-client.ts';
import { Serde } from '../schemas/serde.ts';

const config = loadConfig();
const logger = createLogger({ level: 'warn', name: 'bench-ingest-target' });
const prefix = process.env.BENCH_TOPIC_PREFIX ?? '';
// The same client settings for both servers: only what they do with a request differs.
const kafka = ingestKafka(config, logger);

async function syncline(): Promise<{ port: number; stop: () => Promise<void> }> {
  const catalog = loadCatalog();
  const serde = new Serde({
    source: new RegistryClient({ url: config.schemaRegistryUrl }),
    bindings: scratchBindings(catalog, prefix),
  });
  const codec = new RawRecordCodec(catalog, serde);
  const topicOf = (topic: string): string => `${prefix}${topic}`;
  await codec.prepare(
    [
      'raw.stripe.customer',
      'raw.stripe.subscription',
      'raw.stripe.invoice',
      'raw.salesforce.account',
      'raw.salesforce.opportunity',
      'raw.zendesk.organization',
      'raw.zendesk.entitlement',
    ].map(topicOf),
  );
  const publisher = kafkaPublisher(kafka, logger);
  await publisher.start();
  const server = await startWebhookServer({
    sources: [
      new StripeWebhookSource({ secrets: config.webhookSecrets.stripe }),
      new SalesforceWebhookSource({ secrets: config.webhookSecrets.salesforce }),
      new ZendeskWebhookSource({ secrets: config.webhookSecrets.zendesk }),
    ],
    sink: new RawEventSink({ publisher, encoder: codec, topicOf }),
    logger,
    registry: new Registry(),
    port: 0,
    host: '127.0.0.1',
    validate: (event) => codec.problems(event),
  });
  return {
    port: server.port,
    stop: async () => {
      await server.close(5000);
      await publisher.close();
    },
  };
}

async function bare(): Promise<{ port: number; stop: () => Promise<void> }> {
  const topic = `${prefix}bare`;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const app = express();
  app.post('/webhooks/:platform', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    try {
      await producer.send({ topic, acks: -1, messages: [{ value: req.body as Buffer }] });
      res.status(200).json({ status: 'accepted' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  server.keepAliveTimeout = 65_000;
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await producer.disconnect();
    },
  };
}

const target = process.env.BENCH_MODE === 'bare' ? await bare() : await syncline();
process.stdout.write(`ready ${target.port}\n`);
process.once('SIGTERM', () => {
  void target.stop().finally(() => process.exit(0));
});
