/**
 * A small keep-alive HTTP client for load on loopback: the simulator and the benchmark drive the
 * webhook server with it. Bounded by design: it only talks to loopback addresses, so a mistyped URL
 * can never turn it into a load generator against someone else's service.
 */
import { Agent, request } from 'node:http';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';

export interface HttpAnswer {
  status: number;
  body: string;
  latencyMs: number;
}

/** Throws unless `url` is an http URL on a loopback address. */
export function assertLoopback(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw SynclineError.permanent(ErrorCodes.INPUT_INVALID, `not a URL: ${url}`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (parsed.protocol !== 'http:' || !loopback) {
    throw SynclineError.permanent(
      ErrorCodes.INPUT_INVALID,
      `refusing to send load to ${parsed.origin}: only http:// on a loopback address (localhost, 127.0.0.1, ::1) is allowed`,
    );
  }
  return parsed;
}

export class LoopbackClient {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(baseUrl: string, maxSockets: number) {
    this.base = assertLoopback(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(
    path: string,
    headers: Record<string, string>,
    body: string | Buffer,
    timeoutMs = 30_000,
  ): Promise<HttpAnswer> {
    const started = performance.now();
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || 80,
          method: 'POST',
          path,
          headers: { ...headers, 'content-length': String(payload.length) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              latencyMs: performance.now() - started,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The q-quantile (0..1) of unsorted samples; sorts a copy. */
export function quantile(samples: ArrayLike<number>, q: number): number {
  if (samples.length === 0) return 0;
  const sorted = Float64Array.from(samples).sort();
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}
