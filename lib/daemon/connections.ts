/**
 * Serving one socket: accept, a bounded number of connections (the oldest idle one is
 * dropped first when full; a new one is refused when every one is being answered), and
 * a deadline on every frame a client owes us.
 *
 * @module
 */
import {
  type ByteReader,
  type ByteWriter,
  type Frame,
  FrameError,
  readFrame,
  writeAll,
} from "../wire/frame.ts";
import type { PeerCredentials } from "./libc.ts";
import { acceptLoop, type Acceptor } from "./sockets.ts";

/** A connection the server reads frames from: a `Deno.Conn`, or one that knows its peer. */
export interface ServedConn extends ByteReader, ByteWriter {
  /** Who connected (`SO_PEERCRED`), where the listener reads it. */
  readonly peer?: PeerCredentials;
  /** Close it. */
  close(): void;
}

/** What a connection's handler returns for one frame. */
export interface FrameResult {
  /** Bytes to send back, if any. */
  reply?: Uint8Array;
  /** Close the connection after the reply. */
  close?: boolean;
  /** Frames to send after the reply, as they come, until it ends or the client leaves. */
  stream?: AsyncIterable<Uint8Array>;
}

/** Options of {@linkcode SocketServer}. */
export interface SocketServerOptions {
  /** Largest payload per command; -1 for an unknown command. */
  maxPayload(cmd: number): number;
  /** Handles one frame; `peer` is who sent it, where the listener knows. */
  onFrame(frame: Frame, peer: PeerCredentials | undefined): Promise<FrameResult>;
  /** Reply to a frame that could not be read (unknown command, too large). */
  onFrameError(err: FrameError): Uint8Array | undefined;
  /** Most connections at once. @default 256 */
  maxConnections?: number;
  /** How long a client may take to send a whole frame, in milliseconds. @default 5000 */
  frameTimeoutMs?: number;
  /** Log line sink (refused connections, at most one line a second). @default nothing */
  log?: (line: string) => void;
}

class Connection {
  readonly conn: ServedConn;
  busy = false;
  since = performance.now();
  #closed = false;

  constructor(conn: ServedConn) {
    this.conn = conn;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
}

/** Serves framed requests on a listener until closed. */
export class SocketServer {
  #listener: Acceptor<ServedConn> & { close(): void };
  #options: Required<SocketServerOptions>;
  #connections = new Set<Connection>();
  #tasks = new Set<Promise<void>>();
  #acceptLoop: Promise<void>;
  #closing = false;
  #refused = 0;
  #refusedLoggedAt = -Infinity;

  /** Start serving `listener`. */
  constructor(listener: Acceptor<ServedConn> & { close(): void }, options: SocketServerOptions) {
    this.#listener = listener;
    this.#options = { maxConnections: 256, frameTimeoutMs: 5000, log: () => {}, ...options };
    this.#acceptLoop = this.#accept();
  }

  /** Open connections now. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Connections refused so far because every one of the others was being answered. */
  get refused(): number {
    return this.#refused;
  }

  #accept(): Promise<void> {
    return acceptLoop(this.#listener, {
      closing: () => this.#closing,
      onConn: (conn) => {
        if (this.#connections.size >= this.#options.maxConnections && !this.#evictIdle()) {
          this.#refuse(conn);
          return;
        }
        const c = new Connection(conn);
        this.#connections.add(c);
        const task = this.#serve(c).finally(() => {
          this.#connections.delete(c);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      },
    });
  }

  /** Close a connection past the cap, unread: its client sees the socket close. */
  #refuse(conn: ServedConn): void {
    try {
      conn.close();
    } catch { /* closed */ }
    this.#refused++;
    const now = performance.now();
    if (now - this.#refusedLoggedAt >= 1000) {
      this.#refusedLoggedAt = now;
      this.#options.log(
        `${this.#refused} connection(s) refused so far: all ${this.#options.maxConnections} are being answered`,
      );
    }
  }

  /** Close the oldest idle connection; whether there was one. */
  #evictIdle(): boolean {
    let oldest: Connection | undefined;
    for (const c of this.#connections) {
      // A closed one leaves the set only once its read is cancelled, a turn later: when
      // accepts come back to back it must not be picked again (evicting nothing).
      if (!c.busy && !c.closed && (oldest === undefined || c.since < oldest.since)) oldest = c;
    }
    if (oldest === undefined) return false;
    oldest.close();
    this.#connections.delete(oldest);
    return true;
  }

  async #serve(c: Connection): Promise<void> {
    try {
      while (!c.closed) {
        c.busy = false;
        c.since = performance.now();
        const timer = setTimeout(() => c.close(), this.#options.frameTimeoutMs);
        let frame: Frame | null;
        try {
          frame = await readFrame(c.conn, this.#options);
        } catch (err) {
          if (err instanceof FrameError && !c.closed) {
            const reply = this.#options.onFrameError(err);
            if (reply !== undefined) await writeAll(c.conn, reply).catch(() => {});
          }
          return;
        } finally {
          clearTimeout(timer);
        }
        if (frame === null) return;
        c.busy = true;
        const result = await this.#options.onFrame(frame, c.conn.peer);
        if (c.closed) return;
        if (result.reply !== undefined) {
          // A client that stops reading gets its reply dropped after the deadline.
          const timer = setTimeout(() => c.close(), this.#options.frameTimeoutMs);
          try {
            await writeAll(c.conn, result.reply);
          } catch {
            return; // the sender left without reading the reply: normal
          } finally {
            clearTimeout(timer);
          }
        }
        if (result.stream !== undefined) {
          for await (const chunk of result.stream) {
            if (c.closed) break;
            const timer = setTimeout(() => c.close(), this.#options.frameTimeoutMs);
            try {
              await writeAll(c.conn, chunk);
            } catch {
              break; // the watcher left
            } finally {
              clearTimeout(timer);
            }
          }
          return;
        }
        if (result.close) return;
      }
    } catch {
      // Reads on a connection closed by its deadline end here.
    } finally {
      c.close();
    }
  }

  /**
   * Stop accepting, let connections that are being answered finish (bounded by
   * `graceMs`), then close the rest.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
    for (const c of this.#connections) if (!c.busy) c.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#tasks]),
      new Promise((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    for (const c of this.#connections) c.close();
    await Promise.all([...this.#tasks]);
  }
}
