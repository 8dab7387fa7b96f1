/**
 * lttng-trig's extensions of the notification socket: its command numbers, and richer
 * crash facts (command 2). The fate of the core (command 3) and what the chained crash
 * handler did (command 4) are in lib/wire/notify_results.ts. Command 1 stays exactly the
 * RFC's.
 *
 * @module
 */
import {
  checkU32,
  encodeHeaderInto,
  HEADER_SIZE,
  LITTLE_ENDIAN,
  viewOf,
  viewOfAtLeast,
} from "./header.ts";
import { utf8Prefix } from "./cstring.ts";
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
  /** After the chained handler (`install --chain`) ended: its exit, duration, bytes. */
  CHAIN_RESULT: 4,
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
  /** `tid` (%i): the fixed part grows by 4 bytes, `data` starts at 564. */
  TID: 128,
  /** No field: the sender reads the 24-byte reply, with the crash's id (lib/wire/notify.ts). */
  REPLY_ID: 256,
  /** No field: `global_pid`, `uid` and `gid` were read through the kernel's pidfd (%F). */
  PIDFD_IDENTITY: 512,
  /** No data: the notifier releases this crash at once (past its uid's share of held crashes). */
  RELEASED: 1024,
} as const;

/** Largest `exe` and `cmdline` carried (PATH_MAX, and the first 4 KiB of the command line). */
export const EXT_STRING_MAX = 4096;

/**
 * Byte offsets of the ONANYCOREDUMP_EXT payload's fields (the struct documented on
 * {@linkcode OnAnyCoreDumpExtMessage}): the one table both the encoder and the decoder
 * read. `base` is the RFC's packed 522-byte ONANYCOREDUMP.
 */
export const ONANYCOREDUMP_EXT_OFFSETS = {
  base: 0,
  pad: ONANYCOREDUMP_SIZE,
  flags: 524,
  globalPid: 528,
  signal: 532,
  time: 536,
  coreLimit: 544,
  dumpMode: 552,
  exeLen: 556,
  cmdlineLen: 558,
  /** Where `data` starts without {@linkcode ExtFlag.TID}. */
  data: 560,
  /** With {@linkcode ExtFlag.TID} only: the crashing thread's tid, then `data`. */
  tid: 560,
  /** Where `data` starts with {@linkcode ExtFlag.TID}. */
  dataAfterTid: 564,
} as const;
/** Fixed part of an ONANYCOREDUMP_EXT payload (the smallest: without a tid). */
export const ONANYCOREDUMP_EXT_FIXED: number = ONANYCOREDUMP_EXT_OFFSETS.data;
/** Largest ONANYCOREDUMP_EXT payload. */
export const ONANYCOREDUMP_EXT_MAX: number = ONANYCOREDUMP_EXT_OFFSETS.dataAfterTid +
  2 * EXT_STRING_MAX;

/** Where `data` starts in a payload whose `flags` are these. */
function dataOffset(flags: number): number {
  return flags & ExtFlag.TID
    ? ONANYCOREDUMP_EXT_OFFSETS.dataAfterTid
    : ONANYCOREDUMP_EXT_OFFSETS.data;
}

/** The optional 32-bit facts: field, offset and flag, for the encoder and the decoder. */
const EXT_U32_FIELDS = [
  ["globalPid", ONANYCOREDUMP_EXT_OFFSETS.globalPid, ExtFlag.GLOBAL_PID],
  ["signal", ONANYCOREDUMP_EXT_OFFSETS.signal, ExtFlag.SIGNAL],
  ["dumpMode", ONANYCOREDUMP_EXT_OFFSETS.dumpMode, ExtFlag.DUMP_MODE],
] as const;

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
 *     uint32_t tid;          // 560: %i, only when flags has TID (128)
 *     char     data[];       // 560 (564 with TID): exe, then cmdline (NUL-separated)
 * };
 * ```
 *
 * The tid came later: a sender that does not set TID sends the 560-byte fixed part of
 * before, and is decoded as before.
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
  /** `%i`: the crashing thread's tid, in the crashed process's pid namespace. */
  tid?: number;
  /** The sender asks for the crash's id in the reply ({@linkcode ExtFlag.REPLY_ID}). */
  replyId?: boolean;
  /** How the ids were proved ({@linkcode ExtFlag.PIDFD_IDENTITY}). */
  identity?: "pidfd";
  /** The notifier releases the crash at once: its uid holds its share of crashes already. */
  released?: true;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
/** UINT64_MAX: `core_limit` of RLIM_INFINITY. */
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * UTF-8 of `text`, at most {@linkcode EXT_STRING_MAX} bytes, never ending inside a
 * character: the strings of every extended command.
 */
export function cappedUtf8(text: string): Uint8Array {
  return utf8Prefix(encoder.encode(text), EXT_STRING_MAX);
}

/** Encode a whole ONANYCOREDUMP_EXT frame. */
export function encodeOnAnyCoreDumpExt(msg: OnAnyCoreDumpExtMessage): Uint8Array {
  const at = ONANYCOREDUMP_EXT_OFFSETS;
  const exe = cappedUtf8(msg.exe ?? "");
  const cmdline = cappedUtf8((msg.cmdline ?? []).join("\0"));
  const data = msg.tid === undefined ? at.data : at.dataAfterTid;
  const size = data + exe.byteLength + cmdline.byteLength;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyExtCommand.ONANYCOREDUMP_EXT, msgSize: size }, frame, 0);
  const p = HEADER_SIZE;
  encodeOnAnyCoreDumpInto(msg, frame, p + at.base);
  const view = viewOf(frame);
  let flags = 0;
  for (const [name, offset, flag] of EXT_U32_FIELDS) {
    const v = msg[name];
    if (v === undefined) continue;
    checkU32(name, v);
    view.setUint32(p + offset, v, LITTLE_ENDIAN);
    flags |= flag;
  }
  if (msg.time !== undefined) {
    view.setBigUint64(p + at.time, BigInt(Math.max(0, Math.trunc(msg.time))), LITTLE_ENDIAN);
    flags |= ExtFlag.TIME;
  }
  if (msg.coreLimit !== undefined) {
    const v = msg.coreLimit === "unlimited"
      ? U64_MAX
      : BigInt(Math.max(0, Math.trunc(msg.coreLimit)));
    view.setBigUint64(p + at.coreLimit, v, LITTLE_ENDIAN);
    flags |= ExtFlag.CORE_LIMIT;
  }
  if (msg.tid !== undefined) {
    checkU32("tid", msg.tid);
    view.setUint32(p + at.tid, msg.tid, LITTLE_ENDIAN);
    flags |= ExtFlag.TID;
  }
  if (msg.replyId) flags |= ExtFlag.REPLY_ID;
  if (msg.identity === "pidfd") flags |= ExtFlag.PIDFD_IDENTITY;
  if (msg.released === true) flags |= ExtFlag.RELEASED;
  if (msg.exe !== undefined) flags |= ExtFlag.EXE;
  if (msg.cmdline !== undefined) flags |= ExtFlag.CMDLINE;
  view.setUint32(p + at.flags, flags, LITTLE_ENDIAN);
  view.setUint16(p + at.exeLen, exe.byteLength, LITTLE_ENDIAN);
  view.setUint16(p + at.cmdlineLen, cmdline.byteLength, LITTLE_ENDIAN);
  frame.set(exe, p + data);
  frame.set(cmdline, p + data + exe.byteLength);
  return frame;
}

/** Decode an ONANYCOREDUMP_EXT payload; lengths are checked against the bytes present. */
export function decodeOnAnyCoreDumpExt(payload: Uint8Array): OnAnyCoreDumpExtMessage {
  const at = ONANYCOREDUMP_EXT_OFFSETS;
  const view = viewOfAtLeast("ONANYCOREDUMP_EXT", payload, at.data);
  const base = decodeOnAnyCoreDump(payload.subarray(at.base, at.base + ONANYCOREDUMP_SIZE));
  const flags = view.getUint32(at.flags, LITTLE_ENDIAN);
  const exeLen = view.getUint16(at.exeLen, LITTLE_ENDIAN);
  const cmdLen = view.getUint16(at.cmdlineLen, LITTLE_ENDIAN);
  if (exeLen > EXT_STRING_MAX || cmdLen > EXT_STRING_MAX) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: exe_len ${exeLen} or cmdline_len ${cmdLen} over ${EXT_STRING_MAX}`,
    );
  }
  const data = dataOffset(flags);
  if (data + exeLen + cmdLen !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: lengths say ${
        data + exeLen + cmdLen
      } bytes, got ${payload.byteLength}`,
    );
  }
  const msg: OnAnyCoreDumpExtMessage = { ...base };
  for (const [name, offset, flag] of EXT_U32_FIELDS) {
    if (flags & flag) msg[name] = view.getUint32(offset, LITTLE_ENDIAN);
  }
  if (flags & ExtFlag.TIME) msg.time = Number(view.getBigUint64(at.time, LITTLE_ENDIAN));
  if (flags & ExtFlag.CORE_LIMIT) {
    const v = view.getBigUint64(at.coreLimit, LITTLE_ENDIAN);
    msg.coreLimit = v === U64_MAX ? "unlimited" : Number(v);
  }
  if (flags & ExtFlag.TID) msg.tid = view.getUint32(at.tid, LITTLE_ENDIAN);
  if (flags & ExtFlag.REPLY_ID) msg.replyId = true;
  if (flags & ExtFlag.PIDFD_IDENTITY) msg.identity = "pidfd";
  if (flags & ExtFlag.RELEASED) msg.released = true;
  const exeBytes = payload.subarray(data, data + exeLen);
  const cmdBytes = payload.subarray(data + exeLen);
  if (flags & ExtFlag.EXE) msg.exe = decoder.decode(exeBytes);
  if (flags & ExtFlag.CMDLINE) {
    msg.cmdline = cmdLen === 0 ? [] : decoder.decode(cmdBytes).split("\0");
  }
  return msg;
}
