/**
 * Salesforce record ids: 15 case-sensitive characters (3-character key prefix of the object, then the
 * record's part) or the same 15 plus a 3-character checksum suffix that makes the id safe in
 * case-insensitive places. The API answers with 18-character ids and accepts either form.
 */

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The 18-character form of a 15-character id. */
export function to18(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let i = 0; i < 5; i += 1) {
      const c = id15[chunk * 5 + i] ?? '';
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return id15 + suffix;
}

/** The 18-character id for a well-formed 15- or 18-character id; undefined when malformed. */
export function normalizeId(text: string): string | undefined {
  if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(text)) return undefined;
  const full = to18(text.slice(0, 15));
  if (text.length === 18 && text.slice(15).toUpperCase() !== full.slice(15)) return undefined;
  return full;
}

/** A new id for the object with the given key prefix (`001` Account, `006` Opportunity). */
export function newId(prefix: string, sequence: number): string {
  let part = '';
  let n = sequence;
  for (let i = 0; i < 5; i += 1) {
    part = BASE62[n % 62] + part;
    n = Math.floor(n / 62);
  }
  return to18(`${prefix}5g00000${part}`);
}
