/**
 * Waits on a dead peer: a thread of one process blocked reading a unix socket whose other
 * end belongs to a process that can never answer (it is dumping core: its other threads
 * are gone, and the dumping one is in the kernel until it exits). Found through `/proc`
 * (each thread's `syscall` file: the call it is blocked in and its first argument, the
 * fd), `pidfd_getfd` (a copy of that fd) and `SO_PEERCRED` (who connected). Ended by an
 * answer in the dead peer's place: zero bytes written into the peer's end of the
 * connection (the fd of the peer whose sock_diag peer inode is the waiter's socket), which
 * the waiter reads as a reply it rejects; or, where that cannot be done, by
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
import { libcSymbols } from "./libc_symbols.ts";
import { cString, ERRNO_SYMBOLS, errnoOf, lazyLibc, readLinkWith } from "./ffi.ts";
import {
  AF_NETLINK,
  AF_UNIX,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SHUT_RDWR,
  SO_PEERCRED,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "./linux.ts";
import { closePidfd, pidfdOpen, readProcText } from "./pidfd.ts";

const SYMBOLS = {
  ...libcSymbols(
    "syscall",
    "open",
    "close",
    "getdents64",
    "getsockopt",
    "shutdown",
    "socket",
    "send",
    "recv",
    "readlink",
  ),
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
/** `NETLINK_SOCK_DIAG`, `SOCK_DIAG_BY_FAMILY`, `NLM_F_REQUEST`, `NLMSG_ERROR`. */
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 1;
const NLMSG_ERROR = 2;
/** `UDIAG_SHOW_PEER`, and the attribute that carries it (`UNIX_DIAG_PEER`). */
const UDIAG_SHOW_PEER = 4;
const UNIX_DIAG_PEER = 2;
/**
 * What the waiter is given in place of its dead peer's reply: more zero bytes than any
 * lttng-ust reply (`struct ustcomm_ust_reply`, 600 bytes in 2.13). It reads one reply's
 * worth, finds the command it names is not the one it sent, and goes on with an error, as
 * after its timeout, with the peer still registered: the rest stays unread in a socket
 * that closes when the process exits.
 */
const ANSWER_BYTES = 4096;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
const lib = lazyLibc(SYMBOLS);

/**
 * The names in a directory, through `getdents64` (Deno refuses to list `/proc`); or why
 * it cannot be listed.
 */
function listDir(c: Lib, path: string): string[] | string {
  const fd = c.open(cString(path), O_RDONLY_DIRECTORY_CLOEXEC, 0);
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

/** The inode of a socket from its `/proc/PID/fd/N` link (`socket:[123]`). */
export function socketInode(link: string | undefined): number | undefined {
  const m = /^socket:\[(\d{1,10})\]$/.exec(link ?? "");
  return m === null ? undefined : Number(m[1]);
}

/** The `SOCK_DIAG_BY_FAMILY` request for the unix socket `ino` and its peer. */
export function unixDiagRequest(ino: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(16 + 24);
  const v = new DataView(buf.buffer);
  v.setUint32(0, buf.length, true); // nlmsg_len
  v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  v.setUint16(6, NLM_F_REQUEST, true);
  buf[16] = AF_UNIX; // sdiag_family; sdiag_protocol 0, pad
  v.setUint32(20, 0xffff_ffff, true); // udiag_states: any
  v.setUint32(24, ino, true);
  v.setUint32(28, UDIAG_SHOW_PEER, true);
  v.setUint32(32, 0xffff_ffff, true); // udiag_cookie: INET_DIAG_NOCOOKIE
  v.setUint32(36, 0xffff_ffff, true);
  return buf;
}

/**
 * The peer inode in a reply to {@linkcode unixDiagRequest} (`struct nlmsghdr`, `struct
 * unix_diag_msg`, then attributes), bounds-checked; `undefined` for an error, another
 * socket or no peer.
 */
export function parseUnixDiagPeer(buf: Uint8Array, ino: number): number | undefined {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 32) return undefined;
  const len = v.getUint32(0, true);
  if (len < 32 || len > buf.length || v.getUint16(4, true) === NLMSG_ERROR) return undefined;
  if (buf[16] !== AF_UNIX || v.getUint32(20, true) !== ino) return undefined;
  for (let at = 32; at + 4 <= len;) {
    const alen = v.getUint16(at, true);
    if (alen < 4 || at + alen > len) return undefined;
    if (v.getUint16(at + 2, true) === UNIX_DIAG_PEER && alen >= 8) {
      return v.getUint32(at + 4, true);
    }
    at += (alen + 3) & ~3;
  }
  return undefined;
}

/** The inode of the peer of unix socket `ino`, through sock_diag; `undefined` if unknown. */
function unixPeer(c: Lib, diag: number, ino: number): number | undefined {
  const req = unixDiagRequest(ino);
  if (Number(c.send(diag, req, BigInt(req.length), MSG_NOSIGNAL)) !== req.length) return undefined;
  const reply = new Uint8Array(512);
  const n = Number(c.recv(diag, reply, BigInt(reply.length), 0));
  return n <= 0 ? undefined : parseUnixDiagPeer(reply.subarray(0, n), ino);
}

/**
 * Answer, in place of `dead`, the read blocked on the socket whose inode is `ino`: find the
 * fd of `dead` connected to it and write {@linkcode ANSWER_BYTES} zero bytes there. False
 * when it cannot (no sock_diag, no such fd, no rights).
 */
function answerFor(
  c: Lib,
  dead: number,
  ino: number,
  isDead: (pid: number) => boolean,
): boolean {
  const pidfd = pidfdOpen(dead);
  if (typeof pidfd === "string") return false;
  const diag = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  try {
    if (diag < 0 || !isDead(dead)) return false;
    const fds = listDir(c, `/proc/${dead}/fd`);
    if (typeof fds === "string") return false;
    for (const fd of fds) {
      if (!/^\d+$/.test(fd)) continue;
      const own = socketInode(readLinkWith(c.readlink, `/proc/${dead}/fd/${fd}`));
      if (own === undefined || unixPeer(c, diag, own) !== ino) continue;
      const copy = Number(c.syscall(SYS_PIDFD_GETFD, BigInt(pidfd), BigInt(fd), 0n, 0n));
      if (copy < 0) return false;
      try {
        const zeros = new Uint8Array(ANSWER_BYTES);
        const sent = c.send(copy, zeros, BigInt(zeros.length), MSG_DONTWAIT | MSG_NOSIGNAL);
        return Number(sent) === zeros.length;
      } finally {
        c.close(copy);
      }
    }
    return false;
  } finally {
    if (diag >= 0) c.close(diag);
    closePidfd(pidfd);
  }
}

/** What {@linkcode endWaitsOnDeadPeer} did. */
export interface EndedWaits {
  /**
   * The threads of the waiter whose wait was ended, each with its fd and how: `answer`
   * (the waiter was given a reply it rejects, its peer left registered) or `shutdown` (the
   * socket shut, as when the peer exits), when no answer could be given.
   */
  ended: { tid: number; fd: number; how: "answer" | "shutdown" }[];
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
        const ino = socketInode(readLinkWith(c.readlink, `/proc/${o.waiter}/fd/${fd}`));
        if (ino !== undefined && answerFor(c, o.peer, ino, o.isDead)) {
          ended.push({ tid: Number(tid), fd, how: "answer" });
        } else if (c.shutdown(copy, SHUT_RDWR) === 0) {
          ended.push({ tid: Number(tid), fd, how: "shutdown" });
        }
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
