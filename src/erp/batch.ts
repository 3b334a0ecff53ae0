/**
 * `POST /api/v2.0/$batch`: several API requests in one HTTP call, in the OData 4.01 JSON batch
 * format that Business Central accepts:
 *
 *   { "requests": [ { "id": "1", "method": "PATCH", "url": "companies(…)/customers(…)",
 *                     "headers": { "If-Match": "…", "Idempotency-Key": "…" }, "body": { … } }, … ] }
 *   → 200 { "responses": [ { "id": "1", "status": 200, "headers": { "etag": "…" }, "body": { … } }, … ] }
 *
 * Why the ERP has it: the request limit (6000 per 5 minutes per client, as Business Central's)
 * counts HTTP requests, and a batch is one request. An integration that writes one record per
 * request gets at most 20 writes a second; one that batches gets up to 100 times that.
 *
 * Each operation is handled exactly as the same request alone would be (authentication, limit and
 * faults apply to the batch as a whole), with its own status: one operation failing does not fail
 * the others. There is no atomicity across operations (no change sets, no `Isolation: snapshot`):
 * operations are independent and may run concurrently, so a client puts at most one operation per
 * entity in a batch when their order matters.
 */
import { z } from 'zod';
import type { InboundRequest, Reply } from '../targets-sim/common/http.ts';
import { API_ROOT, ErpErrorCodes, odataError } from './odata.ts';

/** Business Central's limit on operations in one `$batch`. */
export const MAX_BATCH_OPERATIONS = 100;

export const BATCH_PATH = `${API_ROOT}/$batch`;

const OperationSchema = z.strictObject({
  id: z.string().min(1).max(64),
  method: z.enum(['GET', 'POST', 'PATCH', 'DELETE']),
  url: z.string().min(1).max(2048),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.record(z.string(), z.unknown()).optional(),
  atomicityGroup: z.never().optional(),
  dependsOn: z.never().optional(),
});

const BatchSchema = z.strictObject({
  requests: z.array(OperationSchema).min(1).max(MAX_BATCH_OPERATIONS),
});

type Operation = z.infer<typeof OperationSchema>;

/** One operation's answer inside the batch answer. */
interface OperationReply {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * Answers a `$batch` request; `handleOne` handles each operation as a request of its own (and is
 * never handed another `$batch`).
 */
export async function handleBatch(
  request: InboundRequest,
  handleOne: (operation: InboundRequest) => Promise<Reply>,
): Promise<Reply> {
  const requestId = request.requestId;
  if (request.method !== 'POST') {
    return odataError(405, ErpErrorCodes.BAD_REQUEST, 'A $batch request is a POST.', requestId, {
      headers: { allow: 'POST' },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body.toString('utf8'));
  } catch {
    return odataError(400, ErpErrorCodes.BAD_REQUEST, 'The $batch body is not JSON.', requestId);
  }
  const batch = BatchSchema.safeParse(parsed);
  if (!batch.success) {
    const problems = batch.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
      .join('; ');
    return odataError(
      400,
      ErpErrorCodes.BAD_REQUEST,
      `The $batch body is not a JSON batch of 1 to ${MAX_BATCH_OPERATIONS} requests without atomicity groups or dependencies: ${problems}`,
      requestId,
    );
  }
  const ids = new Set<string>();
  for (const operation of batch.data.requests) {
    if (ids.has(operation.id)) {
      return odataError(
        400,
        ErpErrorCodes.BAD_REQUEST,
        `The $batch request id "${operation.id}" is used twice.`,
        requestId,
      );
    }
    ids.add(operation.id);
  }
  const responses = await Promise.all(
    batch.data.requests.map(async (operation): Promise<OperationReply> => {
      const url = operationUrl(operation, request.url);
      if (!url) {
        return replyOf(
          operation.id,
          odataError(
            400,
            ErpErrorCodes.BAD_REQUEST,
            `The operation url "${operation.url}" is not an API resource (nested $batch included).`,
            `${requestId}-${operation.id}`,
          ),
        );
      }
      const reply = await handleOne({
        method: operation.method,
        url,
        headers: headersOf(operation, request),
        body: operation.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(operation.body)),
        requestId: `${requestId}-${operation.id}`,
        clientId: request.clientId,
      });
      return replyOf(operation.id, reply);
    }),
  );
  return { status: 200, headers: { 'odata-version': '4.0' }, body: { responses } };
}

/** The operation's url, relative to the API root (as Business Central takes it) or absolute. */
function operationUrl(operation: Operation, batchUrl: URL): URL | undefined {
  const raw = operation.url;
  let url: URL;
  try {
    url = /^https?:\/\//i.test(raw)
      ? new URL(raw)
      : new URL(raw.startsWith('/') ? raw : `${API_ROOT}/${raw}`, batchUrl);
  } catch {
    return undefined;
  }
  if (url.origin !== batchUrl.origin || !url.pathname.startsWith(`${API_ROOT}/`)) return undefined;
  if (url.pathname === BATCH_PATH) return undefined;
  return url;
}

/** The operation's own headers, lower-cased as Node gives them, over the batch's host. */
function headersOf(operation: Operation, request: InboundRequest): InboundRequest['headers'] {
  const headers: InboundRequest['headers'] = {};
  if (request.headers.host !== undefined) headers.host = request.headers.host;
  for (const [name, value] of Object.entries(operation.headers ?? {})) headers[name.toLowerCase()] = value;
  if (operation.body !== undefined) headers['content-type'] = 'application/json';
  return headers;
}

function replyOf(id: string, reply: Reply): OperationReply {
  return {
    id,
    status: reply.status,
    headers: reply.headers ?? {},
    ...(reply.body === undefined ? {} : { body: reply.body }),
  };
}
