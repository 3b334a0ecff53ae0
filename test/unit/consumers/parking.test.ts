/**
 * The parked-key set of a sink: the folded DLQ plus what the runner wrote and has not read back,
 * minus entries whose redriven record the runner has already taken. DLQ records are built with the
 * real deadLetterOf and marker headers, as the runner and ops write them.
 */
import { describe, expect, it } from 'vitest';
import { ParkingLot } from '../../../src/consumers/runner/parking.ts';
import { deadLetterOf, DlqHeaders, PARKED_REASON } from '../../../src/processors/pipeline/dead-letter.ts';
import type { IncomingRecord } from '../../../src/runtime/bus/types.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';

const DLQ = 'erp-rest-sink.dlq';
let nextOffset = 0;

function original(key: string, offset: number): IncomingRecord {
  return {
    topic: 'canonical.order',
    partition: 1,
    offset: String(offset),
    key: Buffer.from(key),
    value: Buffer.from('v'),
    headers: {},
    timestamp: 0,
  };
}

function asRead(record: ReturnType<typeof deadLetterOf>, extra: Record<string, string> = {}): IncomingRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries({ ...record.headers, ...extra })) {
    headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  }
  const offset = String(nextOffset);
  nextOffset += 1;
  return {
    topic: DLQ,
    partition: 0,
    offset,
    key: record.key === null ? null : Buffer.from(String(record.key)),
    value: record.value,
    headers,
    timestamp: 0,
  };
}

function failure(
  key: string,
  offset: number,
  reason = 'rejected by target',
  extra: Record<string, string> = {},
): IncomingRecord {
  const now = Date.now();
  return asRead(
    deadLetterOf(original(key, offset), DLQ, {
      group: 'erp-rest-sink',
      error: SynclineError.permanent(ErrorCodes.TARGET_REJECTED, 'no'),
      reason,
      attempts: 1,
      firstFailureAt: now,
      lastFailureAt: now,
    }),
    extra,
  );
}

function marker(key: string, resolves: string[]): IncomingRecord {
  const offset = String(nextOffset);
  nextOffset += 1;
  return {
    topic: DLQ,
    partition: 0,
    offset,
    key: Buffer.from(key),
    value: null,
    headers: {
      [DlqHeaders.resolution]: Buffer.from('redriven'),
      [DlqHeaders.resolves]: Buffer.from(resolves.join(',')),
    },
    timestamp: 0,
  };
}

describe('parking lot', () => {
  it('parks a key behind its open failure entry and frees it when a marker resolves every entry', () => {
    const lot = new ParkingLot();
    const failed = failure('K', 10);
    const parked = failure('K', 11, PARKED_REASON, { [DlqHeaders.parkedBehind]: 'canonical.order/1/10' });
    lot.addDlqRecord(failed);
    lot.addDlqRecord(parked);

    expect(lot.parkedBehind('K')).toEqual({ behind: 'canonical.order/1/10' });
    expect(lot.parkedBehind('other')).toBeUndefined();
    expect(lot.parkedKeyCount()).toBe(1);
    expect(lot.openEntryCount()).toBe(2);

    lot.addDlqRecord(marker('K', [failed.offset]));
    expect(lot.parkedBehind('K')).toEqual({ behind: 'canonical.order/1/10' });
    lot.addDlqRecord(marker('K', [parked.offset]));
    expect(lot.parkedBehind('K')).toBeUndefined();
    expect(lot.parkedKeyCount()).toBe(0);
  });

  it('parks a key at once on an entry it wrote itself, until the tail reads that entry back and it is resolved', () => {
    const lot = new ParkingLot();
    lot.noteWriting('K', 'canonical.order/1/20', 'canonical.order/1/20', true);
    expect(lot.parkedBehind('K')).toEqual({ behind: 'canonical.order/1/20' });

    const readBack = failure('K', 20);
    lot.addDlqRecord(readBack);
    expect(lot.parkedBehind('K')).toEqual({ behind: 'canonical.order/1/20' });
    lot.addDlqRecord(marker('K', [readBack.offset]));
    expect(lot.parkedBehind('K')).toBeUndefined();
  });

  it('holds nothing back for an entry whose send failed and was withdrawn', () => {
    const lot = new ParkingLot();
    lot.noteWriting('K', 'canonical.order/1/25', 'canonical.order/1/25', true);
    lot.noteWriting('K', 'canonical.order/1/26', 'canonical.order/1/25', false);
    lot.withdraw('K', 'canonical.order/1/26');
    expect(lot.parkedBehind('K')).toEqual({ behind: 'canonical.order/1/25' });
    lot.withdraw('K', 'canonical.order/1/25');
    expect(lot.parkedBehind('K')).toBeUndefined();
    expect(lot.parkedKeyCount()).toBe(0);
  });

  it('lets a redriven record through behind the entry it resolves, but not behind an earlier open entry', () => {
    const lot = new ParkingLot();
    const first = failure('K', 30);
    const second = failure('K', 31, PARKED_REASON, { [DlqHeaders.parkedBehind]: 'canonical.order/1/30' });
    lot.addDlqRecord(first);
    lot.addDlqRecord(second);

    // The parked entry comes back before the failure it waits behind: it must wait.
    lot.resolveLocally(`0/${second.offset}`);
    expect(lot.parkedBehind('K', { partition: 0, offset: BigInt(second.offset) })).toEqual({
      behind: 'canonical.order/1/30',
    });
    // The failure itself comes back: through; then the parked one is through as well.
    lot.resolveLocally(`0/${first.offset}`);
    expect(lot.parkedBehind('K', { partition: 0, offset: BigInt(first.offset) })).toBeUndefined();
    expect(lot.parkedBehind('K', { partition: 0, offset: BigInt(second.offset) })).toBeUndefined();
    // Canonical records of the key are free once nothing of it is open.
    expect(lot.parkedBehind('K')).toBeUndefined();
  });

  it('holds a redriven record behind a new failure of its key written since, not behind records parked after it', () => {
    const lot = new ParkingLot();
    const first = failure('K', 40);
    const second = failure('K', 41, PARKED_REASON, { [DlqHeaders.parkedBehind]: 'canonical.order/1/40' });
    lot.addDlqRecord(first);
    lot.addDlqRecord(second);
    lot.resolveLocally(`0/${first.offset}`);
    lot.noteWriting('K', 'erp-rest-sink.retry/0/5', 'erp-rest-sink.retry/0/5', true);

    lot.resolveLocally(`0/${second.offset}`);
    expect(lot.parkedBehind('K', { partition: 0, offset: BigInt(second.offset) })).toEqual({
      behind: 'erp-rest-sink.retry/0/5',
    });

    const other = new ParkingLot();
    other.noteWriting('Q', 'canonical.order/1/50', 'canonical.order/1/9', false);
    expect(other.parkedBehind('Q', { partition: 0, offset: 3n })).toBeUndefined();
    expect(other.parkedBehind('Q')).toEqual({ behind: 'canonical.order/1/9' });
  });
});
