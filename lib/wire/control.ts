/**
 * Messages of the control socket (`RUN_DIR/client-lttng-trig`): the same header framing,
 * a JSON request payload, and a binary reply envelope around a JSON payload.
 *
 * @module
 */
import { encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";

/**
 * Commands of the control socket.
 *
 * @example
 * ```ts
 * import { ControlCommand, encodeControlRequest } from "./control.ts";
 * const list = encodeControlRequest(ControlCommand.LIST, {}); // header, then "{}"
 * ```
 */
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

/**
 * Largest request payload the daemon reads: 64 KiB.
 *
 * @example
 * ```ts
 * import { MAX_CONTROL_REQUEST } from "./control.ts";
 * import type { ReadFrameOptions } from "./frame.ts";
 * const requests: ReadFrameOptions = { maxPayload: () => MAX_CONTROL_REQUEST };
 * ```
 */
export const MAX_CONTROL_REQUEST = 64 * 1024;
/**
 * Largest reply payload a client reads: 16 MiB.
 *
 * @example
 * ```ts
 * import { MAX_CONTROL_REPLY, REPLY_BIT } from "./control.ts";
 * import type { ReadFrameOptions } from "./frame.ts";
 * // A client of command 2 (LIST) reads only the reply to it.
 * const reply: ReadFrameOptions = {
 *   maxPayload: (cmd) => cmd === ((2 | REPLY_BIT) >>> 0) ? MAX_CONTROL_REPLY : -1,
 * };
 * ```
 */
export const MAX_CONTROL_REPLY = 16 * 1024 * 1024;

/**
 * Status codes of a {@linkcode ControlReply}.
 *
 * @example
 * ```ts
 * import { ControlCommand, ControlStatus, encodeControlReply } from "./control.ts";
 * // A daemon refusing a trigger whose name is taken.
 * encodeControlReply(ControlCommand.SET, {
 *   status: ControlStatus.EXISTS,
 *   error: 'a trigger named "t1" exists',
 *   payload: null,
 * });
 * ```
 */
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
 *
 * @example
 * ```ts
 * import { type ControlReply, ControlStatus } from "./control.ts";
 * const ok: ControlReply<{ removed: string }> = {
 *   status: ControlStatus.OK,
 *   error: "",
 *   payload: { removed: "t1" },
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

/**
 * Encode a request frame: header then `payload` as JSON. A payload over
 * {@linkcode MAX_CONTROL_REQUEST} bytes is a `RangeError`.
 *
 * @example
 * ```ts
 * import { ControlCommand, encodeControlRequest } from "./control.ts";
 * const frame = encodeControlRequest(ControlCommand.REMOVE, { name: "t1" });
 * new TextDecoder().decode(frame.subarray(8)); // '{"name":"t1"}'
 * ```
 */
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

/**
 * Decode a request payload: UTF-8 JSON (empty is `null`); anything else is a
 * `SyntaxError`. The value is not checked against the command's type: a daemon
 * validates it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlCommand, decodeControlRequest, encodeControlRequest } from "./control.ts";
 * const frame = encodeControlRequest(ControlCommand.REMOVE, { name: "t1" });
 * assert.deepEqual(decodeControlRequest(frame.subarray(8)), { name: "t1" });
 * assert.throws(() => decodeControlRequest(new Uint8Array([0xff])), SyntaxError);
 * ```
 */
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

/**
 * Encode a reply frame for command `cmd` (its header's command is `cmd | REPLY_BIT`).
 *
 * @example
 * ```ts
 * import { ControlCommand, ControlStatus, encodeControlReply } from "./control.ts";
 * const frame = encodeControlReply(ControlCommand.REMOVE, {
 *   status: ControlStatus.OK,
 *   error: "",
 *   payload: { removed: "t1" },
 * });
 * ```
 */
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

/**
 * Decode a reply payload (the bytes after the header). Lengths that disagree with the
 * payload's size are a `RangeError`; text that is not UTF-8 JSON, a `SyntaxError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlCommand, decodeControlReply, encodeControlReply } from "./control.ts";
 * const reply = { status: 3, error: 'no trigger named "t9"', payload: null };
 * const frame = encodeControlReply(ControlCommand.REMOVE, reply);
 * assert.deepEqual(decodeControlReply(frame.subarray(8)), reply);
 * ```
 */
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
