/**
 * The webhook front door: one express app, one route per connector, the same rules for all.
 *
 * What an answer means, so that a platform's retry logic does the right thing:
 * - 2xx only once the event is on its raw topic with acks=all (or is a redelivery of one that is,
 *   or a type we do not consume). What we acknowledge we own.
 * - 401 bad or missing signature or stale timestamp; 400 not JSON; 413 over the body limit;
 *   422 signed but not of the platform's shape, with the list of fields. Retrying will not help.
 * - 503 with Retry-After when Kafka cannot take the event now; nothing of it was acknowledged.
 * Every answer is a JSON object with a `status` and a one-line `reason`.
 *
 * The signature is checked before the body is parsed: nothing unauthenticated is interpreted.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { classify, type SynclineError } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import { ingestMetrics, WebhookOutcomes, type IngestMetrics, type WebhookOutcome } from './ingest-metrics.ts';
import type { PublishOptions } from './acknowledged-publisher.ts';
import type { FieldProblem, InboundRequest, RawEvent, WebhookSource } from './source.ts';
import { describeProblems } from './validation.ts';

/** Where accepted events go: resolves once Kafka has acknowledged all of them. */
export interface EventSink {
  publish(events: readonly RawEvent[], options?: PublishOptions): Promise<void>;
  isReady(): boolean;
}

export interface WebhookServerOptions {
  sources: readonly WebhookSource[];
  sink: EventSink;
  logger: Logger;
  registry: Registry;
  /** Largest body accepted, in bytes. Default 1 MiB (Stripe events stay well below 256 KiB). */
  bodyLimitBytes?: number;
  /** How long a request waits for Kafka before it is answered 503. Default 10 s, under every platform's timeout. */
  publishTimeoutMs?: number;
  /** Requests handled at once before new ones are answered 503. Default 2000. */
  maxInFlight?: number;
  /** The Retry-After of a 503, in seconds. Default 5. */
  retryAfterSeconds?: number;
  /** Platform event ids remembered as acknowledged, to answer redeliveries without publishing again. */
  rememberAcknowledged?: number;
  /** The schema check of a record (its problems; none when it can be encoded). */
  validate?: (event: RawEvent) => FieldProblem[];
}

interface Answer {
  status: string;
  reason: string;
  [key: string]: unknown;
}

/** The express app, without a listening socket: for tests and for embedding. */
export function createWebhookApp(options: WebhookServerOptions): WebhookApp {
  return new WebhookApp(options);
}

export class WebhookApp {
  readonly app: express.Express;
  private readonly options: WebhookServerOptions;
  private readonly logger: Logger;
  private readonly metrics: IngestMetrics;
  private readonly acknowledged: RecentKeys;
  /** Identical events arriving together share one publish instead of racing two. */
  private readonly publishing = new Map<string, Promise<void>>();
  private inFlight = 0;
  private draining = false;
  private idle: (() => void) | undefined;

  constructor(options: WebhookServerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'webhook-server' });
    this.metrics = ingestMetrics(options.registry);
    this.acknowledged = new RecentKeys(options.rememberAcknowledged ?? 100_000);
    this.app = this.build();
  }

  /** Stops taking requests (new ones get 503) and waits, bounded, for those in flight. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => (this.idle = resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  private build(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const bodyParser = express.raw({ type: () => true, limit: this.options.bodyLimitBytes ?? 1024 * 1024 });
    for (const source of this.options.sources) {
      app.post(source.route, this.admit(source), bodyParser, (req, res) => this.handle(source, req, res));
      app.all(source.route, (_req, res) => {
        res.set('Allow', 'POST');
        reply(res, 405, { status: 'method_not_allowed', reason: `${source.route} only takes POST` });
      });
    }
    app.use((req, res) => reply(res, 404, { status: 'not_found', reason: `no webhook at ${req.path}` }));
    app.use((error: unknown, req: Request, res: Response, _next: NextFunction) =>
      this.onError(error, req, res),
    );
    return app;
  }

  /** Load shedding and draining happen before the body is read: a refused request costs nothing. */
  private admit(source: WebhookSource) {
    return (_req: Request, res: Response, next: NextFunction): void => {
      if (this.draining || this.inFlight >= (this.options.maxInFlight ?? 2000)) {
        const reason = this.draining
          ? 'shutting down; retry shortly'
          : 'too many requests in flight; retry shortly';
        this.count(source, WebhookOutcomes.UNAVAILABLE);
        if (this.draining) res.set('Connection', 'close');
        this.unavailable(res, reason);
        return;
      }
      this.inFlight += 1;
      this.metrics.inFlight.inc({ source: source.name });
      res.once('close', () => {
        this.inFlight -= 1;
        this.metrics.inFlight.dec({ source: source.name });
        if (this.inFlight === 0) this.idle?.();
      });
      res.locals.source = source.name;
      next();
    };
  }

  private async handle(source: WebhookSource, req: Request, res: Response): Promise<void> {
    const receivedAt = new Date();
    const requestId = headerValue(req.headers['x-request-id']) ?? randomUUID();
    const log = new RequestLog(this.logger, { source: source.name, requestId });
    const request: InboundRequest = {
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      headers: flattenHeaders(req.headers),
      receivedAt,
    };

    const verification = source.verify(request);
    if (!verification.ok) {
      log.warn({ rejection: verification.rejection }, 'webhook signature refused');
      this.count(source, WebhookOutcomes.UNAUTHORIZED);
      reply(res, 401, { status: 'unauthorized', reason: verification.reason });
      return;
    }

    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      this.count(source, WebhookOutcomes.BAD_REQUEST);
      reply(res, 400, { status: 'bad_request', reason: 'body is not JSON' });
      return;
    }

    const parsed = source.parse(body);
    if (parsed.kind === 'invalid') {
      this.count(source, WebhookOutcomes.INVALID);
      log.warn({ fields: parsed.problems.map((problem) => problem.path) }, 'webhook payload refused');
      reply(res, 422, {
        status: 'invalid',
        reason: `not a ${source.name} event Syncline understands: ${oneLine(describeProblems(parsed.problems))}`,
        fields: parsed.problems,
      });
      return;
    }
    if (parsed.kind === 'ignored') {
      this.count(source, WebhookOutcomes.IGNORED);
      reply(res, 200, {
        status: 'ignored',
        reason: `event type ${oneLine(parsed.eventType)} is not consumed by Syncline`,
      });
      return;
    }

    const event = parsed.event;
    const sourceEventId = source.eventIdOf(event);
    const dedupeKey = `${source.name}:${sourceEventId}`;
    const records = source.toRawEvents(event, { receivedAt });
    const problems = this.options.validate
      ? records
          .flatMap((record) => this.options.validate!(record))
          .map((problem) => ({ ...problem, path: source.payloadPathOf(problem.path) }))
      : [];
    if (problems.length > 0) {
      this.count(source, WebhookOutcomes.INVALID);
      log.warn(
        { fields: problems.map((problem) => problem.path) },
        'webhook payload does not fit its raw topic',
      );
      reply(res, 422, {
        status: 'invalid',
        reason: `not a ${source.name} event Syncline understands: ${oneLine(describeProblems(uniqueProblems(problems)))}`,
        fields: uniqueProblems(problems),
      });
      return;
    }
    const correlationId = records[0]?.envelope.correlationId;
    if (correlationId) log.add({ correlationId, sourceEventId });
    const summary = records.map((record) => ({
      topic: record.topic,
      key: record.key,
      eventId: record.envelope.eventId,
    }));

    if (this.acknowledged.has(dedupeKey)) {
      this.count(source, WebhookOutcomes.DUPLICATE);
      log.info({}, 'redelivery of an acknowledged event; acknowledged again');
      reply(res, 200, {
        status: 'duplicate',
        reason: 'already acknowledged; not published again',
        eventId: sourceEventId,
        records: summary,
      });
      return;
    }

    const started = process.hrtime.bigint();
    try {
      let publishing = this.publishing.get(dedupeKey);
      if (!publishing) {
        publishing = this.options.sink.publish(records, {
          timeoutMs: this.options.publishTimeoutMs ?? 10_000,
        });
        this.publishing.set(dedupeKey, publishing);
        const forget = (): void => void this.publishing.delete(dedupeKey);
        publishing.then(() => {
          this.acknowledged.add(dedupeKey);
          forget();
        }, forget);
      }
      await publishing;
    } catch (error) {
      const failure = classify(error, { connector: source.name });
      return this.refuse(source, res, log, failure);
    }
    this.metrics.publishSeconds.observe(
      { source: source.name },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    this.count(source, WebhookOutcomes.ACCEPTED);
    log.debug({ records: summary.length }, 'webhook accepted');
    reply(res, 200, {
      status: 'accepted',
      reason: 'on Kafka (acks=all)',
      eventId: sourceEventId,
      records: summary,
    });
  }

  private refuse(source: WebhookSource, res: Response, log: RequestLog, failure: SynclineError): void {
    if (failure.retriable) {
      log.warn({ err: failure.toJSON() }, 'webhook not acknowledged: Kafka unavailable');
      this.count(source, WebhookOutcomes.UNAVAILABLE);
      this.unavailable(res, 'event not stored: Kafka is unavailable; retry later');
      return;
    }
    log.error({ err: failure.toJSON() }, 'webhook failed on our side');
    this.count(source, WebhookOutcomes.ERROR);
    reply(res, 500, { status: 'error', reason: 'event not stored: internal error; retry later' });
  }

  private unavailable(res: Response, reason: string): void {
    res.set('Retry-After', String(this.options.retryAfterSeconds ?? 5));
    reply(res, 503, { status: 'unavailable', reason });
  }

  /** Errors from the body parser (limit, broken encoding, aborted upload) and anything unforeseen. */
  private onError(error: unknown, req: Request, res: Response): void {
    const source = typeof res.locals.source === 'string' ? res.locals.source : 'unknown';
    const http = error as { status?: unknown; type?: unknown };
    const status = typeof http.status === 'number' ? http.status : 500;
    let outcome: WebhookOutcome;
    let answer: Answer;
    if (http.type === 'entity.too.large' || status === 413) {
      outcome = WebhookOutcomes.TOO_LARGE;
      answer = {
        status: 'too_large',
        reason: `body is larger than ${this.options.bodyLimitBytes ?? 1024 * 1024} bytes`,
      };
    } else if (status >= 400 && status < 500) {
      outcome = WebhookOutcomes.BAD_REQUEST;
      answer = { status: 'bad_request', reason: `unreadable request: ${oneLine(errorMessage(error))}` };
    } else {
      outcome = WebhookOutcomes.ERROR;
      this.logger.error(
        { err: classify(error).toJSON(), path: req.path },
        'unexpected error in the webhook server',
      );
      answer = { status: 'error', reason: 'internal error; retry later' };
    }
    this.metrics.requests.inc({ source, outcome });
    if (res.headersSent) return;
    const code =
      outcome === WebhookOutcomes.TOO_LARGE
        ? 413
        : outcome === WebhookOutcomes.BAD_REQUEST
          ? status === 415
            ? 415
            : 400
          : 500;
    // The rest of an oversized or broken body is not worth reading: close the connection after answering.
    if (outcome !== WebhookOutcomes.ERROR) res.set('Connection', 'close');
    reply(res, code, answer);
  }

  private count(source: WebhookSource, outcome: WebhookOutcome): void {
    this.metrics.requests.inc({ source: source.name, outcome });
  }
}

export interface RunningWebhookServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  app: WebhookApp;
  /** Drains in-flight requests (bounded), then closes the listening socket and idle connections. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startWebhookServer(
  options: WebhookServerOptions & { port: number; host?: string },
): Promise<RunningWebhookServer> {
  const webhookApp = createWebhookApp(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = webhookApp.app.listen(options.port, options.host ?? '0.0.0.0', (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
    listening.once('error', reject);
  });
  // Load balancers keep idle connections for 60 s; outlive them so they never send on a closed one.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    app: webhookApp,
    async close(timeoutMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await webhookApp.drain(timeoutMs);
      server.closeIdleConnections();
      await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
      server.closeAllConnections();
    },
  };
}

function reply(res: Response, status: number, answer: Answer): void {
  if (res.headersSent) return;
  res.status(status).json(answer);
}

function flattenHeaders(headers: Request['headers']): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text && /^[\w.:-]{1,128}$/.test(text) ? text : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Keeps an answer to one line and a sane length, whatever the input put in it. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat;
}

/**
 * The log lines of one request, all carrying its context (source, request id and, once known, the
 * correlation id). A child logger per request would cost more than the rest of the request; this
 * builds the line only when its level is enabled.
 */
class RequestLog {
  private readonly logger: Logger;
  private readonly context: Record<string, unknown>;

  constructor(logger: Logger, context: Record<string, unknown>) {
    this.logger = logger;
    this.context = context;
  }

  add(fields: Record<string, unknown>): void {
    Object.assign(this.context, fields);
  }

  debug(fields: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ ...this.context, ...fields }, message);
  }

  info(fields: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled('info')) this.logger.info({ ...this.context, ...fields }, message);
  }

  warn(fields: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled('warn')) this.logger.warn({ ...this.context, ...fields }, message);
  }

  error(fields: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled('error')) this.logger.error({ ...this.context, ...fields }, message);
  }
}

/** One problem per path: a multi-record event repeats the same problem per record. */
function uniqueProblems(problems: readonly FieldProblem[]): FieldProblem[] {
  const seen = new Map<string, FieldProblem>();
  for (const problem of problems) if (!seen.has(problem.path)) seen.set(problem.path, problem);
  return [...seen.values()];
}

/** A bounded set that forgets the oldest key first. */
class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
  }
}
