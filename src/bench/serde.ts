/**
 * `syncline bench serde`: Avro encode and decode through Syncline's serde (Confluent wire format,
 * cached schema id and reader), beside JSON.stringify/JSON.parse of the same records, in one run,
 * for every canonical record type. Both sides go to and from a Buffer, as a Kafka value must.
 *
 * Reproducible: records come from the seeded sample generator (same seed, same records), every
 * measurement has warm-up rounds that are not counted, then several rounds; the median round is
 * reported. No registry is needed: the schemas are served from memory, exactly as the serde sees
 * them once its caches are warm.
 */
import { createRequire } from 'node:module';
import type { Catalog, TopicSchema } from '../schemas/catalog.ts';
import { loadCatalog } from '../schemas/catalog.ts';
import { sampleValues } from '../schemas/samples.ts';
import { InMemorySchemaSource, Serde, bindingsFromCatalog } from '../schemas/serde.ts';
import { median } from './rounds.ts';

export interface SerdeBenchOptions {
  /** Records per schema per round; default 2000. */
  records?: number;
  /** Counted rounds; the median is reported. Default 9. */
  rounds?: number;
  /** Rounds run first and not counted: avsc's generated readers and writers need many calls before V8 optimises them. Default 10. */
  warmupRounds?: number;
  /** Seed of the sample records; default 42. */
  seed?: number;
  /** Topics to measure; default every canonical topic. */
  topics?: string[];
  catalog?: Catalog;
  onProgress?: (done: number, total: number, topic: string) => void;
}

export interface Throughput {
  encodePerSecond: number;
  decodePerSecond: number;
  bytesPerRecord: number;
}

export interface SerdeBenchRow {
  topic: string;
  schema: string;
  avro: Throughput;
  json: Throughput;
  /** Avro ÷ JSON: above 1 means Avro is faster (encode, decode) or larger (bytes). */
  ratio: { encode: number; decode: number; bytes: number };
}

export interface SerdeBenchReport {
  scenario: 'serde';
  seed: number;
  recordsPerRound: number;
  rounds: number;
  warmupRounds: number;
  node: string;
  avsc: string;
  rows: SerdeBenchRow[];
  /** Over all measured record types: geometric mean of the ratios, mean of the bytes per record. */
  summary: {
    encodeRatio: number;
    decodeRatio: number;
    bytesRatio: number;
    avroBytesPerRecord: number;
    jsonBytesPerRecord: number;
  };
}

export async function runSerdeBench(options: SerdeBenchOptions = {}): Promise<SerdeBenchReport> {
  const records = options.records ?? 2000;
  const rounds = options.rounds ?? 9;
  const warmupRounds = options.warmupRounds ?? 10;
  const seed = options.seed ?? 42;
  const catalog = options.catalog ?? loadCatalog();
  const entries = options.topics
    ? options.topics.map((topic) => catalog.topic(topic))
    : catalog.topics.filter((entry) => entry.declaration.kind === 'canonical');

  const source = new InMemorySchemaSource();
  const serde = new Serde({ source, bindings: bindingsFromCatalog(catalog), autoRegister: true });
  const rows: SerdeBenchRow[] = [];
  for (const [index, entry] of entries.entries()) {
    rows.push(await measure(serde, entry, records, rounds, warmupRounds, seed + index));
    options.onProgress?.(index + 1, entries.length, entry.topic);
  }
  return {
    scenario: 'serde',
    seed,
    recordsPerRound: records,
    rounds,
    warmupRounds,
    node: process.version,
    avsc: avscVersion(),
    rows,
    summary: {
      encodeRatio: geometricMean(rows.map((row) => row.ratio.encode)),
      decodeRatio: geometricMean(rows.map((row) => row.ratio.decode)),
      bytesRatio: geometricMean(rows.map((row) => row.ratio.bytes)),
      avroBytesPerRecord: round(mean(rows.map((row) => row.avro.bytesPerRecord)), 1),
      jsonBytesPerRecord: round(mean(rows.map((row) => row.json.bytesPerRecord)), 1),
    },
  };
}

async function measure(
  serde: Serde,
  entry: TopicSchema,
  count: number,
  rounds: number,
  warmup: number,
  seed: number,
): Promise<SerdeBenchRow> {
  const values = sampleValues(entry.node, count, seed);
  const id = await serde.writerId(entry.topic);
  const topic = entry.topic;

  const avroBuffers = values.map((value) => serde.encodeWith(topic, id, value));
  const jsonBuffers = values.map((value) => Buffer.from(JSON.stringify(value)));
  // Check once, outside the timed loops, that both sides really round-trip the records.
  const decoded = await serde.decode(topic, avroBuffers[0]);
  if (JSON.stringify(decoded) !== JSON.stringify(values[0]))
    throw new Error(`${topic}: Avro round trip changed the record`);

  const work: Record<Measure, () => void | Promise<void>> = {
    avroEncode: () => {
      for (const value of values) serde.encodeWith(topic, id, value);
    },
    jsonEncode: () => {
      for (const value of values) Buffer.from(JSON.stringify(value));
    },
    avroDecode: async () => {
      for (const buffer of avroBuffers) await serde.decode(topic, buffer);
    },
    jsonDecode: async () => {
      // Awaited per record like the Avro side, so both pay the same for the consumer loop's await.
      for (const buffer of jsonBuffers) await Promise.resolve(JSON.parse(buffer.toString('utf8')));
    },
  };
  const { avroEncode, avroDecode, jsonEncode, jsonDecode } = await timeInterleaved(
    work,
    rounds,
    warmup,
    count,
  );

  const avro = {
    encodePerSecond: avroEncode,
    decodePerSecond: avroDecode,
    bytesPerRecord: round(averageLength(avroBuffers), 1),
  };
  const json = {
    encodePerSecond: jsonEncode,
    decodePerSecond: jsonDecode,
    bytesPerRecord: round(averageLength(jsonBuffers), 1),
  };
  return {
    topic,
    schema: entry.fullName,
    avro,
    json,
    ratio: {
      encode: round(avro.encodePerSecond / json.encodePerSecond, 2),
      decode: round(avro.decodePerSecond / json.decodePerSecond, 2),
      bytes: round(avro.bytesPerRecord / json.bytesPerRecord, 2),
    },
  };
}

type Measure = 'avroEncode' | 'jsonEncode' | 'avroDecode' | 'jsonDecode';

/**
 * Records per second of the median counted round of each measurement. The measurements take turns
 * within every round, in a rotating order, so that a noisy neighbour or a GC pause hurts all of them
 * alike rather than whichever happened to run at that moment.
 */
async function timeInterleaved(
  work: Record<Measure, () => void | Promise<void>>,
  rounds: number,
  warmup: number,
  count: number,
): Promise<Record<Measure, number>> {
  const names = Object.keys(work) as Measure[];
  const rates: Record<Measure, number[]> = { avroEncode: [], jsonEncode: [], avroDecode: [], jsonDecode: [] };
  for (let round = 0; round < warmup + rounds; round++) {
    for (let turn = 0; turn < names.length; turn++) {
      const name = names[(round + turn) % names.length] as Measure;
      const started = process.hrtime.bigint();
      await work[name]();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (round >= warmup) rates[name].push(count / seconds);
    }
  }
  return {
    avroEncode: median(rates.avroEncode),
    jsonEncode: median(rates.jsonEncode),
    avroDecode: median(rates.avroDecode),
    jsonDecode: median(rates.jsonDecode),
  };
}

function averageLength(buffers: Buffer[]): number {
  return buffers.reduce((sum, buffer) => sum + buffer.length, 0) / buffers.length;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function geometricMean(values: number[]): number {
  if (values.length === 0) return 0;
  return round(Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length), 2);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function avscVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('avsc/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The report as a table for people. */
export function formatSerdeBench(report: SerdeBenchReport): string {
  const header = [
    'record',
    'avro enc/s',
    'json enc/s',
    'ratio',
    'avro dec/s',
    'json dec/s',
    'ratio',
    'avro B',
    'json B',
    'size',
  ];
  const lines = report.rows.map((row) => [
    row.schema.split('.').slice(-2).join('.'),
    fmt(row.avro.encodePerSecond),
    fmt(row.json.encodePerSecond),
    `${row.ratio.encode.toFixed(2)}x`,
    fmt(row.avro.decodePerSecond),
    fmt(row.json.decodePerSecond),
    `${row.ratio.decode.toFixed(2)}x`,
    row.avro.bytesPerRecord.toFixed(0),
    row.json.bytesPerRecord.toFixed(0),
    `${row.ratio.bytes.toFixed(2)}x`,
  ]);
  const s = report.summary;
  lines.push([
    'all (geo. mean)',
    '',
    '',
    `${s.encodeRatio.toFixed(2)}x`,
    '',
    '',
    `${s.decodeRatio.toFixed(2)}x`,
    s.avroBytesPerRecord.toFixed(0),
    s.jsonBytesPerRecord.toFixed(0),
    `${s.bytesRatio.toFixed(2)}x`,
  ]);
  const widths = header.map((_, column) =>
    Math.max(...[header, ...lines].map((line) => (line[column] ?? '').length)),
  );
  const render = (line: string[]): string =>
    line
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [
    `bench serde: ${report.recordsPerRound} records per round, median of ${report.rounds} rounds after ${report.warmupRounds} warm-up, seed ${report.seed}, node ${report.node}, avsc ${report.avsc}`,
    render(header),
    ...lines.map(render),
    'ratio = Avro ÷ JSON (records/s: above 1 is faster; size: below 1 is smaller). Avro bytes include the 5-byte wire format header.',
  ].join('\n');
}

function fmt(value: number): string {
  return value.toLocaleString('en-US');
}
