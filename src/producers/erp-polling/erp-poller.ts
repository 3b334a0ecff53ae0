/**
 * Polling connector for the ERP customer master (customers and their credit standing): pages through
 * the API's changes in (updatedAt, id) order, publishes each page to `raw.erp.customer`, and only
 * then moves its cursor in PostgreSQL.
 *
 * No gaps: the cursor never passes a record that is not acknowledged by Kafka. No duplicates: before
 * a page goes out, the cursor row notes it as pending with the topic's end offsets; after a crash
 * (or a publish whose fate is unknown) the connector reads back what reached Kafka since those
 * offsets and publishes only the records that are missing. Throttling (429 with Retry-After) and
 * server errors are waited out with exponential backoff and jitter.
 */
import type { Admin, Kafka } from 'kafkajs';
import { classify, ErrorCodes, SynclineError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { PublishOptions } from '../acknowledged-publisher.ts';
import { buildEnvelope } from '../envelope.ts';
import type { IngestMetrics } from '../ingest-metrics.ts';
import { avroEnvelope } from '../avro-values.ts';
import { rawTopic, SourceSystems, type FieldProblem, type RawEvent } from '../source.ts';
import {
  compareCursors,
  cursorOf,
  describeCursor,
  type ErpCustomer,
  type PollCursor,
} from './erp-customer.ts';
import { customerMaster, type PollMeta } from './erp-records.ts';
import type { ErpClient } from './erp-client.ts';
import type { PgCursorStore } from './cursor-store.ts';
import { eventIdsSince } from './published-scan.ts';

export const ERP_CUSTOMER_TOPIC = rawTopic(SourceSystems.ERP, 'customer');

export interface PollerSink {
  publish(events: readonly RawEvent[], options?: PublishOptions): Promise<void>;
  /** Resolves once everything published so far has settled at the broker. */
  flush(): Promise<void>;
}

export interface ErpPollerOptions {
  /** The connector's name: the key of its cursor row and lock, e.g. `erp`. */
  name: string;
  client: ErpClient;
  /** Opens a connection to the cursor store; called again after the connection is lost. */
  openStore: () => Promise<PgCursorStore>;
  sink: PollerSink;
  kafka: Kafka;
  logger: Logger;
  metrics?: IngestMetrics;
  /** The Kafka topic `raw.erp.customer` is written to (the sink's mapping); the same name by default. */
  topicOf?: (topic: string) => string;
  pageSize?: number;
  /** Pause between polls once the connector has caught up. */
  intervalMs?: number;
  /** Upper bound of the backoff after failures. */
  maxBackoffMs?: number;
  publishTimeoutMs?: number;
  /** The schema check of a record: its problems, none when it can be encoded. */
  validate?: (event: RawEvent) => FieldProblem[];
  /** Called after a page is acknowledged by Kafka and before its cursor is committed (fault tests). */
  afterPublish?: (pageNumber: number) => void | Promise<void>;
}

/** Where the loop stands, and what it knows reached Kafka ahead of its cursor after a crash. */
interface Position {
  cursor: PollCursor | undefined;
  recovered?: Set<string> | undefined;
  until?: PollCursor | undefined;
  recoveredOffsets?: Record<string, string> | undefined;
}

/** A server asking us to wait longer than this is not taken literally. */
const MAX_RETRY_AFTER_MS = 15 * 60_000;

export interface PollerStatus {
  state: 'starting' | 'standby' | 'polling' | 'backing-off' | 'stopped';
  cursor: PollCursor | undefined;
  pagesPublished: number;
  recordsPublished: number;
  lastError: string | undefined;
}

export class ErpPoller {
  private readonly options: ErpPollerOptions;
  private readonly logger: Logger;
  /** The Kafka topic the records land on, where a restart looks for what made it. */
  private readonly topic: string;
  private readonly pageSize: number;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;
  private store: PgCursorStore | undefined;
  private admin: Admin | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;
  private pageInPoll = 0;
  private readonly status: PollerStatus = {
    state: 'starting',
    cursor: undefined,
    pagesPublished: 0,
    recordsPublished: 0,
    lastError: undefined,
  };

  constructor(options: ErpPollerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'erp-poller', connector: options.name });
    this.topic = (options.topicOf ?? ((topic: string) => topic))(ERP_CUSTOMER_TOPIC);
    this.pageSize = options.pageSize ?? 200;
    this.intervalMs = options.intervalMs ?? 5000;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  /** Starts polling in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Finishes the page at hand (so no page is left pending), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await this.release();
    this.status.state = 'stopped';
  }

  snapshot(): Readonly<PollerStatus> {
    return { ...this.status };
  }

  private async run(): Promise<void> {
    let position: Position | undefined;
    while (!this.stopping) {
      try {
        if (!this.store) {
          this.store = await this.options.openStore();
          if (!(await this.store.tryLock(this.options.name))) {
            await this.release();
            this.status.state = 'standby';
            this.logger.info('another instance holds this connector; standing by');
            await this.sleep(this.intervalMs);
            continue;
          }
          position = undefined;
        }
        position ??= await this.recover(this.store);
        this.status.state = 'polling';
        const page = await this.options.client.customersChangedAfter(position.cursor, this.pageSize);
        const last = page.data.at(-1);
        if (!last) {
          this.pageInPoll = 0;
          this.options.metrics?.pollPages.inc({ source: this.options.name, outcome: 'empty' });
          this.failures = 0;
          await this.sleep(this.intervalMs);
          continue;
        }
        const cursorAfter = cursorOf(last);
        const first = page.data[0]!;
        if (position.cursor && compareCursors(cursorOf(first), position.cursor) <= 0) {
          // An API that hands out records at or before the cursor would have us publish the same
          // page forever: stop and say so rather than loop.
          throw SynclineError.permanent(
            ErrorCodes.INPUT_INVALID,
            `ERP API returned customer ${first.customerNumber} changed at ${first.updatedAt}, not after the cursor (${describeCursor(position.cursor)})`,
            { connector: this.options.name },
          );
        }
        this.pageInPoll += 1;
        const poll: PollMeta = {
          cursor: describeCursor(position.cursor),
          page: this.pageInPoll,
          polledAt: Date.now(),
        };
        const events = page.data
          .map((customer) => this.toRawEvent(customer, poll))
          .filter((event) => !position?.recovered?.has(event.envelope.eventId));
        const problems = events.flatMap(
          (event) =>
            this.options
              .validate?.(event)
              .map((problem) => `${event.key}: ${problem.path} ${problem.message}`) ?? [],
        );
        if (problems.length > 0) {
          // A record the schema cannot hold stops the connector here rather than skip it (a gap):
          // an operator fixes the data or the schema, and polling goes on from this page.
          throw SynclineError.permanent(
            ErrorCodes.INPUT_INVALID,
            `ERP records do not fit ${this.topic}: ${problems.slice(0, 5).join('; ')}`,
            {
              connector: this.options.name,
              topic: this.topic,
            },
          );
        }
        if (events.length > 0) {
          // While recovering, the pending page keeps the offsets of the first crash: a second crash
          // must read back from there too.
          const offsets = position.recoveredOffsets ?? (await this.endOffsets());
          const pendingUntil =
            position.until && compareCursors(position.until, cursorAfter) > 0 ? position.until : cursorAfter;
          await this.store.markPending(this.options.name, {
            cursorAfter: pendingUntil,
            topic: this.topic,
            offsets,
          });
          try {
            await this.options.sink.publish(events, { timeoutMs: this.options.publishTimeoutMs ?? 30_000 });
          } catch (error) {
            // Some of the page may have landed, or may still land: let the request settle, then
            // read back what made it before trying again.
            position = undefined;
            await this.options.sink.flush().catch(() => undefined);
            throw error;
          }
          this.status.pagesPublished += 1;
          this.status.recordsPublished += events.length;
          await this.options.afterPublish?.(this.status.pagesPublished);
        }
        const recovering = position.until !== undefined && compareCursors(cursorAfter, position.until) < 0;
        await this.store.commit(this.options.name, cursorAfter, recovering);
        this.options.metrics?.pollPages.inc({ source: this.options.name, outcome: 'published' });
        this.options.metrics?.pollLagSeconds.set(
          { source: this.options.name },
          Math.max(0, (Date.now() - Date.parse(last.updatedAt)) / 1000),
        );
        position.cursor = cursorAfter;
        this.status.cursor = cursorAfter;
        if (position.until && !recovering) {
          position.recovered = undefined;
          position.until = undefined;
          position.recoveredOffsets = undefined;
        }
        this.failures = 0;
        this.status.lastError = undefined;
        if (!page.page.hasMore) {
          this.pageInPoll = 0;
          await this.sleep(this.intervalMs);
        }
      } catch (error) {
        await this.backOff(classify(error, { connector: this.options.name }));
      }
    }
  }

  /** Loads the cursor and, when a page was left pending, finds out what of it reached Kafka. */
  private async recover(store: PgCursorStore): Promise<Position> {
    const state = await store.load(this.options.name);
    this.status.cursor = state.cursor;
    if (!state.pending) return { cursor: state.cursor };
    this.logger.warn(
      { pending: state.pending.cursorAfter },
      'a page was published without its cursor commit; reading back what reached Kafka',
    );
    const recovered = await eventIdsSince(
      this.options.kafka,
      state.pending.topic,
      state.pending.offsets,
      this.logger,
    );
    if (recovered.size === 0) {
      await store.clearPending(this.options.name);
      return { cursor: state.cursor };
    }
    return {
      cursor: state.cursor,
      recovered,
      until: state.pending.cursorAfter,
      recoveredOffsets: state.pending.offsets,
    };
  }

  private toRawEvent(customer: ErpCustomer, poll: PollMeta): RawEvent {
    const changedAt = Date.parse(customer.updatedAt);
    const creditChangedAt =
      typeof customer.creditStatusChangedAt === 'string'
        ? Date.parse(customer.creditStatusChangedAt)
        : Number.NaN;
    const eventType =
      customer.rowVersion === 1
        ? 'erp.customer.created'
        : creditChangedAt === changedAt
          ? 'erp.customer.credit_status_changed'
          : 'erp.customer.updated';
    const envelope = buildEnvelope({
      system: SourceSystems.ERP,
      instance: customer.companyCode,
      eventType,
      // The ERP has no events, only versions of rows: a row version is the event.
      sourceEventId: `${customer.companyCode}/${customer.customerNumber}@${customer.rowVersion}`,
      sourceEntityId: customer.customerNumber,
      sourceVersion: customer.rowVersion,
      occurredAt: changedAt,
      ingestedAt: poll.polledAt,
    });
    return {
      topic: ERP_CUSTOMER_TOPIC,
      key: customer.customerNumber,
      envelope,
      value: { envelope: avroEnvelope(envelope), poll: { ...poll }, customer: customerMaster(customer) },
    };
  }

  private async endOffsets(): Promise<Record<string, string>> {
    if (!this.admin) {
      const admin = this.options.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return Object.fromEntries(offsets.map((partition) => [String(partition.partition), partition.high]));
  }

  private async backOff(failure: SynclineError): Promise<void> {
    this.failures += 1;
    this.status.state = 'backing-off';
    this.status.lastError = failure.message;
    const outcome = failure.code === ErrorCodes.TARGET_RATE_LIMITED ? 'throttled' : 'failed';
    this.options.metrics?.pollPages.inc({ source: this.options.name, outcome });
    // A lost database connection lost the lock too: take both again before the next page.
    if (failure.code === ErrorCodes.DATABASE_UNAVAILABLE) await this.release();
    if (failure.code === ErrorCodes.BROKER_UNAVAILABLE && this.admin) {
      await this.admin.disconnect().catch(() => undefined);
      this.admin = undefined;
    }
    const exponential = Math.min(this.maxBackoffMs, 500 * 2 ** Math.min(this.failures - 1, 16));
    // Full jitter, but never sooner than the server asked for.
    const delay = Math.max(
      Math.min(failure.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS),
      Math.round(Math.random() * exponential),
    );
    const log = failure.retriable ? this.logger.warn.bind(this.logger) : this.logger.error.bind(this.logger);
    log({ err: failure.toJSON(), delayMs: delay, failures: this.failures }, 'poll failed; backing off');
    await this.sleep(delay);
  }

  private async release(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    await store?.close();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
