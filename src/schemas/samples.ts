/**
 * Reproducible sample records for any schema: a seeded generator (the same seed gives the same
 * records on every machine) that fills fields with plausible values, so round-trip tests and the
 * serde benchmark work on records shaped like production ones (UUIDs where the schema says uuid,
 * recent timestamps, ISO currency and country codes, amounts in minor units, short texts, a few
 * array items) rather than avsc's uniformly random ones.
 */
import type { AvroNode, RecordField } from './model.ts';
import { nullableOf } from './model.ts';

/** A deterministic random source in [0, 1): mulberry32, small and good enough for test data. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleOptions {
  /** Probability of null for an optional field; default 0.2. */
  nullRate?: number;
  /** Most items in a generated array or map; default 3. */
  maxItems?: number;
}

/** `count` sample values of `schema`, the same for the same seed. */
export function sampleValues(
  schema: AvroNode,
  count: number,
  seed: number,
  options: SampleOptions = {},
): unknown[] {
  const generator = new SampleGenerator(seededRandom(seed), options);
  return Array.from({ length: count }, () => generator.value(schema, '', 0));
}

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'SEK'];
const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'NL', 'SE', 'JP', 'CH'];
const WORDS = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'stark',
  'wayne',
  'tyrell',
  'hooli',
  'vandelay',
  'wonka',
  'soylent',
  'cyberdyne',
];
const SUFFIXES = ['GmbH', 'Inc.', 'Ltd', 'SAS', 'AB', 'BV', 'LLC', ''];
const FROM_MS = Date.UTC(2024, 0, 1);
const SPAN_MS = 2 * 365 * 24 * 3600 * 1000;
const MAX_DEPTH = 8;

class SampleGenerator {
  private readonly random: Random;
  private readonly nullRate: number;
  private readonly maxItems: number;

  constructor(random: Random, options: SampleOptions) {
    this.random = random;
    this.nullRate = options.nullRate ?? 0.2;
    this.maxItems = options.maxItems ?? 3;
  }

  value(node: AvroNode, name: string, depth: number): unknown {
    switch (node.kind) {
      case 'primitive':
        return this.primitive(node.type, node.logicalType, name);
      case 'enum':
        return node.symbols[this.int(node.symbols.length)];
      case 'fixed':
        return this.bytes(node.size);
      case 'array': {
        const count = depth >= MAX_DEPTH ? 0 : this.int(this.maxItems + 1);
        return Array.from({ length: count }, () => this.value(node.items, name, depth + 1));
      }
      case 'map': {
        const count = depth >= MAX_DEPTH ? 0 : this.int(this.maxItems + 1);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) out[`${this.word()}_${i}`] = this.value(node.values, name, depth + 1);
        return out;
      }
      case 'union': {
        const inner = nullableOf(node);
        if (inner)
          return depth >= MAX_DEPTH || this.random() < this.nullRate
            ? null
            : this.value(inner, name, depth + 1);
        const branches =
          depth >= MAX_DEPTH ? node.branches.filter((b) => b.kind === 'primitive') : node.branches;
        const choices = branches.length > 0 ? branches : node.branches;
        return this.value(choices[this.int(choices.length)] as AvroNode, name, depth + 1);
      }
      case 'record': {
        const out: Record<string, unknown> = {};
        for (const field of node.fields) out[field.name] = this.field(field, depth + 1);
        return out;
      }
    }
  }

  private field(field: RecordField, depth: number): unknown {
    return this.value(field.type, field.name, depth);
  }

  private primitive(type: string, logicalType: string | undefined, name: string): unknown {
    const lower = name.toLowerCase();
    switch (type) {
      case 'null':
        return null;
      case 'boolean':
        return this.random() < 0.5;
      case 'int':
        if (logicalType === 'date') return Math.floor((FROM_MS + this.random() * SPAN_MS) / 86_400_000);
        if (lower.includes('probability')) return this.int(101);
        return this.int(lower.includes('number') || lower.includes('sequence') ? 100 : 500) + 1;
      case 'long':
        if (logicalType === 'timestamp-millis') return FROM_MS + Math.floor(this.random() * SPAN_MS);
        if (logicalType === 'timestamp-micros') return (FROM_MS + Math.floor(this.random() * SPAN_MS)) * 1000;
        if (/(amount|price|total|balance|tax|value|limit|exposure|due|paid|remaining)/.test(lower))
          return this.int(5_000_000);
        return this.int(1_000_000_000) + 1;
      case 'float':
      case 'double':
        return lower.includes('score') || lower.includes('threshold')
          ? Math.round(this.random() * 1000) / 1000
          : Math.round(this.random() * 10_000) / 100;
      case 'bytes':
        return this.bytes(this.int(16));
      case 'string':
        return this.text(logicalType, name, lower);
      default:
        return null;
    }
  }

  private text(logicalType: string | undefined, name: string, lower: string): string {
    if (
      logicalType === 'uuid' ||
      lower === 'eventid' ||
      lower.endsWith('goldenid') ||
      lower === 'correlationid'
    )
      return this.uuid();
    if (lower === 'currency' || lower.endsWith('currencyisocode')) return this.pick(CURRENCIES);
    if (lower.includes('country')) return this.pick(COUNTRIES);
    if (lower.includes('email')) return `${this.word()}@${this.word()}.example`;
    if (lower === 'domain' || lower.includes('website') || lower.includes('url'))
      return `https://${this.word()}.example`;
    if (lower === 'eventtype' || lower === 'type') return `${this.word()}.${this.word()}.updated`;
    if (lower.includes('name'))
      return `${capital(this.word())} ${capital(this.word())} ${this.pick(SUFFIXES)}`.trim();
    if (lower === 'id' || lower.endsWith('id') || lower.endsWith('number') || lower.endsWith('key'))
      return `${name.slice(0, 3)}_${this.token(14)}`;
    if (
      lower.includes('description') ||
      lower.includes('notes') ||
      lower.includes('doc') ||
      lower.includes('message')
    ) {
      return Array.from({ length: 3 + this.int(8) }, () => this.word()).join(' ');
    }
    return this.token(4 + this.int(12));
  }

  private uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16));
    hex[12] = '4';
    hex[16] = (this.int(4) + 8).toString(16);
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }

  private token(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  private bytes(size: number): Buffer {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i++) out[i] = this.int(256);
    return out;
  }

  private word(): string {
    return this.pick(WORDS);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  private int(below: number): number {
    return Math.floor(this.random() * below);
  }
}

function capital(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
