/**
 * A unix socket listener whose connections say who is on the other end: the kernel's
 * `SO_PEERCRED` (the peer's pid, uid and gid at `connect`), read once per connection.
 * `Deno.listen` hides a connection's descriptor; the `node:net` server of Deno 2.9 has it
 * (`_handle.fd`), and libc's `getsockopt` reads the credentials on it. The control socket
 * is served this way, so that each request is judged by who sent it
 * (lib/daemon/control_handler.ts, `controlDenial`).
 *
 * @module
 */
import net from "node:net";
import type { ByteReader, ByteWriter } from "../wire/frame.ts";
import type { PeerCredentials } from "./libc.ts";

/** A connection: bytes both ways, and the peer's credentials when they could be read. */
export interface PeerConn extends ByteReader, ByteWriter {
  /** Who connected, or `undefined` when the kernel's answer could not be read. */
  readonly peer: PeerCredentials | undefined;
  /** Close it; a pending read then fails. Idempotent. */
  close(): void;
}

/** The descriptor calls the listener makes (libc's, lib/daemon/libc.ts). */
export interface PeerFds {
  /** The credentials of the peer of the connected socket `fd` (`SO_PEERCRED`). */
  peerCredentials(fd: number): PeerCredentials | undefined;
  /** Set `FD_CLOEXEC` on `fd`; whether it is set. */
  setCloseOnExec(fd: number): boolean;
}

/** Buffered bytes past which the socket stops reading until the reader catches up. */
const HIGH_WATER = 256 * 1024;

/** A `node:net` socket as a {@linkcode PeerConn}. */
class NodePeerConn implements PeerConn {
  readonly peer: PeerCredentials | undefined;
  #socket: net.Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket, peer: PeerCredentials | undefined) {
    this.#socket = socket;
    this.peer = peer;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.byteLength;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#signal();
    });
    const end = () => {
      this.#ended = true;
      this.#signal();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    let n = 0;
    while (n < p.byteLength && this.#chunks.length > 0) {
      const head = this.#chunks[0];
      const take = Math.min(head.byteLength, p.byteLength - n);
      p.set(head.subarray(0, take), n);
      n += take;
      if (take === head.byteLength) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(take);
    }
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    // node:net may keep the buffer until it is sent: give it a copy of its own.
    const bytes = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (err?: Error | null) => err ? reject(err) : resolve(p.byteLength));
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#signal();
  }
}

/** Accepts {@linkcode PeerConn}s on a bound `node:net` server, one `accept()` at a time. */
export class PeerListener {
  #server: net.Server;
  #fds: PeerFds;
  #pending: PeerConn[] = [];
  #waiting: ((conn: PeerConn | undefined) => void) | undefined;
  #closed = false;

  /** Serve `server` (already listening); `fds` reads each connection's credentials. */
  constructor(server: net.Server, fds: PeerFds) {
    this.#server = server;
    this.#fds = fds;
    server.on("connection", (socket: net.Socket) => this.#connected(socket));
  }

  #connected(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    // deno-lint-ignore no-explicit-any
    const fd = (socket as any)._handle?.fd;
    const peer = typeof fd === "number" && fd >= 0 ? this.#fds.peerCredentials(fd) : undefined;
    const conn = new NodePeerConn(socket, peer);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) waiting(conn);
    else this.#pending.push(conn);
  }

  /** The next connection; fails with `BadResource` once the listener is closed. */
  async accept(): Promise<PeerConn> {
    const next = this.#pending.shift() ??
      (this.#closed ? undefined : await new Promise<PeerConn | undefined>((resolve) => {
        this.#waiting = resolve;
      }));
    if (next === undefined) throw new Deno.errors.BadResource("the listener is closed");
    return next;
  }

  /** Stop listening; connections not yet accepted are closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#pending.splice(0)) conn.close();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(undefined);
  }
}

/**
 * Listen on the unix socket `path` (which must not exist yet, nor be reachable: the caller
 * renames it into place) and read each peer with `fds`. Deno's `node:net` opens the
 * listening socket without `O_CLOEXEC` (its accepted sockets have it): it is set here,
 * before anyone can connect, or the listener is refused, since every child the daemon
 * runs (lttng, a chained handler) would hold it, and could answer in the daemon's place.
 */
export function listenWithPeers(path: string, fds: PeerFds): Promise<PeerListener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: false });
    const fail = (err: Error) => reject(err);
    server.once("error", fail);
    server.listen(path, () => {
      server.off("error", fail);
      // A failure later (EMFILE on accept) must not end the daemon: skip it.
      server.on("error", () => {});
      // deno-lint-ignore no-explicit-any
      const fd = (server as any)._handle?.fd;
      if (typeof fd !== "number" || fd < 0 || !fds.setCloseOnExec(fd)) {
        server.close();
        reject(new Error(`cannot make the socket ${path} close-on-exec (descriptor ${fd})`));
        return;
      }
      resolve(new PeerListener(server, fds));
    });
  });
}
