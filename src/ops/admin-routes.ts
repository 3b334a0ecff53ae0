/**
 * The DLQ and replay routes of the admin API, calling the same functions as the CLI. They are
 * mounted on `AdminServer.api`, so every call has passed the rate limit and the bearer token
 * (ADMIN_TOKEN) before it gets here; bodies are validated with zod here, once.
 *
 *   GET  /api/dlq/:group                     list (query: code, reason, topic, key (repeatable), since,
 *                                            until; limit: most entries listed, default 1000, max 100000)
 *   GET  /api/dlq/:group/:partition/:offset  one entry in full
 *   POST /api/dlq/:group/redrive             {entries?|filter?|all?, dryRun?, maxRedrives?, skipOverLimit?}
 *   POST /api/dlq/:group/discard             {entries?|filter?|all?, reason, dryRun?}
 *   POST /api/replay                         {group, topic?, from, to?, dryRun?}
 *
 * The audit actor of an API call is the token's name: the admin server has one token today, so
 * it is `admin-token` unless the server names it (`res.locals.tokenName`); an operator name sent
 * in `X-Syncline-Actor` is recorded beside it (`admin-token/alice`), as a claim, not an identity.
 * Errors are the admin server's JSON error body; a refusal (loop limit, live group members) is a
 * 409 with code REFUSED.
 */
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { ErrorBody } from '../runtime/admin-server.ts';
import type { Config } from '../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import type { ServiceHost } from '../runtime/service-host.ts';
import type { Actor } from './audit/audit.ts';
import { parseFilterObject } from './dlq/dlq-filter.ts';
import {
  discardDlq,
  listDlq,
  parseEntryId,
  redriveDlq,
  showDlqEntry,
  type DlqSelection,
} from './dlq/dlq-ops.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from './ops-context.ts';
import { parseReplayPoint, replay } from './replay/replay.ts';

const ACTOR_HEADER = 'x-syncline-actor';
const DEFAULT_TOKEN_NAME = 'admin-token';

const entryIds = z.array(z.string().regex(/^\d{1,9}\/\d{1,19}$/, 'must be <partition>/<offset>')).max(10_000);

const SelectionBody = {
  entries: entryIds.optional(),
  filter: z.record(z.string(), z.unknown()).optional(),
  all: z.boolean().optional(),
  dryRun: z.boolean().optional(),
};

const RedriveBody = z
  .object({
    ...SelectionBody,
    maxRedrives: z.number().int().min(1).max(1000).optional(),
    skipOverLimit: z.boolean().optional(),
  })
  .strict();

const DiscardBody = z
  .object({ ...SelectionBody, reason: z.string().trim().min(1, 'a discard needs a reason').max(2000) })
  .strict();

const ReplayBody = z
  .object({
    group: z.string().min(1),
    topic: z.string().min(1).optional(),
    from: z.string().min(1),
    to: z.string().min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

/** The ops routes, to mount on `AdminServer.api`. */
export function opsAdminRoutes(context: OpsContext): Router {
  const router = express.Router();

  router.get('/dlq/:group', async (req, res) => {
    const { limit: rawLimit, ...query } = req.query;
    const limit = parseLimit(rawLimit);
    const filter = parseFilterObject(filterFromQuery(query), 'query ');
    res.set('cache-control', 'no-store').json(await listDlq(context, param(req, 'group'), filter, { limit }));
  });

  router.get('/dlq/:group/:partition/:offset', async (req, res) => {
    const { partition, offset } = parseEntryId(`${param(req, 'partition')}/${param(req, 'offset')}`);
    res
      .set('cache-control', 'no-store')
      .json(await showDlqEntry(context, param(req, 'group'), partition, offset));
  });

  router.post('/dlq/:group/redrive', async (req, res) => {
    const body = parseBody(RedriveBody, req.body);
    const result = await redriveDlq(context, param(req, 'group'), selectionOf(body), {
      actor: actorOf(req, res),
      dryRun: body.dryRun === true,
      ...(body.maxRedrives === undefined ? {} : { maxRedrives: body.maxRedrives }),
      skipOverLimit: body.skipOverLimit === true,
    });
    res.set('cache-control', 'no-store').json(result);
  });

  router.post('/dlq/:group/discard', async (req, res) => {
    const body = parseBody(DiscardBody, req.body);
    const result = await discardDlq(context, param(req, 'group'), selectionOf(body), {
      actor: actorOf(req, res),
      reason: body.reason,
      dryRun: body.dryRun === true,
    });
    res.set('cache-control', 'no-store').json(result);
  });

  router.post('/replay', async (req, res) => {
    const body = parseBody(ReplayBody, req.body);
    const result = await replay(
      context,
      {
        group: body.group,
        ...(body.topic === undefined ? {} : { topic: body.topic }),
        from: parseReplayPoint(body.from, 'from'),
        ...(body.to === undefined ? {} : { to: parseReplayPoint(body.to, 'to') }),
      },
      { actor: actorOf(req, res), dryRun: body.dryRun === true },
    );
    res.set('cache-control', 'no-store').json(result);
  });

  router.use(refusalHandler());
  return router;
}

/**
 * Mounts the ops routes on a service host's admin server, with an ops context of its own that is
 * closed on shutdown. One line in a role's start: `mountOpsApi(host, config, logger)`.
 */
export function mountOpsApi(
  host: Pick<ServiceHost, 'admin' | 'shutdown'>,
  config: Config,
  logger: Logger,
): OpsContext {
  const context = createOpsContext(config, logger);
  host.admin.api.use(opsAdminRoutes(context));
  host.shutdown.register('ops api', () => closeOpsContext(context));
  return context;
}

/** A refusal is a conflict with the state of things, not a bad request: 409. */
function refusalHandler(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (error instanceof SynclineError && error.context.refused === true && !res.headersSent) {
      const body: ErrorBody = { error: { code: 'REFUSED', message: error.message } };
      res.status(409).set('cache-control', 'no-store').json(body);
      return;
    }
    next(error);
  };
}

function actorOf(req: Request, res: Response): Actor {
  const locals = res.locals as { tokenName?: unknown };
  const token =
    typeof locals.tokenName === 'string' && locals.tokenName ? locals.tokenName : DEFAULT_TOKEN_NAME;
  const claimed = (req.get(ACTOR_HEADER) ?? '').trim().slice(0, 100);
  return {
    name: claimed && /^[\w.@+-]+$/.test(claimed) ? `${token}/${claimed}` : token,
    channel: 'ADMIN_API',
  };
}

function selectionOf(body: {
  entries?: string[];
  filter?: Record<string, unknown>;
  all?: boolean;
}): DlqSelection {
  return {
    ...(body.entries ? { entries: body.entries } : {}),
    ...(body.filter ? { filter: parseFilterObject(body.filter) } : {}),
    ...(body.all ? { all: true } : {}),
  };
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

const DEFAULT_LIST_LIMIT = 1000;

/** `?limit=`: entries in a listing answer (the counts always cover all). */
function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIST_LIMIT;
  const last: unknown = Array.isArray(value) ? value[value.length - 1] : value;
  const text = typeof last === 'string' ? last : '';
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > 100_000) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      'query limit: must be an integer from 1 to 100000',
    );
  }
  return Number(text);
}

function param(req: Request, name: string): string {
  const value = (req.params as Record<string, string | undefined>)[name];
  return value ?? '';
}

/** Query strings give a string for one value and an array for a repeated one: lists are lists. */
function filterFromQuery(query: Request['query']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).map(String);
    out[name] = name === 'since' || name === 'until' ? values[values.length - 1] : values;
  }
  return out;
}
