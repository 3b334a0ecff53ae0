/**
 * The raw topics' schemas, for the connectors: the check that decides between publishing a signed
 * event and refusing it with a 422 (every problem named by field), and the encoding in the Confluent
 * wire format with the schema id registered for the topic.
 */
import type { Catalog } from '../schemas/catalog.ts';
import type { Serde } from '../schemas/serde.ts';
import { schemaProblems } from './avro-values.ts';
import type { RawEventEncoder } from './raw-event-sink.ts';
import type { FieldProblem, RawEvent } from './source.ts';

export class RawRecordCodec implements RawEventEncoder {
  private readonly catalog: Catalog;
  private readonly serde: Serde;

  constructor(catalog: Catalog, serde: Serde) {
    this.catalog = catalog;
    this.serde = serde;
  }

  /** Everything that keeps the record from being encoded; empty when it fits its topic's schema. */
  problems(event: RawEvent): FieldProblem[] {
    return schemaProblems(this.catalog.topic(event.topic).type, event.value);
  }

  encode(event: RawEvent): Promise<Buffer> {
    return this.serde.encode(event.topic, event.value);
  }

  /**
   * Looks up the schema id of every topic once, so that a subject missing from the registry stops
   * the start-up with its name rather than failing the first request of that kind.
   */
  async prepare(topics: readonly string[]): Promise<void> {
    await Promise.all(topics.map((topic) => this.serde.writerId(topic)));
  }
}
