/**
 * How each platform signs a webhook, from the sender's side: what the simulator, the benchmark and
 * the tests use to produce requests our connectors accept. Stripe's signature comes from Stripe's
 * own library, so that we test against the real thing, not our reading of it.
 */
import Stripe from 'stripe';
import { SALESFORCE_SIGNATURE_HEADER } from '../salesforce/salesforce-webhook-source.ts';
import { hmacSha256, signTimestampedHmac } from '../signatures.ts';
import type { SourceSystem } from '../source.ts';
import { STRIPE_SIGNATURE_HEADER } from '../stripe/stripe-webhook-source.ts';
import { ZENDESK_SIGNATURE_HEADER, ZENDESK_TIMESTAMP_HEADER } from '../zendesk/zendesk-webhook-source.ts';

export type WebhookPlatform = Exclude<SourceSystem, 'erp'>;

export interface SignOptions {
  /** Signing time, epoch milliseconds; defaults to now. */
  at?: number;
}

/** The headers a platform would send with `body`, signed with `secret`. */
export function signedHeaders(
  platform: WebhookPlatform,
  body: string,
  secret: string,
  options: SignOptions = {},
): Record<string, string> {
  const at = options.at ?? Date.now();
  const seconds = Math.floor(at / 1000);
  switch (platform) {
    case 'stripe':
      return {
        'content-type': 'application/json; charset=utf-8',
        [STRIPE_SIGNATURE_HEADER]: Stripe.webhooks.generateTestHeaderString({
          payload: body,
          secret,
          timestamp: seconds,
        }),
      };
    case 'salesforce':
      return {
        'content-type': 'application/json',
        [SALESFORCE_SIGNATURE_HEADER]: signTimestampedHmac(body, [secret], seconds),
      };
    case 'zendesk': {
      // Zendesk's timestamp has second precision: 2026-03-01T10:00:00Z.
      const timestamp = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return {
        'content-type': 'application/json',
        [ZENDESK_SIGNATURE_HEADER]: hmacSha256(secret, timestamp, body).toString('base64'),
        [ZENDESK_TIMESTAMP_HEADER]: timestamp,
      };
    }
  }
}

/** The webhook route of a platform. */
export function webhookPath(platform: WebhookPlatform): string {
  return `/webhooks/${platform}`;
}
