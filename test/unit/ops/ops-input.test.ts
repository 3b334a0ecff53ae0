import { describe, expect, it } from 'vitest';
import { foldDlq } from '../../../src/ops/dlq/dlq-log.ts';
import {
  describeFilter,
  matchesFilter,
  parseFilterArguments,
  parseFilterObject,
} from '../../../src/ops/dlq/dlq-filter.ts';
import { parseEntryId } from '../../../src/ops/dlq/dlq-ops.ts';
import { resolveGroup } from '../../../src/ops/groups.ts';
import { describePoint, parseReplayPoint } from '../../../src/ops/replay/replay.ts';
import { DlqHeaders } from '../../../src/processors/pipeline/dead-letter.ts';
import type { IncomingRecord } from '../../../src/runtime/bus/types.ts';

function entry(fields: {
  code: string;
  reason: string;
  topic: string;
  key: string | null;
  failedAt: string;
}) {
  const record: IncomingRecord = {
    topic: 'g.dlq',
    partition: 0,
    offset: '0',
    key: fields.key === null ? null : Buffer.from(fields.key),
    value: null,
    headers: {
      [DlqHeaders.code]: Buffer.from(fields.code),
      [DlqHeaders.reason]: Buffer.from(fields.reason),
      [DlqHeaders.topic]: Buffer.from(fields.topic),
      [DlqHeaders.lastFailure]: Buffer.from(fields.failedAt),
    },
    timestamp: 0,
  };
  return foldDlq([record]).open()[0]!;
}

describe('DLQ filters', () => {
  const invoice = entry({
    code: 'TARGET_REJECTED',
    reason: 'target rejected',
    topic: 'it-x.canonical.invoice',
    key: 'gold-1',
    failedAt: '2026-11-30T10:00:00Z',
  });

  it('parses repeated field=value arguments: same field is any of, different fields all of', () => {
    const filter = parseFilterArguments([
      'code=TARGET_REJECTED',
      'code=MAPPING_FAILED',
      'topic=canonical.invoice',
      'since=2026-11-30T00:00:00Z',
    ]);
    expect(filter).toEqual({
      codes: ['TARGET_REJECTED', 'MAPPING_FAILED'],
      topics: ['canonical.invoice'],
      since: Date.parse('2026-11-30T00:00:00Z'),
    });
    expect(matchesFilter(invoice, filter, 'it-x.')).toBe(true);
    expect(matchesFilter(invoice, { ...filter, keys: ['gold-2'] }, 'it-x.')).toBe(false);
    expect(describeFilter(filter)).toBe(
      'code=TARGET_REJECTED code=MAPPING_FAILED topic=canonical.invoice since=2026-11-30T00:00:00.000Z',
    );
  });

  it('bounds time as [since, until) on the last failure', () => {
    const at = Date.parse('2026-11-30T10:00:00Z');
    expect(matchesFilter(invoice, { since: at, until: at + 1 })).toBe(true);
    expect(matchesFilter(invoice, { until: at })).toBe(false);
    expect(matchesFilter(invoice, { since: at + 1 })).toBe(false);
  });

  it('matches the original topic by contract name or as written, never a null key by key', () => {
    expect(matchesFilter(invoice, { topics: ['it-x.canonical.invoice'] })).toBe(true);
    expect(matchesFilter(invoice, { topics: ['canonical.invoice'] }, 'it-x.')).toBe(true);
    expect(matchesFilter(invoice, { topics: ['canonical.invoice'] })).toBe(false);
    const keyless = entry({
      code: 'X',
      reason: 'r',
      topic: 't',
      key: null,
      failedAt: '2026-11-30T10:00:00Z',
    });
    expect(matchesFilter(keyless, { keys: [''] })).toBe(false);
  });

  it('refuses unknown fields, empty values, bad times and a time given twice, naming them', () => {
    expect(() => parseFilterArguments(['colour=red'])).toThrow(
      '--filter "colour=red": expected code|reason|topic|key|since|until=<value>',
    );
    expect(() => parseFilterArguments(['code='])).toThrow(/expected/);
    expect(() => parseFilterArguments(['since=yesterday'])).toThrow(
      '--filter since: must be an ISO 8601 time',
    );
    expect(() => parseFilterArguments(['since=2026-01-01', 'since=2026-01-02'])).toThrow(/given twice/);
    expect(() => parseFilterObject({ code: 'TARGET_REJECTED' })).toThrow(/filter\.code/);
  });
});

describe('replay points', () => {
  it('reads ISO times, one offset, and partition:offset pairs', () => {
    expect(parseReplayPoint('2026-12-01T08:00:00Z', '--from')).toEqual({
      kind: 'time',
      at: Date.parse('2026-12-01T08:00:00Z'),
    });
    expect(parseReplayPoint('2026-12-01T08:00:00+01:00', '--from')).toEqual({
      kind: 'time',
      at: Date.parse('2026-12-01T07:00:00Z'),
    });
    expect(parseReplayPoint('1200', '--from')).toEqual({ kind: 'offset', offset: '1200' });
    const pairs = parseReplayPoint('0:1200,1:980', '--from');
    expect(pairs).toEqual({
      kind: 'offset',
      partitions: new Map([
        [0, '1200'],
        [1, '980'],
      ]),
    });
    expect(describePoint(pairs)).toBe('0:1200,1:980');
  });

  it('refuses anything else with the forms it takes', () => {
    expect(() => parseReplayPoint('yesterday', '--from')).toThrow(
      '--from "yesterday": expected an ISO time (2026-12-01T08:00:00Z), an offset (1200) or partition:offset pairs (0:1200,1:980)',
    );
    expect(() => parseReplayPoint('-5', '--to')).toThrow(/--to "-5"/);
    expect(() => parseReplayPoint('0:1,0:2', '--from')).toThrow('--from names partition 0 twice');
    expect(() => parseReplayPoint('2026-13-45T00:00:00Z', '--from')).toThrow(/expected an ISO time/);
  });
});

describe('names', () => {
  it('reads entry ids as partition/offset and refuses others', () => {
    expect(parseEntryId('2/0042')).toEqual({ partition: 2, offset: '42' });
    expect(() => parseEntryId('2:42')).toThrow('entry "2:42" is not <partition>/<offset> (e.g. 0/42)');
  });

  it('resolves declared groups under a prefix and refuses others with the known list', () => {
    expect(resolveGroup('erp-sql-sink', 'p.')).toMatchObject({
      groupId: 'p.erp-sql-sink',
      dlqTopic: 'p.erp-sql-sink.dlq',
      retryTopic: 'p.erp-sql-sink.retry',
      reads: ['p.canonical.customer', 'p.canonical.order', 'p.canonical.invoice'],
    });
    expect(() => resolveGroup('erp-sink')).toThrow(
      'unknown group "erp-sink"; known groups: syncline-processor, erp-rest-sink, erp-sql-sink, crm-writeback-sink, support-entitlement-sink',
    );
  });
});
