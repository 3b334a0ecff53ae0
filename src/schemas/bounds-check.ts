/**
 * A structural check of Avro binary data against its writer schema, run before avsc decodes a record.
 *
 * Why: avsc trusts the block counts of arrays and maps. A six-byte poison record that claims an
 * array of 10^8 items makes it allocate and loop until the process runs out of memory (measured:
 * 10^7 items took 3.8 s and 620 MB, 10^8 aborted Node). A consumer must never crash on a record,
 * so every length and count is checked against the bytes actually left before anything is built:
 * an item of an array takes at least one byte (unless its type encodes to nothing), a string or bytes
 * value cannot be longer than what remains. The check allocates nothing and costs a fraction of the
 * decode itself.
 */
import type { AvroNode } from './model.ts';

/** Returns undefined when the bytes from `start` are one well-formed value, else what is wrong. */
export type BoundsCheck = (bytes: Buffer, start: number) => string | undefined;

/** Items of a type that encodes to zero bytes (null, empty records) are capped at this count. */
const MAX_EMPTY_ITEMS = 1_000_000;

class Malformed extends Error {}

interface Cursor {
  buf: Buffer;
  pos: number;
}

type Step = (cursor: Cursor) => void;

/** Compiles the check for a writer schema; compile once per schema and reuse. */
export function compileBoundsCheck(node: AvroNode): BoundsCheck {
  const steps = new Map<string, Step>();
  const sizes = new Map<string, number>();
  const step = compile(node, steps, sizes);
  return (bytes, start) => {
    const cursor: Cursor = { buf: bytes, pos: start };
    try {
      step(cursor);
    } catch (error) {
      if (error instanceof Malformed) return error.message;
      throw error;
    }
    if (cursor.pos !== bytes.length)
      return `${bytes.length - cursor.pos} bytes of trailing data after the value`;
    return undefined;
  };
}

function compile(node: AvroNode, steps: Map<string, Step>, sizes: Map<string, number>): Step {
  switch (node.kind) {
    case 'primitive':
      switch (node.type) {
        case 'null':
          return () => undefined;
        case 'boolean':
          return (c) => advance(c, 1, 'boolean');
        case 'int':
        case 'long':
          return (c) => void readLong(c);
        case 'float':
          return (c) => advance(c, 4, 'float');
        case 'double':
          return (c) => advance(c, 8, 'double');
        case 'bytes':
        case 'string': {
          const what = node.type;
          return (c) => {
            const length = readLong(c);
            if (length < 0) throw new Malformed(`negative ${what} length ${length} at byte ${c.pos}`);
            advance(c, length, what);
          };
        }
      }
      return () => undefined;
    case 'fixed': {
      const size = node.size;
      return (c) => advance(c, size, `fixed ${node.name}`);
    }
    case 'enum': {
      const count = node.symbols.length;
      return (c) => {
        const index = readLong(c);
        if (index < 0 || index >= count)
          throw new Malformed(`enum index ${index} out of range for ${node.name} at byte ${c.pos}`);
      };
    }
    case 'union': {
      const branches = node.branches.map((branch) => compile(branch, steps, sizes));
      return (c) => {
        const index = readLong(c);
        const branch = branches[index];
        if (!branch) throw new Malformed(`union branch ${index} out of range at byte ${c.pos}`);
        branch(c);
      };
    }
    case 'array': {
      const item = compile(node.items, steps, sizes);
      return blocks(item, minimumSize(node.items, sizes, new Set()), 'array');
    }
    case 'map': {
      const value = compile(node.values, steps, sizes);
      const key = compile({ kind: 'primitive', type: 'string' }, steps, sizes);
      const entry: Step = (c) => {
        key(c);
        value(c);
      };
      return blocks(entry, 1 + minimumSize(node.values, sizes, new Set()), 'map');
    }
    case 'record': {
      const known = steps.get(node.name);
      if (known) return known;
      // Registered before the fields compile, so recursive records refer to themselves.
      let fields: Step[] = [];
      const record: Step = (c) => {
        for (const field of fields) field(c);
      };
      steps.set(node.name, record);
      fields = node.fields.map((field) => compile(field.type, steps, sizes));
      return record;
    }
  }
}

function blocks(item: Step, minimum: number, what: string): Step {
  return (c) => {
    let total = 0;
    for (;;) {
      let count = readLong(c);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        readLong(c); // the block's size in bytes, which we do not need
      }
      const left = c.buf.length - c.pos;
      total += count;
      if (minimum > 0 ? count * minimum > left : total > MAX_EMPTY_ITEMS) {
        throw new Malformed(
          `${what} block of ${count} items cannot fit in the ${left} bytes left (at byte ${c.pos})`,
        );
      }
      for (let i = 0; i < count; i++) item(c);
    }
  };
}

/** The fewest bytes a value of the type can take. */
function minimumSize(node: AvroNode, sizes: Map<string, number>, visiting: Set<string>): number {
  switch (node.kind) {
    case 'primitive':
      return node.type === 'null' ? 0 : node.type === 'float' ? 4 : node.type === 'double' ? 8 : 1;
    case 'fixed':
      return node.size;
    case 'enum':
    case 'union':
    case 'array':
    case 'map':
      return 1;
    case 'record': {
      const known = sizes.get(node.name);
      if (known !== undefined) return known;
      if (visiting.has(node.name)) return 0;
      visiting.add(node.name);
      const size = node.fields.reduce((sum, field) => sum + minimumSize(field.type, sizes, visiting), 0);
      visiting.delete(node.name);
      sizes.set(node.name, size);
      return size;
    }
  }
}

function advance(c: Cursor, length: number, what: string): void {
  if (length > c.buf.length - c.pos)
    throw new Malformed(`${what} of ${length} bytes runs past the end (at byte ${c.pos})`);
  c.pos += length;
}

/** A zig-zag varint long, as Avro writes int and long; at most 10 bytes. */
function readLong(c: Cursor): number {
  const buf = c.buf;
  let pos = c.pos;
  let n = 0;
  let k = 0;
  let b: number;
  let fraction = 1;
  do {
    if (pos >= buf.length) throw new Malformed(`varint runs past the end (at byte ${pos})`);
    if (k >= 10) throw new Malformed(`varint longer than 10 bytes (at byte ${c.pos})`);
    b = buf[pos++] as number;
    // Multiplication, not shifts: values above 2^31 stay exact up to 2^53.
    n += (b & 0x7f) * fraction;
    fraction *= 128;
    k++;
  } while (b & 0x80);
  c.pos = pos;
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}
