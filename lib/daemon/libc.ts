/**
 * The few libc calls the daemon needs that Deno does not offer without `--allow-all`
 * (reading `/proc/PID`) or at all (`prctl`): through FFI, scoped to libc's path in the
 * `lttng-trig` permission set. Opened once, by the daemon only (never by the notifier).
 *
 * @module
 */
import { libcSymbols } from "../sys/libc_symbols.ts";
import { cString, dlopenFirst, LIBC_PATHS, readLinkWith } from "../sys/ffi.ts";
import { F_SETFD, FD_CLOEXEC, SO_PEERCRED, SOL_SOCKET } from "../sys/linux.ts";

export { LIBC_PATHS };

const SYMBOLS = {
  ...libcSymbols(
    "open",
    "read",
    "close",
    "readlink",
    "prctl",
    "getsockopt",
    "fcntl",
    "clock_gettime",
    "sysconf",
  ),
} as const;

const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const SC_CLK_TCK = 2;

const O_RDONLY_CLOEXEC = 0o2000000;
const F_GETFD = 1;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const decoder = new TextDecoder();
const readBuffer = new Uint8Array(16 * 1024);

/** libc's calls, as the daemon uses them. */
export interface Libc {
  /** The text of a small file (its first 16 KiB), or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  /** The target of a link, or `undefined` when it cannot be read. */
  readLink(path: string): string | undefined;
  /** `prctl(PR_SET_DUMPABLE, 0)`, then whether `PR_GET_DUMPABLE` says 0. */
  setNotDumpable(): boolean;
  /**
   * Who connected to the unix socket `fd` (`SO_PEERCRED`: the peer's pid, uid and gid at
   * `connect`, in this process's namespaces), or `undefined` when it cannot be read.
   */
  peerCredentials(fd: number): PeerCredentials | undefined;
  /** Set `FD_CLOEXEC` on `fd`, so that no child process inherits it; whether it is set. */
  setCloseOnExec(fd: number): boolean;
  /** CLOCK_BOOTTIME minus CLOCK_MONOTONIC, in nanoseconds: the time spent suspended. */
  bootOffsetNs(): bigint;
  /** `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat`'s start time. */
  clockTicks(): number;
  /** CLOCK_MONOTONIC, in nanoseconds (exact for 104 days of uptime). */
  monotonicNs(): number;
}

/** A unix socket peer's credentials, as the kernel gives them (`struct ucred`). */
export interface PeerCredentials {
  /** Its pid. */
  pid: number;
  /** Its effective uid. */
  uid: number;
  /** Its effective gid. */
  gid: number;
}

let opened: Libc | string | undefined;

/** libc (opened on first use), or why it cannot be used. */
export function libc(): Libc | string {
  opened ??= open();
  return opened;
}

function open(): Libc | string {
  const lib = dlopenFirst("libc", LIBC_PATHS, SYMBOLS);
  if (typeof lib === "string") return lib;
  const c = lib.symbols;
  return {
    readFile(file) {
      const fd = c.open(cString(file), O_RDONLY_CLOEXEC, 0);
      if (fd < 0) return undefined;
      try {
        const buf = readBuffer; // calls are synchronous: one buffer serves them all
        let len = 0;
        while (len < buf.length) {
          const n = Number(c.read(fd, buf.subarray(len), BigInt(buf.length - len)));
          if (n < 0) return undefined;
          if (n === 0) break;
          len += n;
        }
        return decoder.decode(buf.subarray(0, len));
      } finally {
        c.close(fd);
      }
    },
    readLink: (link) => readLinkWith(c.readlink, link),
    bootOffsetNs() {
      const ts = new BigInt64Array(2);
      c.clock_gettime(CLOCK_BOOTTIME, ts);
      const boot = ts[0] * 1_000_000_000n + ts[1];
      c.clock_gettime(CLOCK_MONOTONIC, ts);
      return boot - (ts[0] * 1_000_000_000n + ts[1]);
    },
    monotonicNs() {
      const ts = new BigInt64Array(2);
      c.clock_gettime(CLOCK_MONOTONIC, ts);
      return Number(ts[0]) * 1e9 + Number(ts[1]);
    },
    clockTicks() {
      return Number(c.sysconf(SC_CLK_TCK));
    },
    setNotDumpable() {
      c.prctl(PR_SET_DUMPABLE, 0n, 0n, 0n, 0n);
      return c.prctl(PR_GET_DUMPABLE, 0n, 0n, 0n, 0n) === 0;
    },
    peerCredentials(fd) {
      // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
      const cred = new Uint8Array(12);
      const len = new Uint32Array([cred.byteLength]);
      if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, new Uint8Array(len.buffer)) !== 0) {
        return undefined;
      }
      if (len[0] !== cred.byteLength) return undefined;
      const v = new DataView(cred.buffer);
      return { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
    },
    setCloseOnExec(fd) {
      const flags = c.fcntl(fd, F_GETFD, 0);
      if (flags < 0) return false;
      if (c.fcntl(fd, F_SETFD, flags | FD_CLOEXEC) !== 0) return false;
      return (c.fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) !== 0;
    },
  };
}
