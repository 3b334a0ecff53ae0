/**
 * `syncline mdm export|review|unmerge|rebuild`: the data steward's and operator's view of
 * match-merge. Reads and writes the state the `process` role keeps in Redis (prefix MATCH_PREFIX);
 * steward actions publish their `mdm.customer.*` and `canonical.customer` events like the processor
 * does (see src/processors/match-merge/steward-service.ts); `rebuild` restores the Redis state from
 * the `mdm.*` topics after Redis lost it.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { MatchEngine } from '../../processors/match-merge/engine.ts';
import { exportGoldenLines, type GoldenExportLine } from '../../processors/match-merge/golden-export.ts';
import { rebuildFromTopics } from '../../processors/match-merge/rebuild-from-topics.ts';
import {
  openReviewViews,
  StewardService,
  validActor,
  validateDecision,
  validateUnmerge,
  type ReviewView,
  type StewardAuditEntry,
  type StewardOutcome,
} from '../../processors/match-merge/steward-service.ts';
import { RedisMatchStore } from '../../processors/match-merge/store.ts';
import { audit, cliActor } from '../../ops/audit/audit.ts';
import { closeOpsContext, createOpsContext, type OpsContext } from '../../ops/ops-context.ts';
import { MATCH_PREFIX } from '../../processors/process-service.ts';
import { createKafkajsBus } from '../../runtime/bus/kafkajs.ts';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import { createKafka } from '../../runtime/kafka.ts';
import { createLogger, type Logger } from '../../runtime/logger.ts';
import { loadCatalog } from '../../schemas/catalog.ts';
import { RegistryClient } from '../../schemas/registry-client.ts';
import { bindingsFromCatalog, Serde } from '../../schemas/serde.ts';
import { GroupIds, TopicNames } from '../../topology/topics.ts';
import { integerOption } from '../foreground.ts';
import { printJson, printJsonLine, Progress, say } from '../output.ts';

interface JsonOption {
  json?: boolean;
}

interface ReviewOptions extends JsonOption {
  approve?: string;
  reject?: string;
  into?: string;
  limit: number;
  actor: string;
}

interface UnmergeOptions extends JsonOption {
  golden: string;
  source: string;
  actor: string;
}

interface RebuildOptions extends JsonOption {
  replace?: boolean;
  actor: string;
}

const ACTOR_HELP = 'who acts, for the logs and the decidedBy of the events (default: the OS user)';

export function registerMdm(program: Command): void {
  const mdm = program
    .command('mdm')
    .description(
      'Golden customers (match-merge): export, steward reviews, unmerge, rebuild from the mdm topics',
    );

  mdm
    .command('export')
    .description(
      'Write every golden customer: with --json one JSON line each ({"goldenId","sources":[{"system","id"}],"attributes":{...}}), else a table',
    )
    .option('--json', 'JSON lines on stdout, one per golden customer')
    .action(async (options: JsonOption) => {
      await withState(async ({ engine }) => {
        await exportGoldens(engine, options.json === true);
      });
    });

  mdm
    .command('review')
    .description(
      'List open candidate matches, or record a decision: --approve <candidateId> [--into <goldenId>] or --reject <candidateId>',
    )
    .option(
      '--approve <candidateId>',
      'merge the record under review into a candidate (review id or <system>:<id>)',
    )
    .option(
      '--into <goldenId>',
      'with --approve: the candidate golden id to merge into (default: the best-scored)',
    )
    .option('--reject <candidateId>', 'keep the record under review apart from every candidate')
    .option('--limit <n>', 'open reviews to list', integerOption('--limit', 1, 10_000), 50)
    .option('--actor <name>', ACTOR_HELP, defaultActor())
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: ReviewOptions) => {
      if (options.approve !== undefined && options.reject !== undefined) {
        throw usage('give either --approve or --reject, not both');
      }
      if (options.into !== undefined && options.approve === undefined) {
        throw usage('--into goes with --approve');
      }
      const json = options.json === true;
      const candidate = options.approve ?? options.reject;
      if (candidate !== undefined) {
        validActor(options.actor);
        validateDecision(
          candidate,
          options.into !== undefined ? { approve: true, into: options.into } : { approve: false },
        );
      }
      if (options.approve === undefined && options.reject === undefined) {
        await withState(async ({ engine }) => {
          printReviews(await openReviewViews(engine, options.limit), json);
        });
        return;
      }
      await withSteward(async (service) => {
        const outcome =
          options.approve !== undefined
            ? await service.decide(
                options.approve,
                { approve: true, ...(options.into !== undefined ? { into: options.into } : {}) },
                options.actor,
              )
            : await service.decide(options.reject!, { approve: false }, options.actor);
        printOutcome(outcome, json);
      });
    });

  mdm
    .command('unmerge')
    .description('Split a source record off its golden customer; the two are kept apart from then on')
    .requiredOption('--golden <goldenId>', 'the golden customer the record belongs to now')
    .requiredOption('--source <system:id>', 'the source record to split off, e.g. stripe:cus_123')
    .option('--actor <name>', ACTOR_HELP, defaultActor())
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: UnmergeOptions) => {
      validActor(options.actor);
      validateUnmerge(options.golden, options.source);
      await withSteward(async (service) => {
        printOutcome(
          await service.unmerge(options.golden, options.source, options.actor),
          options.json === true,
        );
      });
    });

  mdm
    .command('rebuild')
    .description(
      'Restore the match-merge state in Redis from the mdm.customer.golden, .xref and .review topics (after Redis lost it); run with the processors stopped',
    )
    .option(
      '--replace',
      'discard whatever match state Redis still holds first (default: refuse if there is any)',
    )
    .option('--actor <name>', ACTOR_HELP, defaultActor())
    .option('--json', 'print one JSON object on stdout')
    .action(async (options: RebuildOptions) => {
      const json = options.json === true;
      await withState(async ({ engine, config, logger, serde }) => {
        const kafka = createKafka(config, logger, 'mdm-rebuild');
        const progress = new Progress('mdm rebuild: reading the mdm topics');
        const report = await rebuildFromTopics({
          kafka,
          serde,
          engine,
          replace: options.replace === true,
          onProgress: (read, total) => progress.update(read, `of ${total} records`),
        });
        progress.done(`${report.goldens} golden records`);
        logger.info({ actor: options.actor, action: 'mdm-rebuild', ...report }, 'match-merge state rebuilt');
        const ops = createOpsContext(config, createLogger({ name: 'syncline-mdm', level: 'error' }), {
          kafka,
        });
        try {
          await audit(ops, {
            action: 'MDM_REBUILD',
            actor: cliActor(options.actor),
            group: GroupIds.processor,
            topic: TopicNames.mdm.golden,
            count: report.goldens,
            outcome: 'SUCCEEDED',
            correlationId: randomUUID(),
            details: {
              goldens: String(report.goldens),
              xrefs: String(report.xrefs),
              openReviews: String(report.openReviews),
              replaced: String(options.replace === true),
            },
          });
        } finally {
          await closeOpsContext(ops);
        }
        if (json) {
          printJson(report);
          return;
        }
        say(
          `rebuilt ${report.goldens} golden records (${report.active} active, ${report.merged} merged away), ` +
            `${report.xrefs} cross-references, ${report.openReviews} open reviews, ${report.keptApartPairs} kept-apart pairs ` +
            `from ${Object.values(report.read).reduce((sum, n) => sum + n, 0)} records in ${report.seconds.toFixed(1)} s`,
        );
        if (report.restoredFromAttributes > 0) {
          say(
            `${report.restoredFromAttributes} golden records came from events without member snapshots (schema v1): restored from their surviving attributes`,
          );
        }
        if (report.xrefRepaired > 0)
          say(
            `${report.xrefRepaired} cross-references disagreed with their golden records (golden records won)`,
          );
      });
    });
}

// -- the pieces every subcommand needs ---------------------------------------------------------

interface State {
  config: Config;
  logger: Logger;
  redis: Redis;
  engine: MatchEngine;
  serde: Serde;
}

async function withState(work: (state: State) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ name: 'syncline-mdm', level: config.logLevel });
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // reported by the failing command, once
  try {
    await redis.connect().catch((error: unknown) => {
      throw SynclineError.retriable(
        ErrorCodes.REDIS_UNAVAILABLE,
        `Redis at ${redactedUrl(config.redisUrl)} is not reachable: ${(error as Error).message}`,
        { part: 'mdm' },
      );
    });
    const engine = new MatchEngine({ store: new RedisMatchStore({ redis, prefix: MATCH_PREFIX }) });
    const serde = new Serde({
      source: new RegistryClient({ url: config.schemaRegistryUrl }),
      bindings: bindingsFromCatalog(loadCatalog()),
    });
    await work({ config, logger, redis, engine, serde });
  } finally {
    redis.disconnect();
  }
}

async function withSteward(work: (service: StewardService) => Promise<void>): Promise<void> {
  await withState(async ({ config, logger, engine, serde }) => {
    // The client's own chatter (e.g. its note on the idempotent producer's retries) is not the
    // steward's business: only its errors are shown.
    const busLogger = createLogger({ name: 'syncline-mdm', level: 'error' });
    const producer = createKafkajsBus(config, busLogger, { clientSuffix: 'mdm-steward' }).producer();
    const ops = createOpsContext(config, busLogger);
    await producer.connect();
    try {
      const service = new StewardService({
        engine,
        producer,
        serde,
        logger,
        audit: (entry) => auditSteward(ops, entry),
      });
      const republished = await service.publishPending();
      if (republished > 0) say(`published ${republished} earlier steward action(s) left pending`, true);
      await work(service);
    } finally {
      await producer.close();
      await closeOpsContext(ops);
    }
  });
}

/** A steward's action on the audit trail (`ops.audit`), keyed by the group that keeps the state. */
export async function auditSteward(ops: OpsContext, entry: StewardAuditEntry): Promise<void> {
  await audit(ops, {
    action: entry.action,
    actor: cliActor(entry.actor),
    group: GroupIds.processor,
    topic: TopicNames.mdm.golden,
    count: entry.count,
    outcome: 'SUCCEEDED',
    correlationId: entry.correlationId,
    details: entry.details,
  });
}

// -- export ------------------------------------------------------------------------------------

async function exportGoldens(engine: MatchEngine, json: boolean): Promise<void> {
  const progress = new Progress('mdm export');
  let count = 0;
  // A reader that stops early (`| head`) closes the pipe: end quietly, as Unix tools do.
  let closed = false;
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') closed = true;
  };
  process.stdout.on('error', onError);
  try {
    await writeExport(
      engine,
      json,
      progress,
      () => closed,
      (n) => (count = n),
    );
  } catch (error) {
    if (!closed && (error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
  } finally {
    process.stdout.off('error', onError);
  }
  progress.done(`${count} golden customers`);
}

async function writeExport(
  engine: MatchEngine,
  json: boolean,
  progress: Progress,
  isClosed: () => boolean,
  counted: (count: number) => void,
): Promise<void> {
  let count = 0;
  if (!json) {
    await write(
      `${'GOLDEN ID'.padEnd(36)}  ${'LEGAL NAME'.padEnd(32)}  ${'CTRY'.padEnd(4)}  ${'TAX ID'.padEnd(16)}  SOURCES\n`,
    );
  }
  for await (const line of exportGoldenLines(engine)) {
    if (isClosed()) return;
    await write(json ? `${JSON.stringify(line)}\n` : `${tableRow(line)}\n`);
    count += 1;
    counted(count);
    if (count % 1000 === 0) progress.update(count, 'golden customers');
  }
}

function tableRow(line: GoldenExportLine): string {
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const cell = (value: string, width: number): string =>
    (value.length > width ? `${value.slice(0, width - 1)}…` : value).padEnd(width);
  return [
    line.goldenId,
    cell(text(line.attributes.legalName?.value), 32),
    cell(text(line.attributes.countryCode?.value), 4),
    cell(text(line.attributes.taxId?.value), 16),
    line.sources.map((source) => `${source.system}:${source.id}`).join(', '),
  ].join('  ');
}

/** Writes to stdout, waiting when the pipe is full, so a long export never buffers without bound. */
function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const written = process.stdout.write(text, (error) => {
      if (error) reject(error);
    });
    if (written) resolve();
    else process.stdout.once('drain', resolve);
  });
}

// -- review and unmerge output ------------------------------------------------------------------

function printReviews(reviews: ReviewView[], json: boolean): void {
  if (json) {
    printJson({ open: reviews.length, reviews });
    return;
  }
  if (reviews.length === 0) {
    say('no open reviews');
    return;
  }
  for (const review of reviews) {
    const name = review.attributes['legalName'] ?? '';
    say(
      `${review.reviewId}  ${review.source}  "${name}"  (golden ${review.goldenId ?? '-'}, opened ${review.createdAt})`,
    );
    for (const candidate of review.candidates) {
      say(
        `    candidate ${candidate.goldenId}  score ${candidate.score.toFixed(3)}  ${candidate.status === 'ACTIVE' ? '' : `[${candidate.status}] `}${candidate.legalName ?? ''}`,
      );
    }
  }
  say(
    `${reviews.length} open review(s): syncline mdm review --approve <reviewId> [--into <goldenId>] | --reject <reviewId>`,
  );
}

function printOutcome(outcome: StewardOutcome, json: boolean): void {
  if (json) {
    printJsonLine(outcome);
    return;
  }
  const golden = outcome.golden;
  const other = outcome.other;
  switch (outcome.action) {
    case 'unmerge':
      say(
        `split off into golden ${golden.goldenId} (${golden.sources.join(', ')}); ${other?.goldenId ?? ''} keeps ${other?.sources.join(', ') ?? ''}`,
      );
      break;
    case 'approve':
      say(
        other
          ? `merged golden ${other.goldenId} into ${golden.goldenId} (${golden.sources.join(', ')})`
          : `approved: the record stays in golden ${golden.goldenId}`,
      );
      break;
    case 'reject':
      say(
        `kept apart: golden ${golden.goldenId} (${golden.sources.join(', ')}) is not merged with its candidates`,
      );
      break;
  }
  say(
    `published ${outcome.published.mdm} mdm and ${outcome.published.canonical} canonical.customer events (correlation ${outcome.correlationId}, by ${outcome.actor})`,
  );
}

// -- small helpers ----------------------------------------------------------------------------

function defaultActor(): string {
  return cliActor().name;
}

function usage(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { part: 'mdm review' });
}

function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
