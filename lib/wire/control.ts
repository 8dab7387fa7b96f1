/**
 * Messages of the control socket (`RUN_DIR/client-lttng-trig`): the same header framing,
 * a JSON request payload, and a binary reply envelope around a JSON payload.
 *
 * @module
 */
import { encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";

/** Commands of the control socket. */
export const ControlCommand = {
  /** Add a trigger. */
  SET: 1,
  /** List triggers. */
  LIST: 2,
  /** Remove a trigger by name. */
  REMOVE: 3,
  /** List received crashes. */
  HISTORY: 4,
  /** Daemon status. */
  STATUS: 5,
  /** Stream crashes and outcomes as they happen, until the client closes. */
  WATCH: 6,
} as const;

/** Bit set in the `cmd` of every reply: reply to command `c` is `c | REPLY_BIT`. */
export const REPLY_BIT = 0x8000_0000;

/** Largest request payload the daemon reads. */
export const MAX_CONTROL_REQUEST = 64 * 1024;
/** Largest reply payload a client reads. */
export const MAX_CONTROL_REPLY = 16 * 1024 * 1024;

/** Status codes of a {@linkcode ControlReply}. */
export const ControlStatus = {
  /** Success. */
  OK: 0,
  /** Failure that fits no other code. */
  ERROR: 1,
  /** The request is malformed or an argument is invalid. */
  INVALID: 2,
  /** The named object does not exist. */
  NOT_FOUND: 3,
  /** The object exists already (a taken name, an identical trigger). */
  EXISTS: 4,
  /** The durable store could not be written; nothing was changed. */
  STORE_FAILED: 5,
  /** The command is unknown. */
  UNKNOWN_COMMAND: 6,
  /**
   * The peer may not run this command: on root's daemon, a member of group `tracing`
   * reads (list, history, status, watch) but changes nothing (set, remove).
   */
  DENIED: 7,
} as const;

/**
 * The daemon's reply on the control socket.
 *
 * ```c
 * struct lttng_trig_control_reply {
 *     int32_t status;        // a ControlStatus value
 *     uint32_t error_len;    // bytes of error text that follow (UTF-8, no NUL)
 *     uint32_t payload_len;  // bytes of JSON payload after the error text
 *     char data[];           // error text, then payload
 * };
 * ```
 */
export interface ControlReply<P = unknown> {
  /** A {@linkcode ControlStatus} value. */
  status: number;
  /** Error message; empty on success. */
  error: string;
  /**
   * Decoded JSON payload; `null` when empty. Its type for each command is in
   * lib/protocol/control.ts.
   */
  payload: P;
}

const CONTROL_REPLY_FIXED = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encode a request frame: header then `payload` as JSON. */
export function encodeControlRequest(cmd: number, payload: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify(payload ?? null));
  if (body.byteLength > MAX_CONTROL_REQUEST) {
    throw new RangeError(
      `Cannot encode request: ${body.byteLength} bytes is over the limit of ${MAX_CONTROL_REQUEST}`,
    );
  }
  const frame = new Uint8Array(HEADER_SIZE + body.byteLength);
  encodeHeaderInto({ cmd, msgSize: body.byteLength }, frame, 0);
  frame.set(body, HEADER_SIZE);
  return frame;
}

/** Decode a request payload: UTF-8 JSON. */
export function decodeControlRequest(payload: Uint8Array): unknown {
  if (payload.byteLength === 0) return null;
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch {
    throw new SyntaxError("Cannot decode request: payload is not UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SyntaxError("Cannot decode request: payload is not JSON");
  }
}

/** Encode a reply frame for command `cmd`. */
export function encodeControlReply(cmd: number, reply: ControlReply): Uint8Array {
  const error = encoder.encode(reply.error);
  const body = reply.payload === null || reply.payload === undefined
    ? new Uint8Array(0)
    : encoder.encode(JSON.stringify(reply.payload));
  const size = CONTROL_REPLY_FIXED + error.byteLength + body.byteLength;
  if (size > MAX_CONTROL_REPLY) {
    throw new RangeError(
      `Cannot encode reply: ${size} bytes is over the limit of ${MAX_CONTROL_REPLY}`,
    );
  }
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: (cmd | REPLY_BIT) >>> 0, msgSize: size }, frame, 0);
  const view = viewOf(frame);
  view.setInt32(HEADER_SIZE, reply.status, LITTLE_ENDIAN);
  view.setUint32(HEADER_SIZE + 4, error.byteLength, LITTLE_ENDIAN);
  view.setUint32(HEADER_SIZE + 8, body.byteLength, LITTLE_ENDIAN);
  frame.set(error, HEADER_SIZE + CONTROL_REPLY_FIXED);
  frame.set(body, HEADER_SIZE + CONTROL_REPLY_FIXED + error.byteLength);
  return frame;
}

/** Decode a reply payload (the bytes after the header). */
export function decodeControlReply(payload: Uint8Array): ControlReply {
  if (payload.byteLength < CONTROL_REPLY_FIXED) {
    throw new RangeError(
      `Cannot decode reply: expected at least ${CONTROL_REPLY_FIXED} bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  const status = view.getInt32(0, LITTLE_ENDIAN);
  const errorLen = view.getUint32(4, LITTLE_ENDIAN);
  const payloadLen = view.getUint32(8, LITTLE_ENDIAN);
  const expected = CONTROL_REPLY_FIXED + errorLen + payloadLen;
  if (expected !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode reply: lengths say ${expected} bytes, got ${payload.byteLength}`,
    );
  }
  const start = CONTROL_REPLY_FIXED;
  let error: string;
  let body: unknown = null;
  try {
    error = decoder.decode(payload.subarray(start, start + errorLen));
    if (payloadLen > 0) {
      body = JSON.parse(decoder.decode(payload.subarray(start + errorLen)));
    }
  } catch {
    throw new SyntaxError("Cannot decode reply: error or payload is not UTF-8 JSON");
  }
  return { status, error, payload: body };
}
