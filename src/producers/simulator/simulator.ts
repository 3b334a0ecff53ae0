/**
 * Drives the webhook server with realistic, correctly signed traffic at a given rate for a given
 * time: the population's histories interleaved across companies, some deliveries out of order
 * (platforms do not promise order), some delivered twice (platforms retry), each signed at the
 * moment it is sent as the platform would. Deterministic for a seed, except for signing times.
 */
import { generatePopulation, type TruthLine } from './population.ts';
import { Random } from './random.ts';
import { scriptWebhooks, type ScriptedWebhook } from './event-script.ts';
import { LoopbackClient, quantile } from './http-sender.ts';
import { signedHeaders, webhookPath, type WebhookPlatform } from './webhook-signers.ts';

export interface SimulationOptions {
  /** Base URL of the webhook server; loopback only. */
  target: string;
  /** Requests per second. */
  rate: number;
  durationSeconds: number;
  /** Size of the population; by default just enough companies to fill rate × duration. */
  companies?: number;
  seed: string;
  /** The secret each platform signs with (the first active one). */
  secrets: Record<WebhookPlatform, string>;
  /** Share of deliveries sent a second time, later. Default 0.05. */
  duplicateRate?: number;
  /** Share of deliveries swapped with a neighbour within a few positions. Default 0.1. */
  reorderRate?: number;
  /** Requests in flight at most. Default 32. */
  concurrency?: number;
  /** Whether the population's ERP customers are served to the poller, so belong in the truth. */
  includeErp?: boolean;
  onProgress?: (progress: SimulationProgress) => void;
  signal?: AbortSignal;
}

export interface SimulationProgress {
  planned: number;
  sent: number;
  answered: number;
}

export interface SimulationSummary {
  seed: string;
  target: string;
  companies: number;
  planned: number;
  sent: number;
  /** Deliveries that repeat an earlier one (same platform event id). */
  duplicatesSent: number;
  /** Deliveries sent before an earlier step of the same company. */
  outOfOrder: number;
  byStatus: Record<string, number>;
  /** By the `status` field of the answer: accepted, duplicate, ignored, unavailable, ... */
  byOutcome: Record<string, number>;
  bySource: Record<string, number>;
  transportErrors: number;
  elapsedSeconds: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface Simulation {
  summary: SimulationSummary;
  /** Which source ids are one company, for the companies whose records were delivered. */
  truth: TruthLine[];
}

export const SIMULATION_LIMITS = {
  maxRate: 5000,
  maxDurationSeconds: 3600,
  maxRequests: 1_000_000,
  maxCompanies: 100_000,
} as const;

/** About how many webhooks one company's history holds; used to size the population. */
const WEBHOOKS_PER_COMPANY = 10;

interface Delivery {
  webhook: ScriptedWebhook;
  duplicate: boolean;
}

/** The population a simulation uses: as given, or just enough companies to fill the requests. */
export function populationSize(plannedRequests: number, companies?: number): number {
  return companies ?? Math.max(1, Math.ceil(plannedRequests / WEBHOOKS_PER_COMPANY));
}

export async function simulate(options: SimulationOptions): Promise<Simulation> {
  const planned = Math.round(options.rate * options.durationSeconds);
  const companies = populationSize(planned, options.companies);
  const population = generatePopulation({ companies, seed: options.seed });
  const plan = planDeliveries(scriptWebhooks(population, options.seed), planned, options);
  const client = new LoopbackClient(options.target, options.concurrency ?? 32);

  const summary: SimulationSummary = {
    seed: options.seed,
    target: options.target,
    companies,
    planned: plan.deliveries.length,
    sent: 0,
    duplicatesSent: plan.deliveries.filter((delivery) => delivery.duplicate).length,
    outOfOrder: plan.outOfOrder,
    byStatus: {},
    byOutcome: {},
    bySource: {},
    transportErrors: 0,
    elapsedSeconds: 0,
    achievedRate: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
  };
  const latencies = new Float64Array(plan.deliveries.length);
  const delivered = new Set<string>();
  let answered = 0;
  const started = performance.now();
  const concurrency = options.concurrency ?? 32;
  let inFlight = 0;
  let slotFree: (() => void) | undefined;

  const send = async (delivery: Delivery, index: number): Promise<void> => {
    const { webhook } = delivery;
    const headers = signedHeaders(webhook.platform, webhook.body, options.secrets[webhook.platform]);
    try {
      const answer = await client.post(webhookPath(webhook.platform), headers, webhook.body);
      latencies[index] = answer.latencyMs;
      increment(summary.byStatus, String(answer.status));
      increment(summary.byOutcome, outcomeOf(answer.body));
      if (answer.status >= 200 && answer.status < 300 && webhook.consumed)
        delivered.add(`${webhook.companyId}/${webhook.platform}`);
    } catch {
      summary.transportErrors += 1;
    }
    increment(summary.bySource, webhook.platform);
    answered += 1;
  };

  const pending = new Set<Promise<void>>();
  for (let index = 0; index < plan.deliveries.length; index += 1) {
    if (options.signal?.aborted) break;
    // Pace: request i goes out at i / rate seconds, never before.
    const due = (index / options.rate) * 1000;
    const wait = due - (performance.now() - started);
    if (wait > 1) await sleep(wait);
    while (inFlight >= concurrency) await new Promise<void>((resolve) => (slotFree = resolve));
    inFlight += 1;
    summary.sent += 1;
    const promise = send(plan.deliveries[index]!, index).finally(() => {
      inFlight -= 1;
      pending.delete(promise);
      slotFree?.();
      slotFree = undefined;
    });
    pending.add(promise);
    if (index % 200 === 0)
      options.onProgress?.({ planned: plan.deliveries.length, sent: summary.sent, answered });
  }
  await Promise.all(pending);
  client.close();
  options.onProgress?.({ planned: plan.deliveries.length, sent: summary.sent, answered });

  summary.elapsedSeconds = round((performance.now() - started) / 1000, 2);
  summary.achievedRate = round(summary.sent / Math.max(summary.elapsedSeconds, 0.001), 1);
  const measured = latencies.subarray(0, summary.sent);
  summary.latencyMs = {
    p50: round(quantile(measured, 0.5), 2),
    p99: round(quantile(measured, 0.99), 2),
    max: round(quantile(measured, 1), 2),
  };

  const truth = population.truth
    .map((line) => ({
      ...line,
      sources: line.sources.filter((source) =>
        source.system === 'erp'
          ? options.includeErp === true
          : delivered.has(`${line.companyId}/${source.system}`),
      ),
    }))
    .filter((line) => line.sources.length > 0);
  return { summary, truth };
}

/**
 * The order of deliveries: companies interleaved at random (each company's history in order), then
 * some neighbours swapped (out of order) and some deliveries repeated later (duplicates), cut to
 * `limit` requests.
 */
export function planDeliveries(
  script: readonly ScriptedWebhook[],
  limit: number,
  options: { seed: string; duplicateRate?: number; reorderRate?: number },
): { deliveries: Delivery[]; outOfOrder: number } {
  const random = new Random(`plan:${options.seed}`);
  const queues = new Map<string, ScriptedWebhook[]>();
  for (const webhook of script) {
    let queue = queues.get(webhook.companyId);
    if (!queue) queues.set(webhook.companyId, (queue = []));
    queue.push(webhook);
  }
  // Interleave: a few companies are "active" at once, as in real traffic.
  const waiting = [...queues.values()];
  const active: ScriptedWebhook[][] = [];
  const order: Delivery[] = [];
  while ((waiting.length > 0 || active.length > 0) && order.length < limit) {
    while (active.length < 12 && waiting.length > 0) active.push(waiting.shift()!);
    const slot = random.int(0, active.length - 1);
    const queue = active[slot]!;
    order.push({ webhook: queue.shift()!, duplicate: false });
    if (queue.length === 0) active.splice(slot, 1);
  }
  // Out of order: swap with a neighbour up to 5 positions ahead.
  const reorderRate = options.reorderRate ?? 0.1;
  for (let i = 0; i < order.length - 1; i += 1) {
    if (!random.chance(reorderRate)) continue;
    const j = Math.min(order.length - 1, i + random.int(1, 5));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Duplicates: a redelivery a little later, as after a lost acknowledgement.
  const duplicateRate = options.duplicateRate ?? 0.05;
  const deliveries: Delivery[] = [];
  const redeliver: { at: number; delivery: Delivery }[] = [];
  for (let i = 0; i < order.length && deliveries.length < limit; i += 1) {
    while (redeliver.length > 0 && redeliver[0]!.at <= i && deliveries.length < limit)
      deliveries.push(redeliver.shift()!.delivery);
    if (deliveries.length >= limit) break;
    const delivery = order[i]!;
    deliveries.push(delivery);
    if (random.chance(duplicateRate)) {
      redeliver.push({ at: i + random.int(1, 50), delivery: { webhook: delivery.webhook, duplicate: true } });
      redeliver.sort((a, b) => a.at - b.at);
    }
  }
  for (const { delivery } of redeliver) if (deliveries.length < limit) deliveries.push(delivery);

  let outOfOrder = 0;
  const lastStep = new Map<string, number>();
  for (const { webhook, duplicate } of deliveries) {
    if (duplicate) continue;
    const key = webhook.companyId;
    const before = lastStep.get(key) ?? -1;
    if (webhook.step < before) outOfOrder += 1;
    lastStep.set(key, Math.max(before, webhook.step));
  }
  return { deliveries, outOfOrder };
}

function outcomeOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { status?: unknown };
    return typeof parsed.status === 'string' ? parsed.status : 'unknown';
  } catch {
    return 'not-json';
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
