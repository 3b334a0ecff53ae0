/**
 * The metrics of the source connectors, on the process registry (src/runtime/metrics.ts). Labels
 * name the source and the outcome, never ids.
 */
import {
  counter,
  gauge,
  histogram,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Gauge,
  type Histogram,
  type Registry,
} from '../runtime/metrics.ts';

/** How a webhook request ended; the `outcome` label of `syncline_webhook_requests_total`. */
export const WebhookOutcomes = {
  /** Published and acknowledged by Kafka (acks=all). */
  ACCEPTED: 'accepted',
  /** Seen and acknowledged before: acknowledged again, not published again. */
  DUPLICATE: 'duplicate',
  /** A type Syncline does not consume: acknowledged, not published. */
  IGNORED: 'ignored',
  /** Signature missing, wrong or stale: 401. */
  UNAUTHORIZED: 'unauthorized',
  /** Not JSON or an unreadable request: 400. */
  BAD_REQUEST: 'bad_request',
  /** Signed but not of the platform's shape: 422. */
  INVALID: 'invalid',
  /** Over the body limit: 413. */
  TOO_LARGE: 'too_large',
  /** Kafka unavailable, overloaded or shutting down: 503 with Retry-After. */
  UNAVAILABLE: 'unavailable',
  /** A fault of ours: 500. Should never happen; alert on it. */
  ERROR: 'error',
} as const;
export type WebhookOutcome = (typeof WebhookOutcomes)[keyof typeof WebhookOutcomes];

export interface IngestMetrics {
  requests: Counter<'source' | 'outcome'>;
  publishSeconds: Histogram<'source'>;
  inFlight: Gauge<'source'>;
  pollPages: Counter<'source' | 'outcome'>;
  pollLagSeconds: Gauge<'source'>;
}

/**
 * The connectors' metrics on `registry`; asking again returns the same ones. Produce requests and
 * records per topic are counted by the event bus producer (`syncline_producer_*`).
 */
export function ingestMetrics(registry: Registry): IngestMetrics {
  return {
    requests: counter(registry, {
      name: 'syncline_webhook_requests_total',
      help: 'Webhook requests by source and outcome (accepted, duplicate, ignored, unauthorized, bad_request, invalid, too_large, unavailable, error).',
      labelNames: ['source', 'outcome'],
    }),
    publishSeconds: histogram(registry, {
      name: 'syncline_webhook_publish_seconds',
      help: 'Time from a verified webhook to its acknowledgement by Kafka with acks=all.',
      labelNames: ['source'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    inFlight: gauge(registry, {
      name: 'syncline_webhook_requests_in_flight',
      help: 'Webhook requests being handled right now.',
      labelNames: ['source'],
    }),
    pollPages: counter(registry, {
      name: 'syncline_poll_pages_total',
      help: 'Pages fetched by polling connectors, by outcome (published, empty, throttled, failed).',
      labelNames: ['source', 'outcome'],
    }),
    pollLagSeconds: gauge(registry, {
      name: 'syncline_poll_cursor_lag_seconds',
      help: 'Age of the newest change a polling connector has published: how far behind the source it is.',
      labelNames: ['source'],
    }),
  };
}
