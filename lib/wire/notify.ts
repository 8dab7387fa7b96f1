/**
 * Messages of the notification socket (`RUN_DIR/notify-lttng-sessiond`), as in the RFC
 * "Triggers in lttng-tools" (v0.1).
 *
 * @module
 */
import { checkU32, encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";
import { decodeCString, encodeCStringInto } from "./cstring.ts";
import { type ByteReader, readFrame } from "./frame.ts";

/**
 * Commands of the notification socket (RFC: `enum lttcomm_sessiond_notify_cmd`).
 *
 * @example
 * ```ts
 * import { decodeHeader } from "./header.ts";
 * import { encodeOnAnyCoreDump, NotifyCommand } from "./notify.ts";
 * const frame = encodeOnAnyCoreDump({
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * decodeHeader(frame).cmd === NotifyCommand.ONANYCOREDUMP; // true
 * ```
 */
export const NotifyCommand = {
  /** `LTTCOMM_NOTIFY_TRIGGER_ONANYCOREDUMP`: a process dumped core. */
  ONANYCOREDUMP: 1,
  /** The daemon's answer to a notification (bit 31 marks a reply). */
  REPLY: 0x8000_0001,
} as const;

/** `NAME_MAX` on Linux: the size of `exec_name`. */
export const EXEC_NAME_SIZE = 255;
/** RFC 1035's 255 bytes: the size of `hostname`. */
export const HOSTNAME_SIZE = 255;
/**
 * The packed size of `struct lttcomm_sessiond_notify_onanycoredump` (what lttng-trig
 * sends): 522.
 *
 * @example
 * ```ts
 * import { encodeOnAnyCoreDumpInto, ONANYCOREDUMP_SIZE } from "./notify.ts";
 * const payload = new Uint8Array(ONANYCOREDUMP_SIZE);
 * encodeOnAnyCoreDumpInto({
 *     pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 *   }, payload); // 522
 * ```
 */
export const ONANYCOREDUMP_SIZE: number = 12 + EXEC_NAME_SIZE + HOSTNAME_SIZE; // 522
/**
 * `sizeof` the same struct from a C compiler, padded to 4-byte alignment: 524. The
 * daemon accepts both sizes.
 *
 * @example
 * ```ts
 * import { decodeOnAnyCoreDump, ONANYCOREDUMP_C_SIZE } from "./notify.ts";
 * // What a C sender writes after `memset(&msg, 0, sizeof msg)`: the padding is ignored.
 * const padded = new Uint8Array(ONANYCOREDUMP_C_SIZE);
 * decodeOnAnyCoreDump(padded).execName; // ""
 * ```
 */
export const ONANYCOREDUMP_C_SIZE = 524;

/**
 * A core dump notification.
 *
 * ```c
 * struct lttcomm_sessiond_notify_onanycoredump {
 *     uint32_t pid;             // offset 0
 *     uint32_t uid;             // offset 4
 *     uint32_t gid;             // offset 8
 *     char exec_name[NAME_MAX]; // offset 12, 255 bytes, NUL-terminated, zero-padded
 *     char hostname[255];       // offset 267, NUL-terminated, zero-padded
 * };                            // 522 bytes packed, 524 with C padding
 * ```
 *
 * @example
 * ```ts
 * import type { OnAnyCoreDumpMessage } from "./notify.ts";
 * // The RFC's example: apache2, pid 42, crashed on A_HOST_NAME.
 * const crash: OnAnyCoreDumpMessage = {
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * };
 * ```
 */
export interface OnAnyCoreDumpMessage {
  /** Pid of the crashed process, in the initial pid namespace (`%p`). */
  pid: number;
  /** Real uid of the crashed process (`%u`). */
  uid: number;
  /** Real gid of the crashed process (`%g`). */
  gid: number;
  /** Executable name (`%e`), at most 254 bytes of UTF-8. */
  execName: string;
  /** Hostname (`%h`), at most 254 bytes of UTF-8. */
  hostname: string;
}

/**
 * Status codes of a {@linkcode NotifyReply}.
 *
 * @example
 * ```ts
 * import { type NotifyReply, NotifyStatus } from "./notify.ts";
 * function describe(reply: NotifyReply): string {
 *   return reply.status === NotifyStatus.OK
 *     ? `${reply.fired} trigger(s) fired`
 *     : `status ${reply.status}, ${reply.failed} of ${reply.fired} failed`;
 * }
 * ```
 */
export const NotifyStatus = {
  /** Every action the crash fired finished well (or none matched). */
  OK: 0,
  /** At least one fired action failed. */
  ACTION_FAILED: 1,
  /** The actions did not finish within the daemon's deadline. */
  TIMEOUT: 2,
  /** The frame could not be decoded. */
  BAD_REQUEST: 3,
  /** The daemon could not take the notification (shutting down, overloaded). */
  UNAVAILABLE: 4,
} as const;

/**
 * The daemon's answer, sent once the actions fired by the crash have finished.
 *
 * ```c
 * struct lttng_trig_notify_reply {
 *     int32_t status;   // a NotifyStatus value
 *     uint32_t fired;   // triggers whose action ran for this crash
 *     uint32_t failed;  // of those, how many failed
 * };                    // 12 bytes
 *
 * struct lttng_trig_notify_reply_id {  // only to a sender that asked (ExtFlag.REPLY_ID)
 *     struct lttng_trig_notify_reply r; // offset 0
 *     uint32_t reserved;                // 12: zero
 *     uint64_t crash_id;                // 16: the crash's history id; 0 when not recorded
 * };                                    // 24 bytes
 * ```
 *
 * A sender of the RFC's command 1 always gets the 12 bytes of before.
 *
 * @example
 * ```ts
 * import { encodeNotifyReply, type NotifyReply, NotifyStatus } from "./notify.ts";
 * const reply: NotifyReply = { status: NotifyStatus.OK, fired: 1, failed: 0 };
 * encodeNotifyReply(reply).byteLength; // 20: the header and 12 bytes
 * ```
 */
export interface NotifyReply {
  /** A {@linkcode NotifyStatus} value. */
  status: number;
  /** Number of triggers whose action ran for this crash. */
  fired: number;
  /** Number of those actions that failed. */
  failed: number;
  /**
   * The crash's id in the daemon's history, which the follow-ups (its core's fate, the
   * chained handler's result) name; 0 when it was not recorded. Only in the 24-byte
   * reply.
   */
  crashId?: number;
}

/** Size of the {@linkcode NotifyReply} payload (the RFC's, without a crash id). */
export const NOTIFY_REPLY_SIZE = 12;
/** Size of the {@linkcode NotifyReply} payload with its crash id. */
export const NOTIFY_REPLY_ID_SIZE = 24;

/**
 * Encode an ONANYCOREDUMP payload (522 bytes) into `target` at `offset`; returns the next
 * offset. Throws a `RangeError` when `target` has no room or an id is not a uint32.
 *
 * @example
 * ```ts
 * import { HEADER_SIZE, encodeHeaderInto } from "./header.ts";
 * import { encodeOnAnyCoreDumpInto, NotifyCommand, ONANYCOREDUMP_SIZE } from "./notify.ts";
 * // One buffer for the whole frame, written in place.
 * const frame = new Uint8Array(HEADER_SIZE + ONANYCOREDUMP_SIZE);
 * let at = encodeHeaderInto({ cmd: NotifyCommand.ONANYCOREDUMP, msgSize: ONANYCOREDUMP_SIZE }, frame);
 * at = encodeOnAnyCoreDumpInto({
 *     pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 *   }, frame, at); // 530
 * ```
 */
export function encodeOnAnyCoreDumpInto(
  msg: OnAnyCoreDumpMessage,
  target: Uint8Array,
  offset = 0,
): number {
  checkU32("pid", msg.pid);
  checkU32("uid", msg.uid);
  checkU32("gid", msg.gid);
  if (target.byteLength - offset < ONANYCOREDUMP_SIZE) {
    throw new RangeError(
      `Cannot encode ONANYCOREDUMP: expected ${ONANYCOREDUMP_SIZE} bytes of room, got ${
        target.byteLength - offset
      }`,
    );
  }
  const view = viewOf(target);
  view.setUint32(offset, msg.pid, LITTLE_ENDIAN);
  view.setUint32(offset + 4, msg.uid, LITTLE_ENDIAN);
  view.setUint32(offset + 8, msg.gid, LITTLE_ENDIAN);
  let next = encodeCStringInto(msg.execName, EXEC_NAME_SIZE, target, offset + 12);
  next = encodeCStringInto(msg.hostname, HOSTNAME_SIZE, target, next);
  return next;
}

/**
 * Encode a whole ONANYCOREDUMP frame: header then the 522-byte payload.
 *
 * @example
 * ```ts
 * import { encodeOnAnyCoreDump } from "./notify.ts";
 * const frame = encodeOnAnyCoreDump({
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * frame.byteLength; // 530
 * ```
 */
export function encodeOnAnyCoreDump(msg: OnAnyCoreDumpMessage): Uint8Array {
  const frame = new Uint8Array(HEADER_SIZE + ONANYCOREDUMP_SIZE);
  encodeHeaderInto({ cmd: NotifyCommand.ONANYCOREDUMP, msgSize: ONANYCOREDUMP_SIZE }, frame, 0);
  encodeOnAnyCoreDumpInto(msg, frame, HEADER_SIZE);
  return frame;
}

/**
 * Decode an ONANYCOREDUMP payload. Accepts the packed 522 bytes and C's padded 524 (the
 * two padding bytes are ignored); any other size is a `RangeError`, a string without NUL
 * a `SyntaxError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HEADER_SIZE } from "./header.ts";
 * import { decodeOnAnyCoreDump, encodeOnAnyCoreDump } from "./notify.ts";
 * const frame = encodeOnAnyCoreDump({
 *   pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "A_HOST_NAME",
 * });
 * assert.equal(decodeOnAnyCoreDump(frame.subarray(HEADER_SIZE)).execName, "apache2");
 * assert.throws(() => decodeOnAnyCoreDump(frame.subarray(0, 100)), RangeError);
 * ```
 */
export function decodeOnAnyCoreDump(payload: Uint8Array): OnAnyCoreDumpMessage {
  if (
    payload.byteLength !== ONANYCOREDUMP_SIZE && payload.byteLength !== ONANYCOREDUMP_C_SIZE
  ) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP: expected ${ONANYCOREDUMP_SIZE} or ${ONANYCOREDUMP_C_SIZE} bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  return {
    pid: view.getUint32(0, LITTLE_ENDIAN),
    uid: view.getUint32(4, LITTLE_ENDIAN),
    gid: view.getUint32(8, LITTLE_ENDIAN),
    execName: decodeCString(payload, 12, EXEC_NAME_SIZE, "exec_name"),
    hostname: decodeCString(payload, 12 + EXEC_NAME_SIZE, HOSTNAME_SIZE, "hostname"),
  };
}

/**
 * Encode a whole reply frame: header then the {@linkcode NotifyReply}, of 12 bytes, or
 * of 24 when it has a `crashId`.
 *
 * @example
 * ```ts
 * import { encodeNotifyReply, NotifyStatus } from "./notify.ts";
 * // What a daemon answers once the actions the crash fired have finished.
 * const frame = encodeNotifyReply({ status: NotifyStatus.OK, fired: 1, failed: 0 });
 * frame.byteLength; // 20
 * ```
 */
export function encodeNotifyReply(reply: NotifyReply): Uint8Array {
  const size = reply.crashId === undefined ? NOTIFY_REPLY_SIZE : NOTIFY_REPLY_ID_SIZE;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyCommand.REPLY, msgSize: size }, frame, 0);
  const view = viewOf(frame);
  view.setInt32(HEADER_SIZE, reply.status, LITTLE_ENDIAN);
  view.setUint32(HEADER_SIZE + 4, reply.fired, LITTLE_ENDIAN);
  view.setUint32(HEADER_SIZE + 8, reply.failed, LITTLE_ENDIAN);
  if (reply.crashId !== undefined) {
    view.setBigUint64(HEADER_SIZE + 16, BigInt(Math.max(0, reply.crashId)), LITTLE_ENDIAN);
  }
  return frame;
}

/**
 * Decode a reply payload (exactly 12 bytes, or 24 with the crash id); any other size is
 * a `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HEADER_SIZE } from "./header.ts";
 * import { decodeNotifyReply, encodeNotifyReply } from "./notify.ts";
 * const frame = encodeNotifyReply({ status: 1, fired: 2, failed: 1 });
 * assert.deepEqual(decodeNotifyReply(frame.subarray(HEADER_SIZE)), { status: 1, fired: 2, failed: 1 });
 * ```
 */
export function decodeNotifyReply(payload: Uint8Array): NotifyReply {
  if (payload.byteLength !== NOTIFY_REPLY_SIZE && payload.byteLength !== NOTIFY_REPLY_ID_SIZE) {
    throw new RangeError(
      `Cannot decode reply: expected ${NOTIFY_REPLY_SIZE} or ${NOTIFY_REPLY_ID_SIZE} bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  return {
    status: view.getInt32(0, LITTLE_ENDIAN),
    fired: view.getUint32(4, LITTLE_ENDIAN),
    failed: view.getUint32(8, LITTLE_ENDIAN),
    ...(payload.byteLength === NOTIFY_REPLY_ID_SIZE
      ? { crashId: Number(view.getBigUint64(16, LITTLE_ENDIAN)) }
      : {}),
  };
}

/**
 * Read the daemon's reply to a notification from `reader` (any other frame, or one
 * longer than a reply, is a `FrameError`); resolves to `null` when the daemon closed
 * first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNotifyReply, readNotifyReply } from "./notify.ts";
 * const bytes = encodeNotifyReply({ status: 0, fired: 1, failed: 0 });
 * let at = 0;
 * const conn = { // a stream over `bytes`; a Deno.Conn in real use
 *   read(p: Uint8Array): Promise<number | null> {
 *     const n = Math.min(p.byteLength, bytes.byteLength - at);
 *     p.set(bytes.subarray(at, at + n));
 *     at += n;
 *     return Promise.resolve(n === 0 ? null : n);
 *   },
 * };
 * assert.deepEqual(await readNotifyReply(conn), { status: 0, fired: 1, failed: 0 });
 * ```
 */
export async function readNotifyReply(reader: ByteReader): Promise<NotifyReply | null> {
  const frame = await readFrame(reader, {
    maxPayload: (cmd) => cmd === NotifyCommand.REPLY ? NOTIFY_REPLY_ID_SIZE : -1,
  });
  return frame === null ? null : decodeNotifyReply(frame.payload);
}
