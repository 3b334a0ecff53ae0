/**
 * The admin/ops HTTP server every Syncline process runs (port 9464 by default, loopback unless
 * ADMIN_HOST says otherwise):
 * - `GET /healthz`: the process is alive (200);
 * - `GET /readyz`: 200 when every readiness check passes, 503 with each check's state otherwise;
 * - `GET /metrics`: Prometheus text format;
 * - `/api/...`: routes other modules add (DLQ, replay, lineage, ...), each call rate-limited per
 *   client and authenticated with `Authorization: Bearer <ADMIN_TOKEN>`. Without ADMIN_TOKEN the
 *   API is off (503), never open.
 * Every error is JSON: `{"error": {"code": "...", "message": "..."}}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Config } from './config.ts';
import { classify, ErrorCodes, SynclineError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Registry } from './metrics.ts';
import type { Readiness } from './readiness.ts';

export interface AdminServerOptions {
  config: Pick<Config, 'adminToken' | 'adminPort' | 'adminHost'>;
  logger: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Overrides config.adminHost / config.adminPort (0 picks a free port). */
  host?: string;
  port?: number;
  /** Calls per client per window on /api. Default 120 per minute. */
  rateLimit?: { windowMs: number; limit: number };
  /**
   * Express' `trust proxy`, for when a reverse proxy sits in front: then the client address (and
   * with it the rate-limit key) comes from X-Forwarded-For. Default false.
   */
  trustProxy?: boolean | number | string;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export class AdminServer {
  /** Routes added here answer under /api, after rate limiting and token authentication. */
  readonly api: Router;
  readonly #app: express.Express;
  readonly #public: Router;
  readonly #options: AdminServerOptions;
  readonly #logger: Logger;
  #server: Server | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'admin-server' });
    this.api = express.Router();
    this.#public = express.Router();
    this.#app = this.#build();
  }

  /**
   * Mounts unauthenticated routes outside /api (e.g. the ops console's static files at `/`).
   * Anything served here must hold no data: data goes through /api.
   */
  mount(path: string, handler: RequestHandler | Router): void {
    this.#public.use(path, handler);
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    if (this.#server) return this.#server.address() as AddressInfo;
    const host = this.#options.host ?? this.#options.config.adminHost;
    const port = this.#options.port ?? this.#options.config.adminPort;
    const server = createServer(this.#app);
    // Bounds for slow or stuck clients; the admin API has no long requests.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw SynclineError.permanent(
        ErrorCodes.INFRA_FAILED,
        `admin server cannot listen on ${host}:${port}: ${reason}`,
        { part: 'admin-server' },
        error,
      );
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    this.#logger.info({ host: address.address, port: address.port }, 'admin server listening');
    return address;
  }

  /** The base URL, once listening. */
  get url(): string | undefined {
    const address = this.#server?.address();
    if (!address || typeof address === 'string') return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops accepting connections and waits for requests in progress; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const server = this.#server;
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    return this.#closing;
  }

  #build(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', this.#options.trustProxy ?? false);

    app.get('/healthz', (_req, res) => {
      res.set('cache-control', 'no-store').json({ status: 'ok' });
    });

    app.get('/readyz', async (_req, res) => {
      const report = await this.#options.readiness.evaluate();
      res
        .status(report.ready ? 200 : 503)
        .set('cache-control', 'no-store')
        .json(report);
    });

    app.get('/metrics', async (_req, res) => {
      const registry = this.#options.metrics;
      const body = await registry.metrics();
      res.set('content-type', registry.contentType).set('cache-control', 'no-store').send(body);
    });

    app.use('/api', this.#apiStack());
    app.use(this.#public);
    app.use((_req, res) => {
      sendError(res, 404, 'NOT_FOUND', 'no such route');
    });
    app.use(this.#errorHandler());
    return app;
  }

  /** Rate limit first (it also slows down token guessing), then the token, then the routes. */
  #apiStack(): Router {
    const limits = this.#options.rateLimit ?? { windowMs: 60_000, limit: 120 };
    const stack = express.Router();
    stack.use(
      rateLimit({
        windowMs: limits.windowMs,
        limit: limits.limit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: (_req, res) => {
          sendError(res, 429, 'RATE_LIMITED', 'too many requests; retry after the RateLimit-Reset delay');
        },
      }),
    );
    stack.use(this.#authenticate());
    stack.use(express.json({ limit: '256kb' }));
    stack.use(this.api);
    stack.use((_req, res) => {
      sendError(res, 404, 'NOT_FOUND', 'no such API route');
    });
    return stack;
  }

  #authenticate(): RequestHandler {
    const token = this.#options.config.adminToken;
    const expected = token ? digest(token) : undefined;
    return (req, res, next) => {
      if (!expected) {
        sendError(res, 503, 'ADMIN_API_DISABLED', 'admin API disabled: set ADMIN_TOKEN');
        return;
      }
      const match = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '');
      // Compared as SHA-256 digests: equal length, constant time, whatever the caller sent.
      if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
        res.set('www-authenticate', 'Bearer realm="syncline-admin"');
        sendError(res, 401, 'UNAUTHORIZED', 'a valid bearer token is required');
        return;
      }
      next();
    };
  }

  #errorHandler(): ErrorRequestHandler {
    return (error: unknown, req, res, next) => {
      if (res.headersSent) {
        next(error);
        return;
      }
      // Errors raised by body parsing carry their HTTP status (400 bad JSON, 413 too large).
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        const code = status === 413 ? ErrorCodes.PAYLOAD_TOO_LARGE : ErrorCodes.INPUT_INVALID;
        sendError(
          res,
          status,
          code,
          status === 413 ? 'request body too large' : 'request body is not valid JSON',
        );
        return;
      }
      const failure = classify(error, { part: 'admin-api' });
      const httpStatus = statusFor(failure);
      if (httpStatus >= 500) {
        this.#logger.error(
          { err: failure.toJSON(), method: req.method, path: req.path },
          'admin request failed',
        );
      }
      const message =
        failure.code === ErrorCodes.UNEXPECTED ? 'internal error (see the server log)' : failure.message;
      sendError(res, httpStatus, failure.code, message);
    };
  }
}

function statusFor(error: SynclineError): number {
  switch (error.code) {
    case ErrorCodes.INPUT_INVALID:
    case ErrorCodes.CONFIG_INVALID:
      return 400;
    case ErrorCodes.SCHEMA_NOT_FOUND:
    case ErrorCodes.TOPIC_NOT_FOUND:
      return 404;
    case ErrorCodes.PAYLOAD_TOO_LARGE:
      return 413;
    default:
      return error.retriable ? 503 : 500;
  }
}

function sendError(res: express.Response, status: number, code: string, message: string): void {
  const body: ErrorBody = { error: { code, message } };
  res.status(status).set('cache-control', 'no-store').json(body);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
