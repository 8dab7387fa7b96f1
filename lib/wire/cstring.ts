/**
 * Fixed-size, NUL-terminated, zero-padded C strings (`char name[N]`).
 *
 * @module
 */

const encoder = new TextEncoder();
// Exec names and hostnames are bytes from the kernel; undecodable bytes become U+FFFD
// rather than an error, since the message must still fire its trigger.
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The longest prefix of the UTF-8 text `bytes` that fits in `max` bytes and ends on a
 * character boundary: a character that does not fit whole is left out, never cut.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Prefix } from "./cstring.ts";
 *
 * const bytes = new TextEncoder().encode("aé"); // 61 c3 a9
 * assert.deepEqual(utf8Prefix(bytes, 2), new Uint8Array([0x61]));
 * ```
 */
export function utf8Prefix<T extends ArrayBufferLike>(
  bytes: Uint8Array<T>,
  max: number,
): Uint8Array<T> {
  if (bytes.byteLength <= max) return bytes;
  let end = Math.max(0, max);
  // Back off over UTF-8 continuation bytes (10xxxxxx): bytes[end] is the first byte
  // left out, and it must start a character.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Write `value` as a `char[size]` at `offset` in `target`: UTF-8, cut at a character
 * boundary so that a NUL always fits, then zero-padded. Returns the next offset.
 */
export function encodeCStringInto(
  value: string,
  size: number,
  target: Uint8Array,
  offset: number,
): number {
  if (target.byteLength - offset < size) {
    throw new RangeError(
      `Cannot encode string: expected ${size} bytes of room, got ${target.byteLength - offset}`,
    );
  }
  let bytes = encoder.encode(value);
  if (bytes.includes(0)) {
    throw new TypeError(`Cannot encode string "${value}": it contains a NUL byte`);
  }
  bytes = utf8Prefix(bytes, size - 1);
  target.set(bytes, offset);
  target.fill(0, offset + bytes.byteLength, offset + size);
  return offset + size;
}

/**
 * Read a `char[size]` at `offset` of `bytes`: the text before the first NUL. A field with
 * no NUL is a `SyntaxError`; bytes after the NUL are ignored (C senders may leave garbage).
 */
export function decodeCString(
  bytes: Uint8Array,
  offset: number,
  size: number,
  field: string,
): string {
  if (bytes.byteLength - offset < size) {
    throw new RangeError(
      `Cannot decode ${field}: expected ${size} bytes, got ${
        Math.max(0, bytes.byteLength - offset)
      }`,
    );
  }
  const region = bytes.subarray(offset, offset + size);
  const nul = region.indexOf(0);
  if (nul < 0) {
    throw new SyntaxError(`Cannot decode ${field}: no NUL terminator in ${size} bytes`);
  }
  return decoder.decode(region.subarray(0, nul));
}
