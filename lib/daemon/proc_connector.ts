/**
 * The kernel's process-events connector, as the root daemon listens to it: a netlink
 * socket (`socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR)`) bound to
 * the multicast group CN_IDX_PROC, subscribed with PROC_CN_MCAST_LISTEN, through libc by
 * FFI (Deno has no netlink sockets). The kernel sends PROC_EVENT_COREDUMP from
 * `get_signal()` right before `do_coredump()`: about 0.1 ms after the fault, before any
 * core_pattern helper is forked.
 *
 * Binding to the group needs CAP_NET_ADMIN (the connector's netlink family does not let
 * others receive), and the kernel answers only a listener in the initial pid and user
 * namespaces. A kernel since 6.6 sends only the events asked for (a `proc_input` with
 * PROC_EVENT_COREDUMP); an older one ignores that request, and is asked again with the
 * bare `mcast_op`, after which it sends every fork, exec and exit too: those are decoded
 * and dropped.
 *
 * Waiting is one `poll()` on Deno's blocking thread pool (a `nonblocking` FFI call) over
 * the socket and a pipe that `close()` writes to; every datagram is then read with
 * `MSG_DONTWAIT`, only from the kernel (sender port 0), and decoded by
 * lib/daemon/proc_event.ts. A flood fills the socket's buffer, the kernel drops what does
 * not fit, `recvfrom` says ENOBUFS once, and the daemon counts it and reads on: those
 * crashes reach it through their helper, as without the connector.
 *
 * @module
 */
import { libcSymbols } from "../sys/libc_symbols.ts";
import { dlopenFirst, ERRNO_SYMBOLS, errnoOf, LIBC_PATHS } from "../sys/ffi.ts";
import {
  type CoredumpEvent,
  decodeProcEvent,
  encodeListen,
  PROC_MESSAGE_MAX,
} from "./proc_event.ts";
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  ENOBUFS,
  MSG_DONTWAIT,
  O_CLOEXEC,
  POLLIN,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
} from "../sys/linux.ts";

const SYMBOLS = {
  ...libcSymbols(
    "socket",
    "bind",
    "send",
    "recvfrom",
    "setsockopt",
    "getsockname",
    "pipe2",
    "write",
    "close",
    "poll",
  ),
  ...ERRNO_SYMBOLS,
} as const;

const NETLINK_CONNECTOR = 11;
const CN_IDX_PROC = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const MSG_TRUNC = 0x20;
/** The socket's receive buffer: room for about 10 000 events (the kernel counts overhead). */
const RCVBUF_BYTES = 4 << 20;
/** Most datagrams read before the event loop gets a turn. */
const DRAIN_BATCH = 256;

/** Options of {@linkcode ProcConnectorSocket.open}. */
export interface ProcConnectorOptions {
  /** Told of each PROC_EVENT_COREDUMP, in the task that read it. */
  onCoredump(event: CoredumpEvent): void;
  /** Log line sink. */
  log(line: string): void;
  /** How long to wait for the kernel's acknowledgement, in milliseconds. @default 1000 */
  ackTimeoutMs?: number;
}

/** What the listener has seen, for `status`. */
export interface ProcConnectorCounts {
  /** PROC_EVENT_COREDUMP events decoded. */
  coredumps: number;
  /** Datagrams refused (not the kernel's, or not decodable). */
  refused: number;
  /** Times the kernel dropped events for want of room (ENOBUFS). */
  overruns: number;
  /**
   * Other process events read and dropped: a kernel before 6.6 cannot send
   * PROC_EVENT_COREDUMP alone.
   */
  others: number;
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A subscribed connector socket; {@linkcode ProcConnectorSocket.close} ends it. */
export class ProcConnectorSocket {
  #lib: Lib;
  #fd: number;
  #wake: [number, number];
  #options: ProcConnectorOptions;
  #closing = false;
  #loop?: Promise<void>;
  #counts: ProcConnectorCounts = { coredumps: 0, refused: 0, overruns: 0, others: 0 };
  #buf = new Uint8Array(PROC_MESSAGE_MAX + 1);
  #addr = new Uint8Array(12);
  #addrLen = new Uint32Array(1);
  #pollfds = new Uint8Array(16);

  private constructor(lib: Lib, fd: number, wake: [number, number], options: ProcConnectorOptions) {
    this.#lib = lib;
    this.#fd = fd;
    this.#wake = wake;
    this.#options = options;
    const v = new DataView(this.#pollfds.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    v.setInt32(8, wake[0], true);
    v.setInt16(12, POLLIN, true);
  }

  /** What it has seen so far. */
  get counts(): Readonly<ProcConnectorCounts> {
    return this.#counts;
  }

  /** Its netlink port id (which any local process could send a datagram to). */
  get portId(): number {
    const addr = new Uint8Array(12);
    const len = new Uint32Array([12]);
    this.#lib.symbols.getsockname(this.#fd, addr, len);
    return new DataView(addr.buffer).getUint32(4, true);
  }

  /**
   * Open, bind and subscribe, then listen until closed; or say why the connector cannot
   * be used (no CAP_NET_ADMIN, no connector in the kernel, a sandbox without AF_NETLINK).
   */
  static async open(options: ProcConnectorOptions): Promise<ProcConnectorSocket | string> {
    const lib = dlopenFirst("libc", LIBC_PATHS, SYMBOLS);
    if (typeof lib === "string") return lib;
    const c = lib.symbols;
    const errno = () => errnoOf(c);
    const fd = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0) {
      const e = errno();
      lib.close();
      return `cannot open a NETLINK_CONNECTOR socket (errno ${e}${
        e === 97 ? ": the sandbox does not allow AF_NETLINK" : ""
      }${e === 93 ? ": the kernel has no connector" : ""})`;
    }
    const fail = (why: string) => {
      c.close(fd);
      lib.close();
      return why;
    };
    const size = new Int32Array([RCVBUF_BYTES]);
    if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) !== 0) {
      c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
    }
    const addr = new Uint8Array(12);
    const av = new DataView(addr.buffer);
    av.setUint16(0, AF_NETLINK, true);
    av.setUint32(8, CN_IDX_PROC, true);
    if (c.bind(fd, addr, 12) !== 0) {
      const e = errno();
      return fail(
        `cannot bind to the process connector's group (errno ${e}${
          e === 1 ? ": it needs CAP_NET_ADMIN" : ""
        })`,
      );
    }
    const pipe = new Int32Array(2);
    if (c.pipe2(pipe, O_CLOEXEC) !== 0) return fail(`cannot make a pipe (errno ${errno()})`);
    const s = new ProcConnectorSocket(lib, fd, [pipe[0], pipe[1]], options);
    const why = await s.#subscribe(options.ackTimeoutMs ?? 1000);
    if (why !== undefined) {
      s.#release();
      return why;
    }
    s.#loop = s.#run();
    return s;
  }

  // The kernel acknowledges the bare subscription (every kernel reads it). Then the
  // filtered one: a kernel since 6.6 keeps only PROC_EVENT_COREDUMP for this socket (its
  // own acknowledgement is then filtered out too), an older one ignores it.
  async #subscribe(timeoutMs: number): Promise<string | undefined> {
    const send = (filtered: boolean) => {
      const msg = encodeListen({ filtered, seq: filtered ? 2 : 1, pid: 0 });
      return Number(this.#lib.symbols.send(this.#fd, msg, BigInt(msg.byteLength), 0)) >= 0;
    };
    if (!send(false)) return `cannot subscribe to the process connector (errno ${this.#errno()})`;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return "the kernel did not acknowledge the process connector's subscription";
      const ready = await this.#lib.symbols.poll(this.#pollfds, 1n, left);
      if (ready <= 0) continue;
      const r = this.#readOne();
      if (typeof r === "string") continue;
      if (r.type === "coredump") this.#deliver(r);
      if (r.type !== "ack") continue;
      if (r.err !== 0) {
        return `the process connector refused the subscription (errno ${r.err}${
          r.err === 1 ? ": it needs CAP_NET_ADMIN" : ""
        })`;
      }
      if (!send(true)) return `cannot subscribe to the process connector (errno ${this.#errno()})`;
      return undefined;
    }
  }

  #errno(): number {
    return errnoOf(this.#lib.symbols);
  }

  #readOne(): ReturnType<typeof decodeProcEvent> | "again" | "refused" | "overrun" {
    const c = this.#lib.symbols;
    this.#addrLen[0] = 12;
    const n = Number(
      c.recvfrom(
        this.#fd,
        this.#buf,
        BigInt(this.#buf.byteLength),
        MSG_DONTWAIT | MSG_TRUNC,
        this.#addr,
        this.#addrLen,
      ),
    );
    if (n < 0) {
      const e = this.#errno();
      if (e === ENOBUFS) {
        this.#counts.overruns++;
        return "overrun";
      }
      if (e === EAGAIN || e === EINTR) return "again";
      this.#counts.refused++;
      return "again";
    }
    const av = new DataView(this.#addr.buffer);
    // Only the kernel (port 0) speaks for the connector; any process may unicast to us.
    if (this.#addrLen[0] < 12 || av.getUint16(0, true) !== AF_NETLINK || av.getUint32(4, true)) {
      this.#counts.refused++;
      return "refused";
    }
    if (n > PROC_MESSAGE_MAX) {
      this.#counts.refused++;
      return "refused";
    }
    try {
      return decodeProcEvent(this.#buf.subarray(0, n));
    } catch {
      this.#counts.refused++;
      return "refused";
    }
  }

  #deliver(event: CoredumpEvent): void {
    this.#counts.coredumps++;
    try {
      this.#options.onCoredump(event);
    } catch (err) {
      this.#options.log(`process connector: pid ${event.tgid}: ${(err as Error).message}`);
    }
  }

  async #run(): Promise<void> {
    let overruns = 0;
    while (!this.#closing) {
      const ready = await this.#lib.symbols.poll(this.#pollfds, 2n, -1);
      if (this.#closing) break;
      if (ready <= 0) continue;
      for (let i = 0; i < DRAIN_BATCH; i++) {
        const r = this.#readOne();
        if (r === "again") break;
        if (r === "refused" || r === "overrun") continue;
        if (r.type === "coredump") this.#deliver(r);
        else if (r.type === "other") this.#counts.others++;
      }
      if (this.#counts.overruns !== overruns) {
        overruns = this.#counts.overruns;
        this.#options.log(
          `process connector: the kernel dropped events (overrun ${overruns}): those crashes are handled when their helper arrives`,
        );
      }
    }
  }

  #release(): void {
    const c = this.#lib.symbols;
    c.close(this.#fd);
    c.close(this.#wake[0]);
    c.close(this.#wake[1]);
    this.#lib.close();
  }

  /** Stop listening and close the socket; idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return await this.#loop;
    this.#closing = true;
    this.#lib.symbols.write(this.#wake[1], new Uint8Array(1), 1n);
    await this.#loop;
    this.#release();
  }
}
