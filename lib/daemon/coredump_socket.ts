/**
 * Coredump-socket mode (Linux 6.16+, core_pattern `@RUN_DIR/coredump-lttng-trig`): the
 * kernel connects to the daemon and streams the core into the connection, with no
 * helper process. The kernel connects as the crashing task: who crashed is the
 * connection's peer (`SO_PEERCRED`, `SO_PEERPIDFD`: its global pid, and a pidfd to read
 * `/proc` through), never the core's `pr_pid`, which is only its pid in its own pid
 * namespace; the rest is read from the core's notes. The crash then goes through
 * the same triggers, rate limits, history and actions as a notification. The connection
 * is left unread until the actions that need the process held are done: the kernel
 * cannot finish the dump, so per-process buffers still exist for the snapshot.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import type { CoreFate } from "../protocol/records.ts";
import { type ByteBudget, readCoreFacts } from "./elf_core.ts";
import { ELF_HEADER_SIZE } from "./elf_layout.ts";
import { acceptLoop } from "./sockets.ts";
import type { HeldProcess } from "./held_process.ts";
import { withHeldProcess } from "./held_process.ts";
import type { PeerListener, PeerSocket } from "./peer_socket.ts";

/** The crashed process, as the kernel named it by connecting: the connection's peer. */
export interface CoredumpPeer {
  /** Its pid in the daemon's pid namespace (`SO_PEERCRED`); 0 when not known. */
  pid: number;
  /** A pidfd of it (`SO_PEERPIDFD`), open while the connection is. */
  pidfd?: number;
}

/** What the coredump server needs from the daemon. */
export interface CoredumpServerOptions {
  /**
   * Handle a crash; call `onRelease` once the process may be released, `onRecorded`
   * with its history id once it is recorded.
   */
  handle(
    facts: CrashFacts,
    onRelease: () => void,
    onRecorded: (id: number) => void,
  ): Promise<unknown>;
  /** Record what became of the core of crash `crash.id` (`crash.pid` when not recorded). */
  recordCore(crash: { id: number } | { pid: number }, fate: CoreFate): void;
  /**
   * Look at the held process in `/proc` (lib/daemon/held_process.ts) before its crash is
   * handled: the connection's `peer`, whose global pid is `crash.globalPid`; its global
   * uid, full command line, executable, and whether the daemon's hostname is its own.
   * Without it, the core's uid is unverified.
   */
  lookAtHeldProcess?(crash: CrashFacts, peer: CoredumpPeer): HeldProcess;
  /** Keep cores in this directory (zstd), as `notify --core-dir` does. */
  coreDir?: string;
  /** The daemon's hostname (the crash's, unless it ran in another UTS namespace). */
  hostname: string;
  /** Longest hold, in milliseconds. @default 9000 */
  holdTimeoutMs?: number;
  /** Deadline to read the core's notes, in milliseconds. @default 5000 */
  notesTimeoutMs?: number;
  /** Most cores handled at once; beyond, a connection is closed at once. @default 256 */
  maxConnections?: number;
  /**
   * Most bytes of core heads (ELF header to the end of the notes, up to 16 MiB each)
   * buffered at once across connections. Past it, a core's notes are read one by one
   * and only the crash's facts kept: the crash is recorded, its core not kept.
   * @default 64 MiB
   */
  notesBudgetBytes?: number;
  /** Log sink. */
  log(line: string): void;
}

/** Serves the coredump socket. */
export class CoredumpServer {
  #listener: PeerListener;
  #options: CoredumpServerOptions;
  #tasks = new Set<Promise<void>>();
  #conns = new Set<PeerSocket>();
  #closing = false;
  #loop: Promise<void>;
  #budgetLeft: number;
  #budget: ByteBudget = {
    take: (bytes) => {
      if (bytes > this.#budgetLeft) return false;
      this.#budgetLeft -= bytes;
      return true;
    },
    give: (bytes) => {
      this.#budgetLeft += bytes;
    },
  };

  /** Start serving `listener`. */
  constructor(listener: PeerListener, options: CoredumpServerOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#budgetLeft = options.notesBudgetBytes ?? 64 * 1024 * 1024;
    this.#loop = this.#accept();
  }

  /** Bytes of the notes budget not in use now. */
  get notesBudgetLeft(): number {
    return this.#budgetLeft;
  }

  #accept(): Promise<void> {
    return acceptLoop(this.#listener, {
      closing: () => this.#closing,
      onConn: (conn) => {
        if (this.#conns.size >= (this.#options.maxConnections ?? 256)) {
          this.#options.log("coredump socket: too many cores at once, one released unread");
          conn.close();
          return;
        }
        this.#conns.add(conn);
        const task = this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      },
    });
  }

  async #serve(conn: PeerSocket): Promise<void> {
    const o = this.#options;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* closed */ }
    };
    const notesTimer = setTimeout(close, o.notesTimeoutMs ?? 5000);
    let facts: CrashFacts;
    let head: Uint8Array | undefined;
    try {
      const r = await readCoreFacts(conn, { budget: this.#budget });
      head = r.head;
      if (head === undefined) {
        o.log(`coredump socket: pid ${r.facts.pid}: notes past the memory budget, not buffered`);
      } else if (o.coreDir === undefined) {
        this.#budget.give(head.byteLength - ELF_HEADER_SIZE);
        head = undefined;
      }
      facts = {
        pid: r.facts.pid,
        // The kernel's own name for the crashed process: the peer that connected.
        ...(conn.peer.pid > 0 ? { globalPid: conn.peer.pid } : {}),
        uid: r.facts.uid,
        gid: r.facts.gid,
        execName: r.facts.execName,
        hostname: o.hostname,
        cmdline: r.facts.args,
        ...(r.facts.signal === undefined ? {} : { signal: r.facts.signal }),
        ...(r.facts.tid === undefined ? {} : { tid: r.facts.tid }),
        ...(r.facts.note === undefined ? {} : { coreNote: r.facts.note }),
      };
      if (r.facts.note !== undefined) {
        o.log(`coredump socket: a core recorded with what is known: ${r.facts.note}`);
      }
    } catch (err) {
      o.log(`coredump socket: refused a connection: ${(err as Error).message}`);
      close();
      return;
    } finally {
      clearTimeout(notesTimer);
    }
    if (closed) {
      if (head !== undefined) this.#budget.give(head.byteLength - ELF_HEADER_SIZE);
      return;
    }
    // Also without a look at /proc: the core's uid is then unverified.
    const peer = { pid: conn.peer.pid, ...(conn.pidfd === undefined ? {} : { pidfd: conn.pidfd }) };
    const seen = o.lookAtHeldProcess?.(facts, peer) ??
      { uts: "unknown", note: "the held process is not looked at in /proc" };
    facts = withHeldProcess(facts, seen, { source: "socket" });
    // Proved through the peer's pidfd: the process was still there after the reads.
    if (peer.pidfd !== undefined && seen.uid !== undefined) facts.identity = "pidfd";
    const release = Promise.withResolvers<void>();
    // The core's fate goes on this crash, never on another of the same pid.
    let crashId = 0;
    const ref = () => crashId > 0 ? { id: crashId } : { pid: facts.pid };
    const done = o.handle(facts, () => release.resolve(), (id) => crashId = id).catch((err) => {
      o.log(`coredump socket: crash pid=${facts.pid}: ${(err as Error).message}`);
    });
    let holdTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      release.promise,
      done,
      new Promise<void>((r) => holdTimer = setTimeout(r, o.holdTimeoutMs ?? 9000)),
    ]);
    clearTimeout(holdTimer);
    if (o.coreDir !== undefined && head === undefined) {
      close();
      try {
        o.recordCore(ref(), {
          kept: false,
          reason: "not kept: its notes were past the daemon's memory budget for core notes",
          bytes: 0,
        });
      } catch { /* a store that refuses writes must not stop the release */ }
    } else if (o.coreDir === undefined || head === undefined || this.#closing) {
      if (head !== undefined) this.#budget.give(head.byteLength - ELF_HEADER_SIZE);
      close(); // the kernel stops writing: the process is released
    } else {
      const first = head;
      const { keepCore } = await import("../notify/core_keeper.ts");
      const rest = conn.readable;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(first);
        },
        async pull(controller) {
          const reader = rest.getReader();
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              controller.enqueue(value);
            }
            controller.close();
          } catch (err) {
            controller.error(err);
          } finally {
            reader.releaseLock();
          }
        },
        cancel: () => close(),
      });
      const outcome = await keepCore(stream, {
        dir: o.coreDir,
        execName: facts.execName,
        uid: facts.uid,
        pid: facts.pid,
      }).finally(() => this.#budget.give(first.byteLength - ELF_HEADER_SIZE));
      closed = true; // the readable side owned the connection
      try {
        o.recordCore(ref(), outcome);
      } catch { /* a store that refuses writes must not stop the release */ }
    }
    await done;
  }

  /** Stop accepting and release every held core. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    await this.#loop;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all([...this.#tasks]);
  }
}
