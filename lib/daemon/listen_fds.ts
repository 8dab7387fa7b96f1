/**
 * Socket activation (sd_listen_fds(3)): a listening socket passed by systemd, or by
 * `systemd-socket-activate`, as fd 3 with `LISTEN_PID` (this process) and `LISTEN_FDS`
 * (how many, from fd 3) in the environment. lttng-trig.socket holds the coredump socket
 * that way, so that a crash waits in its backlog while the daemon restarts instead of
 * being dropped by the kernel.
 *
 * Deno cannot wrap a file descriptor as a `Deno.Listener`; node:net can
 * (`server.listen({ fd })`), and its connections are read here as the coredump server
 * reads a `Deno.Conn`: `read()`, then `readable` for the rest, and `close()`.
 *
 * @module
 */
import net from "node:net";
import { Readable } from "node:stream";
import type { ByteReader } from "../wire/frame.ts";

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/** A connection, as the coredump server reads it. */
export interface CoreConn extends ByteReader {
  /** The rest of the stream, once `read` is no longer called. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Close it (the kernel then releases the crashed process). */
  close(): void;
}

/** A listener of {@linkcode CoreConn}s (a `Deno.Listener` is one). */
export interface CoreListener {
  /** The next connection; rejects once closed. */
  accept(): Promise<CoreConn>;
  /** Stop listening. */
  close(): void;
}

/**
 * The descriptor systemd passed for this process, or `undefined`: `LISTEN_PID` must be
 * this pid (the variables are inherited by children, which must not take the socket),
 * `LISTEN_FDS` at least 1; with `LISTEN_FDNAMES`, the one named `coredump` if any.
 */
export function passedSocketFd(
  get: (name: string) => string | undefined,
  pid: number,
): number | undefined {
  if (get("LISTEN_PID") !== String(pid)) return undefined;
  const count = Number(get("LISTEN_FDS"));
  if (!Number.isSafeInteger(count) || count < 1) return undefined;
  const names = get("LISTEN_FDNAMES")?.split(":") ?? [];
  const named = names.indexOf("coredump");
  return LISTEN_FDS_START + (named >= 0 && named < count ? named : 0);
}

class NodeConn implements CoreConn {
  #socket: net.Socket;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #left: Uint8Array | undefined;
  #stream: ReadableStream<Uint8Array>;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#stream = Readable.toWeb(socket) as ReadableStream<Uint8Array>;
    this.#reader = this.#stream.getReader();
  }

  async read(p: Uint8Array): Promise<number | null> {
    let chunk = this.#left;
    this.#left = undefined;
    if (chunk === undefined) {
      const r = await this.#reader.read();
      if (r.done) return null;
      chunk = r.value;
    }
    const n = Math.min(p.byteLength, chunk.byteLength);
    p.set(chunk.subarray(0, n));
    if (n < chunk.byteLength) this.#left = chunk.subarray(n);
    return n;
  }

  get readable(): ReadableStream<Uint8Array> {
    const reader = this.#reader;
    let left = this.#left;
    this.#left = undefined;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (left !== undefined) {
          controller.enqueue(left);
          left = undefined;
          return;
        }
        const r = await reader.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel: () => this.close(),
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Listen on the passed descriptor `fd`. */
export async function listenOnFd(fd: number): Promise<CoreListener> {
  const server = net.createServer({ pauseOnConnect: true });
  const waiting: PromiseWithResolvers<CoreConn>[] = [];
  const queued: CoreConn[] = [];
  let closed = false;
  server.on("connection", (socket: net.Socket) => {
    const conn = new NodeConn(socket);
    const w = waiting.shift();
    if (w !== undefined) w.resolve(conn);
    else queued.push(conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ fd }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    accept() {
      const conn = queued.shift();
      if (conn !== undefined) return Promise.resolve(conn);
      if (closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
      const w = Promise.withResolvers<CoreConn>();
      waiting.push(w);
      return w.promise;
    },
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const w of waiting.splice(0)) {
        w.reject(new Deno.errors.BadResource("listener closed"));
      }
      for (const c of queued.splice(0)) c.close();
    },
  };
}
