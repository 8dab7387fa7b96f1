/**
 * lttng-trig's extensions of the notification socket: richer crash facts (command 2),
 * the fate of the core (command 3) and what the chained crash handler did (command 4).
 * Command 1 stays exactly the RFC's.
 *
 * @module
 */
import { checkU32, encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";
import { utf8Prefix } from "./cstring.ts";
import { linuxSignalName, linuxSignalNumber } from "../core/signals.ts";
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
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** UTF-8 of `text`, at most EXT_STRING_MAX bytes, never ending inside a character. */
function cappedUtf8(text: string): Uint8Array {
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
  if (payload.byteLength < at.data) {
    throw new RangeError(
      `Cannot decode ONANYCOREDUMP_EXT: expected at least ${at.data} bytes, got ${payload.byteLength}`,
    );
  }
  const base = decodeOnAnyCoreDump(payload.subarray(at.base, at.base + ONANYCOREDUMP_SIZE));
  const view = viewOf(payload);
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

/** Byte offsets of the CORE_RESULT payload's fields: one table for both directions. */
export const CORE_RESULT_OFFSETS = { pid: 0, kept: 4, bytes: 8, textLen: 16, text: 18 } as const;
/** Largest CORE_RESULT payload. */
export const CORE_RESULT_MAX: number = CORE_RESULT_OFFSETS.text + EXT_STRING_MAX;

/** Encode a whole CORE_RESULT frame. */
export function encodeCoreResult(msg: CoreResultMessage): Uint8Array {
  const at = CORE_RESULT_OFFSETS;
  const text = cappedUtf8(msg.text);
  const size = at.text + text.byteLength;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyExtCommand.CORE_RESULT, msgSize: size }, frame, 0);
  const view = viewOf(frame);
  const p = HEADER_SIZE;
  view.setUint32(p + at.pid, msg.pid, LITTLE_ENDIAN);
  view.setUint32(p + at.kept, msg.kept ? 1 : 0, LITTLE_ENDIAN);
  view.setBigUint64(p + at.bytes, BigInt(Math.max(0, Math.trunc(msg.bytes))), LITTLE_ENDIAN);
  view.setUint16(p + at.textLen, text.byteLength, LITTLE_ENDIAN);
  frame.set(text, p + at.text);
  return frame;
}

/** Decode a CORE_RESULT payload. */
export function decodeCoreResult(payload: Uint8Array): CoreResultMessage {
  const at = CORE_RESULT_OFFSETS;
  if (payload.byteLength < at.text) {
    throw new RangeError(
      `Cannot decode CORE_RESULT: expected at least ${at.text} bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  const len = view.getUint16(at.textLen, LITTLE_ENDIAN);
  if (at.text + len !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode CORE_RESULT: text_len says ${at.text + len} bytes, got ${payload.byteLength}`,
    );
  }
  return {
    pid: view.getUint32(at.pid, LITTLE_ENDIAN),
    kept: view.getUint32(at.kept, LITTLE_ENDIAN) === 1,
    bytes: Number(view.getBigUint64(at.bytes, LITTLE_ENDIAN)),
    text: decoder.decode(payload.subarray(at.text)),
  };
}

/** The outcomes of the chained handler, as CHAIN_RESULT numbers them. */
export const ChainOutcomeCode = { ok: 0, failed: 1, timeout: 2, missing: 3 } as const;

/** `code` when the handler did not exit (killed, or never started). */
const NO_EXIT = -1;

/**
 * What the chained crash handler (`install --chain`) did with a crash, sent by the
 * notifier once it ended.
 *
 * ```c
 * struct lttng_trig_notify_chain_result {
 *     uint32_t pid;          // %p of the crash this is about
 *     uint32_t outcome;      // 0 ok, 1 failed, 2 timeout, 3 missing
 *     int32_t  code;         // its exit status; -1 when it did not exit
 *     uint32_t signal;       // the signal that ended it; 0 when none did
 *     uint64_t bytes;        // core bytes it was given
 *     uint32_t duration_ms;  // from its start to its end (or to the failed start)
 *     uint16_t program_len;  // bytes of program, at most 4096
 *     uint16_t reason_len;   // bytes of reason, at most 4096
 *     char     data[];       // program (argv[0]), then reason (empty for ok), UTF-8
 * };                         // 32 + program_len + reason_len bytes
 * ```
 */
export interface ChainResultMessage {
  /** The crash's pid. */
  pid: number;
  /** What became of the handler. */
  outcome: keyof typeof ChainOutcomeCode;
  /** Its exit status, when it exited. */
  code?: number;
  /** The signal that ended it (`SIGKILL`, or a number as text), when one did. */
  signal?: string;
  /** Milliseconds it ran. */
  durationMs: number;
  /** Core bytes it was given. */
  bytes: number;
  /** The program run. */
  program: string;
  /** What went wrong. */
  reason?: string;
}

/** Byte offsets of the CHAIN_RESULT payload's fields: one table for both directions. */
export const CHAIN_RESULT_OFFSETS = {
  pid: 0,
  outcome: 4,
  code: 8,
  signal: 12,
  bytes: 16,
  durationMs: 24,
  programLen: 28,
  reasonLen: 30,
  data: 32,
} as const;
/** Largest CHAIN_RESULT payload. */
export const CHAIN_RESULT_MAX: number = CHAIN_RESULT_OFFSETS.data + 2 * EXT_STRING_MAX;

/** Encode a whole CHAIN_RESULT frame; strings are cut to 4096 bytes at a character boundary. */
export function encodeChainResult(msg: ChainResultMessage): Uint8Array {
  const at = CHAIN_RESULT_OFFSETS;
  const program = cappedUtf8(msg.program);
  const reason = cappedUtf8(msg.reason ?? "");
  const size = at.data + program.byteLength + reason.byteLength;
  const frame = new Uint8Array(HEADER_SIZE + size);
  encodeHeaderInto({ cmd: NotifyExtCommand.CHAIN_RESULT, msgSize: size }, frame, 0);
  const view = viewOf(frame);
  const p = HEADER_SIZE;
  checkU32("pid", msg.pid);
  view.setUint32(p + at.pid, msg.pid, LITTLE_ENDIAN);
  view.setUint32(p + at.outcome, ChainOutcomeCode[msg.outcome], LITTLE_ENDIAN);
  const code = msg.code === undefined ? NO_EXIT : Math.trunc(msg.code);
  view.setInt32(p + at.code, code >= 0 && code <= 255 ? code : NO_EXIT, LITTLE_ENDIAN);
  const signal = msg.signal === undefined ? 0 : linuxSignalNumber(msg.signal) ?? 0;
  view.setUint32(p + at.signal, signal, LITTLE_ENDIAN);
  view.setBigUint64(p + at.bytes, BigInt(Math.max(0, Math.trunc(msg.bytes))), LITTLE_ENDIAN);
  const ms = Math.min(0xffff_ffff, Math.max(0, Math.round(msg.durationMs)));
  view.setUint32(p + at.durationMs, ms, LITTLE_ENDIAN);
  view.setUint16(p + at.programLen, program.byteLength, LITTLE_ENDIAN);
  view.setUint16(p + at.reasonLen, reason.byteLength, LITTLE_ENDIAN);
  frame.set(program, p + at.data);
  frame.set(reason, p + at.data + program.byteLength);
  return frame;
}

/** Decode a CHAIN_RESULT payload; lengths and the outcome are checked. */
export function decodeChainResult(payload: Uint8Array): ChainResultMessage {
  const at = CHAIN_RESULT_OFFSETS;
  if (payload.byteLength < at.data) {
    throw new RangeError(
      `Cannot decode CHAIN_RESULT: expected at least ${at.data} bytes, got ${payload.byteLength}`,
    );
  }
  const view = viewOf(payload);
  const programLen = view.getUint16(at.programLen, LITTLE_ENDIAN);
  const reasonLen = view.getUint16(at.reasonLen, LITTLE_ENDIAN);
  if (programLen > EXT_STRING_MAX || reasonLen > EXT_STRING_MAX) {
    throw new RangeError(
      `Cannot decode CHAIN_RESULT: program_len ${programLen} or reason_len ${reasonLen} over ${EXT_STRING_MAX}`,
    );
  }
  if (at.data + programLen + reasonLen !== payload.byteLength) {
    throw new RangeError(
      `Cannot decode CHAIN_RESULT: lengths say ${
        at.data + programLen + reasonLen
      } bytes, got ${payload.byteLength}`,
    );
  }
  const n = view.getUint32(at.outcome, LITTLE_ENDIAN);
  const outcome = (Object.keys(ChainOutcomeCode) as (keyof typeof ChainOutcomeCode)[]).find(
    (k) => ChainOutcomeCode[k] === n,
  );
  if (outcome === undefined) {
    throw new RangeError(`Cannot decode CHAIN_RESULT: unknown outcome ${n}`);
  }
  const code = view.getInt32(at.code, LITTLE_ENDIAN);
  if (code < NO_EXIT || code > 255) {
    throw new RangeError(`Cannot decode CHAIN_RESULT: exit status ${code} out of 0..255`);
  }
  const signal = view.getUint32(at.signal, LITTLE_ENDIAN);
  if (signal > 64) throw new RangeError(`Cannot decode CHAIN_RESULT: signal ${signal} over 64`);
  const reason = decoder.decode(payload.subarray(at.data + programLen));
  return {
    pid: view.getUint32(at.pid, LITTLE_ENDIAN),
    outcome,
    ...(code === NO_EXIT ? {} : { code }),
    ...(signal === 0 ? {} : { signal: linuxSignalName(signal) }),
    bytes: Number(view.getBigUint64(at.bytes, LITTLE_ENDIAN)),
    durationMs: view.getUint32(at.durationMs, LITTLE_ENDIAN),
    program: decoder.decode(payload.subarray(at.data, at.data + programLen)),
    ...(reason === "" ? {} : { reason }),
  };
}
