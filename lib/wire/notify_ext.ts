/**
 * lttng-trig's extensions of the notification socket: richer crash facts (command 2)
 * and the fate of the core (command 3). Command 1 stays exactly the RFC's.
 *
 * @module
 */
import { checkU32, encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";
import {
  decodeOnAnyCoreDump,
  encodeOnAnyCoreDumpInto,
  ONANYCOREDUMP_SIZE,
  type OnAnyCoreDumpMessage,
} from "./notify.ts";

/** Commands added by lttng-trig on the notification socket. */
export const NotifyExtCommand = {
  /** ONANYCOREDUMP plus the facts the kernel's %P %s %t %c %d give, and /proc facts. */
  ONANYCOREDUMP_EXT: 2,
  /** After the notification: where the core went, or why it was not kept. */
  CORE_RESULT: 3,
} as const;

/** Bits of `flags`: which optional facts are present. */
export const ExtFlag = {
  GLOBAL_PID: 1,
  SIGNAL: 2,
  TIME: 4,
  CORE_LIMIT: 8,
  DUMP_MODE: 16,
  EXE: 32,
  CMDLINE: 64,
} as const;

/** Largest `exe` and `cmdline` carried (PATH_MAX, and the first 4 KiB of the command line). */
export const EXT_STRING_MAX = 4096;
/** Fixed part of an ONANYCOREDUMP_EXT payload. */
export const ONANYCOREDUMP_EXT_FIXED = 560;
/** Largest ONANYCOREDUMP_EXT payload. */
export const ONANYCOREDUMP_EXT_MAX: number = ONANYCOREDUMP_EXT_FIXED + 2 * EXT_STRING_MAX;

/**
 * A notification with extended facts.
 *
 * ```c
 * struct lttng_trig_notify_coredump_ext {
 *     struct lttcomm_sessiond_notify_onanycoredump base; // offset 0, 522 bytes (packed)
 *     uint8_t  pad[2];       // 522: zero
 *     uint32_t flags;        // 524: ExtFlag bits of the fields that are present
 *     uint32_t global_pid;   // 528: %P, pid in the initial pid namespace
 *     uint32_t signal;       // 532: %s
 *     uint64_t time;         // 536: %t, seconds since the epoch
 *     uint64_t core_limit;   // 544: %c, RLIMIT_CORE soft limit; UINT64_MAX = unlimited
 *     uint32_t dump_mode;    // 552: %d
 *     uint16_t exe_len;      // 556: bytes of exe (no NUL), at most 4096
 *     uint16_t cmdline_len;  // 558: bytes of cmdline, at most 4096
 *     char     data[];       // 560: exe, then cmdline (arguments separated by NUL)
 * };
 * ```
 */
export interface OnAnyCoreDumpExtMessage extends OnAnyCoreDumpMessage {
  /** `%P`. */
  globalPid?: number;
  /** `%s`. */
  signal?: number;
  /** `%t`, seconds since the epoch. */
  time?: number;
  /** `%c` in bytes; `"unlimited"` for RLIM_INFINITY. */
  coreLimit?: number | "unlimited";
  /** `%d`. */
  dumpMode?: number;
  /** `%E`: the executable's path. */
  exe?: string;
  /** The command line, one string per argument (NUL-separated on the wire). */
  cmdline?: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
const U64_MAX = 0xffff_ffff_ffff_ffffn;

function capped(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength <= EXT_STRING_MAX ? bytes : bytes.subarray(0, EXT_STRING_MAX);
}

/** Encode a whole ONANYCOREDUMP_EXT frame. */
export function encodeOnAnyCoreDumpExt(msg: OnAnyCoreDumpExtMessage): Uint8Array {
  const exe = capped(encoder.encode(msg.exe ?? ""));
  const cmdline = capped(encoder.encode((msg.cmdline ?? []).join("\0")));
  const size = ONANYCOREDUMP_EXT_FIXED + exe.byteLength + cmdline.byteLength;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyExtCommand.ONANYCOREDUMP_EXT, msgSize: size }, frame, 0);
  const p = HEADER_SIZE;
  encodeOnAnyCoreDumpInto(msg, frame, p);
  const view = viewOf(frame);
  let flags = 0;
  const u32 = (off: number, v: number | undefined, flag: number, name: string) => {
    if (v === undefined) return;
    checkU32(name, v);
    view.setUint32(p + off, v, LITTLE_ENDIAN);
    flags |= flag;
  };
  u32(528, msg.globalPid, ExtFlag.GLOBAL_PID, "globalPid");
  u32(532, msg.signal, ExtFlag.SIGNAL, "signal");
  if (msg.time !== undefined) {
    view.setBigUint64(p + 536, BigInt(Math.max(0, Math.trunc(msg.time))), LITTLE_ENDIAN);
    flags |= ExtFlag.TIME;
  }
  if (msg.coreLimit !== undefined) {
    const v = msg.coreLimit === "unlimited"
      ? U64_MAX
      : BigInt(Math.max(0, Math.trunc(msg.coreLimit)));
    view.setBigUint64(p + 544, v, LITTLE_ENDIAN);
    flags |= ExtFlag.CORE_LIMIT;
  }
  u32(552, msg.dumpMode, ExtFlag.DUMP_MODE, "dumpMode");
  if (msg.exe !== undefined) flags |= ExtFlag.EXE;
  if (msg.cmdline !== undefined) flags |= ExtFlag.CMDLINE;
  view.setUint32(p + 524, flags, LITTLE_ENDIAN);
  view.setUint16(p + 556, exe.byteLength, LITTLE_ENDIAN);
  view.setUint16(p + 558, cmdline.byteLength, LITTLE_ENDIAN);
  frame.set(exe, p + ONANYCOREDUMP_EXT_FIXED);
  frame.set(cmdline, p + ONANYCOREDUMP_EXT_FIXED + exe.byteLength);
  return frame;
}

/** Decode an ONANYCOREDUMP_EXT payload; lengths are checked against the bytes present. */
export function decodeOnAnyCoreDumpExt(payload: Uint8Array): OnAnyCoreDumpExtMessage {
  if (payload.byteLength < ONANYCOREDUMP_EXT_FIXED) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: expected at least ${ONANYCOREDUMP_EXT_FIXED} bytes, got ${payload.byteLength}`,
    );
  }
  const base = decodeOnAnyCoreDump(payload.subarray(0, ONANYCOREDUMP_SIZE));
  const view = viewOf(payload);
  const flags = view.getUint32(524, LITTLE_ENDIAN);
  const exeLen = view.getUint16(556, LITTLE_ENDIAN);
  const cmdLen = view.getUint16(558, LITTLE_ENDIAN);
  if (exeLen > EXT_STRING_MAX || cmdLen > EXT_STRING_MAX) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: exe_len ${exeLen} or cmdline_len ${cmdLen} over ${EXT_STRING_MAX}`,
    );
  }
  if (ONANYCOREDUMP_EXT_FIXED + exeLen + cmdLen !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: lengths say ${
        ONANYCOREDUMP_EXT_FIXED + exeLen + cmdLen
      } bytes, got ${payload.byteLength}`,
    );
  }
  const msg: OnAnyCoreDumpExtMessage = { ...base };
  if (flags & ExtFlag.GLOBAL_PID) msg.globalPid = view.getUint32(528, LITTLE_ENDIAN);
  if (flags & ExtFlag.SIGNAL) msg.signal = view.getUint32(532, LITTLE_ENDIAN);
  if (flags & ExtFlag.TIME) msg.time = Number(view.getBigUint64(536, LITTLE_ENDIAN));
  if (flags & ExtFlag.CORE_LIMIT) {
    const v = view.getBigUint64(544, LITTLE_ENDIAN);
    msg.coreLimit = v === U64_MAX ? "unlimited" : Number(v);
  }
  if (flags & ExtFlag.DUMP_MODE) msg.dumpMode = view.getUint32(552, LITTLE_ENDIAN);
  const exeBytes = payload.subarray(ONANYCOREDUMP_EXT_FIXED, ONANYCOREDUMP_EXT_FIXED + exeLen);
  const cmdBytes = payload.subarray(ONANYCOREDUMP_EXT_FIXED + exeLen);
  if (flags & ExtFlag.EXE) msg.exe = decoder.decode(exeBytes);
  if (flags & ExtFlag.CMDLINE) {
    msg.cmdline = cmdLen === 0 ? [] : decoder.decode(cmdBytes).split("\0");
  }
  return msg;
}

/**
 * What happened to the core of a crash, sent by the notifier after it handled the core.
 *
 * ```c
 * struct lttng_trig_notify_core_result {
 *     uint32_t pid;       // %p of the crash this is about
 *     uint32_t kept;      // 1: the core is at `text`; 0: not kept, `text` says why
 *     uint64_t bytes;     // core bytes read from the kernel
 *     uint16_t text_len;  // bytes of text, at most 4096
 *     char     text[];    // a path or a reason, UTF-8
 * };                      // 18 + text_len bytes
 * ```
 */
export interface CoreResultMessage {
  /** The crash's pid. */
  pid: number;
  /** Whether the core was kept. */
  kept: boolean;
  /** Core bytes read. */
  bytes: number;
  /** The kept core's path, or the reason it was not kept. */
  text: string;
}

/** Largest CORE_RESULT payload. */
export const CORE_RESULT_MAX: number = 18 + EXT_STRING_MAX;

/** Encode a whole CORE_RESULT frame. */
export function encodeCoreResult(msg: CoreResultMessage): Uint8Array {
  const text = capped(encoder.encode(msg.text));
  const size = 18 + text.byteLength;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyExtCommand.CORE_RESULT, msgSize: size }, frame, 0);
  const view = viewOf(frame);
  view.setUint32(HEADER_SIZE, msg.pid, LITTLE_ENDIAN);
  view.setUint32(HEADER_SIZE + 4, msg.kept ? 1 : 0, LITTLE_ENDIAN);
  view.setBigUint64(HEADER_SIZE + 8, BigInt(Math.max(0, Math.trunc(msg.bytes))), LITTLE_ENDIAN);
  view.setUint16(HEADER_SIZE + 16, text.byteLength, LITTLE_ENDIAN);
  frame.set(text, HEADER_SIZE + 18);
  return frame;
}

/** Decode a CORE_RESULT payload. */
export function decodeCoreResult(payload: Uint8Array): CoreResultMessage {
  if (payload.byteLength < 18) {
    throw new RangeError(
      `Cannot decode CORE_RESULT: expected at least 18 bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  const len = view.getUint16(16, LITTLE_ENDIAN);
  if (18 + len !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode CORE_RESULT: text_len says ${18 + len} bytes, got ${payload.byteLength}`,
    );
  }
  return {
    pid: view.getUint32(0, LITTLE_ENDIAN),
    kept: view.getUint32(4, LITTLE_ENDIAN) === 1,
    bytes: Number(view.getBigUint64(8, LITTLE_ENDIAN)),
    text: decoder.decode(payload.subarray(18)),
  };
}
