/**
 * The daemon's sockets and what serves them: the notification socket (the notifier's
 * crashes and follow-ups), the control socket (the commands), the coredump socket (the
 * kernel's socket mode), and the early path on the kernel's process connector. Bound in
 * that order at start, closed together at stop, and their files unlinked last.
 *
 * @module
 */
import { CONTROL_SOCKET_NAME, COREDUMP_SOCKET_NAME, NOTIFY_SOCKET_NAME } from "../core/paths.ts";
import type { Listeners } from "../core/listeners.ts";
import type { TriggerStore } from "../store/trigger_store.ts";
import type { CrashRef } from "../store/crashes.ts";
import type { SessionInfo } from "../lttng/control.ts";
import {
  ControlCommand,
  ControlStatus,
  encodeControlReply,
  MAX_CONTROL_REQUEST,
} from "../wire/control.ts";
import type { FrameError } from "../wire/frame.ts";
import type { StatusReply } from "../protocol/control.ts";
import type { ChainEvent } from "../protocol/watch.ts";
import type { ChainFate, CoreFate } from "../protocol/records.ts";
import { holdByPidfd, pidfdAlive } from "../sys/pidfd.ts";
import type { CrashHandler } from "./crash_handler.ts";
import type { ReportQueue } from "./report_queue.ts";
import type { ResolvedDaemonOptions } from "./daemon_options.ts";
import { answerControlFrame } from "./control_handler.ts";
import { SocketServer } from "./connections.ts";
import {
  bindPeerSocket,
  bindSocket,
  type BoundSocket,
  groupId,
  unlinkOwnSocket,
} from "./sockets.ts";
import { CoredumpServer } from "./coredump_socket.ts";
import { PeerListener } from "./peer_socket.ts";
import { lookAtHeldProcess, type ProcReader } from "./held_process.ts";
import { selfDumpProtection } from "./dumpable.ts";
import { libc } from "./libc.ts";
import { type EarlyPath, listenEarly } from "./early_path.ts";
import { crashLogLine, NotifyEndpoint } from "./notify_endpoint.ts";

/** The paths of the daemon's sockets in `runDir`. */
export function daemonSocketPaths(
  runDir: string,
): { notify: string; control: string; coredump: string } {
  return {
    notify: `${runDir}/${NOTIFY_SOCKET_NAME}`,
    control: `${runDir}/${CONTROL_SOCKET_NAME}`,
    coredump: `${runDir}/${COREDUMP_SOCKET_NAME}`,
  };
}

/** What the daemon's servers hand their work to. */
export interface DaemonWork {
  /** The crash handler: the early path's, and the one WATCH follows. */
  handler: CrashHandler;
  /** The handler the sockets hand crashes to (timed for the metrics when they are on). */
  crashes: Pick<CrashHandler, "handle">;
  /** The durable store (for the control commands). */
  store: TriggerStore;
  /** The crash reports (WATCH follows them). */
  reports: ReportQueue;
  /** The chained handler's runs as they are recorded (WATCH follows them). */
  chains: Listeners<ChainEvent>;
  /** Record what became of a crash's core. */
  recordCore(ref: CrashRef, fate: CoreFate): void;
  /** Record what the chained crash handler did with a crash. */
  recordChain(ref: CrashRef, chain: ChainFate): void;
  /** The LTTng sessions (for `list`). */
  listSessions(): Promise<SessionInfo[]>;
  /** The daemon's status (for `status`). */
  status(): StatusReply;
  /** Whether the daemon is stopping (the notification socket answers UNAVAILABLE). */
  stopping(): boolean;
  /** Aborted when the daemon stops: every WATCH stream ends. */
  stopSignal: AbortSignal;
}

/** What `status` says of the coredump socket and the early path. */
export type ServersStatus = Pick<
  StatusReply,
  "coredumpSocket" | "coredumpSocketActivated" | "selfDump" | "earlyPath"
>;

/** The daemon's sockets and their servers. */
export class DaemonServers {
  #o: ResolvedDaemonOptions;
  #work: DaemonWork;
  #paths: { notify: string; control: string; coredump: string };
  #sockets: Pick<BoundSocket, "path" | "ino">[] = [];
  #notify?: NotifyEndpoint;
  #control?: SocketServer;
  #coredump?: CoredumpServer;
  #early?: EarlyPath;
  #earlyWhy = "";
  #procReader: ProcReader | string = "not started";
  #selfDump?: { protected: boolean; reason: string };
  #socketActivated = false;

  /** Servers for a daemon of `options`, handing their work to `work`; none bound yet. */
  constructor(options: ResolvedDaemonOptions, work: DaemonWork) {
    this.#o = options;
    this.#work = work;
    this.#paths = daemonSocketPaths(options.runDir);
  }

  /**
   * Bind the sockets and serve them; the early path listens too. A socket bound before a
   * failure is still unlinked by {@linkcode DaemonServers.unlink}.
   */
  async bind(): Promise<void> {
    const o = this.#o;
    const work = this.#work;
    this.#procReader = o.procReader ?? libc();
    if (typeof this.#procReader === "string") {
      o.log(`crashed processes are not looked at in /proc: ${this.#procReader}`);
    }
    // Root: the notifier runs as root, so only root may notify; the control socket is
    // shared with group "tracing" where it exists, as LTTng does, for reading: each
    // request is judged by who sent it (SO_PEERCRED, controlDenial); without libc no
    // peer is known, and no one changes triggers.
    const tracing = o.uid === 0 ? await groupId("tracing") : undefined;
    const notify = await bindSocket(this.#paths.notify, { mode: 0o600 });
    this.#sockets.push(notify);
    const mode = tracing === undefined ? { mode: 0o600 } : { mode: 0o660, gid: tracing };
    const c = libc();
    const control = typeof c === "string"
      ? await bindSocket(this.#paths.control, mode)
      : await bindPeerSocket(this.#paths.control, mode, c);
    this.#sockets.push(control);
    if (o.coredumpSocket) {
      this.#selfDump = selfDumpProtection(o.dumpable ?? libc());
    }
    if (this.#selfDump?.protected === false) {
      // A dumpable daemon that crashed would be held by the kernel while it streams the
      // core into the daemon's own socket, forever: better no socket mode at all.
      o.log(`coredump socket not bound: ${this.#selfDump.reason}`);
    } else if (o.coredumpSocket) {
      let listener: PeerListener;
      if (o.coredumpFd !== undefined) {
        listener = PeerListener.adopt(o.coredumpFd);
        this.#socketActivated = true;
        o.log(
          `coredump socket: fd ${o.coredumpFd} passed by systemd: crashes wait in its backlog while the daemon restarts`,
        );
      } else {
        const coredump = await bindSocket(
          this.#paths.coredump,
          { mode: 0o600 },
          (path) => PeerListener.listen(path, 256),
        );
        this.#sockets.push(coredump);
        listener = coredump.listener;
      }
      this.#coredump = new CoredumpServer(listener, {
        handle: (facts, onRelease, onRecorded) =>
          work.crashes.handle(facts, "socket", onRelease, onRecorded).then((outcome) => {
            o.log(crashLogLine(facts, outcome));
            return outcome;
          }),
        recordCore: (ref, fate) => work.recordCore(ref, fate),
        lookAtHeldProcess: (crash, peer) =>
          lookAtHeldProcess(crash, this.#procReader, {
            source: "socket",
            ...(peer.pidfd === undefined ? {} : { alive: () => pidfdAlive(peer.pidfd!) }),
          }),
        coreDir: o.coreDir,
        hostname: Deno.hostname(),
        holdTimeoutMs: o.replyTimeoutMs,
        notesTimeoutMs: o.frameTimeoutMs,
        maxConnections: o.maxConnections,
        log: o.log,
      });
    }
    await this.#listenEarly();
    this.#notify = new NotifyEndpoint(notify.listener, {
      uid: o.uid,
      crashes: work.crashes,
      recordCore: (ref, fate) => work.recordCore(ref, fate),
      recordChain: (ref, chain) => work.recordChain(ref, chain),
      procReader: this.#procReader,
      holdPid: holdByPidfd,
      stopping: () => work.stopping(),
      replyTimeoutMs: o.replyTimeoutMs,
      frameTimeoutMs: o.frameTimeoutMs,
      maxConnections: o.maxConnections,
      log: o.log,
    });
    this.#control = new SocketServer(control.listener, {
      frameTimeoutMs: o.frameTimeoutMs,
      maxConnections: o.maxConnections,
      log: (line) => o.log(`control socket: ${line}`),
      maxPayload: (cmd) =>
        Object.values(ControlCommand).includes(cmd as 1) ? MAX_CONTROL_REQUEST : -1,
      onFrameError: (err: FrameError) =>
        encodeControlReply(err.header?.cmd ?? 0, {
          status: err.kind === "unknown-command"
            ? ControlStatus.UNKNOWN_COMMAND
            : ControlStatus.INVALID,
          error: err.message,
          payload: null,
        }),
      onFrame: (frame, peer) =>
        answerControlFrame(frame.header.cmd, frame.payload, {
          store: work.store,
          uid: o.uid,
          peer,
          listSessions: () => work.listSessions(),
          status: () => work.status(),
          log: o.log,
          crashes: work.handler,
          chains: work.chains,
          reports: work.reports,
          stopping: work.stopSignal,
        }),
    });
  }

  async #listenEarly(): Promise<void> {
    const o = this.#o;
    const early = await listenEarly({ ...o, pinOps: o.pinOps, crashes: this.#work.handler });
    if (typeof early === "string") this.#earlyWhy = early;
    else this.#early = early;
  }

  /** What `status` says of the coredump socket and the early path. */
  status(): ServersStatus {
    return {
      coredumpSocket: this.#coredump === undefined ? null : this.#paths.coredump,
      ...(this.#socketActivated ? { coredumpSocketActivated: true } : {}),
      ...(this.#selfDump === undefined ? {} : { selfDump: this.#selfDump }),
      earlyPath: this.#early === undefined
        ? { listening: false, reason: this.#earlyWhy }
        : { listening: true, only: this.#o.connector === "only", ...this.#early.status() },
    };
  }

  /**
   * Close every server, all at once: the notification and control sockets answer their
   * in-flight requests first, within `replyTimeoutMs`.
   */
  async close(replyTimeoutMs: number): Promise<void> {
    await Promise.all([
      this.#notify?.close(replyTimeoutMs),
      this.#control?.close(replyTimeoutMs),
      this.#coredump?.close(),
      this.#early?.close(),
    ]);
  }

  /** Unlink the socket files this daemon bound (still its own). */
  async unlink(): Promise<void> {
    for (const s of this.#sockets) await unlinkOwnSocket(s);
  }
}
