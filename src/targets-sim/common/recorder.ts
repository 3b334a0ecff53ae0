import type { InboundRequest, Reply } from './http.ts';

/**
 * What a SaaS double received and what it changed, for tests that assert exactly-once effects: every
 * API request that reached the handler (with its answer's status and error code), and every write
 * that was applied with the fields it changed. A retried write that changes nothing is still
 * recorded, with an empty change set, so a test can tell "sent twice" from "applied twice".
 */

export interface RecordedRequest {
  seq: number;
  at: string;
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  /** Headers that matter to assertions (never credentials). */
  headers: Record<string, string>;
  /** The parsed JSON body, the text when it is not JSON, undefined when empty. */
  body: unknown;
  status: number;
  /** The platform's error code when the request was refused. */
  errorCode?: string;
  /** Fields the platform ignored (e.g. unknown custom fields), when it ignores instead of refusing. */
  ignoredFields?: string[];
}

export type WriteKind = 'create' | 'update' | 'delete';

/** A write a request made, collected while it is handled and recorded with the request's sequence. */
export type PendingWrite = Omit<RecordedWrite, 'seq' | 'at' | 'requestSeq'>;

export interface FieldChange {
  from: unknown;
  to: unknown;
}

export interface RecordedWrite {
  seq: number;
  /** The request that made the write. */
  requestSeq: number;
  at: string;
  kind: WriteKind;
  /** The object type, e.g. `Opportunity` or `organization`. */
  objectType: string;
  id: string;
  /** Only the fields whose value changed; empty for a write that changed nothing. */
  changed: Record<string, FieldChange>;
}

/** Headers kept in the record; everything else (and above all Authorization) is left out. */
const KEPT_HEADERS = [
  'content-type',
  'idempotency-key',
  'if-match',
  'x-correlation-id',
  'sforce-call-options',
  'user-agent',
];

export class Recorder {
  private readonly maxEntries: number;
  private requestLog: RecordedRequest[] = [];
  private writeLog: RecordedWrite[] = [];
  private nextRequest = 1;
  private nextWrite = 1;

  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }

  /** Records a request and returns its sequence number. */
  request(
    entry: Omit<RecordedRequest, 'seq' | 'at' | 'headers'> & {
      headers: Record<string, string | string[] | undefined>;
    },
  ): number {
    const seq = this.nextRequest++;
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = entry.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.requestLog.push({ ...entry, seq, at: new Date().toISOString(), headers });
    if (this.requestLog.length > this.maxEntries) this.requestLog.shift();
    return seq;
  }

  write(entry: Omit<RecordedWrite, 'seq' | 'at'>): void {
    this.writeLog.push({ ...entry, seq: this.nextWrite++, at: new Date().toISOString() });
    if (this.writeLog.length > this.maxEntries) this.writeLog.shift();
  }

  /** Records one handled request with its answer, then the writes it made, linked to it. */
  exchange(
    request: InboundRequest,
    reply: Reply,
    writes: readonly PendingWrite[],
    extra: Pick<RecordedRequest, 'errorCode' | 'ignoredFields'> = {},
  ): void {
    const requestSeq = this.request({
      method: request.method,
      path: request.url.pathname,
      query: request.url.search,
      headers: request.headers,
      body: recordedBody(request.body),
      status: reply.status,
      ...(extra.errorCode ? { errorCode: extra.errorCode } : {}),
      ...(extra.ignoredFields && extra.ignoredFields.length > 0
        ? { ignoredFields: extra.ignoredFields }
        : {}),
    });
    for (const write of writes) this.write({ ...write, requestSeq });
  }

  /** The recording's own admin routes under `/_sim/`, the same on every double; undefined for others. */
  adminRoute(path: string, method: string): Reply | undefined {
    if (path === 'requests' && method === 'GET') return { status: 200, body: this.requestLog };
    if (path === 'writes' && method === 'GET') return { status: 200, body: this.writeLog };
    if (path === 'recording' && method === 'DELETE') {
      this.clear();
      return { status: 204 };
    }
    return undefined;
  }

  get requests(): readonly RecordedRequest[] {
    return this.requestLog;
  }

  get writes(): readonly RecordedWrite[] {
    return this.writeLog;
  }

  /** The writes to one object, oldest first. */
  writesTo(objectType: string, id: string): RecordedWrite[] {
    return this.writeLog.filter((write) => write.objectType === objectType && write.id === id);
  }

  /** How often each field of one object actually changed value (retried no-op writes do not count). */
  changeCounts(objectType: string, id: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const write of this.writesTo(objectType, id)) {
      for (const field of Object.keys(write.changed)) counts[field] = (counts[field] ?? 0) + 1;
    }
    return counts;
  }

  clear(): void {
    this.requestLog = [];
    this.writeLog = [];
  }

  snapshot(): { requests: readonly RecordedRequest[]; writes: readonly RecordedWrite[] } {
    return { requests: this.requestLog, writes: this.writeLog };
  }
}

/** The body of a request as the recorder keeps it. */
export function recordedBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The fields whose values differ between two versions of a record (deep compare via JSON). */
export function diff(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): Record<string, FieldChange> {
  const changed: Record<string, FieldChange> = {};
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  for (const name of names) {
    const from = before?.[name] ?? null;
    const to = after[name] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changed[name] = { from, to };
  }
  return changed;
}
