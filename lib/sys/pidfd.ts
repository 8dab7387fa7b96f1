/**
 * Process file descriptors (pidfds) through libc, for the daemon and the notifier alike:
 * a pidfd names one process for as long as it is held, where a pid number can be reused
 * as soon as the process is reaped (or, in another pid namespace, be made to mean
 * another process: `ns_last_pid`). `/proc/PID` is read by number, so a read proves
 * something about the pidfd's process only when the process is known to be alive (not
 * reaped) after the read: {@linkcode readThroughPidfd} does the three steps in order
 * (the pid from the pidfd's fdinfo, the reads, the liveness check).
 *
 * Deno refuses `/proc` without `--allow-all`: fdinfo is read with libc's `open`/`read`.
 * `pidfd_open` and `pidfd_send_signal` are called through libc's `syscall` (their
 * numbers, 434 and 424, are the same on x86-64 and arm64).
 *
 * @module
 */
import { libcSymbols } from "./libc_symbols.ts";
import { cString, dlopenFirst, ERRNO_SYMBOLS, errnoOf, lazyLibc, LIBC_PATHS } from "./ffi.ts";

const SYMBOLS = {
  ...libcSymbols("syscall", "open", "read", "close"),
  ...ERRNO_SYMBOLS,
} as const;

/** `__NR_pidfd_send_signal` on x86-64 and arm64 (the generic syscall table). */
const SYS_PIDFD_SEND_SIGNAL = 424n;
/** `__NR_pidfd_open` on x86-64 and arm64. */
const SYS_PIDFD_OPEN = 434n;
const O_RDONLY_CLOEXEC = 0o2000000;
const EPERM = 1;

const ERRNO_TEXT: Record<number, string> = {
  1: "not permitted",
  3: "no such process",
  9: "not a file descriptor",
  22: "not a pidfd, or a thread's pid",
  24: "too many open files",
  38: "the kernel has no pidfds",
};

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
const lib = lazyLibc(SYMBOLS);

function errnoText(code: number): string {
  return ERRNO_TEXT[code] ?? `errno ${code}`;
}

/**
 * `pidfd_open(pid, 0)`: a pidfd (close-on-exec) of the process `pid` in the caller's pid
 * namespace, or why there is none ("no such process", "the kernel has no pidfds", ...).
 * The caller closes it with {@linkcode closePidfd}.
 */
export function pidfdOpen(pid: number): number | string {
  const c = lib();
  if (typeof c === "string") return c;
  if (!Number.isSafeInteger(pid) || pid <= 0) return `not a process id: ${pid}`;
  const fd = Number(c.syscall(SYS_PIDFD_OPEN, BigInt(pid), 0n, 0n, 0n));
  return fd < 0 ? errnoText(errnoOf(c)) : fd;
}

/** The pid numbers of a pidfd's process, as its fdinfo tells them. */
export interface PidfdPids {
  /**
   * `Pid:`: in the pid namespace of the `/proc` the fdinfo was read through (the global
   * one for the daemon and the notifier); -1 once the process has been reaped, 0 when
   * it is not in that namespace.
   */
  pid: number;
  /**
   * `NSpid:`: its pid in each pid namespace from that one down to its own (the last).
   * Empty when the kernel does not say, or once reaped.
   */
  nsPids: number[];
}

/** Parse the `Pid:` and `NSpid:` lines of a pidfd's fdinfo; `undefined` without `Pid:`. */
export function parsePidfdInfo(text: string): PidfdPids | undefined {
  let pid: number | undefined;
  let nsPids: number[] = [];
  for (const line of text.split("\n")) {
    const tab = line.indexOf(":");
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const value = line.slice(tab + 1).trim();
    if (key === "Pid" && /^-?\d+$/.test(value)) pid = Number(value);
    if (key === "NSpid") {
      const fields = value.split(/\s+/);
      nsPids = fields.every((f) => /^\d+$/.test(f)) ? fields.map(Number) : [];
    }
  }
  return pid === undefined ? undefined : { pid, nsPids };
}

/**
 * The text of a small file under `/proc` (its first 16 KiB), read with libc (Deno
 * refuses `/proc` without `--allow-all`); or why it cannot be read.
 */
export function readProcText(path: string): { text: string } | string {
  const c = lib();
  if (typeof c === "string") return c;
  const file = c.open(cString(path), O_RDONLY_CLOEXEC, 0);
  if (file < 0) return `cannot read ${path}: ${errnoText(errnoOf(c))}`;
  try {
    const buf = new Uint8Array(16 * 1024);
    let len = 0;
    while (len < buf.length) {
      const n = Number(c.read(file, buf.subarray(len), BigInt(buf.length - len)));
      if (n < 0) return `cannot read ${path}: ${errnoText(errnoOf(c))}`;
      if (n === 0) break;
      len += n;
    }
    return { text: new TextDecoder().decode(buf.subarray(0, len)) };
  } finally {
    c.close(file);
  }
}

/**
 * The pids of the process `fd` refers to, from `/proc/self/fdinfo/FD`; or why they
 * cannot be read (not a pidfd, no such fd).
 */
export function pidfdPids(fd: number): PidfdPids | string {
  const path = `/proc/self/fdinfo/${fd}`;
  const read = readProcText(path);
  if (typeof read === "string") return read;
  return parsePidfdInfo(read.text) ?? `fd ${fd} is not a pidfd (no Pid: in ${path})`;
}

/**
 * Is the process `fd` refers to still there (running, dumping core, or a zombie not yet
 * reaped)? `pidfd_send_signal(fd, 0, NULL, 0)`: sends nothing, fails with ESRCH once the
 * process is reaped. While it is there, its pid numbers are its own: no other process
 * can have them. A permission refusal (EPERM) also proves it is there.
 */
export function pidfdAlive(fd: number): boolean {
  const c = lib();
  if (typeof c === "string") return false;
  if (Number(c.syscall(SYS_PIDFD_SEND_SIGNAL, BigInt(fd), 0n, 0n, 0n)) === 0) return true;
  return errnoOf(c) === EPERM;
}

/** Close a pidfd (or any fd); errors are ignored. */
export function closePidfd(fd: number): void {
  const c = lib();
  if (typeof c !== "string" && fd >= 0) c.close(fd);
}

/**
 * `ioctl` alone, for {@linkcode pidfdInfo}, opened on first use. (Deno spends about a
 * tenth of a millisecond per symbol it binds, and more per binding: the notifier calls
 * {@linkcode pidfdInfoThrough} with the `ioctl` of its one binding of libc instead.)
 */
const INFO_SYMBOLS = {
  ...libcSymbols("ioctl"),
} as const;
/** `PIDFD_GET_INFO`: `_IOWR(0xFF, 11, struct pidfd_info)`, of its first version's 64 bytes. */
const PIDFD_GET_INFO = 0xc040_ff0bn;
/** `PIDFD_INFO_PID | PIDFD_INFO_CREDS`. */
const PIDFD_INFO_PID_CREDS = 3n;
/** Offsets in `struct pidfd_info` (linux/pidfd.h), as of Linux 6.13. */
const INFO_AT = { mask: 0, pid: 16, tgid: 20, ppid: 24, ruid: 28, rgid: 32, euid: 36, egid: 40 };

let infoLib: Deno.DynamicLibrary<typeof INFO_SYMBOLS>["symbols"] | string | undefined;

/** A process, as `PIDFD_GET_INFO` tells it: all at one instant, while it was there. */
export interface PidfdInfo {
  /** Its pid in the caller's pid namespace (0 when outside it). */
  pid: number;
  /** Its parent's pid, likewise. */
  ppid: number;
  /** Its real uid, in the caller's user namespace. */
  uid: number;
  /** Its real gid, likewise. */
  gid: number;
  /** Its effective uid. */
  euid: number;
  /** Its effective gid. */
  egid: number;
}

/** libc's `ioctl(fd, request, buf)`, from whichever binding of libc the caller has. */
export type Ioctl = (fd: number, request: bigint, buf: Uint8Array<ArrayBuffer>) => number;

/**
 * `ioctl(fd, PIDFD_GET_INFO)` (Linux 6.13+): the pid and credentials of the pidfd's
 * process in one call, which fails once the process is reaped: what it returns is that
 * process's, with no read of `/proc` to prove. A string when it fails: the process is
 * gone, `fd` is no pidfd, or the kernel is older (then {@linkcode readThroughPidfd}).
 */
export function pidfdInfo(fd: number): PidfdInfo | string {
  if (infoLib === undefined) {
    const l = dlopenFirst("libc", LIBC_PATHS, INFO_SYMBOLS);
    infoLib = typeof l === "string" ? l : l.symbols;
  }
  if (typeof infoLib === "string") return infoLib;
  return pidfdInfoThrough(infoLib.ioctl, fd);
}

/**
 * {@linkcode pidfdInfo} through a given `ioctl`: the notifier's, bound once with its
 * socket calls (lib/notify/peer_cred.ts), spares a binding of its own.
 */
export function pidfdInfoThrough(ioctl: Ioctl, fd: number): PidfdInfo | string {
  const buf = new Uint8Array(64);
  const v = new DataView(buf.buffer);
  v.setBigUint64(INFO_AT.mask, PIDFD_INFO_PID_CREDS, true);
  if (ioctl(fd, PIDFD_GET_INFO, buf) !== 0) {
    return `PIDFD_GET_INFO failed on fd ${fd}: the process is gone, or fd ${fd} is no pidfd, or the kernel is older than 6.13`;
  }
  if ((v.getBigUint64(INFO_AT.mask, true) & PIDFD_INFO_PID_CREDS) !== PIDFD_INFO_PID_CREDS) {
    return `PIDFD_GET_INFO on fd ${fd} told no pid or credentials`;
  }
  const u = (at: number) => v.getUint32(at, true);
  return {
    pid: u(INFO_AT.pid),
    ppid: u(INFO_AT.ppid),
    uid: u(INFO_AT.ruid),
    gid: u(INFO_AT.rgid),
    euid: u(INFO_AT.euid),
    egid: u(INFO_AT.egid),
  };
}

/**
 * A pidfd of the process `pid` now, to ask after reading `/proc/PID` whether that process
 * was still there (`alive`), then `close`; `undefined` when there is none (no such
 * process, no pidfds). Reads proved so are of the process that had `pid` when this was
 * called.
 */
export function holdByPidfd(pid: number): { alive(): boolean; close(): void } | undefined {
  const fd = pidfdOpen(pid);
  if (typeof fd === "string") return undefined;
  return { alive: () => pidfdAlive(fd), close: () => closePidfd(fd) };
}

/** What {@linkcode readThroughPidfd} read, and of which pid. */
export interface PidfdRead<T> {
  /** The process's pids, from the pidfd's fdinfo before the reads. */
  pids: PidfdPids;
  /** What `read` returned, proved to be of the pidfd's process. */
  value: T;
}

/**
 * Read `/proc/PID` of the pidfd's process: its pid from the fdinfo, then `read(pid)`,
 * then the liveness check. The reads are of that process only if it was not reaped
 * before the check: otherwise (or when the pidfd's process is outside the caller's pid
 * namespace) the reason is returned, and `read`'s result is dropped.
 */
export function readThroughPidfd<T>(
  fd: number,
  read: (pid: number) => T,
  deps: { pids(fd: number): PidfdPids | string; alive(fd: number): boolean } = {
    pids: pidfdPids,
    alive: pidfdAlive,
  },
): PidfdRead<T> | string {
  const pids = deps.pids(fd);
  if (typeof pids === "string") return pids;
  if (pids.pid === -1) return "the process is gone (reaped)";
  if (pids.pid === 0) return "the process is in no pid namespace of ours";
  const value = read(pids.pid);
  if (!deps.alive(fd)) return `the process ${pids.pid} was reaped while it was read`;
  return { pids, value };
}
