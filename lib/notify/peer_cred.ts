/**
 * The notifier's unix socket client, on libc through FFI: Deno's own `Deno.connect`
 * cannot tell who listens on the other end, and a path can be swapped between the
 * checks and the connect (`renameat2(RENAME_EXCHANGE)` keeps the inodes). After each
 * connect the peer's credentials are read with `SO_PEERCRED`: the notifier then talks
 * only to a daemon that runs as the socket's expected owner. Also the per-uid slot
 * locks (`flock`) of `held_slots.ts`.
 *
 * The socket is non-blocking: connect never waits (a full backlog is a failure), reads
 * and writes wait in `poll` on a worker thread, bounded.
 *
 * @module
 */
import { libcSymbols } from "../sys/libc_symbols.ts";
import { cString, dlopenFirst, ERRNO_SYMBOLS, errnoOf, LIBC_PATHS } from "../sys/ffi.ts";
import {
  AF_UNIX,
  EAGAIN,
  EINTR,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  O_CLOEXEC,
  POLLIN,
  POLLOUT,
  SHUT_RDWR,
  SO_PEERCRED,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOCKADDR_UN_SIZE,
  SOL_SOCKET,
} from "../sys/linux.ts";

/** What a connection needs of libc: all a root crash binds (each symbol bound costs time). */
const CONNECT_SYMBOLS = {
  ...libcSymbols("socket", "connect", "getsockopt", "send", "recv", "poll", "shutdown", "close"),
  ...ERRNO_SYMBOLS,
} as const;

/** Those, and the slot locks' and the pidfd's calls (a user's crash, `%F`). */
const SYMBOLS = {
  ...CONNECT_SYMBOLS,
  ...libcSymbols("open", "flock", "ioctl"),
} as const;

const O_RDWR = 2;
const O_CREAT = 0o100;
const O_NOFOLLOW = Deno.build.arch === "aarch64" ? 0o100000 : 0o400000;
const LOCK_EX = 2;
const LOCK_NB = 4;

const ERRNO_TEXT: Record<number, string> = {
  2: "No such file or directory",
  11: "the daemon does not accept connections (backlog full)",
  13: "Permission denied",
  32: "Broken pipe",
  104: "Connection reset by peer",
  111: "Connection refused",
};

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type ConnectLib = Deno.DynamicLibrary<typeof CONNECT_SYMBOLS>["symbols"];
let opened: Lib | string | undefined;
let openedForConnect: ConnectLib | string | undefined;

/** libc with every symbol here (opened on first use), or why it cannot be. */
function lib(): Lib {
  if (opened === undefined) {
    const l = dlopenFirst("libc", LIBC_PATHS, SYMBOLS);
    opened = typeof l === "string" ? l : l.symbols;
  }
  if (typeof opened === "string") throw new Error(opened);
  return opened;
}

/**
 * libc for a connection: the whole binding when it is open already (a lock or a pidfd
 * came first), else only what a connection calls.
 */
function connectLib(): ConnectLib {
  if (opened !== undefined) return lib();
  if (openedForConnect === undefined) {
    const l = dlopenFirst("libc", LIBC_PATHS, CONNECT_SYMBOLS);
    openedForConnect = typeof l === "string" ? l : l.symbols;
  }
  if (typeof openedForConnect === "string") throw new Error(openedForConnect);
  return openedForConnect;
}

function failure(what: string, code: number): Error {
  return new Error(`${what}: ${ERRNO_TEXT[code] ?? `errno ${code}`}`);
}

/** Who listens on a connected unix socket (`struct ucred`). */
export interface PeerCred {
  /** Process id of the listener (in the notifier's pid namespace; 0 when outside it). */
  pid: number;
  /** Its effective uid when it called `listen`. */
  uid: number;
  /** Its effective gid then. */
  gid: number;
}

/** A connected unix stream socket with its peer's credentials. */
export class PeerConn {
  readonly peer: PeerCred;
  #fd: number;
  #c: ConnectLib;
  #pollTimeoutMs: number;

  constructor(c: ConnectLib, fd: number, peer: PeerCred, pollTimeoutMs: number) {
    this.#c = c;
    this.#fd = fd;
    this.peer = peer;
    this.#pollTimeoutMs = pollTimeoutMs;
  }

  async #wait(events: number): Promise<void> {
    const pfd = new Uint8Array(8);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, this.#fd, true);
    v.setInt16(4, events, true);
    const n = await this.#c.poll(pfd, 1n, this.#pollTimeoutMs);
    if (this.#fd < 0) throw new Deno.errors.BadResource("closed");
    if (n === 0) throw new Error(`no answer within ${this.#pollTimeoutMs} ms`);
  }

  /** Read into `p`; `null` at end of stream. */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#fd < 0) return null;
      const n = Number(
        this.#c.recv(this.#fd, p as Uint8Array<ArrayBuffer>, BigInt(p.byteLength), MSG_DONTWAIT),
      );
      if (n > 0) return n;
      if (n === 0) return null;
      const e = errnoOf(this.#c);
      if (e !== EAGAIN && e !== EINTR) throw failure("cannot read", e);
      await this.#wait(POLLIN);
    }
  }

  /** Write some of `p` (never raises SIGPIPE). */
  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#fd < 0) throw new Deno.errors.BadResource("closed");
      const flags = MSG_DONTWAIT | MSG_NOSIGNAL;
      const n = Number(
        this.#c.send(this.#fd, p as Uint8Array<ArrayBuffer>, BigInt(p.byteLength), flags),
      );
      if (n >= 0) return n;
      const e = errnoOf(this.#c);
      if (e !== EAGAIN && e !== EINTR) throw failure("cannot write", e);
      await this.#wait(POLLOUT);
    }
  }

  /** Close it (idempotent); wakes a pending read. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#c.shutdown(fd, SHUT_RDWR);
    this.#c.close(fd);
  }
}

/**
 * Connect to the unix socket at `path` without ever blocking, and read who listens on
 * it. Reads and writes then wait at most `pollTimeoutMs` each.
 */
export function connectUnix(path: string, pollTimeoutMs: number): PeerConn {
  const c = connectLib();
  const bytes = cString(path);
  if (bytes.byteLength > SOCKADDR_UN_SIZE - 2) throw new Error(`socket path too long: ${path}`);
  const addr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure("cannot create a socket", errnoOf(c));
  try {
    if (c.connect(fd, addr, SOCKADDR_UN_SIZE) !== 0) throw failure("cannot connect", errnoOf(c));
    const cred = new Uint8Array(12);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, 12, true);
    if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) {
      throw failure("cannot read the peer's credentials", errnoOf(c));
    }
    const v = new DataView(cred.buffer);
    const peer = { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
    return new PeerConn(c, fd, peer, pollTimeoutMs);
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

/**
 * Open (creating it 0600, never through a link) and lock `path` with
 * `flock(LOCK_EX | LOCK_NB)`. Resolves to a function that unlocks it, or `undefined`
 * when another process holds it. The lock dies with the process: a killed notifier
 * never leaks its slot.
 */
export function tryLockFile(path: string): (() => void) | undefined {
  const c = lib();
  const fd = c.open(cString(path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600);
  if (fd < 0) throw failure(`cannot open ${path}`, errnoOf(c));
  if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    c.close(fd);
    return undefined;
  }
  return () => c.close(fd);
}

/** libc's `ioctl(fd, request, buf)`, bound with the calls above (one binding of libc). */
export function libcIoctl(fd: number, request: bigint, buf: Uint8Array<ArrayBuffer>): number {
  return lib().ioctl(fd, request, buf);
}
