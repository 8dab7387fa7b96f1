/**
 * Framing over a byte stream: a fixed header, then exactly `msg_size` payload bytes.
 * A read is never assumed to return a whole message.
 *
 * @module
 */
import { decodeHeader, type Header, HEADER_SIZE } from "./header.ts";

/** The part of `Deno.Conn` that framing needs. */
export interface ByteReader {
  /** Read into `p`; resolves to the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/** The part of `Deno.Conn` that writing a frame needs. */
export interface ByteWriter {
  /** Write some of `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
}

/** A decoded frame: its header and its payload. */
export interface Frame {
  /** The frame's header. */
  header: Header;
  /** Exactly `header.msgSize` bytes. */
  payload: Uint8Array;
}

/** Options of {@linkcode readFrame}. */
export interface ReadFrameOptions {
  /**
   * Largest payload accepted for a command; a bigger `msg_size` is refused before any of
   * it is read. Return -1 for an unknown command.
   */
  maxPayload(cmd: number): number;
}

/** Thrown by {@linkcode readFrame} for a frame that cannot be accepted. */
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

/** Write all of `bytes` to `writer`. */
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
