/**
 * Follow-ups that name their crash: a CORE_RESULT (3) or CHAIN_RESULT (4) sent after a
 * reply that gave the crash's id (lib/wire/notify.ts) goes as command 5 or 6, its
 * payload the same after the 8-byte id. The daemon then records it on that crash, and
 * never on another crash of the same pid (which a process in another pid namespace can
 * have).
 *
 * ```c
 * struct lttng_trig_notify_core_result_of {   // command 5
 *     uint64_t crash_id;                      // 0: the id the reply gave
 *     struct lttng_trig_notify_core_result r; // 8: as command 3
 * };
 * struct lttng_trig_notify_chain_result_of {  // command 6
 *     uint64_t crash_id;                      // 0: the id the reply gave
 *     struct lttng_trig_notify_chain_result r; // 8: as command 4
 * };
 * ```
 *
 * @module
 */
import { decodeHeader, encodeHeaderInto, HEADER_SIZE, LITTLE_ENDIAN, viewOf } from "./header.ts";
import { NotifyExtCommand } from "./notify_ext.ts";
import { CHAIN_RESULT_MAX, CORE_RESULT_MAX } from "./notify_results.ts";

/** The follow-up commands that carry a crash id. */
export const NotifyRefCommand = {
  /** A CORE_RESULT of the crash `crash_id`. */
  CORE_RESULT_OF: 5,
  /** A CHAIN_RESULT of the crash `crash_id`. */
  CHAIN_RESULT_OF: 6,
} as const;

/** Bytes of the crash id before the payload. */
export const CRASH_ID_SIZE = 8;
/** Largest CORE_RESULT_OF payload. */
export const CORE_RESULT_OF_MAX: number = CRASH_ID_SIZE + CORE_RESULT_MAX;
/** Largest CHAIN_RESULT_OF payload. */
export const CHAIN_RESULT_OF_MAX: number = CRASH_ID_SIZE + CHAIN_RESULT_MAX;

const OF: Record<number, number> = {
  [NotifyExtCommand.CORE_RESULT]: NotifyRefCommand.CORE_RESULT_OF,
  [NotifyExtCommand.CHAIN_RESULT]: NotifyRefCommand.CHAIN_RESULT_OF,
};

/**
 * The follow-up `frame` (a whole CORE_RESULT or CHAIN_RESULT frame) naming crash
 * `crashId`; `frame` itself when the id is unknown (`undefined` or 0: an old daemon, or
 * a crash not recorded), which the daemon then places by pid.
 */
export function namingCrash(frame: Uint8Array, crashId: number | undefined): Uint8Array {
  if (crashId === undefined || crashId <= 0) return frame;
  const header = decodeHeader(frame);
  const cmd = OF[header.cmd];
  if (cmd === undefined) throw new TypeError(`Cannot name a crash in command ${header.cmd}`);
  const out = new Uint8Array(frame.byteLength + CRASH_ID_SIZE);
  encodeHeaderInto({ cmd, msgSize: header.msgSize + CRASH_ID_SIZE }, out, 0);
  viewOf(out).setBigUint64(HEADER_SIZE, BigInt(crashId), LITTLE_ENDIAN);
  out.set(frame.subarray(HEADER_SIZE), HEADER_SIZE + CRASH_ID_SIZE);
  return out;
}

/** Split a CORE_RESULT_OF or CHAIN_RESULT_OF payload into its crash id and the rest. */
export function splitCrashId(payload: Uint8Array): { crashId: number; rest: Uint8Array } {
  if (payload.byteLength < CRASH_ID_SIZE) {
    throw new RangeError(
      `Cannot decode a crash id: expected at least ${CRASH_ID_SIZE} bytes, got ${payload.byteLength}`,
    );
  }
  const id = viewOf(payload).getBigUint64(0, LITTLE_ENDIAN);
  if (id === 0n || id > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot decode a crash id: ${id} is not a history id`);
  }
  return { crashId: Number(id), rest: payload.subarray(CRASH_ID_SIZE) };
}
