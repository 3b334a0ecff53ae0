/**
 * A Kafka record as a sink sees it: decoded with the reader schema of its canonical topic, the
 * envelope lifted into typed fields. Records on `<group>.retry` carry the canonical topic they came
 * from in {@link SINK_TOPIC_HEADER}, which the runner adds before it dead-letters a record and which
 * redrive keeps with the original headers, so a record redriven twice still decodes.
 */
import { DlqHeaders } from '../../processors/pipeline/dead-letter.ts';
import { headerText, type IncomingRecord } from '../../runtime/bus/types.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Envelope } from '../../schemas/generated/common.ts';
import type { Serde } from '../../schemas/serde.ts';
import type { SinkRecord } from '../sink.ts';

/** The canonical topic (as written, with any prefix) of a dead-lettered or redriven record. */
export const SINK_TOPIC_HEADER = 'syncline-sink-topic';

export type Decoded = { ok: true; record: SinkRecord } | { ok: false; error: SynclineError };

/** The topic whose schema a record is read with: its own, or for a redriven record the original one. */
export function canonicalTopicOf(record: IncomingRecord, retryTopic: string): string | undefined {
  if (record.topic !== retryTopic) return record.topic;
  return headerText(record.headers, SINK_TOPIC_HEADER) ?? headerText(record.headers, DlqHeaders.topic);
}

/** Decodes `record`; never throws. Only an unreachable registry gives a retriable error. */
export async function decodeSinkRecord(
  serde: Serde,
  record: IncomingRecord,
  retryTopic: string,
  topicPrefix: string,
): Promise<Decoded> {
  const context = { topic: record.topic, partition: record.partition, offset: record.offset };
  const topic = canonicalTopicOf(record, retryTopic);
  if (topic === undefined || !topic.startsWith(topicPrefix)) {
    return {
      ok: false,
      error: SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        'a redriven record without the canonical topic it came from',
        context,
      ),
    };
  }
  if (record.key === null) {
    return {
      ok: false,
      error: SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        'a canonical record without a key',
        context,
      ),
    };
  }
  const decoded = await serde.tryDecode(topic, record.value, {
    partition: record.partition,
    offset: record.offset,
  });
  if (!decoded.ok) return decoded;
  const value = decoded.value as Record<string, unknown>;
  const envelope = value.envelope as Envelope | undefined;
  if (!envelope || typeof envelope.idempotencyKey !== 'string') {
    return {
      ok: false,
      error: SynclineError.permanent(
        ErrorCodes.DESERIALIZATION_FAILED,
        'a record without an envelope',
        context,
      ),
    };
  }
  return {
    ok: true,
    record: {
      topic: topic.slice(topicPrefix.length),
      key: record.key.toString('utf8'),
      eventId: envelope.eventId,
      eventType: envelope.eventType,
      idempotencyKey: envelope.idempotencyKey,
      correlationId: envelope.correlationId,
      sourceEntityId: envelope.sourceEntityId,
      sourceVersion: envelope.sourceVersion,
      occurredAt: envelope.occurredAt,
      value,
      position: { topic: record.topic, partition: record.partition, offset: record.offset },
    },
  };
}

/** The entity of a canonical contract topic: `canonical.invoice` → `invoice`. */
export function entityOf(topic: string): string {
  return topic.startsWith('canonical.') ? topic.slice('canonical.'.length) : topic;
}
