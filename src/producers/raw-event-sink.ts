/**
 * From raw events to acknowledged Kafka records: encode each value (Avro in the Confluent wire
 * format), copy the envelope into headers so that routers and operators can read it without a
 * schema, and publish all records of one source event as one unit.
 */
import type { OutgoingRecord, PublishOptions, Publisher } from './acknowledged-publisher.ts';
import type { RawEvent } from './source.ts';

/** Turns a raw event into its record value bytes. */
export interface RawEventEncoder {
  encode(event: RawEvent): Promise<Buffer>;
}

/** Header names under which the envelope travels beside the value. */
export const ENVELOPE_HEADERS = {
  eventId: 'syncline-event-id',
  eventType: 'syncline-event-type',
  idempotencyKey: 'syncline-idempotency-key',
  correlationId: 'syncline-correlation-id',
  source: 'syncline-source',
} as const;

export function envelopeHeaders(event: RawEvent): Record<string, string> {
  const { envelope } = event;
  return {
    [ENVELOPE_HEADERS.eventId]: envelope.eventId,
    [ENVELOPE_HEADERS.eventType]: envelope.eventType,
    [ENVELOPE_HEADERS.idempotencyKey]: envelope.idempotencyKey,
    [ENVELOPE_HEADERS.correlationId]: envelope.correlationId,
    [ENVELOPE_HEADERS.source]: `${envelope.source.system}/${envelope.source.instance}`,
  };
}

export interface RawEventSinkOptions {
  publisher: Publisher;
  encoder: RawEventEncoder;
  /**
   * The Kafka topic a raw topic is written to; the same name by default. Tests map the contract
   * names to private, uniquely named topics.
   */
  topicOf?: (topic: string) => string;
}

export class RawEventSink {
  private readonly publisher: Publisher;
  private readonly encoder: RawEventEncoder;
  private readonly topicOf: (topic: string) => string;

  constructor(options: RawEventSinkOptions) {
    this.publisher = options.publisher;
    this.encoder = options.encoder;
    this.topicOf = options.topicOf ?? ((topic) => topic);
  }

  /** Resolves once every record of `events` is acknowledged by Kafka with acks=all. */
  async publish(events: readonly RawEvent[], options?: PublishOptions): Promise<void> {
    const records: OutgoingRecord[] = await Promise.all(
      events.map(async (event) => {
        const topic = this.topicOf(event.topic);
        return {
          topic,
          key: event.key,
          value: await this.encoder.encode(topic === event.topic ? event : { ...event, topic }),
          headers: envelopeHeaders(event),
        };
      }),
    );
    await this.publisher.publish(records, options);
  }

  isReady(): boolean {
    return this.publisher.isReady();
  }

  /** See {@link Publisher.flush}. */
  flush(): Promise<void> {
    return this.publisher.flush();
  }
}
