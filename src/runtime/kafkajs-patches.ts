/**
 * One targeted fix to kafkajs 2.2.4, which has had no release since early 2023 (tulios/kafkajs#1753).
 *
 * `RequestQueue.scheduleCheckPendingRequests` computes `throttledUntil - Date.now()` with
 * `throttledUntil` starting at -1, so after every response it arms a timer with a delay of about
 * minus the epoch in milliseconds. Node 24 reports that as `TimeoutNegativeWarning`
 * (tulios/kafkajs#1751) and clamps the delay to 1 ms; the timer's callback re-arms it, so every
 * broker connection also keeps a 1 ms timer loop running for as long as it is open (we measured
 * about 800 wake-ups per second per idle connection). The check exists only to send requests held
 * back by client-side throttling, so it is needed only while requests are pending; we arm it then,
 * and never with a negative delay (the fix proposed upstream in tulios/kafkajs#1755 and #1756).
 *
 * Imported for its effect by kafka.ts, so every client created through `createKafka` has it.
 */
import { createRequire } from 'node:module';

/** The poll interval kafkajs itself uses while requests wait (requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('syncline.kafkajs.requestQueuePatched');

function patchRequestQueue(): void {
  const require = createRequire(import.meta.url);
  // kafkajs has no "exports" map, so its internal modules resolve by path; the module instance is
  // the one kafkajs itself loads (same file, same require cache).
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals & { [PATCHED]?: true };
  };
  const prototype = RequestQueue.prototype;
  if (prototype[PATCHED] || typeof prototype.scheduleCheckPendingRequests !== 'function') return;
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
    this: RequestQueueInternals,
  ): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const delay = Math.max(this.throttledUntil - Date.now(), CHECK_PENDING_REQUESTS_INTERVAL_MS);
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, delay);
  };
  prototype[PATCHED] = true;
}

patchRequestQueue();
