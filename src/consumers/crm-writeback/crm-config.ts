/**
 * Where the CRM write-back writes, from the environment (read once when the `sink-crm` role starts):
 *
 *   SALESFORCE_LOGIN_URL       the org's My Domain URL, e.g. https://acme.my.salesforce.com
 *                              (the OAuth token endpoint is <this>/services/oauth2/token)
 *   SALESFORCE_CLIENT_ID       the connected app's consumer key (client-credentials flow)
 *   SALESFORCE_CLIENT_SECRET   the connected app's consumer secret (never logged)
 *   SALESFORCE_API_VERSION     REST API version in the path, default v60.0
 *   SALESFORCE_TIMEOUT_MS      timeout of every call, default 10000
 *
 * API calls go to the `instance_url` the token endpoint answers with, as Salesforce requires.
 */
import { z } from 'zod';
import { httpUrl, readTargetConfig } from '../saas/target-config.ts';

const EnvSchema = z.object({
  SALESFORCE_LOGIN_URL: z
    .string({ error: 'required: the org URL, e.g. https://acme.my.salesforce.com' })
    .refine(httpUrl, { message: 'must be a URL starting with http:// or https://' })
    .transform((value) => value.replace(/\/+$/, '')),
  SALESFORCE_CLIENT_ID: z.string({ error: "required: the connected app's consumer key" }).min(1),
  SALESFORCE_CLIENT_SECRET: z.string({ error: "required: the connected app's consumer secret" }).min(1),
  SALESFORCE_API_VERSION: z
    .string()
    .regex(/^v\d{2}\.0$/, 'must look like v60.0')
    .default('v60.0'),
  SALESFORCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
});

export interface CrmTargetConfig {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  apiVersion: string;
  timeoutMs: number;
}

const SECRETS = new Set(['SALESFORCE_CLIENT_SECRET']);

export function loadCrmTargetConfig(env: NodeJS.ProcessEnv = process.env): CrmTargetConfig {
  const e = readTargetConfig(EnvSchema, env, SECRETS, 'CRM write-back (Salesforce)');
  return {
    loginUrl: e.SALESFORCE_LOGIN_URL,
    clientId: e.SALESFORCE_CLIENT_ID,
    clientSecret: e.SALESFORCE_CLIENT_SECRET,
    apiVersion: e.SALESFORCE_API_VERSION,
    timeoutMs: e.SALESFORCE_TIMEOUT_MS,
  };
}
