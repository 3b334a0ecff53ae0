/**
 * The safe way to walk a batch one record at a time: stop taking records when the consumer stops or
 * the batch went stale, mark each record done only after its handler resolved, and heartbeat as the
 * work progresses so a slow batch does not get the member evicted (tulios/kafkajs#447, #1083).
 */
import type { BatchHandler, IncomingBatch, IncomingRecord } from './types.ts';

/** Handles one record; throw to leave it (and every later record of the partition) unprocessed. */
export type RecordHandler = (record: IncomingRecord, batch: IncomingBatch) => Promise<void>;

/** A {@link BatchHandler} that runs `handler` on each record in order. */
export function eachRecord(handler: RecordHandler): BatchHandler {
  return async (batch) => {
    for (const record of batch.records) {
      if (!batch.isRunning() || batch.isStale()) return;
      await handler(record, batch);
      batch.markDone(record);
      await batch.heartbeat();
    }
  };
}
