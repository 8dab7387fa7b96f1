/**
 * Sends an encoded entry to journald's native socket (a unix datagram socket), through
 * libc over FFI: Deno offers unix datagrams only behind `--unstable-net`, and never the
 * file descriptor passing journald takes for a large entry. As systemd's own client
 * does, an entry too large for one datagram is written to a sealed memfd whose
 * descriptor is sent instead (SCM_RIGHTS). Never blocks (MSG_DONTWAIT): a journald that
 * lags loses the entry, never a crash's actions.
 *
 * @module
 */
import { libcSymbols } from "../sys/libc_symbols.ts";
import { cString, dlopenFirst, LIBC_PATHS } from "../sys/ffi.ts";
import {
  AF_UNIX,
  EAGAIN,
  EINTR,
  ENOBUFS,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../sys/linux.ts";

const SYMBOLS = {
  ...libcSymbols(
    "socket",
    "sendto",
    "sendmsg",
    "memfd_create",
    "write",
    "fcntl",
    "close",
    "__errno_location",
    "strerror",
  ),
} as const;

// Linux, x86-64 and arm64 alike.
const EMSGSIZE = 90;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: journald requires them.
const SEALS = 1 | 2 | 4 | 8;
const SCM_RIGHTS = 1;
const SUN_PATH_MAX = 108;

/**
 * What {@linkcode JournalTransport.send} says when journald's queue is full (EAGAIN): the
 * entry was not sent, and may be sent again later.
 */
export const JOURNAL_BUSY = "journald's queue is full";

/** Sends datagrams to a journald socket. */
export interface JournalTransport {
  /**
   * Send one encoded entry; `undefined` when sent, {@linkcode JOURNAL_BUSY} when journald
   * cannot take it now, else why not (`errno` text).
   */
  send(entry: Uint8Array): string | undefined;
  /** Release the socket; idempotent. */
  close(): void;
}

/**
 * A transport to journald's socket at `path`, or why there can be none (libc does not
 * load, the path is too long).
 */
export function openJournalSocket(path: string): JournalTransport | string {
  const lib = dlopenFirst("libc", LIBC_PATHS, SYMBOLS);
  if (typeof lib === "string") return lib;
  const c = lib.symbols;
  const name = cString(path);
  if (name.byteLength > SUN_PATH_MAX) {
    lib.close();
    return `the journal socket path ${path} is longer than ${SUN_PATH_MAX - 1} bytes`;
  }
  // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
  const addr = new Uint8Array(2 + name.byteLength);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  const errno = () => new Deno.UnsafePointerView(c.__errno_location()!).getInt32();
  const errText = (n: number) => {
    const p = c.strerror(n);
    return p === null ? `errno ${n}` : Deno.UnsafePointerView.getCString(p);
  };
  let fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const why = errText(errno());
    lib.close();
    return `cannot make a unix datagram socket: ${why}`;
  }
  const sendFd = (entry: Uint8Array): string | undefined => {
    const memfd = c.memfd_create(cString("lttng-trig-journal"), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0) return `memfd_create: ${errText(errno())}`;
    try {
      for (let at = 0; at < entry.byteLength;) {
        const n = Number(c.write(memfd, entry.subarray(at), BigInt(entry.byteLength - at)));
        if (n < 0) return `write to a memfd: ${errText(errno())}`;
        at += n;
      }
      if (c.fcntl(memfd, F_ADD_SEALS, SEALS) < 0) return `sealing a memfd: ${errText(errno())}`;
      // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; int fd; } (+pad)
      const control = new Uint8Array(24);
      const cv = new DataView(control.buffer);
      cv.setBigUint64(0, 20n, true);
      cv.setInt32(8, SOL_SOCKET, true);
      cv.setInt32(12, SCM_RIGHTS, true);
      cv.setInt32(16, memfd, true);
      // struct msghdr { void *name; socklen_t namelen; struct iovec *iov; size_t iovlen;
      //                 void *control; size_t controllen; int flags; }: no data, only the fd.
      const msg = new Uint8Array(56);
      const mv = new DataView(msg.buffer);
      mv.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(addr))), true);
      mv.setUint32(8, addr.byteLength, true);
      mv.setBigUint64(32, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(control))), true);
      mv.setBigUint64(40, BigInt(control.byteLength), true);
      if (Number(c.sendmsg(fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0) {
        const e = errno();
        return e === EAGAIN ? JOURNAL_BUSY : errText(e);
      }
      return undefined;
    } finally {
      c.close(memfd);
    }
  };
  return {
    send(entry) {
      if (fd < 0) return "the journal socket is closed";
      for (;;) {
        const n = Number(
          c.sendto(
            fd,
            entry,
            BigInt(entry.byteLength),
            MSG_DONTWAIT | MSG_NOSIGNAL,
            addr,
            addr.byteLength,
          ),
        );
        if (n >= 0) return undefined;
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) return JOURNAL_BUSY;
        if (e === EMSGSIZE || e === ENOBUFS) return sendFd(entry);
        return errText(e);
      }
    },
    close() {
      if (fd < 0) return;
      c.close(fd);
      fd = -1;
      lib.close();
    },
  };
}
