/**
 * Messages of the notification socket (`RUN_DIR/notify-lttng-sessiond`), as in the RFC
 * "Triggers in lttng-tools" (v0.1).
 *
 * @module
 */
import { checkU32, encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";
import { decodeCString, encodeCStringInto } from "./cstring.ts";
import { type ByteReader, readFrame } from "./frame.ts";

/** Commands of the notification socket (RFC: `enum lttcomm_sessiond_notify_cmd`). */
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
/** The packed size of `struct lttcomm_sessiond_notify_onanycoredump` (what we send). */
export const ONANYCOREDUMP_SIZE: number = 12 + EXEC_NAME_SIZE + HOSTNAME_SIZE; // 522
/** `sizeof` the same struct from a C compiler, padded to 4-byte alignment. */
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

/** Status codes of a {@linkcode NotifyReply}. */
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
 * offset.
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

/** Decode a reply payload (exactly 12 bytes, or 24 with the crash id). */
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
 * longer than a reply, is an error); resolves to `null` when the daemon closed first.
 */
export async function readNotifyReply(reader: ByteReader): Promise<NotifyReply | null> {
  const frame = await readFrame(reader, {
    maxPayload: (cmd) => cmd === NotifyCommand.REPLY ? NOTIFY_REPLY_ID_SIZE : -1,
  });
  return frame === null ? null : decodeNotifyReply(frame.payload);
}
