import { describe, expect, it } from 'vitest';
import { deadLetterOf, DlqHeaders, PARKED_REASON } from '../../../src/processors/pipeline/dead-letter.ts';
import type { IncomingRecord } from '../../../src/runtime/bus/types.ts';
import { ErrorCodes, SynclineError } from '../../../src/runtime/errors.ts';
import { DlqFold, entryId, foldDlq } from '../../../src/ops/dlq/dlq-log.ts';

const GROUP = 'erp-rest-sink';
const DLQ = `${GROUP}.dlq`;
const FAILED_AT = Date.parse('2026-11-30T10:00:00.000Z');

/** The record as read back from the DLQ at `partition/offset`, written by the real deadLetterOf. */
function failure(partition: number, offset: number, key: string | null, options: { original?: number } = {}) {
  const original: IncomingRecord = {
    topic: 'canonical.invoice',
    partition: 2,
    offset: String(options.original ?? 100 + offset),
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
    headers: { 'x-correlation-id': Buffer.from('c-1') },
    timestamp: FAILED_AT - 1000,
  };
  const out = deadLetterOf(original, DLQ, {
    group: GROUP,
    error: SynclineError.permanent(ErrorCodes.TARGET_REJECTED, 'ERP said 422: currency missing'),
    reason: 'target rejected',
    attempts: 1,
    firstFailureAt: FAILED_AT,
    lastFailureAt: FAILED_AT + 5,
  });
  return asRead(partition, offset, out.key, out.value, out.headers ?? {});
}

function parked(partition: number, offset: number, key: string, behind: string): IncomingRecord {
  const record = failure(partition, offset, key);
  return {
    ...record,
    headers: {
      ...record.headers,
      [DlqHeaders.reason]: Buffer.from(PARKED_REASON),
      [DlqHeaders.parkedBehind]: Buffer.from(behind),
    },
  };
}

function marker(
  partition: number,
  offset: number,
  key: string,
  resolution: 'redriven' | 'discarded',
  resolves: number[],
): IncomingRecord {
  return asRead(partition, offset, key, null, {
    [DlqHeaders.resolution]: resolution,
    [DlqHeaders.resolves]: resolves.join(','),
    [DlqHeaders.resolvedBy]: 'alice',
  });
}

function asRead(
  partition: number,
  offset: number,
  key: Buffer | string | null,
  value: Buffer | null,
  headers: Readonly<Record<string, string | Buffer | readonly (string | Buffer)[]>>,
): IncomingRecord {
  const bytes: Record<string, Buffer | Buffer[]> = {};
  for (const [name, header] of Object.entries(headers)) {
    bytes[name] = Array.isArray(header)
      ? header.map((one: string | Buffer) => Buffer.from(one))
      : Buffer.from(header as string | Buffer);
  }
  return {
    topic: DLQ,
    partition,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value,
    headers: bytes,
    timestamp: FAILED_AT + offset,
  };
}

describe('the DLQ fold', () => {
  it('reads a failure entry with its context typed, and keeps the original record apart from it', () => {
    const fold = foldDlq([failure(0, 0, 'gold-1')]);
    const [entry] = fold.open();
    expect(entry).toMatchObject({
      partition: 0,
      offset: '0',
      kind: 'failure',
      key: 'gold-1',
      redriveCount: 0,
      resolved: null,
      context: {
        originalTopic: 'canonical.invoice',
        originalPartition: 2,
        originalOffset: '100',
        group: GROUP,
        errorCode: 'TARGET_REJECTED',
        errorClass: 'permanent',
        errorMessage: 'ERP said 422: currency missing',
        reason: 'target rejected',
        attempts: 1,
        firstFailureAt: FAILED_AT,
        lastFailureAt: FAILED_AT + 5,
        parkedBehind: null,
      },
    });
    expect(Object.keys(entry!.originalHeaders)).toEqual(['x-correlation-id']);
    expect(entry!.value).toEqual(Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]));
    expect(fold.openKeys()).toEqual(new Set(['gold-1']));
  });

  it('tells parked entries from failures and keeps the key open while any of its entries is', () => {
    const fold = foldDlq([
      failure(0, 0, 'gold-1'),
      parked(0, 1, 'gold-1', 'canonical.invoice/2/100'),
      marker(0, 2, 'gold-1', 'discarded', [0]),
    ]);
    expect(fold.open().map((entry) => [entryId(entry), entry.kind, entry.context.parkedBehind])).toEqual([
      ['0/1', 'parked', 'canonical.invoice/2/100'],
    ]);
    expect(fold.isKeyOpen('gold-1')).toBe(true);
  });

  it('closes exactly the offsets a marker lists, in the marker partition only', () => {
    const fold = foldDlq([
      failure(0, 0, 'gold-1'),
      failure(1, 0, 'gold-2'),
      parked(0, 1, 'gold-1', 'canonical.invoice/2/100'),
      failure(0, 2, 'gold-3'),
      marker(0, 3, 'gold-1', 'redriven', [0, 1]),
    ]);
    expect(fold.open().map(entryId)).toEqual(['0/2', '1/0']);
    expect(fold.openKeys()).toEqual(new Set(['gold-2', 'gold-3']));
    expect(fold.entry(0, '1')?.resolved).toMatchObject({
      resolution: 'redriven',
      resolvedBy: 'alice',
      markerOffset: '3',
    });
  });

  it('lists open entries in DLQ order whatever order the partitions were read in', () => {
    const fold = foldDlq([failure(1, 10, 'b'), failure(0, 9, 'a'), failure(1, 2, 'c'), failure(0, 100, 'd')]);
    expect(fold.open().map(entryId)).toEqual(['0/9', '0/100', '1/2', '1/10']);
  });

  it('reads the redrive count a redriven original carries, and strips the previous redrive headers', () => {
    const again = failure(0, 5, 'gold-1');
    const record: IncomingRecord = {
      ...again,
      headers: {
        ...again.headers,
        [DlqHeaders.redrivenFrom]: Buffer.from('0/0'),
        [DlqHeaders.redriveCount]: Buffer.from('3'),
      },
    };
    const [entry] = foldDlq([record]).open();
    expect(entry?.redriveCount).toBe(3);
    expect(entry?.redrivenFrom).toBe('0/0');
    expect(Object.keys(entry!.originalHeaders)).toEqual(['x-correlation-id']);
  });

  it('keeps a record without failure context as an open entry with empty context, never throws', () => {
    const fold = foldDlq([asRead(0, 0, 'k', Buffer.from('x'), { other: 'y' })]);
    expect(fold.open()[0]).toMatchObject({
      kind: 'failure',
      context: { originalTopic: '', errorCode: '', attempts: 0, firstFailureAt: null },
    });
  });

  it('counts null-key entries as open without parking any key', () => {
    const fold = foldDlq([failure(0, 0, null)]);
    expect(fold.open()).toHaveLength(1);
    expect(fold.openKeys().size).toBe(0);
  });

  it('folds incrementally to the same state, ignores a record read twice and a second marker', () => {
    const records = [
      failure(0, 0, 'gold-1'),
      failure(0, 1, 'gold-1'),
      marker(0, 2, 'gold-1', 'discarded', [0]),
      marker(0, 3, 'gold-1', 'redriven', [0, 1]),
    ];
    const fold = new DlqFold();
    // A reader that fetches a batch again hands the same records over again.
    for (const record of [...records, records[0]!, records[2]!, records[3]!]) fold.add(record);
    expect(fold.open()).toEqual([]);
    expect(fold.openKeys().size).toBe(0);
    expect(fold.entry(0, '0')?.resolved?.resolution).toBe('discarded');
    expect(fold.entry(0, '1')?.resolved?.resolution).toBe('redriven');
    expect(fold.markers()).toHaveLength(2);
    expect(fold.recordCount).toBe(4);
  });

  it('resolves an entry whose marker was folded first (a reader that saw partitions out of step)', () => {
    const fold = new DlqFold();
    fold.add(marker(0, 4, 'gold-1', 'discarded', [1]));
    fold.add(failure(0, 1, 'gold-1'));
    expect(fold.open()).toEqual([]);
    expect(fold.isKeyOpen('gold-1')).toBe(false);
  });
});
