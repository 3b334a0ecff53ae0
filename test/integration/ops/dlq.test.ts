/**
 * The DLQ of a consumer group, as operators act on it (real broker and registry, a private copy of
 * the erp-rest-sink group's topics): what is listed, what a redrive moves and how, the loop limit,
 * and that discard resolves without moving. Every action leaves one audit record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliActor } from '../../../src/ops/audit/audit.ts';
import { readDlq } from '../../../src/ops/dlq/dlq-log.ts';
import { discardDlq, listDlq, redriveDlq, showDlqEntry } from '../../../src/ops/dlq/dlq-ops.ts';
import { readTopicSnapshot } from '../../../src/runtime/bus/topic-reader.ts';
import { DlqHeaders } from '../../../src/processors/pipeline/dead-letter.ts';
import { headerText } from '../../../src/runtime/bus/types.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { Serde } from '../../../src/schemas/serde.ts';
import { ErrorCodes } from '../../../src/runtime/errors.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createOpsTopology, GROUP, type OpsTopology } from './ops-topology.ts';

const config = loadConfig();
const logger = createLogger({ level: 'warn' });
const kafka = createKafka(config, logger, 'it-ops-dlq');
const actor = cliActor('it-operator');
let ops: OpsTopology;

beforeAll(async () => {
  ops = await createOpsTopology(kafka, config, logger, 'dlq');
}, 90_000);

afterAll(async () => {
  await ops?.cleanup();
}, 60_000);

async function retryRecords() {
  return (await readTopicSnapshot(kafka, ops.retryTopic)).records;
}

describe('dlq list and show', () => {
  it('lists the open entries with their failure context, counted by reason, code and topic', async () => {
    const failedAt = Date.parse('2026-11-30T10:00:00Z');
    const first = await ops.deadLetter({ key: 'list-a', originalOffset: 10, failedAt });
    await ops.deadLetter({
      key: 'list-a',
      originalOffset: 11,
      failedAt: failedAt + 1,
      parkedBehind: `${ops.topicOf('canonical.invoice')}/1/10`,
    });
    await ops.deadLetter({
      key: 'list-b',
      originalOffset: 12,
      code: ErrorCodes.MAPPING_FAILED,
      reason: 'mapping',
      failedAt: failedAt + 2,
    });

    const listing = await listDlq(ops.context, GROUP, { keys: ['list-a', 'list-b'] });
    expect(listing.matching).toBe(3);
    expect(listing.byReason).toEqual({ 'target rejected': 1, parked: 1, mapping: 1 });
    expect(listing.byCode).toEqual({ TARGET_REJECTED: 2, MAPPING_FAILED: 1 });
    expect(listing.byTopic).toEqual({ 'canonical.invoice': 3 });
    const a = listing.entries.find((entry) => entry.id === `${first.partition}/${first.offset}`);
    expect(a).toMatchObject({
      kind: 'failure',
      key: 'list-a',
      originalTopic: ops.topicOf('canonical.invoice'),
      originalPartition: 1,
      originalOffset: '10',
      errorCode: 'TARGET_REJECTED',
      errorClass: 'permanent',
      reason: 'target rejected',
      message: 'rejected list-a',
      attempts: 1,
      firstFailureAt: '2026-11-30T10:00:00.000Z',
      redriveCount: 0,
      resolution: null,
    });
    expect(listing.entries.filter((entry) => entry.key === 'list-a').map((entry) => entry.kind)).toEqual([
      'failure',
      'parked',
    ]);

    const byFilter = await listDlq(ops.context, GROUP, {
      codes: ['MAPPING_FAILED'],
      topics: ['canonical.invoice'],
    });
    expect(byFilter.entries.map((entry) => entry.key)).toEqual(['list-b']);
    const byTime = await listDlq(ops.context, GROUP, {
      keys: ['list-a', 'list-b'],
      since: failedAt + 1,
      until: failedAt + 2,
    });
    expect(byTime.entries.map((entry) => entry.originalOffset)).toEqual(['11']);
  });

  it('shows one entry in full, its Avro value decoded through the registry', async () => {
    const value = await ops.invoiceValue(7);
    const position = await ops.deadLetter({ key: 'show-a', originalOffset: 20, value });
    const view = await showDlqEntry(ops.context, GROUP, position.partition, position.offset);
    expect(view.keyText).toBe('show-a');
    expect(view.headers['x-original']).toBe('show-a/20');
    expect(view.headers[DlqHeaders.code]).toBe('TARGET_REJECTED');
    expect(view.value.encoding).toBe('avro');
    if (view.value.encoding !== 'avro') return;
    expect(view.value.schemaId).toBe(value.readUInt32BE(1));
    expect(view.value.value).toHaveProperty('invoiceId');

    const plain = await ops.deadLetter({
      key: 'show-b',
      originalOffset: 21,
      value: Buffer.from('{"not":"avro"}'),
    });
    const shown = await showDlqEntry(ops.context, GROUP, plain.partition, plain.offset);
    expect(shown.value).toEqual({
      encoding: 'base64',
      base64: Buffer.from('{"not":"avro"}').toString('base64'),
      bytes: 14,
    });
  });

  it('refuses an unknown group with the list of known ones', async () => {
    await expect(listDlq(ops.context, 'erp-rest-snik')).rejects.toThrow(
      /unknown group "erp-rest-snik"; known groups: syncline-processor, erp-rest-sink/,
    );
  });
});

describe('dlq redrive', () => {
  it('moves a key’s open entries to the retry topic in DLQ order with the redrive headers, then resolves them', async () => {
    const failure = await ops.deadLetter({ key: 'redrive-a', originalOffset: 30 });
    const parked1 = await ops.deadLetter({ key: 'redrive-a', originalOffset: 31, parkedBehind: 'x/1/30' });
    const parked2 = await ops.deadLetter({ key: 'redrive-a', originalOffset: 32, parkedBehind: 'x/1/30' });
    const other = await ops.deadLetter({ key: 'redrive-b', originalOffset: 33 });
    const before = (await retryRecords()).length;

    // Naming only the failure entry takes the key's parked entries with it.
    const result = await redriveDlq(
      ops.context,
      GROUP,
      { entries: [`${failure.partition}/${failure.offset}`] },
      { actor },
    );
    const ids = [failure, parked1, parked2].map((p) => `${p.partition}/${p.offset}`);
    expect(result.moved).toBe(3);
    expect(result.entries.map((entry) => entry.id)).toEqual(ids);
    expect(result.takenWithKey).toEqual(ids.slice(1));

    const moved = (await retryRecords()).slice(before).filter((r) => r.key?.toString() === 'redrive-a');
    expect(moved.map((record) => headerText(record.headers, DlqHeaders.redrivenFrom))).toEqual(ids);
    expect(moved.map((record) => headerText(record.headers, 'x-original'))).toEqual([
      'redrive-a/30',
      'redrive-a/31',
      'redrive-a/32',
    ]);
    expect(moved.map((record) => headerText(record.headers, DlqHeaders.redriveCount))).toEqual([
      '1',
      '1',
      '1',
    ]);
    expect(moved.map((record) => record.value?.toString())).toEqual([
      'value-redrive-a-30',
      'value-redrive-a-31',
      'value-redrive-a-32',
    ]);
    // The failure context travels along: the stage counts attempts on and reads the value with
    // the original topic's schema.
    expect(headerText(moved[0]!.headers, DlqHeaders.topic)).toBe(ops.topicOf('canonical.invoice'));
    expect(headerText(moved[0]!.headers, DlqHeaders.attempts)).toBe('1');
    expect(headerText(moved[1]!.headers, DlqHeaders.reason)).toBe('parked');

    const after = await listDlq(ops.context, GROUP, { keys: ['redrive-a', 'redrive-b'] });
    expect(after.entries.map((entry) => entry.id)).toEqual([`${other.partition}/${other.offset}`]);
    const { fold } = await readDlq(kafka, GROUP, { prefix: ops.prefix });
    expect(fold.isKeyOpen('redrive-a')).toBe(false);
    expect(fold.entry(failure.partition, failure.offset)?.resolved).toMatchObject({
      resolution: 'redriven',
      resolvedBy: 'it-operator',
    });

    const audits = (await ops.auditEvents()).filter((event) => event.correlationId === result.correlationId);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      action: 'REDRIVE',
      actor: 'it-operator',
      channel: 'CLI',
      group: GROUP,
      count: 3,
      outcome: 'SUCCEEDED',
    });
    expect(audits[0]!.ranges).toEqual([
      {
        partition: failure.partition,
        fromOffset: Number(failure.offset),
        toOffset: Number(parked2.offset),
        fromTimestamp: null,
      },
    ]);
  });

  it('counts redrives: a record that failed again after a redrive goes back with the count raised', async () => {
    const again = await ops.deadLetter({
      key: 'redrive-c',
      originalOffset: 40,
      headers: { [DlqHeaders.redriveCount]: '2', [DlqHeaders.redrivenFrom]: '0/1' },
    });
    const before = (await retryRecords()).length;
    const result = await redriveDlq(ops.context, GROUP, { filter: { keys: ['redrive-c'] } }, { actor });
    expect(result.entries.map((entry) => entry.id)).toEqual([`${again.partition}/${again.offset}`]);
    const [moved] = (await retryRecords()).slice(before);
    expect(headerText(moved!.headers, DlqHeaders.redriveCount)).toBe('3');
    expect(headerText(moved!.headers, DlqHeaders.redrivenFrom)).toBe(`${again.partition}/${again.offset}`);
  });

  it('refuses entries redriven up to the limit already, naming them, and moves nothing', async () => {
    const looping = await ops.deadLetter({
      key: 'loop-a',
      originalOffset: 50,
      headers: { [DlqHeaders.redriveCount]: '5' },
    });
    const fine = await ops.deadLetter({ key: 'loop-b', originalOffset: 51 });
    const before = (await retryRecords()).length;
    const auditsBefore = (await ops.auditEvents()).length;

    await expect(
      redriveDlq(ops.context, GROUP, { filter: { keys: ['loop-a', 'loop-b'] } }, { actor }),
    ).rejects.toThrow(
      `refused: 1 entry was redriven 5 times already (limit 5): ${looping.partition}/${looping.offset} (key loop-a, 5x)`,
    );
    expect((await retryRecords()).length).toBe(before);
    // The refusal is audited: who tried, and why nothing moved.
    const refusedEvents = (await ops.auditEvents()).slice(auditsBefore);
    expect(refusedEvents).toMatchObject([
      { action: 'REDRIVE', outcome: 'FAILED', count: 0, actor: 'it-operator' },
    ]);
    expect(refusedEvents[0]!.reason).toMatch(/^refused: 1 entry was redriven 5 times/);

    const skipping = await redriveDlq(
      ops.context,
      GROUP,
      { filter: { keys: ['loop-a', 'loop-b'] } },
      { actor, skipOverLimit: true },
    );
    expect(skipping.entries.map((entry) => entry.id)).toEqual([`${fine.partition}/${fine.offset}`]);
    expect(skipping.refused).toEqual([
      { id: `${looping.partition}/${looping.offset}`, key: 'loop-a', redriveCount: 5 },
    ]);
    // A higher limit lets it through.
    const raised = await redriveDlq(
      ops.context,
      GROUP,
      { filter: { keys: ['loop-a'] } },
      { actor, maxRedrives: 6 },
    );
    expect(raised.moved).toBe(1);
  });

  it('two overlapping redrives of the same entries in one process move them once', async () => {
    await ops.deadLetter({ key: 'twice-a', originalOffset: 80 });
    const before = (await retryRecords()).length;
    const [a, b] = await Promise.all([
      redriveDlq(ops.context, GROUP, { filter: { keys: ['twice-a'] } }, { actor }),
      redriveDlq(ops.context, GROUP, { filter: { keys: ['twice-a'] } }, { actor }),
    ]);
    expect(a.moved + b.moved).toBe(1);
    expect((await retryRecords()).length).toBe(before + 1);
  });

  it('says so when the move was done but its audit record could not be written', async () => {
    await ops.deadLetter({ key: 'unaudited-a', originalOffset: 90 });
    // A context whose serde cannot encode audit records (as with an unregistered subject).
    const blind = { ...ops.context, serde: new Serde({ source: ops.context.registry, bindings: new Map() }) };
    await expect(redriveDlq(blind, GROUP, { filter: { keys: ['unaudited-a'] } }, { actor })).rejects.toThrow(
      /^REDRIVE done \(1 records, correlation id [0-9a-f-]{36}\), but its audit record could not be written/,
    );
    expect((await listDlq(ops.context, GROUP, { keys: ['unaudited-a'] })).matching).toBe(0);
  });

  it('a dry run says what would move and changes nothing', async () => {
    await ops.deadLetter({ key: 'dry-a', originalOffset: 60 });
    const before = (await retryRecords()).length;
    const result = await redriveDlq(
      ops.context,
      GROUP,
      { filter: { keys: ['dry-a'] } },
      { actor, dryRun: true },
    );
    expect(result.entries.map((entry) => entry.key)).toEqual(['dry-a']);
    expect(result.moved).toBe(0);
    expect((await retryRecords()).length).toBe(before);
    expect((await listDlq(ops.context, GROUP, { keys: ['dry-a'] })).matching).toBe(1);
  });

  it('refuses to act on everything unless told so', async () => {
    await expect(redriveDlq(ops.context, GROUP, {}, { actor, dryRun: true })).rejects.toThrow(
      /name entries or give a filter/,
    );
  });
});

describe('dlq discard', () => {
  it('resolves exactly the selected entries without moving anything, and audits the reason', async () => {
    const failure = await ops.deadLetter({ key: 'discard-a', originalOffset: 70 });
    const parked = await ops.deadLetter({ key: 'discard-a', originalOffset: 71, parkedBehind: 'x/1/70' });
    const before = (await retryRecords()).length;

    const result = await discardDlq(
      ops.context,
      GROUP,
      { entries: [`${failure.partition}/${failure.offset}`] },
      { actor, reason: 'customer deleted in the ERP' },
    );
    expect(result.discarded).toBe(1);
    expect((await retryRecords()).length).toBe(before);
    const after = await listDlq(ops.context, GROUP, { keys: ['discard-a'] });
    // The parked record stays open (the key stays parked) until it is redriven or discarded itself.
    expect(after.entries.map((entry) => entry.id)).toEqual([`${parked.partition}/${parked.offset}`]);

    await expect(
      discardDlq(
        ops.context,
        GROUP,
        { entries: [`${failure.partition}/${failure.offset}`] },
        { actor, reason: 'x' },
      ),
    ).rejects.toThrow(/already discarded \(by it-operator\)/);

    const [event] = (await ops.auditEvents()).filter((e) => e.correlationId === result.correlationId);
    expect(event).toMatchObject({
      action: 'DISCARD',
      count: 1,
      reason: 'customer deleted in the ERP',
      outcome: 'SUCCEEDED',
    });
  });
});
