/**
 * The DLQ and replay routes on a real admin server (free loopback port, bearer token), against a
 * private copy of the erp-rest-sink group's topics: the same results as the CLI functions, bodies
 * validated, errors in the admin server's JSON body, refusals as 409, API actions audited with the
 * token's name as actor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsAdminRoutes } from '../../../src/ops/admin-routes.ts';
import { DlqHeaders } from '../../../src/processors/pipeline/dead-letter.ts';
import { AdminServer } from '../../../src/runtime/admin-server.ts';
import { loadConfig } from '../../../src/runtime/config.ts';
import { createKafka } from '../../../src/runtime/kafka.ts';
import { createLogger } from '../../../src/runtime/logger.ts';
import { createMetricsRegistry } from '../../../src/runtime/metrics.ts';
import { Readiness } from '../../../src/runtime/readiness.ts';
import { TopicNames } from '../../../src/topology/topics.ts';
import { createOpsTopology, GROUP, type OpsTopology } from './ops-topology.ts';

const TOKEN = 'ops-admin-token-0123456789abcdef';
const config = loadConfig({ ...process.env, ADMIN_TOKEN: TOKEN });
const logger = createLogger({ level: 'silent' });
const kafka = createKafka(config, logger, 'it-ops-api');
let ops: OpsTopology;
let server: AdminServer;
let base: string;

beforeAll(async () => {
  ops = await createOpsTopology(kafka, config, logger, 'api');
  server = new AdminServer({
    config,
    logger,
    metrics: createMetricsRegistry(),
    readiness: new Readiness({ logger }),
    host: '127.0.0.1',
    port: 0,
  });
  server.api.use(opsAdminRoutes(ops.context));
  await server.listen();
  base = `${server.url}/api`;
}, 90_000);

afterAll(async () => {
  await server?.close();
  await ops?.cleanup();
}, 60_000);

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('admin API: DLQ', () => {
  it('answers only with the token', async () => {
    const response = await fetch(`${base}/dlq/${GROUP}`);
    expect(response.status).toBe(401);
  });

  it('lists, filtered by query, and shows one entry', async () => {
    const first = await ops.deadLetter({ key: 'api-a', originalOffset: 1 });
    await ops.deadLetter({ key: 'api-b', originalOffset: 2, reason: 'mapping' });

    const listing = await call('GET', `/dlq/${GROUP}?key=api-a&key=api-b&reason=mapping`);
    expect(listing.status).toBe(200);
    expect(listing.body).toMatchObject({ group: GROUP, matching: 1, byReason: { mapping: 1 } });
    expect((listing.body.entries as Array<{ key: string }>).map((entry) => entry.key)).toEqual(['api-b']);

    const limited = await call('GET', `/dlq/${GROUP}?key=api-a&key=api-b&limit=1`);
    expect(limited.body).toMatchObject({
      matching: 2,
      truncated: true,
      byReason: { mapping: 1, 'target rejected': 1 },
    });
    expect(limited.body.entries).toHaveLength(1);
    const badLimit = await call('GET', `/dlq/${GROUP}?limit=0`);
    expect(badLimit.status).toBe(400);

    const shown = await call('GET', `/dlq/${GROUP}/${first.partition}/${first.offset}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: `${first.partition}/${first.offset}`,
      keyText: 'api-a',
      kind: 'failure',
    });

    const missing = await call('GET', `/dlq/${GROUP}/0/999999`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: {
        code: 'TOPIC_NOT_FOUND',
        message: expect.stringContaining('no DLQ entry at 0/999999') as string,
      },
    });
  });

  it('refuses an unknown group and a bad query with 400 and the reason', async () => {
    const unknown = await call('GET', '/dlq/nope');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: {
        code: 'INPUT_INVALID',
        message: expect.stringContaining('known groups: syncline-processor, erp-rest-sink') as string,
      },
    });
    const badTime = await call('GET', `/dlq/${GROUP}?since=yesterday`);
    expect(badTime.status).toBe(400);
    expect(badTime.body).toEqual({
      error: { code: 'INPUT_INVALID', message: 'query since: must be an ISO 8601 time' },
    });
  });

  it('redrives with the token’s name and the claimed operator as the audited actor', async () => {
    const entry = await ops.deadLetter({ key: 'api-redrive', originalOffset: 3 });
    const dry = await call('POST', `/dlq/${GROUP}/redrive`, {
      filter: { key: ['api-redrive'] },
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, moved: 0, keys: 1 });

    const done = await call(
      'POST',
      `/dlq/${GROUP}/redrive`,
      { entries: [`${entry.partition}/${entry.offset}`] },
      { 'x-syncline-actor': 'alice' },
    );
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ moved: 1, dryRun: false });
    const [event] = (await ops.auditEvents()).filter((e) => e.correlationId === done.body.correlationId);
    expect(event).toMatchObject({
      action: 'REDRIVE',
      actor: 'admin-token/alice',
      channel: 'ADMIN_API',
      count: 1,
    });
  });

  it('answers a looping entry with 409 REFUSED naming it', async () => {
    const looping = await ops.deadLetter({
      key: 'api-loop',
      originalOffset: 4,
      headers: { [DlqHeaders.redriveCount]: '5' },
    });
    const refused = await call('POST', `/dlq/${GROUP}/redrive`, { filter: { key: ['api-loop'] } });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      error: {
        code: 'REFUSED',
        message: expect.stringContaining(
          `${looping.partition}/${looping.offset} (key api-loop, 5x)`,
        ) as string,
      },
    });
  });

  it('validates bodies: unknown fields, bad entry ids, a discard without reason', async () => {
    const unknownField = await call('POST', `/dlq/${GROUP}/redrive`, { entry: ['0/1'] });
    expect(unknownField.status).toBe(400);
    expect((unknownField.body.error as { message: string }).message).toMatch(/unrecognized key/i);
    const badId = await call('POST', `/dlq/${GROUP}/redrive`, { entries: ['zero/1'] });
    expect(badId.body).toEqual({
      error: { code: 'INPUT_INVALID', message: 'entries.0: must be <partition>/<offset>' },
    });
    const noReason = await call('POST', `/dlq/${GROUP}/discard`, { all: true });
    expect(noReason.status).toBe(400);
    const badFilter = await call('POST', `/dlq/${GROUP}/discard`, {
      filter: { colour: ['red'] },
      reason: 'x',
    });
    expect(badFilter.status).toBe(400);
  });

  it('discards, and a second list shows the entry resolved', async () => {
    const entry = await ops.deadLetter({ key: 'api-discard', originalOffset: 5 });
    const done = await call('POST', `/dlq/${GROUP}/discard`, {
      entries: [`${entry.partition}/${entry.offset}`],
      reason: 'duplicate of an ERP manual entry',
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ discarded: 1 });
    const listing = await call('GET', `/dlq/${GROUP}?key=api-discard`);
    expect(listing.body).toMatchObject({ matching: 0 });
    const shown = await call('GET', `/dlq/${GROUP}/${entry.partition}/${entry.offset}`);
    expect(shown.body).toMatchObject({ resolution: { resolution: 'discarded', resolvedBy: 'admin-token' } });
  });
});

describe('admin API: replay', () => {
  it('plans a replay in a dry run, and refuses bad input with the reason', async () => {
    const topic = ops.topicOf(TopicNames.canonical.invoice);
    for (let index = 0; index < 6; index += 1) {
      await ops.producer.send({ topic, acks: -1, messages: [{ key: `k${index}`, value: `v${index}` }] });
    }
    const plan = await call('POST', '/replay', {
      group: GROUP,
      topic: TopicNames.canonical.invoice,
      from: '2000-01-01T00:00:00Z',
      dryRun: true,
    });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ mode: 'reset', dryRun: true, records: 6, reprocess: 0 });

    const badPoint = await call('POST', '/replay', { group: GROUP, from: 'last tuesday', dryRun: true });
    expect(badPoint.status).toBe(400);
    expect((badPoint.body.error as { message: string }).message).toMatch(
      /^from "last tuesday": expected an ISO time/,
    );
  });
});
