/**
 * journald's native protocol, the encoding (systemd's "Native Journal Protocol"): an
 * entry is a list of fields, each `NAME=value\n`, or, for a value that is not plain text
 * (a newline, any other control byte), the binary-safe form `NAME\n`, the value's length
 * as a 64-bit little-endian integer, the value's bytes, then `\n`. A name may repeat
 * (a field with several values); bytes that are not UTF-8 take the binary-safe form too.
 * Names are 1 to 64 of `A-Z`, `0-9` and `_`, not starting
 * with a digit or with `_` (those are journald's own, trusted fields).
 *
 * @module
 */

/** One field of an entry: its name and its value (text, or bytes kept as they are). */
export type JournalField = readonly [name: string, value: string | Uint8Array];

const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const encoder = new TextEncoder();

/** Whether `name` is a field name a client may send. */
export function validFieldName(name: string): boolean {
  return NAME.test(name);
}

const strict = new TextDecoder("utf-8", { fatal: true });

// A value that takes the binary-safe form: a control byte (a newline first of all), or
// bytes that are not UTF-8 (which journalctl shows as a blob, never as text).
function needsBinary(value: Uint8Array): boolean {
  for (const b of value) if (b < 0x20 || b === 0x7f) return true;
  try {
    strict.decode(value);
    return false;
  } catch {
    return true;
  }
}

/**
 * The datagram of one entry. Throws a `TypeError` for a field name journald would refuse
 * (the entry would be dropped whole).
 *
 * @example
 * ```ts
 * import { encodeJournalEntry } from "./encoder.ts";
 *
 * const bytes = encodeJournalEntry([["MESSAGE", "hi"], ["NOTE", "a\nb"]]);
 * bytes.length; // => 28
 * // "MESSAGE=hi\n" "NOTE\n" 03 00 00 00 00 00 00 00 "a\nb" "\n"
 * ```
 */
export function encodeJournalEntry(fields: readonly JournalField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (part: Uint8Array) => {
    parts.push(part);
    size += part.byteLength;
  };
  for (const [name, value] of fields) {
    if (!validFieldName(name)) {
      throw new TypeError(
        `Cannot encode journal field "${name}": a name is 1 to 64 of A-Z, 0-9 and _, starting with a letter`,
      );
    }
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    if (!needsBinary(bytes)) {
      push(encoder.encode(`${name}=`));
      push(bytes);
      push(encoder.encode("\n"));
      continue;
    }
    push(encoder.encode(`${name}\n`));
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(bytes.byteLength), true);
    push(length);
    push(bytes);
    push(encoder.encode("\n"));
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * Decode an entry as {@linkcode encodeJournalEntry} writes it, both forms (for tests and
 * tools). Throws a `SyntaxError` for a malformed entry, a `RangeError` for a short one.
 */
export function decodeJournalEntry(bytes: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  let at = 0;
  while (at < bytes.byteLength) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0) throw new SyntaxError(`Cannot decode journal entry: no newline after byte ${at}`);
    const line = bytes.subarray(at, nl);
    const eq = line.indexOf(0x3d);
    if (eq >= 0) {
      out.push([decoder.decode(line.subarray(0, eq)), line.slice(eq + 1)]);
      at = nl + 1;
      continue;
    }
    const name = decoder.decode(line);
    if (nl + 9 > bytes.byteLength) {
      throw new RangeError(`Cannot decode journal field "${name}": its length is cut short`);
    }
    const length = view.getBigUint64(nl + 1, true);
    const start = nl + 9;
    if (BigInt(start) + length + 1n > BigInt(bytes.byteLength)) {
      throw new RangeError(`Cannot decode journal field "${name}": ${length} bytes announced`);
    }
    const end = start + Number(length);
    if (bytes[end] !== 0x0a) {
      throw new SyntaxError(`Cannot decode journal field "${name}": no newline after its value`);
    }
    out.push([name, bytes.slice(start, end)]);
    at = end + 1;
  }
  return out;
}
