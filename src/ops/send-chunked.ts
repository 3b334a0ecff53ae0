/**
 * Sends many records as a sequence of bounded calls, in order. The bus producer never splits one
 * call, and a call bigger than the broker's request limit (1 MiB by default) would be refused, so
 * ops moves (redrive, bounded replay), whose records can be large, cut their own calls: at most
 * `maxRecords` records and about `maxBytes` bytes each (a single larger record goes alone).
 * Calls made one after another keep their order per partition.
 */
import type { EventProducer, OutgoingRecord } from '../runtime/bus/types.ts';

export interface ChunkLimits {
  maxRecords?: number;
  maxBytes?: number;
}

export async function sendChunked(
  producer: EventProducer,
  records: readonly OutgoingRecord[],
  limits: ChunkLimits = {},
): Promise<void> {
  const maxRecords = limits.maxRecords ?? 500;
  const maxBytes = limits.maxBytes ?? 512 * 1024;
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (chunk.length > 0 && (chunk.length >= maxRecords || bytes + size > maxBytes)) {
      await producer.send(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) await producer.send(chunk);
}

function sizeOf(record: OutgoingRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const values = Array.isArray(value)
      ? (value as readonly (string | Buffer)[])
      : [value as string | Buffer];
    for (const one of values) size += name.length + one.length;
  }
  return size;
}
