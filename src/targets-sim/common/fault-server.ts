/**
 * The HTTP server under the reference ERP and the SaaS doubles: one request pipeline with the fault
 * switches in it, and a listener that can really go away.
 *
 * Pipeline of an API request: injected latency → authentication (401) → the client's request limit
 * (429, or what the platform answers instead) → injected failure (5xx) → body read (413 over the
 * limit) → the handler → the answer, or a reset connection when `dropResponseNext` says so. The admin
 * routes (`/_faults`, and the double's own under `/_sim`) need the same credentials and skip every
 * fault; `/_health` needs none.
 *
 * "Down" closes the listening socket and resets every open connection, so a client sees connection
 * refused, not a 503; "up" listens again on the same port.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import type { Logger } from '../../runtime/logger.ts';
import { FaultInjector, FaultSettingsSchema, sleep, type FaultSettings, type FaultState } from './faults.ts';
import { FixedWindowLimiter, type InboundRequest, type LimitDecision, type Reply } from './http.ts';

/** What a double supplies: its own answers in its platform's shapes, and its routes. */
export interface DoubleBehaviour {
  /** The caller's client id, or the platform's 401 answer. */
  authenticate(request: IncomingMessage, requestId: string): { clientId: string } | Reply;
  /** The platform's answer when the client is over its limit. */
  limited(decision: LimitDecision, requestId: string): Reply;
  /** The platform's answer to an injected failure. */
  failure(status: number, retryAfterSeconds: number | undefined, requestId: string): Reply;
  /** The platform's answer to a body over the limit, and to an unexpected error. */
  error(status: 413 | 500, message: string, requestId: string): Reply;
  /** Headers added to every API answer that passed the limiter (e.g. usage counters). */
  usageHeaders?(decision: LimitDecision): Record<string, string>;
  /** The API itself. */
  handle(request: InboundRequest): Promise<Reply>;
  /** The double's own admin routes under `/_sim/`, if any; undefined means 404. */
  admin?(request: InboundRequest): Reply | undefined | Promise<Reply | undefined>;
}

export interface FaultServerOptions {
  name: string;
  behaviour: DoubleBehaviour;
  logger: Logger;
  /** The request limit per client; undefined means none (faults may still set one). */
  rateLimit?: { limit: number; windowMs: number } | undefined;
  bodyLimitBytes?: number;
}

export class FaultServer {
  readonly faults = new FaultInjector();
  private readonly options: FaultServerOptions;
  private readonly logger: Logger;
  private readonly limiter = new FixedWindowLimiter();
  private readonly server: Server;
  private host = '127.0.0.1';
  private port = 0;
  private listening = false;
  private isDown = false;
  private upTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;
  private authenticated = 0;
  private idle: (() => void) | undefined;

  constructor(options: FaultServerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: options.name });
    this.server = createServer((req, res) => {
      void this.onRequest(req, res);
    });
    this.server.keepAliveTimeout = 5000;
  }

  /** Listens on host:port (port 0 picks a free one) and returns the base URL. */
  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.host = host;
    this.port = port;
    await this.open();
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** API requests that passed authentication since start: what a client's request limit counts. */
  get apiRequests(): number {
    return this.authenticated;
  }

  get down(): boolean {
    return this.isDown;
  }

  faultState(): FaultState {
    return this.faults.state(this.isDown);
  }

  /**
   * Replaces the fault settings. `down: true` closes the listener until the faults change again;
   * `downForMs` closes it for that long.
   */
  async setFaults(settings: FaultSettings): Promise<void> {
    this.faults.set(settings);
    this.limiter.reset();
    this.logger.info({ faults: settings }, 'faults set');
    if (settings.down || settings.downForMs !== undefined) {
      await this.goDown(settings.downForMs);
    } else {
      await this.comeUp();
    }
  }

  async clearFaults(): Promise<void> {
    await this.setFaults({});
  }

  /**
   * Stops accepting connections, lets requests in flight finish (up to `graceMs`) and then closes
   * every connection that is left.
   */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    clearTimeout(this.upTimer);
    const wasListening = this.listening;
    this.listening = false;
    const closed = wasListening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : undefined;
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
  }

  private async goDown(forMs: number | undefined): Promise<void> {
    clearTimeout(this.upTimer);
    this.isDown = true;
    await this.shut();
    this.logger.warn({ forMs }, 'down: refusing connections');
    if (forMs !== undefined) {
      this.upTimer = setTimeout(() => {
        this.comeUp().catch((error: unknown) => this.logger.error({ err: error }, 'could not listen again'));
      }, forMs);
      this.upTimer.unref();
    }
  }

  private async comeUp(): Promise<void> {
    clearTimeout(this.upTimer);
    this.isDown = false;
    if (this.closed || this.listening) return;
    await this.open();
    this.logger.info('up: accepting connections again');
  }

  private async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.listening = true;
  }

  private async shut(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight += 1;
    const requestId = randomUUID();
    const started = performance.now();
    let reply: Reply | 'dropped';
    try {
      reply = await this.route(req, res, requestId);
    } catch (error) {
      this.logger.error({ err: error, requestId }, 'unexpected error');
      reply = this.options.behaviour.error(500, 'An unexpected error occurred.', requestId);
    }
    if (reply === 'dropped') {
      req.socket.destroy();
    } else {
      write(res, reply);
    }
    const status = reply === 'dropped' ? 'dropped' : reply.status;
    this.logger.debug(
      { requestId, method: req.method, path: req.url, status, ms: Math.round(performance.now() - started) },
      'request',
    );
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idle?.();
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<Reply | 'dropped'> {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const behaviour = this.options.behaviour;
    if (url.pathname === '/_health') return { status: 200, body: { status: 'ok' } };

    if (url.pathname === '/_faults' || url.pathname.startsWith('/_sim/')) {
      const who = behaviour.authenticate(req, requestId);
      if (!('clientId' in who)) return who;
      const body = await readBody(req, this.options.bodyLimitBytes ?? 1 << 20);
      if (body === 'too-large') return behaviour.error(413, 'The request body is too large.', requestId);
      const request: InboundRequest = {
        method: req.method ?? 'GET',
        url,
        headers: req.headers,
        body,
        requestId,
        clientId: who.clientId,
      };
      if (url.pathname === '/_faults') return this.faultsRoute(request, res);
      return (
        (await behaviour.admin?.(request)) ?? {
          status: 404,
          body: { error: `no admin route ${url.pathname}` },
        }
      );
    }

    if (this.faults.latencyMs > 0) {
      await sleep(this.faults.latencyMs);
      // A server that went down (or away) while the request waited does not carry it out.
      if (this.isDown || this.closed) return 'dropped';
    }
    const who = behaviour.authenticate(req, requestId);
    if (!('clientId' in who)) return who;
    this.authenticated += 1;
    const limit = this.faults.rateLimit ?? this.options.rateLimit;
    let usage: Record<string, string> = {};
    if (limit) {
      const decision = this.limiter.take(who.clientId, limit.limit, limit.windowMs);
      if (!decision.allowed) return behaviour.limited(decision, requestId);
      usage = behaviour.usageHeaders?.(decision) ?? {};
    }
    const verdict = this.faults.verdict();
    if (verdict.kind === 'fail')
      return behaviour.failure(verdict.status, verdict.retryAfterSeconds, requestId);
    const body = await readBody(req, this.options.bodyLimitBytes ?? 1 << 20);
    if (body === 'too-large') return behaviour.error(413, 'The request body is too large.', requestId);
    const reply = await behaviour.handle({
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
      requestId,
      clientId: who.clientId,
    });
    if (this.faults.takeDrop()) {
      this.logger.warn({ requestId, status: reply.status }, 'handled, answer dropped by fault');
      return 'dropped';
    }
    return { ...reply, headers: { ...usage, ...reply.headers } };
  }

  private async faultsRoute(request: InboundRequest, res: ServerResponse): Promise<Reply> {
    switch (request.method) {
      case 'GET':
        return { status: 200, body: this.faultState() };
      case 'DELETE':
        await this.clearFaults();
        return { status: 200, body: this.faultState() };
      case 'POST': {
        let parsed: unknown;
        try {
          parsed = request.body.length === 0 ? {} : JSON.parse(request.body.toString('utf8'));
        } catch {
          return { status: 400, body: { error: 'the body is not JSON' } };
        }
        const settings = FaultSettingsSchema.safeParse(parsed);
        if (!settings.success) {
          return {
            status: 422,
            body: { error: 'invalid fault settings', problems: describe(settings.error) },
          };
        }
        if (settings.data.down && settings.data.downForMs === undefined) {
          return {
            status: 422,
            body: {
              error: 'invalid fault settings',
              problems: [
                'down: over HTTP it needs downForMs, since nothing could reach the server to bring it back',
              ],
            },
          };
        }
        const goesDown = settings.data.downForMs !== undefined;
        if (!goesDown) {
          await this.setFaults(settings.data);
          return { status: 200, body: this.faultState() };
        }
        // Answer first, then close the listener: the caller learns its switch was taken.
        this.faults.set(settings.data);
        res.once('finish', () => {
          this.setFaults(settings.data).catch((error: unknown) =>
            this.logger.error({ err: error }, 'going down failed'),
          );
        });
        return { status: 200, body: { ...this.faultState(), down: true } };
      }
      default:
        return {
          status: 405,
          headers: { allow: 'GET, POST, DELETE' },
          body: { error: 'method not allowed' },
        };
    }
  }
}

function describe(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return 'too-large';
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function write(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}
