/**
 * The kernel's process-events connector messages (NETLINK_CONNECTOR, CN_IDX_PROC): the
 * subscription the daemon sends and the PROC_EVENT_COREDUMP it receives. A pure codec,
 * bounds-checked before every read: a datagram is hostile input until proved to be one
 * whole netlink message holding one whole `proc_event`.
 *
 * Layouts (include/uapi/linux/netlink.h, connector.h, cn_proc.h; host byte order, which
 * is little-endian on the supported hosts):
 *
 * ```c
 * struct nlmsghdr {            // 16 bytes
 *   __u32 nlmsg_len;           // header included
 *   __u16 nlmsg_type;          // NLMSG_DONE (3) for a connector message
 *   __u16 nlmsg_flags;
 *   __u32 nlmsg_seq;
 *   __u32 nlmsg_pid;           // sender's port id: 0 for the kernel
 * };
 * struct cn_msg {              // 20 bytes (the kernel checks: BUILD_BUG_ON)
 *   struct cb_id { __u32 idx; __u32 val; } id;   // CN_IDX_PROC 1, CN_VAL_PROC 1
 *   __u32 seq;
 *   __u32 ack;
 *   __u16 len;                 // bytes of data that follow
 *   __u16 flags;
 *   __u8 data[];
 * };
 * struct proc_input {          // what PROC_CN_MCAST_LISTEN carries since Linux 6.6
 *   enum proc_cn_mcast_op mcast_op;    // PROC_CN_MCAST_LISTEN 1
 *   enum proc_cn_event event_type;     // a mask: PROC_EVENT_COREDUMP alone
 * };
 * struct proc_event {          // 40 bytes
 *   enum proc_cn_event what;   // PROC_EVENT_COREDUMP 0x40000000, PROC_EVENT_NONE 0 (ack)
 *   __u32 cpu;
 *   __u64 timestamp_ns;        // ktime_get_ns(): CLOCK_MONOTONIC, at offset 8
 *   union {                    // 24 bytes (the exit and comm members)
 *     struct { __u32 err; } ack;
 *     struct coredump_proc_event {
 *       __kernel_pid_t process_pid, process_tgid;   // the thread, its process
 *       __kernel_pid_t parent_pid, parent_tgid;     // 0 when the task is no longer alive
 *     } coredump;
 *     ...
 *   } event_data;
 * };
 * ```
 *
 * Pids are the kernel's own (the initial pid namespace): the kernel answers only a
 * listener in the initial pid and user namespaces.
 *
 * @module
 */

/** Protocol numbers, from the kernel headers named above. */
export const CnProc = {
  /** `NETLINK_CONNECTOR` (linux/netlink.h). */
  NETLINK_CONNECTOR: 11,
  /** `CN_IDX_PROC` (linux/connector.h): also the multicast group to bind. */
  CN_IDX_PROC: 1,
  /** `CN_VAL_PROC` (linux/connector.h). */
  CN_VAL_PROC: 1,
  /** `NLMSG_DONE` (linux/netlink.h): the type the connector sends and expects. */
  NLMSG_DONE: 3,
  /** `PROC_CN_MCAST_LISTEN` (linux/cn_proc.h). */
  PROC_CN_MCAST_LISTEN: 1,
  /** `PROC_CN_MCAST_IGNORE` (linux/cn_proc.h). */
  PROC_CN_MCAST_IGNORE: 2,
  /** `PROC_EVENT_NONE` (linux/cn_proc.h): the kernel's acknowledgement of a request. */
  PROC_EVENT_NONE: 0,
  /** `PROC_EVENT_COREDUMP` (linux/cn_proc.h). */
  PROC_EVENT_COREDUMP: 0x4000_0000,
} as const;

/** `sizeof(struct nlmsghdr)`. */
export const NLMSG_HDR_SIZE = 16;
/** `sizeof(struct cn_msg)`. */
export const CN_MSG_SIZE = 20;
/** `sizeof(struct proc_event)`. */
export const PROC_EVENT_SIZE = 40;
/** A whole connector message as the kernel sends one `proc_event`. */
export const PROC_MESSAGE_SIZE = NLMSG_HDR_SIZE + CN_MSG_SIZE + PROC_EVENT_SIZE;
/** The largest datagram decoded: anything longer is refused before it is read. */
export const PROC_MESSAGE_MAX = 4096;

/** A decoded PROC_EVENT_COREDUMP. */
export interface CoredumpEvent {
  /** Discriminant. */
  type: "coredump";
  /** The crashing thread (`process_pid`), global. */
  pid: number;
  /** Its process (`process_tgid`), global. */
  tgid: number;
  /** The parent's thread (`parent_pid`); 0 when not known. */
  parentPid: number;
  /** The parent process (`parent_tgid`); 0 when not known. */
  parentTgid: number;
  /** When the kernel announced it: CLOCK_MONOTONIC, in nanoseconds. */
  timestampNs: bigint;
  /** The CPU it ran on. */
  cpu: number;
}

/** The kernel's answer to a subscription (`PROC_EVENT_NONE`). */
export interface AckEvent {
  /** Discriminant. */
  type: "ack";
  /** 0 for success, else a positive errno (EPERM without CAP_NET_ADMIN on old kernels). */
  err: number;
}

/** Another process event (a fork, exit, ...): a kernel before 6.6 sends them all. */
export interface OtherEvent {
  /** Discriminant. */
  type: "other";
  /** The event's `what`. */
  what: number;
}

/** What one datagram of the connector holds. */
export type ProcEvent = CoredumpEvent | AckEvent | OtherEvent;

/**
 * The subscription: one netlink message, `PROC_CN_MCAST_LISTEN` with a `proc_input`
 * asking for PROC_EVENT_COREDUMP only (`filtered`, Linux 6.6 and later), or the bare
 * 4-byte `mcast_op` that every kernel reads (and then sends every process event).
 *
 * @example
 * ```ts
 * import { encodeListen, PROC_MESSAGE_SIZE } from "./proc_event.ts";
 * encodeListen({ filtered: true, seq: 1, pid: 42 }).byteLength; // 44
 * encodeListen({ filtered: false, seq: 1, pid: 42 }).byteLength; // 40
 * ```
 */
export function encodeListen(
  options: { filtered: boolean; seq: number; pid: number; op?: number },
): Uint8Array<ArrayBuffer> {
  const data = options.filtered ? 8 : 4;
  const out = new Uint8Array(NLMSG_HDR_SIZE + CN_MSG_SIZE + data);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.byteLength, true);
  v.setUint16(4, CnProc.NLMSG_DONE, true);
  v.setUint16(6, 0, true);
  v.setUint32(8, options.seq >>> 0, true);
  v.setUint32(12, options.pid >>> 0, true);
  const cn = NLMSG_HDR_SIZE;
  v.setUint32(cn, CnProc.CN_IDX_PROC, true);
  v.setUint32(cn + 4, CnProc.CN_VAL_PROC, true);
  v.setUint32(cn + 8, options.seq >>> 0, true);
  v.setUint32(cn + 12, 0, true);
  v.setUint16(cn + 16, data, true);
  v.setUint16(cn + 18, 0, true);
  v.setUint32(cn + CN_MSG_SIZE, options.op ?? CnProc.PROC_CN_MCAST_LISTEN, true);
  if (options.filtered) {
    v.setUint32(cn + CN_MSG_SIZE + 4, CnProc.PROC_EVENT_COREDUMP, true);
  }
  return out;
}

/**
 * Decode one datagram of the connector. Throws `RangeError` for a datagram shorter or
 * longer than its headers say, or past {@linkcode PROC_MESSAGE_MAX}; `SyntaxError` for a
 * message that is not the process connector's (another type, connector id or data
 * length). A `proc_event` longer than this codec's is accepted (a later kernel may grow
 * the union): only its first 40 bytes are read.
 *
 * @example
 * ```ts
 * import { decodeProcEvent } from "./proc_event.ts";
 * try {
 *   decodeProcEvent(new Uint8Array(10));
 * } catch (err) {
 *   (err as Error).message; // "Cannot decode a process event: expected at least 16 bytes, got 10"
 * }
 * ```
 */
export function decodeProcEvent(u8: Uint8Array): ProcEvent {
  if (u8.byteLength > PROC_MESSAGE_MAX) {
    throw new RangeError(
      `Cannot decode a process event: ${u8.byteLength} bytes is over ${PROC_MESSAGE_MAX}`,
    );
  }
  if (u8.byteLength < NLMSG_HDR_SIZE) {
    throw new RangeError(
      `Cannot decode a process event: expected at least ${NLMSG_HDR_SIZE} bytes, got ${u8.byteLength}`,
    );
  }
  const v = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const len = v.getUint32(0, true);
  // NLMSG_ALIGN pads to 4 bytes: a datagram may be up to 3 bytes longer than the message.
  if (len < NLMSG_HDR_SIZE || len > u8.byteLength || u8.byteLength - len > 3) {
    throw new RangeError(
      `Cannot decode a process event: nlmsg_len ${len} does not fit a datagram of ${u8.byteLength} bytes`,
    );
  }
  const type = v.getUint16(4, true);
  if (type !== CnProc.NLMSG_DONE) {
    throw new SyntaxError(`Cannot decode a process event: netlink message type ${type}`);
  }
  if (len < NLMSG_HDR_SIZE + CN_MSG_SIZE) {
    throw new RangeError(
      `Cannot decode a process event: expected a ${CN_MSG_SIZE}-byte cn_msg, got ${
        len - NLMSG_HDR_SIZE
      } bytes`,
    );
  }
  const cn = NLMSG_HDR_SIZE;
  const idx = v.getUint32(cn, true);
  const val = v.getUint32(cn + 4, true);
  if (idx !== CnProc.CN_IDX_PROC || val !== CnProc.CN_VAL_PROC) {
    throw new SyntaxError(`Cannot decode a process event: connector id ${idx}.${val}`);
  }
  const dataLen = v.getUint16(cn + 16, true);
  if (dataLen !== len - NLMSG_HDR_SIZE - CN_MSG_SIZE) {
    throw new RangeError(
      `Cannot decode a process event: cn_msg len ${dataLen}, but ${
        len - NLMSG_HDR_SIZE - CN_MSG_SIZE
      } bytes follow`,
    );
  }
  if (dataLen < PROC_EVENT_SIZE) {
    throw new RangeError(
      `Cannot decode a process event: expected a ${PROC_EVENT_SIZE}-byte proc_event, got ${dataLen} bytes`,
    );
  }
  const ev = cn + CN_MSG_SIZE;
  const what = v.getUint32(ev, true);
  const cpu = v.getUint32(ev + 4, true);
  const data = ev + 16;
  if (what === CnProc.PROC_EVENT_NONE) return { type: "ack", err: v.getUint32(data, true) };
  if (what !== CnProc.PROC_EVENT_COREDUMP) return { type: "other", what };
  const pid = v.getInt32(data, true);
  const tgid = v.getInt32(data + 4, true);
  if (pid <= 0 || tgid <= 0) {
    throw new SyntaxError(`Cannot decode a process event: a coredump of pid ${pid} tgid ${tgid}`);
  }
  return {
    type: "coredump",
    pid,
    tgid,
    parentPid: Math.max(0, v.getInt32(data + 8, true)),
    parentTgid: Math.max(0, v.getInt32(data + 12, true)),
    timestampNs: v.getBigUint64(ev + 8, true),
    cpu,
  };
}
