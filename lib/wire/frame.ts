/**
 * Framing over a byte stream: a fixed header, then exactly `msg_size` payload bytes.
 * A read is never assumed to return a whole message.
 *
 * @module
 */
import { decodeHeader, type Header, HEADER_SIZE } from "./header.ts";

/**
 * The part of `Deno.Conn` that framing needs.
 *
 * @example
 * ```ts
 * import type { ByteReader } from "./frame.ts";
 * // A reader over bytes in memory, in reads of one byte: what a test of a decoder uses.
 * function oneByteAtATime(bytes: Uint8Array): ByteReader {
 *   let at = 0;
 *   return {
 *     read(p) {
 *       if (at === bytes.byteLength) return Promise.resolve(null);
 *       p[0] = bytes[at++];
 *       return Promise.resolve(1);
 *     },
 *   };
 * }
 * ```
 */
export interface ByteReader {
  /** Read into `p`; resolves to the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * The part of `Deno.Conn` that writing a frame needs.
 *
 * @example
 * ```ts
 * import type { ByteWriter } from "./frame.ts";
 * // A writer that collects what it is given.
 * const written: number[] = [];
 * const writer: ByteWriter = {
 *   write(p) {
 *     written.push(...p);
 *     return Promise.resolve(p.byteLength);
 *   },
 * };
 * ```
 */
export interface ByteWriter {
  /** Write some of `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * A decoded frame: its header and its payload.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Frame, readFrame } from "./frame.ts";
 * const bytes = new Uint8Array([7, 0, 0, 0, 2, 0, 0, 0, 0xab, 0xcd]); // cmd 7, 2 bytes
 * let at = 0;
 * const reader = { // a stream over `bytes`; a Deno.Conn in real use
 *   read(p: Uint8Array): Promise<number | null> {
 *     const n = Math.min(p.byteLength, bytes.byteLength - at);
 *     p.set(bytes.subarray(at, at + n));
 *     at += n;
 *     return Promise.resolve(n === 0 ? null : n);
 *   },
 * };
 * const frame: Frame | null = await readFrame(reader, { maxPayload: () => 16 });
 * assert.deepEqual(frame?.header, { cmd: 7, msgSize: 2 });
 * assert.deepEqual(frame?.payload, new Uint8Array([0xab, 0xcd]));
 * ```
 */
export interface Frame {
  /** The frame's header. */
  header: Header;
  /** Exactly `header.msgSize` bytes. */
  payload: Uint8Array;
}

/**
 * Options of {@linkcode readFrame}.
 *
 * @example
 * ```ts
 * import { NotifyCommand, ONANYCOREDUMP_C_SIZE } from "./notify.ts";
 * import type { ReadFrameOptions } from "./frame.ts";
 * // What a daemon's notification socket accepts: command 1, at most C's 524 bytes.
 * const options: ReadFrameOptions = {
 *   maxPayload: (cmd) => cmd === NotifyCommand.ONANYCOREDUMP ? ONANYCOREDUMP_C_SIZE : -1,
 * };
 * ```
 */
export interface ReadFrameOptions {
  /**
   * Largest payload accepted for a command; a bigger `msg_size` is refused before any of
   * it is read. Return -1 for an unknown command.
   */
  maxPayload(cmd: number): number;
}

/**
 * Thrown by {@linkcode readFrame} for a frame that cannot be accepted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameError, readFrame } from "./frame.ts";
 * const bytes = new Uint8Array([7, 0, 0, 0, 2, 0, 0, 0, 0xab, 0xcd]); // cmd 7, 2 bytes
 * let at = 0;
 * const reader = { // a stream over `bytes`; a Deno.Conn in real use
 *   read(p: Uint8Array): Promise<number | null> {
 *     const n = Math.min(p.byteLength, bytes.byteLength - at);
 *     p.set(bytes.subarray(at, at + n));
 *     at += n;
 *     return Promise.resolve(n === 0 ? null : n);
 *   },
 * };
 * // Command 7 is not one this reader accepts: refused before its payload is read.
 * await assert.rejects(readFrame(reader, { maxPayload: () => -1 }), (e) => {
 *   return e instanceof FrameError && e.kind === "unknown-command" && e.header?.cmd === 7;
 * });
 * ```
 */
export class FrameError extends Error {
  /** What was wrong, for a reply's status. */
  readonly kind: "eof" | "too-large" | "unknown-command";
  /** The header, when it was read. */
  readonly header?: Header;
  /** Build a frame error. */
  constructor(kind: FrameError["kind"], message: string, header?: Header) {
    super(message);
    this.name = "FrameError";
    this.kind = kind;
    this.header = header;
  }
}

/**
 * Fill `buf` completely from `reader`. Returns the number of bytes read: `buf.byteLength`,
 * or less when the stream ended first.
 */
export async function readFull(reader: ByteReader, buf: Uint8Array): Promise<number> {
  let got = 0;
  while (got < buf.byteLength) {
    const n = await reader.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got;
}

/**
 * Write all of `bytes` to `writer`, however few bytes each write takes.
 *
 * @example
 * ```ts
 * import { encodeOnAnyCoreDump } from "./notify.ts";
 * import { writeAll } from "./frame.ts";
 * const frame = encodeOnAnyCoreDump({
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * const sent: number[] = [];
 * await writeAll({ write: (p) => (sent.push(p[0]), Promise.resolve(1)) }, frame);
 * sent.length; // 530
 * ```
 */
export async function writeAll(writer: ByteWriter, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    done += await writer.write(bytes.subarray(done));
  }
}

/**
 * Read one frame. Resolves to `null` when the stream ends cleanly before a frame starts;
 * throws {@linkcode FrameError} when it ends inside one, when the command is unknown or
 * when `msg_size` is over the command's limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFrame } from "./frame.ts";
 * const bytes = new Uint8Array([7, 0, 0, 0, 2, 0, 0, 0, 0xab, 0xcd]); // cmd 7, 2 bytes
 * let at = 0;
 * const reader = { // a stream over `bytes`; a Deno.Conn in real use
 *   read(p: Uint8Array): Promise<number | null> {
 *     const n = Math.min(p.byteLength, bytes.byteLength - at);
 *     p.set(bytes.subarray(at, at + n));
 *     at += n;
 *     return Promise.resolve(n === 0 ? null : n);
 *   },
 * };
 * const frame = await readFrame(reader, { maxPayload: (cmd) => cmd === 7 ? 16 : -1 });
 * assert.equal(frame?.header.cmd, 7);
 * assert.equal(await readFrame(reader, { maxPayload: () => 16 }), null); // the end
 * ```
 */
export async function readFrame(
  reader: ByteReader,
  options: ReadFrameOptions,
): Promise<Frame | null> {
  const head = new Uint8Array(HEADER_SIZE);
  const got = await readFull(reader, head);
  if (got === 0) return null;
  if (got < HEADER_SIZE) {
    throw new FrameError(
      "eof",
      `Cannot read frame: stream ended after ${got} of ${HEADER_SIZE} header bytes`,
    );
  }
  const header = decodeHeader(head);
  const max = options.maxPayload(header.cmd);
  if (max < 0) {
    throw new FrameError("unknown-command", `Unknown command ${header.cmd}`, header);
  }
  if (header.msgSize > max) {
    throw new FrameError(
      "too-large",
      `Cannot read frame: msg_size ${header.msgSize} is over the limit of ${max} bytes for command ${header.cmd}`,
      header,
    );
  }
  const payload = new Uint8Array(header.msgSize);
  const n = await readFull(reader, payload);
  if (n < header.msgSize) {
    throw new FrameError(
      "eof",
      `Cannot read frame: stream ended after ${n} of ${header.msgSize} payload bytes`,
      header,
    );
  }
  return { header, payload };
}
