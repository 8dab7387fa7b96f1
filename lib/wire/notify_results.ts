/**
 * The follow-ups of a notification on lttng-trig's notification socket: the fate of the
 * core (command 3, CORE_RESULT) and what the chained crash handler did (command 4,
 * CHAIN_RESULT). The notifier sends them after the crash was released; neither has a
 * reply. lib/wire/notify_ref.ts adds the crash's id to them.
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
import { cappedUtf8, EXT_STRING_MAX, NotifyExtCommand } from "./notify_ext.ts";

const decoder = new TextDecoder("utf-8", { fatal: false });

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
  const view = viewOfAtLeast("CORE_RESULT", payload, at.text);
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
/** The largest signal number (SIGRTMAX on Linux). */
const SIGNAL_MAX = 64;

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
  /** The number of the signal that ended it (1 to 64), when one did. */
  signal?: number;
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
  const signal = msg.signal ?? 0;
  if (signal < 0 || signal > SIGNAL_MAX || !Number.isInteger(signal)) {
    throw new RangeError(`Cannot encode CHAIN_RESULT: signal ${signal} out of 0..${SIGNAL_MAX}`);
  }
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
  const view = viewOfAtLeast("CHAIN_RESULT", payload, at.data);
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
  if (signal > SIGNAL_MAX) {
    throw new RangeError(`Cannot decode CHAIN_RESULT: signal ${signal} over ${SIGNAL_MAX}`);
  }
  const reason = decoder.decode(payload.subarray(at.data + programLen));
  return {
    pid: view.getUint32(at.pid, LITTLE_ENDIAN),
    outcome,
    ...(code === NO_EXIT ? {} : { code }),
    ...(signal === 0 ? {} : { signal }),
    bytes: Number(view.getBigUint64(at.bytes, LITTLE_ENDIAN)),
    durationMs: view.getUint32(at.durationMs, LITTLE_ENDIAN),
    program: decoder.decode(payload.subarray(at.data, at.data + programLen)),
    ...(reason === "" ? {} : { reason }),
  };
}
