/**
 * The frame header shared by both sockets.
 *
 * ```c
 * struct lttcomm_sessiond_notify_header {
 *     uint32_t cmd;       // a command code
 *     uint32_t msg_size;  // payload bytes that follow
 * };                      // 8 bytes, little-endian
 * ```
 *
 * @module
 */

/**
 * Size in bytes of an encoded {@linkcode Header}.
 *
 * @example
 * ```ts
 * import { HEADER_SIZE } from "./header.ts";
 * const frame = new Uint8Array(HEADER_SIZE + 522); // an ONANYCOREDUMP frame
 * ```
 */
export const HEADER_SIZE = 8;

/** Byte order of every integer on the wire: little-endian (docs/PROTOCOL.md, "Header"). */
export const LITTLE_ENDIAN = true;

/**
 * A frame header: the command and the size of the payload that follows.
 *
 * @example
 * ```ts
 * import { decodeHeader, type Header } from "./header.ts";
 * const header: Header = decodeHeader(new Uint8Array([1, 0, 0, 0, 10, 2, 0, 0]));
 * header.msgSize; // 522
 * ```
 */
export interface Header {
  /** Command code. */
  cmd: number;
  /** Number of payload bytes after the header. */
  msgSize: number;
}

/** Build a `DataView` over exactly the bytes of `u8`. */
export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}

/**
 * A `DataView` over `payload` once it holds at least `min` bytes; otherwise a
 * `RangeError`: "Cannot decode WHAT: expected at least MIN bytes, got N".
 */
export function viewOfAtLeast(what: string, payload: Uint8Array, min: number): DataView {
  if (payload.byteLength < min) {
    throw new RangeError(
      `Cannot decode ${what}: expected at least ${min} bytes, got ${payload.byteLength}`,
    );
  }
  return viewOf(payload);
}

/** Throw a `RangeError` naming `name` unless `value` fits a uint32. */
export function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot encode ${name}: expected a 32-bit unsigned integer, got ${value}`);
  }
}

/**
 * Encode `header` into `target` at `offset`; returns the offset after it.
 *
 * @example
 * ```ts
 * import { encodeHeaderInto } from "./header.ts";
 * const buf = new Uint8Array(8);
 * encodeHeaderInto({ cmd: 1, msgSize: 522 }, buf, 0); // 8
 * ```
 */
export function encodeHeaderInto(header: Header, target: Uint8Array, offset = 0): number {
  checkU32("cmd", header.cmd);
  checkU32("msg_size", header.msgSize);
  if (offset < 0 || target.byteLength - offset < HEADER_SIZE) {
    throw new RangeError(
      `Cannot encode header: expected ${HEADER_SIZE} bytes of room, got ${
        target.byteLength - offset
      }`,
    );
  }
  const view = viewOf(target);
  view.setUint32(offset, header.cmd, LITTLE_ENDIAN);
  view.setUint32(offset + 4, header.msgSize, LITTLE_ENDIAN);
  return offset + HEADER_SIZE;
}

/**
 * Decode the header at the start of `bytes` (extra bytes after it are ignored: they are
 * the payload).
 *
 * @example
 * ```ts
 * import { decodeHeader } from "./header.ts";
 * decodeHeader(new Uint8Array([1, 0, 0, 0, 10, 2, 0, 0])); // { cmd: 1, msgSize: 522 }
 * ```
 */
export function decodeHeader(bytes: Uint8Array): Header {
  if (bytes.byteLength < HEADER_SIZE) {
    throw new RangeError(
      `Cannot decode header: expected ${HEADER_SIZE} bytes, got ${bytes.byteLength}`,
    );
  }
  const view = viewOf(bytes);
  return {
    cmd: view.getUint32(0, LITTLE_ENDIAN),
    msgSize: view.getUint32(4, LITTLE_ENDIAN),
  };
}
