/**
 * A kafkajs message as the bus's {@link IncomingRecord}, for every reader that takes messages from
 * kafkajs itself (the bus consumer, the ops topic reader, the sink's DLQ tail).
 */
import type { KafkaMessage } from 'kafkajs';
import type { IncomingRecord } from './types.ts';

/** Header values as bytes (kafkajs gives a string for a header set as one), the timestamp as a number. */
export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(toBuffer) : toBuffer(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
    timestamp: Number(message.timestamp),
  };
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}
