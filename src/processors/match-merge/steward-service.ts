/**
 * What a data steward does to the match-merge state (`syncline mdm review|unmerge`), with its
 * effects published the way the processor publishes its own: the engine's `mdm.customer.*` events,
 * and a `canonical.customer` for every golden record whose version changed, keyed by golden id,
 * with deterministic event ids. Inputs are validated here, once, with a one-line reason.
 *
 * Nothing is lost between Redis and Kafka: the engine commits the steward's result together with
 * an outbox entry (in the same Lua script as the state), the service publishes it and then
 * acknowledges it. A steward command that dies in between leaves the entry pending; the next
 * steward command (or {@link StewardService.publishPending}) publishes it again, with the same
 * event ids, which downstream consumers deduplicate.
 */
import { randomUUID } from 'node:crypto';
import type { EventProducer, OutgoingRecord } from '../../runtime/bus/types.ts';
import { ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { uuidV5 } from '../../producers/envelope.ts';
import type * as mdm from '../../schemas/generated/mdm.ts';
import type { Serde } from '../../schemas/serde.ts';
import { canonicalCustomerOf as defaultCanonicalCustomerOf } from '../canonical-mapping/index.ts';
import { MAPPING_VERSION, type BuildContext } from '../canonical-mapping/types.ts';
import type { MatchEngine, StewardResult } from './engine.ts';
import {
  MatchSystems,
  MdmTopics,
  sourceKey,
  type GoldenEvent,
  type GoldenRecord,
  type SourceKeyRef,
} from './types.ts';

/** Namespace of the ids of the canonical events a steward's action produces. Never change it. */
const STEWARD_CANONICAL_NAMESPACE = '3d7e9a1c-5b2f-5e84-a6c1-0f9e8d7c6b5a';
const CANONICAL_CUSTOMER_TOPIC = 'canonical.customer';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StewardServiceOptions {
  engine: MatchEngine;
  producer: EventProducer;
  serde: Serde;
  logger: Logger;
  /** Prepended to every topic written (isolated test topologies). Default none. */
  topicPrefix?: string;
  /** The `canonical.customer` value of a golden record; default the real canonical mapping. */
  canonicalCustomerOf?: (golden: GoldenRecord, context: BuildContext) => Record<string, unknown>;
  /**
   * Records a published action on the audit trail (`ops.audit`, see src/ops/audit): called after
   * the publish, with what the action did. Without it, the log line is the only record.
   */
  audit?: (entry: StewardAuditEntry) => Promise<void>;
}

/** What the audit trail keeps of a steward's action. */
export interface StewardAuditEntry {
  action: 'UNMERGE' | 'REVIEW_DECISION';
  actor: string;
  correlationId: string;
  /** Records published. */
  count: number;
  /** Ids only: golden ids, source keys, the review id and the decision. */
  details: Record<string, string>;
}

export type StewardAction = 'unmerge' | 'approve' | 'reject';

/** What a steward's action did, for the command's report. */
export interface StewardOutcome {
  action: StewardAction;
  actor: string;
  correlationId: string;
  /** The golden record the source record belongs to afterwards. */
  golden: GoldenSummary;
  /** The other golden record involved (split from, merged away, kept apart from), if any. */
  other: GoldenSummary | null;
  /** Records written: mdm events and canonical customers. */
  published: { mdm: number; canonical: number };
  eventIds: string[];
}

export interface GoldenSummary {
  goldenId: string;
  version: number;
  status: string;
  mergedInto: string | null;
  legalName: string | null;
  sources: string[];
}

/** An open review as a steward sees it. */
export interface ReviewView {
  reviewId: string;
  /** `<system>:<id>` of the record under review: also accepted as the candidate id. */
  source: string;
  /** The golden record the record belongs to now (it founded it, pending the decision). */
  goldenId: string | null;
  attributes: Record<string, string>;
  candidates: { goldenId: string; score: number; legalName: string | null; status: string }[];
  createdAt: string;
}

export type ReviewDecisionInput = { approve: true; into?: string } | { approve: false };

export class StewardService {
  private readonly engine: MatchEngine;
  private readonly producer: EventProducer;
  private readonly serde: Serde;
  private readonly logger: Logger;
  private readonly prefix: string;
  private readonly canonicalCustomerOf: NonNullable<StewardServiceOptions['canonicalCustomerOf']>;
  private readonly audit: StewardServiceOptions['audit'];

  constructor(options: StewardServiceOptions) {
    this.engine = options.engine;
    this.producer = options.producer;
    this.serde = options.serde;
    this.logger = options.logger.child({ component: 'mdm-steward' });
    this.prefix = options.topicPrefix ?? '';
    this.canonicalCustomerOf = options.canonicalCustomerOf ?? defaultCanonicalCustomerOf;
    this.audit = options.audit;
  }

  /** Open reviews, oldest first, with the names of their candidates. */
  reviews(limit = 100): Promise<ReviewView[]> {
    return openReviewViews(this.engine, limit);
  }

  /** Approves (merge into a candidate) or rejects (keep apart) an open review. */
  async decide(candidateId: string, decision: ReviewDecisionInput, actor: string): Promise<StewardOutcome> {
    const steward = validActor(actor);
    validateDecision(candidateId, decision);
    await this.publishPending();
    const review = await this.findOpenReview(candidateId);
    const source = sourceRefOfReview(review);
    const correlationId = randomUUID();
    const outboxId = randomUUID();
    const result = await this.engine.applyReviewDecision(
      decision.approve
        ? { source, decision: 'merge', ...(decision.into ? { goldenId: decision.into } : {}) }
        : { source, decision: 'keep-apart' },
      { steward, correlationId, outboxId },
    );
    return this.publishResult(outboxId, result, decision.approve ? 'approve' : 'reject', steward, {
      reviewId: review.reviewId,
      source: sourceKey(source),
    });
  }

  /** Splits `<system>:<id>` off golden record `goldenId`. */
  async unmerge(goldenId: string, source: string, actor: string): Promise<StewardOutcome> {
    const steward = validActor(actor);
    const ref = validateUnmerge(goldenId, source);
    await this.publishPending();
    const correlationId = randomUUID();
    const outboxId = randomUUID();
    const result = await this.engine.unmerge(goldenId, ref, { steward, correlationId, outboxId });
    return this.publishResult(outboxId, result, 'unmerge', steward, { goldenId, source: sourceKey(ref) });
  }

  /**
   * Publishes steward results committed but not yet published (a steward command that died after
   * the commit), oldest first, with the event ids they had. Returns how many.
   */
  async publishPending(): Promise<number> {
    const pending = await this.engine.store.pendingOutbox();
    for (const entry of pending) {
      const result = JSON.parse(entry.payload) as StewardResult;
      await this.producer.send(await this.recordsOf(result));
      await this.engine.store.ackOutbox(entry.id);
      this.logger.warn(
        { outboxId: entry.id, events: result.events.length },
        'published a steward result left pending by an earlier command',
      );
    }
    return pending.length;
  }

  private async publishResult(
    outboxId: string,
    result: StewardResult,
    action: StewardAction,
    actor: string,
    subject: Record<string, string>,
  ): Promise<StewardOutcome> {
    const records = await this.recordsOf(result);
    await this.producer.send(records);
    await this.engine.store.ackOutbox(outboxId);
    const canonical = records.filter(
      (record) => record.topic === `${this.prefix}${CANONICAL_CUSTOMER_TOPIC}`,
    ).length;
    const correlationId = result.events[0]?.value.envelope.correlationId ?? '';
    const outcome: StewardOutcome = {
      action,
      actor,
      correlationId,
      golden: summaryOf(result.golden),
      other: result.other ? summaryOf(result.other) : null,
      published: { mdm: result.events.length, canonical },
      eventIds: result.events.map((event) => event.value.envelope.eventId),
    };
    // The audit line of the action: who, what, on which records (ids only, no personal data).
    this.logger.info(
      {
        actor,
        action,
        ...subject,
        correlationId,
        goldenId: outcome.golden.goldenId,
        otherGoldenId: outcome.other?.goldenId ?? null,
        mdmEvents: outcome.published.mdm,
        canonicalEvents: canonical,
      },
      'steward action published',
    );
    await this.audit?.({
      action: action === 'unmerge' ? 'UNMERGE' : 'REVIEW_DECISION',
      actor,
      correlationId,
      count: records.length,
      details: {
        ...subject,
        ...(action === 'unmerge' ? {} : { decision: action === 'approve' ? 'APPROVED' : 'REJECTED' }),
        goldenId: outcome.golden.goldenId,
        ...(outcome.other ? { otherGoldenId: outcome.other.goldenId } : {}),
      },
    });
    return outcome;
  }

  /**
   * The records of a steward result: its mdm events in order, then a canonical customer for every
   * golden record it changed (those with a golden event). A golden record merged away has no
   * members left; its canonical record says MERGED into the survivor, with the survivor's
   * attributes, which is what a downstream system re-pointing its references needs.
   */
  private async recordsOf(result: StewardResult): Promise<OutgoingRecord[]> {
    const records: OutgoingRecord[] = [];
    for (const event of result.events) {
      const topic = `${this.prefix}${event.topic}`;
      records.push({ topic, key: event.key, value: await this.serde.encode(topic, event.value) });
    }
    const goldens = [result.golden, ...(result.other ? [result.other] : [])];
    const changed = result.events.filter((event): event is GoldenEvent => event.topic === MdmTopics.golden);
    for (const event of changed) {
      const golden = goldens.find(
        (candidate) =>
          candidate.goldenId === event.value.goldenId && candidate.version === event.value.version,
      );
      if (!golden) continue;
      const named =
        golden.members.length === 0 && golden.mergedInto
          ? withAttributesOf(
              golden,
              goldens.find((candidate) => candidate.goldenId === golden.mergedInto),
            )
          : golden;
      if (!named) continue;
      const envelope = event.value.envelope;
      const canonicalEnvelope = {
        eventId: uuidV5(
          `${envelope.idempotencyKey}|customer|${golden.goldenId}|v${MAPPING_VERSION}`,
          STEWARD_CANONICAL_NAMESPACE,
        ),
        eventType: `canonical.customer.${golden.version === 1 ? 'created' : 'updated'}`,
        source: envelope.source,
        sourceEntityId: envelope.sourceEntityId,
        sourceVersion: golden.version,
        occurredAt: envelope.occurredAt,
        ingestedAt: envelope.ingestedAt,
        idempotencyKey: `${envelope.idempotencyKey}|customer|${golden.goldenId}`,
        correlationId: envelope.correlationId,
        causationId: envelope.eventId,
      };
      const topic = `${this.prefix}${CANONICAL_CUSTOMER_TOPIC}`;
      const value = this.canonicalCustomerOf(named, {
        goldenId: golden.goldenId,
        envelope: canonicalEnvelope,
      });
      records.push({ topic, key: golden.goldenId, value: await this.serde.encode(topic, value) });
    }
    return records;
  }

  /** The open review named by its review id or by `<system>:<id>` of its record. */
  private async findOpenReview(candidateId: string): Promise<mdm.MatchCandidate> {
    const store = this.engine.store;
    if (UUID.test(candidateId)) {
      for await (const review of store.scanOpenReviews()) {
        if (review.reviewId === candidateId) return review;
      }
      throw inputError(`no open review with id ${candidateId} (see syncline mdm review)`);
    }
    const ref = parseSourceKey(candidateId, 'candidate id');
    const review = await store.review(sourceKey(ref));
    if (!review || review.status !== 'OPEN') {
      throw inputError(`no open review for ${sourceKey(ref)} (see syncline mdm review)`);
    }
    return review;
  }
}

/** Open reviews, oldest first, with the names of their candidates (reads only). */
export async function openReviewViews(engine: MatchEngine, limit = 100): Promise<ReviewView[]> {
  const open = await engine.openReviews(limit);
  const out: ReviewView[] = [];
  for (const review of open) {
    const ref = `${review.source.system}:${review.source.id}`;
    const candidates: ReviewView['candidates'] = [];
    for (const candidate of review.candidates) {
      const golden = await engine.golden(candidate.goldenId);
      candidates.push({
        goldenId: candidate.goldenId,
        score: candidate.score,
        legalName: golden?.attributes.legalName?.value ?? null,
        status: golden ? golden.status : 'MISSING',
      });
    }
    out.push({
      reviewId: review.reviewId,
      source: ref,
      goldenId: await engine.store.xrefOf(ref),
      attributes: { ...review.attributes },
      candidates,
      createdAt: new Date(review.createdAt).toISOString(),
    });
  }
  return out;
}

/** Checks a review decision's arguments (before anything is connected); one-line reasons. */
export function validateDecision(candidateId: string, decision: ReviewDecisionInput): void {
  if (!UUID.test(candidateId)) parseSourceKey(candidateId, 'the candidate id (a review id or <system>:<id>)');
  if (decision.approve && decision.into !== undefined && !UUID.test(decision.into)) {
    throw inputError(`--into must be a golden id (a UUID), got "${decision.into}"`);
  }
}

/** Checks an unmerge's arguments (before anything is connected); returns the source record. */
export function validateUnmerge(goldenId: string, source: string): SourceKeyRef {
  if (!UUID.test(goldenId)) throw inputError(`--golden must be a golden id (a UUID), got "${goldenId}"`);
  return parseSourceKey(source, '--source');
}

/** `<system>:<id>` of a source record, validated. */
export function parseSourceKey(text: string, what: string): SourceKeyRef {
  const colon = text.indexOf(':');
  const system = colon > 0 ? text.slice(0, colon) : '';
  const id = colon > 0 ? text.slice(colon + 1) : '';
  if (!(MatchSystems as readonly string[]).includes(system) || id.trim() === '') {
    throw inputError(
      `${what} must be <system>:<id> with system one of ${MatchSystems.join(', ')}, got "${text}"`,
    );
  }
  return { system: system as SourceKeyRef['system'], id };
}

function sourceRefOfReview(review: mdm.MatchCandidate): SourceKeyRef {
  return parseSourceKey(`${review.source.system}:${review.source.id}`, `review ${review.reviewId}`);
}

export function validActor(actor: string): string {
  const trimmed = actor.trim();
  if (trimmed === '' || trimmed.length > 200 || /[\r\n]/.test(trimmed)) {
    throw inputError('--actor must be a user name (1 to 200 characters, one line)');
  }
  return trimmed;
}

function withAttributesOf(golden: GoldenRecord, survivor: GoldenRecord | undefined): GoldenRecord | null {
  if (!survivor) return null;
  return { ...golden, attributes: survivor.attributes };
}

function summaryOf(golden: GoldenRecord): GoldenSummary {
  return {
    goldenId: golden.goldenId,
    version: golden.version,
    status: golden.status,
    mergedInto: golden.mergedInto,
    legalName: golden.attributes.legalName?.value ?? null,
    sources: golden.sources.map((source) => `${source.system}:${source.id}`),
  };
}

function inputError(message: string): SynclineError {
  return SynclineError.permanent(ErrorCodes.INPUT_INVALID, message, { part: 'mdm' });
}
