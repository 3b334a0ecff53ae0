/**
 * Where the support entitlement sink writes, from the environment (read once when the
 * `sink-support` role starts):
 *
 *   ZENDESK_URL          the account's URL, e.g. https://acme.zendesk.com (the API is <this>/api/v2)
 *   ZENDESK_OAUTH_TOKEN  an OAuth access token (Bearer), or instead both of:
 *   ZENDESK_EMAIL        the agent the API token belongs to, and
 *   ZENDESK_API_TOKEN    an API token (Basic `{email}/token:{token}`)
 *   ZENDESK_TIMEOUT_MS   timeout of every call, default 10000
 *
 * Tokens are never logged nor shown in configuration errors.
 */
import { z } from 'zod';
import { httpUrl, readTargetConfig } from '../saas/target-config.ts';

const EnvSchema = z
  .object({
    ZENDESK_URL: z
      .string({ error: 'required: the account URL, e.g. https://acme.zendesk.com' })
      .refine(httpUrl, { message: 'must be a URL starting with http:// or https://' })
      .transform((value) => value.replace(/\/+$/, '')),
    ZENDESK_OAUTH_TOKEN: z.string().min(1).optional(),
    ZENDESK_EMAIL: z.string().email('must be an email address').optional(),
    ZENDESK_API_TOKEN: z.string().min(1).optional(),
    ZENDESK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  })
  .superRefine((env, context) => {
    if (env.ZENDESK_OAUTH_TOKEN) return;
    if (!env.ZENDESK_API_TOKEN) {
      context.addIssue({
        code: 'custom',
        path: ['ZENDESK_OAUTH_TOKEN'],
        message: 'required (or ZENDESK_EMAIL and ZENDESK_API_TOKEN instead)',
      });
    } else if (!env.ZENDESK_EMAIL) {
      context.addIssue({
        code: 'custom',
        path: ['ZENDESK_EMAIL'],
        message: 'required with ZENDESK_API_TOKEN: the agent the token belongs to',
      });
    }
  });

export type ZendeskCredentials =
  { kind: 'oauth'; token: string } | { kind: 'api-token'; email: string; token: string };

export interface SupportTargetConfig {
  url: string;
  credentials: ZendeskCredentials;
  timeoutMs: number;
}

const SECRETS = new Set(['ZENDESK_OAUTH_TOKEN', 'ZENDESK_API_TOKEN']);

export function loadSupportTargetConfig(env: NodeJS.ProcessEnv = process.env): SupportTargetConfig {
  const e = readTargetConfig(EnvSchema, env, SECRETS, 'support entitlement (Zendesk)');
  const credentials: ZendeskCredentials = e.ZENDESK_OAUTH_TOKEN
    ? { kind: 'oauth', token: e.ZENDESK_OAUTH_TOKEN }
    : { kind: 'api-token', email: e.ZENDESK_EMAIL ?? '', token: e.ZENDESK_API_TOKEN ?? '' };
  return { url: e.ZENDESK_URL, credentials, timeoutMs: e.ZENDESK_TIMEOUT_MS };
}
