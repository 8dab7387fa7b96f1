/**
 * Waits on a dead peer: a thread of one process blocked reading a unix socket whose other
 * end belongs to a process that can never answer (it is dumping core: its other threads
 * are gone, and the dumping one is in the kernel until it exits). Found through `/proc`
 * (each thread's `syscall` file: the call it is blocked in and its first argument, the
 * fd), `pidfd_getfd` (a copy of that fd) and `SO_PEERCRED` (who connected); ended with
 * `shutdown(SHUT_RDWR)` on the copy, which acts on the socket itself: the blocked read
 * returns at once, as it would when the peer exits.
 *
 * Reading another process's `syscall` file and taking its fds both need ptrace rights
 * over it (root with `CAP_SYS_PTRACE`, or the same user where Yama allows it). Deno
 * refuses `/proc` without `--allow-all`: the task directory is listed with libc's
 * `getdents64`.
 *
 * @module
 */
import { cString, ERRNO_SYMBOLS, errnoOf, lazyLibc } from "./ffi.ts";
import { SHUT_RDWR, SO_PEERCRED, SOL_SOCKET } from "./linux.ts";
import { closePidfd, pidfdOpen, readProcText } from "./pidfd.ts";

const SYMBOLS = {
  // long syscall(long number, ...): always called with four arguments.
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64"], result: "i64" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t getdents64(int fd, void *dirp, size_t count): glibc 2.30+.
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  ...ERRNO_SYMBOLS,
} as const;

/** `__NR_pidfd_getfd` (Linux 5.6), the same on x86-64 and arm64. */
const SYS_PIDFD_GETFD = 438n;
/** The calls a thread blocked reading a socket is in, by architecture. */
const ARCH = {
  x86_64: new Set([0, 45, 47]), // read, recvfrom, recvmsg
  aarch64: new Set([63, 207, 212]),
} as const;
const O_RDONLY_DIRECTORY_CLOEXEC = 0o2000000 | 0o200000;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
const lib = lazyLibc(SYMBOLS);

/**
 * The names in a directory, through `getdents64` (Deno refuses to list `/proc`); or why
 * it cannot be listed.
 */
function listDir(c: Lib, path: string): string[] | string {
  const fd = c.open(cString(path), O_RDONLY_DIRECTORY_CLOEXEC);
  if (fd < 0) return `cannot list ${path}: errno ${errnoOf(c)}`;
  try {
    const names: string[] = [];
    const buf = new Uint8Array(32 * 1024);
    const view = new DataView(buf.buffer);
    for (;;) {
      const n = Number(c.getdents64(fd, buf, BigInt(buf.length)));
      if (n < 0) return `cannot list ${path}: errno ${errnoOf(c)}`;
      if (n === 0) return names;
      names.push(...parseDirents(buf.subarray(0, n), view));
    }
  } finally {
    c.close(fd);
  }
}

/**
 * The names in a `getdents64` buffer (`struct linux_dirent64`: u64 inode, s64 offset,
 * u16 record length, u8 type, the NUL-terminated name), bounds-checked: a record that
 * does not fit ends the parse.
 */
export function parseDirents(buf: Uint8Array, view = new DataView(buf.buffer)): string[] {
  const names: string[] = [];
  const base = buf.byteOffset;
  for (let at = 0; at + 19 < buf.length;) {
    const len = view.getUint16(base + at + 16, true);
    if (len < 20 || at + len > buf.length) break;
    const name = buf.subarray(at + 19, at + len);
    const nul = name.indexOf(0);
    names.push(new TextDecoder().decode(nul < 0 ? name : name.subarray(0, nul)));
    at += len;
  }
  return names;
}

/**
 * The fd a thread is blocked reading, from its `/proc/PID/task/TID/syscall` text ("47
 * 0x54 0x7ff... ...": the call's number, then its arguments in hex); `undefined` when it
 * is running or in another call.
 */
export function blockedReadFd(text: string, reads: ReadonlySet<number>): number | undefined {
  const [call, fd] = text.trim().split(" ");
  if (!/^\d+$/.test(call ?? "") || !reads.has(Number(call))) return undefined;
  if (!/^0x[0-9a-f]{1,8}$/.test(fd ?? "")) return undefined;
  return Number.parseInt(fd.slice(2), 16);
}

/** What {@linkcode endWaitsOnDeadPeer} did. */
export interface EndedWaits {
  /** The threads of the waiter whose wait was ended, each with its fd. */
  ended: { tid: number; fd: number }[];
}

/**
 * End every wait of process `waiter` (expected to be named `comm`) on a unix socket whose
 * peer is `peer`, when `isDead(peer)` says it can never answer. Returns what was ended,
 * or why nothing could be looked at (not that process, no rights, an older kernel).
 */
export function endWaitsOnDeadPeer(o: {
  waiter: number;
  comm: string;
  peer: number;
  isDead: (pid: number) => boolean;
}): EndedWaits | string {
  const c = lib();
  if (typeof c === "string") return c;
  const reads: ReadonlySet<number> | undefined = ARCH[Deno.build.arch as keyof typeof ARCH];
  if (reads === undefined) return `not on ${Deno.build.arch}`;
  const pidfd = pidfdOpen(o.waiter);
  if (typeof pidfd === "string") return `pid ${o.waiter}: ${pidfd}`;
  try {
    // Named after the pidfd is open: if it is that process now, it stays that process.
    const comm = readProcText(`/proc/${o.waiter}/comm`);
    if (typeof comm === "string") return comm;
    if (comm.text.trim() !== o.comm) return `pid ${o.waiter} is not ${o.comm}`;
    const tids = listDir(c, `/proc/${o.waiter}/task`);
    if (typeof tids === "string") return tids;
    const ended: EndedWaits["ended"] = [];
    for (const tid of tids) {
      if (!/^\d+$/.test(tid)) continue;
      const sc = readProcText(`/proc/${o.waiter}/task/${tid}/syscall`);
      if (typeof sc === "string") continue; // exited, or no rights: nothing to end there
      const fd = blockedReadFd(sc.text, reads);
      if (fd === undefined) continue;
      const copy = Number(c.syscall(SYS_PIDFD_GETFD, BigInt(pidfd), BigInt(fd), 0n, 0n));
      if (copy < 0) return `cannot take fd ${fd} of pid ${o.waiter}: errno ${errnoOf(c)}`;
      try {
        const cred = new Int32Array(3);
        const len = new Uint32Array([12]);
        const asked = c.getsockopt(
          copy,
          SOL_SOCKET,
          SO_PEERCRED,
          new Uint8Array(cred.buffer),
          new Uint8Array(len.buffer),
        );
        if (asked !== 0 || cred[0] !== o.peer || !o.isDead(o.peer)) continue;
        if (c.shutdown(copy, SHUT_RDWR) === 0) ended.push({ tid: Number(tid), fd });
      } finally {
        c.close(copy);
      }
    }
    return { ended };
  } finally {
    closePidfd(pidfd);
  }
}

/** Is `pid` dumping core (`CoreDumping: 1` in its status)? */
export function isDumpingCore(pid: number): boolean {
  const status = readProcText(`/proc/${pid}/status`);
  return typeof status !== "string" && /^CoreDumping:\s*1$/m.test(status.text);
}
