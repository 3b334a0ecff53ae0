/**
 * The HTTP client of the ERP's REST API (Business Central style, see src/erp/api.ts), as a sink
 * needs it: read an entity by its alternate key, create with an Idempotency-Key, update with
 * If-Match and an Idempotency-Key. Every call has a timeout. Answers come back as values or as a
 * classified {@link SynclineError}:
 * - 400/422 (validation, blocked customer, idempotency key reused): permanent TARGET_REJECTED with
 *   the field errors in the message, dead-lettered by the runner;
 * - 401/403: retriable TARGET_UNAVAILABLE: credentials are the operator's problem, not the record's,
 *   and the probe fails the same way, so the circuit opens instead of every record going to the DLQ;
 * - 429: retriable TARGET_RATE_LIMITED with the server's Retry-After;
 * - 5xx, refused or reset connections: retriable TARGET_UNAVAILABLE (Retry-After kept);
 * - no answer in time: retriable TIMEOUT.
 * 404, 409 and 412 are answered as values: the sink decides what they mean.
 *
 * Calls made at the same moment (the same turn of the event loop: the sink writes many customers
 * at once) go out together as one `$batch` request of up to 100 operations, because the ERP's
 * request limit counts HTTP requests (Business Central: 6000 per 5 minutes, 20 a second), not
 * operations. Each operation keeps its own answer; a batch the ERP refuses as a whole (429, 5xx,
 * no answer) is that answer for each of its operations; a batch too large for the ERP (413) is
 * sent again call by call. An ERP without `$batch` (404, 405 or 501 to it) gets every call alone
 * from then on.
 */
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import { ErrorCodes, SynclineError, type ErrorContext } from '../../runtime/errors.ts';

export interface ErpRestClientOptions {
  /** The company's API root: `http://host:port/api/v2.0/companies(<id>)`. */
  apiUrl: string;
  token: string;
  /** Per call. Default 10 s. */
  timeoutMs?: number;
  /** Most operations in one `$batch` request; 1 sends every call alone. Default 100 (the ERP's limit). */
  maxBatchOperations?: number;
}

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  headers: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Answers to `POST …/$batch` that mean the ERP has no batch endpoint. */
const BATCH_UNSUPPORTED = new Set([404, 405, 501]);

interface BatchAnswer {
  responses?: { id?: unknown; status?: unknown; headers?: unknown; body?: unknown }[];
}

export type EntitySet = 'customers' | 'salesOrders' | 'salesInvoices';

/** An entity as the API shows it (the sink reads only a few properties). */
export interface ErpEntity {
  id: string;
  '@odata.etag': string;
  number?: string;
  externalVersion?: number | null;
  [property: string]: unknown;
}

export type WriteAnswer =
  | { kind: 'written'; entity: ErpEntity; replayed: boolean }
  /** 409: the alternate key is taken (created meanwhile), or the key's first request was just rolled back. */
  | { kind: 'conflict'; code: string }
  /** 412: the entity changed since it was read. */
  | { kind: 'changed' }
  | { kind: 'not-found' };

interface ODataError {
  error?: { code?: string; message?: string; details?: { target?: string; message?: string }[] };
}

export class ErpRestClient {
  readonly #apiUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  /** The `$batch` endpoint and the company's path, which operation urls start with. */
  readonly #batchUrl: string;
  readonly #companyPath: string;
  readonly #batcher: DataLoader<Call, Answer> | undefined;
  #batchUnsupported = false;

  constructor(options: ErpRestClientOptions) {
    this.#apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const url = new URL(this.#apiUrl);
    this.#companyPath = url.pathname;
    const apiRoot = url.pathname.replace(/\/companies\(.*$/, '');
    this.#batchUrl = `${url.origin}${apiRoot}/$batch`;
    const maxBatch = Math.min(100, Math.max(1, options.maxBatchOperations ?? 100));
    this.#batcher =
      maxBatch > 1
        ? new DataLoader<Call, Answer>((calls) => this.#sendTogether(calls), {
            cache: false,
            maxBatchSize: maxBatch,
          })
        : undefined;
  }

  /** An entity by alternate key (`externalId`, `externalDocumentNumber`), or undefined. */
  async findBy(set: EntitySet, keyName: string, value: string): Promise<ErpEntity | undefined> {
    // OData doubles a quote inside a string key; the whole key is percent-encoded for the URL.
    const key = encodeURIComponent(`'${value.replaceAll("'", "''")}'`);
    const response = await this.#call('GET', `/${set}(${keyName}=${key})`);
    if (response.status === 404) return undefined;
    if (response.status === 200) return response.body as ErpEntity;
    throw this.#failure(response, { set });
  }

  async create(set: EntitySet, body: Record<string, unknown>, idempotencyKey: string): Promise<WriteAnswer> {
    return this.#write('POST', `/${set}`, body, { 'idempotency-key': headerKey(idempotencyKey) }, set);
  }

  async update(
    set: EntitySet,
    id: string,
    etag: string,
    body: Record<string, unknown>,
    idempotencyKey: string,
  ): Promise<WriteAnswer> {
    return this.#write(
      'PATCH',
      `/${set}(${id})`,
      body,
      { 'idempotency-key': headerKey(idempotencyKey), 'if-match': etag },
      set,
    );
  }

  /** Resolves when the API answers an authenticated read of the company; cheap. */
  async probe(timeoutMs = 3000): Promise<void> {
    const response = await this.#call('GET', '', undefined, {}, timeoutMs);
    if (response.status !== 200 && response.status !== 429) throw this.#failure(response, { part: 'probe' });
  }

  async #write(
    method: string,
    path: string,
    body: Record<string, unknown>,
    headers: Record<string, string>,
    set: EntitySet,
  ): Promise<WriteAnswer> {
    const response = await this.#call(method, path, body, headers);
    if (response.status === 200 || response.status === 201) {
      return {
        kind: 'written',
        entity: response.body as ErpEntity,
        replayed: response.headers.get('idempotent-replayed') === 'true',
      };
    }
    if (response.status === 404) return { kind: 'not-found' };
    if (response.status === 412) return { kind: 'changed' };
    if (response.status === 409) {
      return { kind: 'conflict', code: (response.body as ODataError | undefined)?.error?.code ?? '' };
    }
    throw this.#failure(response, { set });
  }

  /** A call, sent together with the calls made at the same moment where batching is on. */
  #call(
    method: string,
    path: string,
    body?: Record<string, unknown>,
    headers: Record<string, string> = {},
    timeoutMs = this.#timeoutMs,
  ): Promise<Answer> {
    const call: Call = { method, path, body, headers };
    if (this.#batcher && !this.#batchUnsupported && timeoutMs === this.#timeoutMs) {
      return this.#batcher.load(call);
    }
    return this.#send(call, timeoutMs);
  }

  /** DataLoader's batch function: one value (or error) per call, in order. */
  async #sendTogether(calls: readonly Call[]): Promise<(Answer | Error)[]> {
    if (calls.length === 1) return this.#sendEach(calls); // one call needs no batch around it
    let batch: Answer;
    try {
      batch = await this.#request(
        this.#batchUrl,
        'POST',
        {
          requests: calls.map((call, index) => ({
            id: String(index + 1),
            method: call.method,
            url: `${this.#companyPath}${call.path}`,
            headers: call.headers,
            ...(call.body === undefined ? {} : { body: call.body }),
          })),
        },
        {},
        this.#timeoutMs,
        { target: 'erp', method: 'POST', path: '/$batch', operations: calls.length },
      );
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return calls.map(() => failure);
    }
    // An ERP without `$batch` (an older release, another product): every call alone from now on.
    if (BATCH_UNSUPPORTED.has(batch.status)) {
      this.#batchUnsupported = true;
      return this.#sendEach(calls);
    }
    // Too large together is not too large alone: the calls' own answers decide.
    if (batch.status === 413) return this.#sendEach(calls);
    // Refused as a whole (429, 5xx, 401): that answer is every operation's answer.
    if (batch.status !== 200) return calls.map(() => batch);
    const byId = new Map<string, Answer>();
    for (const response of (batch.body as BatchAnswer | undefined)?.responses ?? []) {
      if (typeof response.id !== 'string' || typeof response.status !== 'number') continue;
      const headers = new Headers();
      if (response.headers !== null && typeof response.headers === 'object') {
        for (const [name, value] of Object.entries(response.headers)) {
          if (typeof value === 'string') headers.set(name, value);
        }
      }
      byId.set(response.id, { status: response.status, headers, body: response.body });
    }
    return calls.map(
      (call, index) =>
        byId.get(String(index + 1)) ??
        SynclineError.retriable(
          ErrorCodes.TARGET_UNAVAILABLE,
          `the ERP's $batch answer has no response for operation ${index + 1}`,
          { target: 'erp', method: call.method, path: redactPath(call.path) },
        ),
    );
  }

  #sendEach(calls: readonly Call[]): Promise<(Answer | Error)[]> {
    return Promise.all(
      calls.map((call) =>
        this.#send(call, this.#timeoutMs).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      ),
    );
  }

  #send(call: Call, timeoutMs: number): Promise<Answer> {
    return this.#request(`${this.#apiUrl}${call.path}`, call.method, call.body, call.headers, timeoutMs, {
      target: 'erp',
      method: call.method,
      path: redactPath(call.path),
    });
  }

  async #request(
    url: string,
    method: string,
    body: Record<string, unknown> | undefined,
    headers: Record<string, string>,
    timeoutMs: number,
    context: ErrorContext,
  ): Promise<Answer> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw networkFailure(error, timeoutMs, context);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkFailure(error, timeoutMs, context);
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  #failure(response: Answer, context: ErrorContext): SynclineError {
    const status = response.status;
    const error = (response.body as ODataError | undefined)?.error;
    const details = (error?.details ?? [])
      .map((detail) => `${detail.target ?? '?'}: ${detail.message ?? ''}`)
      .join('; ');
    const message = `ERP answered ${status} ${error?.code ?? ''}: ${error?.message ?? ''}${details ? ` (${details})` : ''}`;
    const full = { ...context, target: 'erp', status };
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'));
    if (status === 429) {
      return new SynclineError(ErrorCodes.TARGET_RATE_LIMITED, message, {
        retriable: true,
        context: full,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    if (status >= 500 || status === 401 || status === 403) {
      return new SynclineError(ErrorCodes.TARGET_UNAVAILABLE, message, {
        retriable: true,
        context: full,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    return SynclineError.permanent(ErrorCodes.TARGET_REJECTED, message, full);
  }
}

/** An Idempotency-Key the API accepts (1..255 printable ASCII): the key itself, or its digest. */
export function headerKey(idempotencyKey: string): string {
  if (idempotencyKey.length > 0 && idempotencyKey.length <= 255 && /^[\x20-\x7e]+$/.test(idempotencyKey)) {
    return idempotencyKey;
  }
  return `sha256:${createHash('sha256').update(idempotencyKey).digest('hex')}`;
}

/** Retry-After in seconds or as an HTTP date, as milliseconds. */
export function retryAfterOf(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function networkFailure(error: unknown, timeoutMs: number, context: ErrorContext): SynclineError {
  const name = (error as { name?: unknown }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return SynclineError.retriable(
      ErrorCodes.TIMEOUT,
      `ERP did not answer within ${timeoutMs} ms`,
      context,
      error,
    );
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : 'network';
  return SynclineError.retriable(
    ErrorCodes.TARGET_UNAVAILABLE,
    `ERP unreachable (${code}): ${error instanceof Error ? error.message : String(error)}`,
    context,
    error,
  );
}

/** Paths name entities by key, which may be ids: keep only their shape in logs. */
function redactPath(path: string): string {
  return path.replace(/\(.*\)/, '(…)');
}
