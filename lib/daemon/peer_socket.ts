/**
 * A unix stream listener on libc through FFI, whose connections say who connected: the
 * peer's `SO_PEERCRED` (pid, uid, gid, as the kernel saw them at connect) and its
 * `SO_PEERPIDFD` (Linux 6.5+), a pidfd of the connecting process. Deno's own listener
 * hides the accepted socket's fd, so neither can be read from a `Deno.Conn`.
 *
 * The coredump socket needs both: the kernel connects to it as the crashing task, so the
 * peer is the crashed process itself, named by the kernel, where the core's `pr_pid` is
 * only its pid in its own pid namespace (which another user can make name any process:
 * `ns_last_pid` in a new pid namespace).
 *
 * Sockets are non-blocking; `accept` and `read` wait in `poll` on a worker thread,
 * a second at a time, until data comes or the socket is closed.
 *
 * @module
 */
import { libcSymbols } from "../sys/libc_symbols.ts";
import { cString, dlopenFirst, ERRNO_SYMBOLS, errnoOf, LIBC_PATHS } from "../sys/ffi.ts";
import { closePidfd } from "../sys/pidfd.ts";
import {
  AF_UNIX,
  EAGAIN,
  EINTR,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  MSG_DONTWAIT,
  O_NONBLOCK,
  POLLIN,
  SHUT_RDWR,
  SO_PEERCRED,
  SO_PEERPIDFD,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOCKADDR_UN_SIZE,
  SOL_SOCKET,
} from "../sys/linux.ts";

const SYMBOLS = {
  ...libcSymbols(
    "socket",
    "bind",
    "listen",
    "accept4",
    "getsockopt",
    "recv",
    "poll",
    "shutdown",
    "fcntl",
    "close",
  ),
  ...ERRNO_SYMBOLS,
} as const;

const ECONNABORTED = 103;
/** Each wait in `poll` lasts at most this long before the socket's state is looked at. */
const POLL_SLICE_MS = 1000;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let opened: Lib | string | undefined;

function lib(): Lib {
  if (opened === undefined) {
    const l = dlopenFirst("libc", LIBC_PATHS, SYMBOLS);
    opened = typeof l === "string" ? l : l.symbols;
  }
  if (typeof opened === "string") throw new Error(opened);
  return opened;
}

function failure(what: string, c: Lib): Error {
  return new Error(`${what}: errno ${errnoOf(c)}`);
}

/** Wait until `fd` is readable (or hung up), at most `ms`. */
async function waitReadable(c: Lib, fd: number, ms: number): Promise<void> {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, POLLIN, true);
  await c.poll(pfd, 1n, ms);
}

/** Who connected, as the kernel told at connect (`struct ucred`, in the daemon's namespaces). */
export interface SocketPeer {
  /** Its pid (thread group id) in the daemon's pid namespace; 0 when outside it. */
  pid: number;
  /** Its effective uid then. */
  uid: number;
  /** Its effective gid then. */
  gid: number;
}

/** One accepted connection: a byte reader with its peer's credentials and pidfd. */
export class PeerSocket {
  /** `SO_PEERCRED`. */
  readonly peer: SocketPeer;
  /**
   * `SO_PEERPIDFD`: a pidfd of the peer process, owned by the connection (closed with
   * it); `undefined` on a kernel without it (before 6.5), with the reason in
   * {@linkcode pidfdProblem}.
   */
  readonly pidfd?: number;
  /** Why there is no {@linkcode pidfd}. */
  readonly pidfdProblem?: string;
  #fd: number;
  #c: Lib;
  #readable?: ReadableStream<Uint8Array>;

  /** Wrap the accepted `fd` (read its peer's credentials; throws when they cannot be). */
  constructor(c: Lib, fd: number) {
    this.#c = c;
    this.#fd = fd;
    const cred = new Uint8Array(12);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, 12, true);
    if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) {
      throw failure("cannot read the peer's credentials", c);
    }
    const v = new DataView(cred.buffer);
    this.peer = { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
    const pidfd = new Int32Array(1);
    new DataView(len.buffer).setUint32(0, 4, true);
    if (c.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, new Uint8Array(pidfd.buffer), len) === 0) {
      this.pidfd = pidfd[0];
    } else {
      this.pidfdProblem = `no SO_PEERPIDFD (errno ${errnoOf(c)})`;
    }
  }

  /** Read into `p`; `null` at end of stream, or once closed. */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#fd < 0) return null;
      const buf = p as Uint8Array<ArrayBuffer>;
      const n = Number(this.#c.recv(this.#fd, buf, BigInt(p.byteLength), MSG_DONTWAIT));
      if (n > 0) return n;
      if (n === 0) return null;
      const e = errnoOf(this.#c);
      if (e !== EAGAIN && e !== EINTR) throw new Error(`cannot read: errno ${e}`);
      await waitReadable(this.#c, this.#fd, POLL_SLICE_MS);
    }
  }

  /** The rest of the stream; it closes the connection at its end or when cancelled. */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const buf = new Uint8Array(64 * 1024);
        let n: number | null;
        try {
          n = await this.read(buf);
        } catch (err) {
          this.close();
          controller.error(err);
          return;
        }
        if (n === null) {
          this.close();
          controller.close();
        } else {
          controller.enqueue(buf.subarray(0, n));
        }
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  /** Close the connection and its pidfd (idempotent); a pending read ends. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#c.shutdown(fd, SHUT_RDWR);
    this.#c.close(fd);
    if (this.pidfd !== undefined) closePidfd(this.pidfd);
  }
}

/** A listening unix stream socket whose connections are {@linkcode PeerSocket}s. */
export class PeerListener {
  #fd: number;
  #c: Lib;
  #closed = false;
  #waiting = 0;
  #adopted: boolean;

  private constructor(c: Lib, fd: number, adopted = false) {
    this.#c = c;
    this.#fd = fd;
    this.#adopted = adopted;
  }

  /** Bind and listen at `path` (which must not exist), with a backlog of `backlog`. */
  static listen(path: string, backlog = 128): PeerListener {
    const c = lib();
    const bytes = cString(path);
    if (bytes.byteLength > SOCKADDR_UN_SIZE - 2) throw new Error(`socket path too long: ${path}`);
    const addr = new Uint8Array(SOCKADDR_UN_SIZE);
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
    addr.set(bytes, 2);
    const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw failure("cannot create a socket", c);
    if (c.bind(fd, addr, SOCKADDR_UN_SIZE) !== 0 || c.listen(fd, backlog) !== 0) {
      const err = failure(`cannot listen on ${path}`, c);
      c.close(fd);
      throw err;
    }
    return new PeerListener(c, fd);
  }

  /**
   * Listen on `fd`, a listening unix stream socket passed to this process (by systemd,
   * lib/daemon/listen_fds.ts): made non-blocking and close-on-exec, so that no child
   * inherits it. Its connections carry their peer's credentials like any other's.
   */
  static adopt(fd: number): PeerListener {
    const c = lib();
    const flags = c.fcntl(fd, F_GETFL, 0);
    if (flags < 0 || c.fcntl(fd, F_SETFL, flags | O_NONBLOCK) !== 0) {
      throw failure(`cannot use the socket passed as fd ${fd}`, c);
    }
    if (c.fcntl(fd, F_SETFD, FD_CLOEXEC) !== 0) {
      throw failure(`cannot make fd ${fd} close-on-exec`, c);
    }
    return new PeerListener(c, fd, true);
  }

  /** The next connection; rejects with `Deno.errors.BadResource` once closed. */
  async accept(): Promise<PeerSocket> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("the listener is closed");
      const fd = this.#c.accept4(this.#fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        try {
          return new PeerSocket(this.#c, fd);
        } catch (err) {
          this.#c.close(fd);
          throw err;
        }
      }
      const e = errnoOf(this.#c);
      if (e !== EAGAIN && e !== EINTR && e !== ECONNABORTED) {
        throw new Error(`cannot accept: errno ${e}`);
      }
      this.#waiting++;
      try {
        await waitReadable(this.#c, this.#fd, POLL_SLICE_MS);
      } finally {
        this.#waiting--;
        // Closed meanwhile: the fd is closed once no poll uses it.
        if (this.#closed && this.#waiting === 0) this.#release();
      }
    }
  }

  /** Stop listening (idempotent): a pending accept rejects within a second. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A passed socket outlives the daemon (systemd holds it, and crashes wait in its
    // backlog): shutting it down would close it for systemd too, so only our fd goes.
    if (!this.#adopted) this.#c.shutdown(this.#fd, SHUT_RDWR);
    if (this.#waiting === 0) this.#release();
  }

  #release(): void {
    if (this.#fd < 0) return;
    this.#c.close(this.#fd);
    this.#fd = -1;
  }
}
