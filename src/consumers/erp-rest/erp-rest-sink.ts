/**
 * The ERP sink through the ERP's REST API (group `erp-rest-sink`): customers, contracts, orders
 * and invoices; several customers at once, each customer's records one at a time in partition
 * order (a customer's records are all in one partition). The requests of all customers being written
 * go out together as `$batch` requests (see erp-rest-client.ts).
 *
 * Per record: read the entity by its alternate key (golden id, document number) → none: create it
 * with the record's Idempotency-Key → there: compare the version the ERP holds (`externalVersion`)
 * with the record's → older: `stale`, equal: `duplicate` (this version is there already), newer:
 * update with If-Match (the ETag read) and the Idempotency-Key. A 409 (created meanwhile) or a 412
 * (changed meanwhile) reads again, so a stale version never overwrites a newer one even with two
 * writers. The Idempotency-Key makes a retried request whose answer was lost take effect once.
 *
 * Documents need the ERP customer (its number): a document of a customer the ERP does not have yet
 * (canonical.customer and canonical.order are different topics, so no order between them is
 * promised) fails retriably; the runner backs off, and dead-letters it only after its budget.
 */
import { ErrorCodes, SynclineError, classify } from '../../runtime/errors.ts';
import type { Contract, Customer, Invoice, Order } from '../../schemas/generated/canonical.ts';
import { GroupIds, TopicNames } from '../../topology/topics.ts';
import type { Sink, SinkOutcome, SinkRecord } from '../sink.ts';
import { ErpRestClient, type ErpEntity } from './erp-rest-client.ts';
import {
  contractBody,
  customerBody,
  customerTarget,
  customerUpdateBody,
  invoiceBody,
  orderBody,
  type ErpTarget,
} from './erp-rest-mapping.ts';

export interface ErpRestSinkOptions {
  /** The company's API root: `http://host:port/api/v2.0/companies(<id>)`. */
  apiUrl: string;
  token: string;
  /** Per HTTP call. Default 10 s. */
  timeoutMs?: number;
  /**
   * Customers (keys) written at once within one call; each key's records stay in order. Their
   * requests of the same moment go out as one `$batch`, so this is also how full batches get.
   * Default 100.
   */
  concurrency?: number;
  /** Most operations per `$batch` request; 1 turns batching off. Default 100. */
  maxBatchOperations?: number;
}

const C = TopicNames.canonical;
const MAX_READ_AGAIN = 4;
const CUSTOMER_CACHE_LIMIT = 10_000;

interface Write {
  target: ErpTarget;
  create: Record<string, unknown>;
  update: Record<string, unknown>;
}

export class ErpRestSink implements Sink {
  readonly target = 'erp-rest';
  readonly groupId = GroupIds.erpRestSink;
  readonly topics = [C.customer, C.contract, C.order, C.invoice] as const;
  readonly #client: ErpRestClient;
  readonly #concurrency: number;
  /** Golden id → ERP customer number: numbers never change once assigned. */
  readonly #customerNumbers = new Map<string, string>();

  constructor(options: ErpRestSinkOptions) {
    this.#concurrency = Math.max(1, options.concurrency ?? 100);
    this.#client = new ErpRestClient({
      apiUrl: options.apiUrl,
      token: options.token,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxBatchOperations === undefined ? {} : { maxBatchOperations: options.maxBatchOperations }),
    });
  }

  /**
   * Keys (customers) are written concurrently, each key's records one after another in the given
   * order; a key stops at its first failure. The answer is the outcomes up to the first failure in
   * the given order: records of other keys after it that were written meanwhile come back from the
   * runner and are then answered `duplicate` (their version is at the ERP already).
   */
  async apply(records: readonly SinkRecord[]): Promise<SinkOutcome[]> {
    const outcomes: (SinkOutcome | undefined)[] = new Array<SinkOutcome | undefined>(records.length);
    const byKey = new Map<string, number[]>();
    records.forEach((record, index) => {
      const indexes = byKey.get(record.key) ?? [];
      indexes.push(index);
      byKey.set(record.key, indexes);
    });
    const chains = [...byKey.values()];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chains.length) {
        const chain = chains[next]!;
        next += 1;
        for (const index of chain) {
          const outcome = await this.#applyOne(records[index]!);
          outcomes[index] = outcome;
          if (outcome.status === 'failed') break;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, chains.length) }, worker));
    const answered: SinkOutcome[] = [];
    for (const outcome of outcomes) {
      if (outcome === undefined) break;
      answered.push(outcome);
      if (outcome.status === 'failed') break;
    }
    return answered;
  }

  probe(): Promise<void> {
    return this.#client.probe();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #applyOne(record: SinkRecord): Promise<SinkOutcome> {
    try {
      const write = await this.#writeOf(record);
      if (!write) return { status: 'ignored', reason: `no ERP entity for ${record.topic}` };
      return await this.#upsert(record, write);
    } catch (error) {
      return {
        status: 'failed',
        error: classify(error, { target: this.target, topic: record.topic, offset: record.position.offset }),
      };
    }
  }

  async #writeOf(record: SinkRecord): Promise<Write | undefined> {
    const { value, sourceVersion, occurredAt } = record;
    switch (record.topic) {
      case C.customer: {
        const customer = value as unknown as Customer;
        return {
          target: customerTarget(customer),
          create: customerBody(customer),
          update: customerUpdateBody(customer),
        };
      }
      case C.contract: {
        const contract = value as unknown as Contract;
        return this.#document(record, 'salesOrders', contractBody(contract, sourceVersion, occurredAt));
      }
      case C.order: {
        const order = value as unknown as Order;
        return this.#document(record, 'salesOrders', orderBody(order, sourceVersion));
      }
      case C.invoice: {
        const invoice = value as unknown as Invoice;
        return this.#document(record, 'salesInvoices', invoiceBody(invoice, sourceVersion, occurredAt));
      }
      default:
        return undefined;
    }
  }

  async #document(
    record: SinkRecord,
    set: 'salesOrders' | 'salesInvoices',
    body: Record<string, unknown>,
  ): Promise<Write> {
    const customerNumber = await this.#customerNumber(record.key);
    return {
      target: {
        set,
        keyName: 'externalDocumentNumber',
        keyValue: String(body.externalDocumentNumber),
        version: record.sourceVersion,
      },
      create: { ...body, customerNumber },
      update: body,
    };
  }

  async #customerNumber(goldenId: string): Promise<string> {
    const cached = this.#customerNumbers.get(goldenId);
    if (cached) return cached;
    const customer = await this.#client.findBy('customers', 'externalId', goldenId);
    if (!customer?.number) {
      throw SynclineError.retriable(
        ErrorCodes.TARGET_REJECTED,
        `the ERP has no customer for golden id ${goldenId} yet`,
        { target: this.target, reason: 'unknown customer' },
      );
    }
    if (this.#customerNumbers.size >= CUSTOMER_CACHE_LIMIT) this.#customerNumbers.clear();
    this.#customerNumbers.set(goldenId, customer.number);
    return customer.number;
  }

  async #upsert(record: SinkRecord, write: Write): Promise<SinkOutcome> {
    const { set, keyName, keyValue, version } = write.target;
    for (let reads = 0; reads < MAX_READ_AGAIN; reads += 1) {
      const existing: ErpEntity | undefined = await this.#client.findBy(set, keyName, keyValue);
      if (!existing) {
        const answer = await this.#client.create(set, write.create, record.idempotencyKey);
        if (answer.kind === 'written') return { status: answer.replayed ? 'duplicate' : 'applied' };
        continue; // created meanwhile (409), or the key's first attempt was just rolled back
      }
      const held = existing.externalVersion ?? null;
      if (held !== null && version < held) return { status: 'stale' };
      if (held !== null && version === held) return { status: 'duplicate' };
      const answer = await this.#client.update(
        set,
        existing.id,
        existing['@odata.etag'],
        write.update,
        record.idempotencyKey,
      );
      if (answer.kind === 'written') return { status: answer.replayed ? 'duplicate' : 'applied' };
      // 412 or 409: changed meanwhile; read again and decide again.
    }
    return {
      status: 'failed',
      error: SynclineError.retriable(
        ErrorCodes.TARGET_UNAVAILABLE,
        `the ERP ${set} entity kept changing while it was written (${MAX_READ_AGAIN} reads)`,
        { target: this.target },
      ),
    };
  }
}
