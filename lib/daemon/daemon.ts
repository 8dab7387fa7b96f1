/**
 * The trigger daemon: the notification socket, the control socket, the store and the
 * action runner.
 *
 * @module
 */
import {
  CONTROL_SOCKET_NAME,
  COREDUMP_SOCKET_NAME,
  JOURNAL_SOCKET,
  NOTIFY_SOCKET_NAME,
  ROOT_RUN_DIR,
  STORE_FILE_NAME,
} from "../core/paths.ts";
import { CrashJournal } from "../journal/crash_journal.ts";
import { TriggerStore } from "../store/trigger_store.ts";
import type { CrashRef } from "../store/crashes.ts";
import type { HistoryLimits } from "../store/history_limits.ts";
import { LttngControl } from "../lttng/control.ts";
import { LttngCtlLibrary } from "../lttng/ctl_library.ts";
import {
  ControlCommand,
  ControlStatus,
  encodeControlReply,
  MAX_CONTROL_REQUEST,
} from "../wire/control.ts";
import type { FrameError } from "../wire/frame.ts";
import { CrashHandler, type SessionActions } from "./crash_handler.ts";
import { answerControlFrame } from "./control_handler.ts";
import { SocketServer } from "./connections.ts";
import {
  bindPeerSocket,
  bindSocket,
  type BoundSocket,
  groupId,
  socketAnswers,
  unlinkOwnSocket,
} from "./sockets.ts";
import type { SessionInfo } from "../lttng/control.ts";
import type { CorePatternWatchFacts, StatusReply } from "../protocol/control.ts";
import { CoredumpServer } from "./coredump_socket.ts";
import { PeerListener } from "./peer_socket.ts";
import { holdByPidfd, pidfdAlive } from "../sys/pidfd.ts";
import { type RetentionFs, SnapshotRetention } from "./retention_runner.ts";
import type { SnapshotSpaceLimits } from "./snapshot_retention.ts";
import { lookAtHeldProcess, type ProcReader } from "./held_process.ts";
import { selfDumpProtection } from "./dumpable.ts";
import { libc } from "./libc.ts";
import { type EarlyPath, listenEarly } from "./early_path.ts";
import type { PinOps } from "./early_pin.ts";
import { crashLogLine, NotifyEndpoint } from "./notify_endpoint.ts";
import { ChainFateEvents } from "./chain_fate_events.ts";
import { removeStaleReportDirs, REPORT_SETTLE_MS, ReportQueue } from "./report_queue.ts";
import { type DaemonMetricsHooks, hookMetrics } from "./metrics_hooks.ts";
import type { MetricsExporterOptions } from "../metrics/exporter.ts";
import type { CoreFate, MissedCrash } from "../protocol/records.ts";
import {
  DaemonStartError,
  lockDirs,
  prepareDir,
  releaseLocks,
  removeOwnPidFile,
  writePidFile,
} from "./run_dirs.ts";

export { DaemonStartError } from "./run_dirs.ts";

/** Options of {@linkcode Daemon.start}. */
export interface DaemonOptions {
  /** Directory of the sockets. */
  runDir: string;
  /** Directory of the store. */
  stateDir: string;
  /** The daemon's uid (root, or the user it serves). @default Deno.uid() */
  uid?: number;
  /**
   * Listen on RUN_DIR/coredump-lttng-trig for the kernel's coredump socket mode.
   * @default true for root
   */
  coredumpSocket?: boolean;
  /** In coredump-socket mode, keep cores here (zstd). */
  coreDir?: string;
  /**
   * The coredump socket passed by systemd (lttng-trig.socket, lib/daemon/listen_fds.ts):
   * served instead of binding one, and left in place at stop.
   */
  coredumpFd?: number;
  /**
   * How actions reach LTTng: `library` (liblttng-ctl through FFI), `command` (the `lttng`
   * command), or `auto` (the library where it loads, else the command).
   * @default "auto"
   */
  lttngCtl?: "auto" | "library" | "command";
  /** Session actions. @default an LttngControl on the `lttng` command */
  actions?: SessionActions & { listSessions(): Promise<SessionInfo[]> };
  /** Deadline of one action, in milliseconds. @default 8000 */
  actionTimeoutMs?: number;
  /** Quiet time before a crash report starts, in milliseconds. @default REPORT_SETTLE_MS */
  reportDelayMs?: number;
  /** Longest wait before a notifier gets its reply, in milliseconds. @default 9000 */
  replyTimeoutMs?: number;
  /** Deadline for a client to send a whole frame, in milliseconds. @default 5000 */
  frameTimeoutMs?: number;
  /** Most connections per socket. @default 256 */
  maxConnections?: number;
  /** Log line sink. @default nothing */
  log?: (line: string) => void;
  /** How much crash history to keep. @default 10000 crashes, 90 days */
  history?: HistoryLimits;
  /**
   * Reads `/proc` for the look at a held process (lib/daemon/held_process.ts), or why
   * it cannot. @default libc through FFI
   */
  procReader?: ProcReader | string;
  /**
   * Makes the daemon non-dumpable before it binds the coredump socket
   * (lib/daemon/dumpable.ts), or why it cannot. @default libc through FFI
   */
  dumpable?: { setNotDumpable(): boolean } | string;
  /**
   * journald's native socket, to journal every crash (lib/journal/), or `null` for none.
   * @default the system journal's for root, none for a user's daemon (root's journals
   * every crash already)
   */
  journalSocket?: string | null;
  /** Write Prometheus metrics for node_exporter's textfile collector. @default none */
  metrics?: MetricsExporterOptions;
  /**
   * The early path (lib/daemon/early_path.ts): `auto` listens to the kernel's process
   * connector where it can (root with CAP_NET_ADMIN) and goes on without it otherwise;
   * `only` needs it (the daemon does not start without it) and binds no coredump socket:
   * crashes are acted on from the connector alone, core_pattern left to others; `off`
   * does not listen. @default "auto" for root on the root run directory (the machine's
   * daemon), else "off": a second daemon on a private run directory (a test's) would act
   * on every crash of the machine too
   */
  connector?: "auto" | "only" | "off";
  /** libc's pidfd, clock and `/proc` calls for the early path. @default libc through FFI */
  pinOps?: PinOps | string;
  /** Daemon-wide snapshot limits (lib/daemon/snapshot_retention.ts). @default 10%/15% */
  snapshotLimits?: SnapshotSpaceLimits;
  /** The filesystem snapshot retention removes from. @default the real one */
  retentionFs?: RetentionFs;
  /** What the watch of core_pattern saw, for `status` (lib/install/pattern_watch.ts). */
  corePatternWatch?: () => CorePatternWatchFacts;
}

// Options with no default, or handed on as they are (history, to the store).
type Unresolved =
  | "actions"
  | "coreDir"
  | "coredumpFd"
  | "procReader"
  | "dumpable"
  | "history"
  | "journalSocket"
  | "metrics"
  | "pinOps"
  | "corePatternWatch"
  | "snapshotLimits"
  | "retentionFs";

type ResolvedOptions = Required<Omit<DaemonOptions, Unresolved>> & {
  coreDir?: string;
  coredumpFd?: number;
  procReader?: ProcReader | string;
  dumpable?: { setNotDumpable(): boolean } | string;
  journalSocket: string | null;
  pinOps?: PinOps | string;
  corePatternWatch?: () => CorePatternWatchFacts;
};

/**
 * A running daemon.
 *
 * @example
 * ```ts
 * import { Daemon } from "./daemon.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   await using daemon = await Daemon.start({
 *     runDir: `${dir}/run`,
 *     stateDir: `${dir}/state`,
 *     log: () => {},
 *   });
 *   daemon.controlSocketPath; // `${dir}/run/client-lttng-trig`
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Daemon implements AsyncDisposable {
  #options: ResolvedOptions;
  #store: TriggerStore;
  #handler: CrashHandler;
  #reports: ReportQueue;
  #journal?: CrashJournal;
  #sockets: Pick<BoundSocket, "path" | "ino">[] = [];
  #notify?: NotifyEndpoint;
  #control?: SocketServer;
  #actions: SessionActions & { listSessions(): Promise<SessionInfo[]> };
  #startedAt = new Date();
  #procReader: ProcReader | string = "not started";
  #coredump?: CoredumpServer;
  #early?: EarlyPath;
  #earlyWhy = "";
  #stopSignal = new AbortController();
  #chains = new ChainFateEvents();
  #library?: LttngCtlLibrary;
  #selfDump?: { protected: boolean; reason: string };
  #socketActivated = false;
  #locks: Deno.FsFile[];
  #stopped?: Promise<void>;
  #done: PromiseWithResolvers<void> = Promise.withResolvers();
  #metrics?: DaemonMetricsHooks;
  #retention: SnapshotRetention;
  #retentionTimer?: ReturnType<typeof setInterval>;

  private constructor(
    options: ResolvedOptions,
    store: TriggerStore,
    actions: SessionActions & { listSessions(): Promise<SessionInfo[]> },
    locks: Deno.FsFile[],
    retention: { limits?: SnapshotSpaceLimits; fs?: RetentionFs },
  ) {
    this.#options = options;
    this.#locks = locks;
    this.#store = store;
    this.#actions = actions;
    const c = libc();
    this.#handler = new CrashHandler({
      store,
      actions,
      ...(typeof c === "string" ? {} : { monotonicNs: c.monotonicNs }),
      onStoreFailure: (err) =>
        options.log(`store: ${(err as Error).message}: the crash is acted on but not recorded`),
    });
    this.#reports = new ReportQueue({
      store,
      tempParent: options.stateDir,
      settleMs: options.reportDelayMs,
      log: options.log,
    });
    if (options.journalSocket !== null) {
      this.#journal = CrashJournal.attach({
        socket: options.journalSocket,
        crashes: this.#handler,
        reports: this.#reports,
        lookup: (id) => store.listCrashes({ id, limit: 1 })[0],
        log: options.log,
      });
    }
    this.#retention = new SnapshotRetention({
      store,
      limits: retention.limits,
      fs: retention.fs,
      log: options.log,
    });
  }

  /** The crash reports (to subscribe to them). */
  get reports(): ReportQueue {
    return this.#reports;
  }

  /**
   * Record what became of a crash's core; a kept core's crash gets its report, computed
   * after the release (lib/daemon/report_queue.ts).
   */
  #recordCore(ref: CrashRef, fate: CoreFate): void {
    const id = this.#store.setCoreFate(ref, fate);
    if (id === undefined) {
      this.#options.log(
        `the core's fate of ${
          "id" in ref ? `crash ${ref.id}` : `pid ${ref.pid}`
        } is not recorded: no such crash${"id" in ref ? "" : ", or several without a core"}`,
      );
      return;
    }
    if (!fate.kept || fate.path === undefined) return;
    const crash = this.#store.crashById(id);
    if (crash === undefined) return;
    this.#reports.submit({
      id: crash.id,
      pid: crash.pid,
      core: fate.path,
      ...(crash.exePath === undefined ? {} : { exe: crash.exePath }),
      ...(crash.tid === undefined ? {} : { tid: crash.tid }),
      bytes: fate.bytes,
      // Made with the crashing user's rights, in their share of the queue.
      uid: crash.uid,
      gid: crash.gid,
      ...(crash.dumpMode === undefined ? {} : { dumpMode: crash.dumpMode }),
    });
  }

  /**
   * Put crashes that reached no daemon (journaled by the notifier while none ran) into
   * the history, each once; returns how many were new.
   */
  importMissed(crashes: readonly MissedCrash[]): number {
    const n = this.#store.importMissed(crashes);
    if (n > 0) {
      this.#options.log(
        `${n} crash(es) the notifier journaled while no daemon ran are now in the history (outcome missed: no trigger ran)`,
      );
    }
    return n;
  }

  /** The crash handler (to subscribe to crashes). */
  get crashes(): CrashHandler {
    return this.#handler;
  }

  /** Path of the notification socket. */
  get notifySocketPath(): string {
    return `${this.#options.runDir}/${NOTIFY_SOCKET_NAME}`;
  }

  /** Path of the coredump socket. */
  get coredumpSocketPath(): string {
    return `${this.#options.runDir}/${COREDUMP_SOCKET_NAME}`;
  }

  /** Path of the control socket. */
  get controlSocketPath(): string {
    return `${this.#options.runDir}/${CONTROL_SOCKET_NAME}`;
  }

  /** Resolves once the daemon has stopped. */
  get finished(): Promise<void> {
    return this.#done.promise;
  }

  /** Start a daemon: check the directories, open the store, bind both sockets. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const uid = options.uid ?? Deno.uid() ?? 0;
    const full = {
      runDir: options.runDir.replace(/\/+$/, "") || "/",
      stateDir: options.stateDir.replace(/\/+$/, "") || "/",
      uid,
      actionTimeoutMs: options.actionTimeoutMs ?? 8000,
      reportDelayMs: options.reportDelayMs ?? REPORT_SETTLE_MS,
      replyTimeoutMs: options.replyTimeoutMs ?? 9000,
      frameTimeoutMs: options.frameTimeoutMs ?? 5000,
      maxConnections: options.maxConnections ?? 256,
      connector: options.connector ??
        (uid === 0 && options.runDir.replace(/\/+$/, "") === ROOT_RUN_DIR ? "auto" : "off"),
      coredumpSocket: options.connector === "only" ? false : options.coredumpSocket ?? uid === 0,
      lttngCtl: options.lttngCtl ?? "auto",
      coreDir: options.coreDir,
      coredumpFd: options.coredumpFd,
      log: options.log ?? (() => {}),
      procReader: options.procReader,
      dumpable: options.dumpable,
      journalSocket: options.journalSocket === undefined
        ? (uid === 0 ? JOURNAL_SOCKET : null)
        : options.journalSocket,
      pinOps: options.pinOps,
      corePatternWatch: options.corePatternWatch,
    };
    await prepareDir(full.runDir, uid === 0 ? 0o755 : 0o700, uid, "run");
    await prepareDir(full.stateDir, 0o700, uid, "state");
    const control = `${full.runDir}/${CONTROL_SOCKET_NAME}`;
    if (await socketAnswers(control)) {
      throw new DaemonStartError(
        `another lttng-trig daemon answers on ${control}: stop it first, or pass another --run-dir`,
      );
    }
    // Checking the socket is not enough: daemons started at once all find it silent.
    const locks = await lockDirs(full.runDir, full.stateDir);
    let store: TriggerStore;
    try {
      store = TriggerStore.open(`${full.stateDir}/${STORE_FILE_NAME}`, {
        history: options.history,
      });
    } catch (err) {
      releaseLocks(locks);
      throw err;
    }
    let library: LttngCtlLibrary | undefined;
    if (options.actions === undefined && full.lttngCtl !== "command") {
      const opened = LttngCtlLibrary.open(full.actionTimeoutMs);
      if (typeof opened === "string") {
        if (full.lttngCtl === "library") {
          releaseLocks(locks);
          store.close();
          throw new DaemonStartError(
            `${opened}: install liblttng-ctl0, or pass --lttng-ctl=command`,
          );
        }
        full.log(`${opened}: actions run through the lttng command`);
      } else {
        library = opened;
      }
    }
    const actions = options.actions ??
      new LttngControl({ timeoutMs: full.actionTimeoutMs, library });
    const daemon = new Daemon(full, store, actions, locks, {
      limits: options.snapshotLimits,
      fs: options.retentionFs,
    });
    daemon.#library = library;
    try {
      const interrupted = store.markInterrupted();
      if (interrupted > 0) {
        full.log(`${interrupted} crash(es) left pending by a previous daemon marked interrupted`);
      }
      const reports = store.failPendingReports();
      if (reports > 0) {
        full.log(`${reports} crash report(s) left pending by a previous daemon marked failed`);
      }
      await removeStaleReportDirs(full.stateDir);
      daemon.#metrics = await hookMetrics(daemon.#handler, daemon.#reports, options.metrics);
      await daemon.#bind();
      await writePidFile(full.runDir);
      daemon.#startRetention();
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    full.log(
      `actions run through ${actions instanceof LttngControl ? actions.mode : "injected actions"}`,
    );
    full.log(
      `lttng-trig daemon ${Deno.pid} listening on ${daemon.notifySocketPath} and ${daemon.controlSocketPath}`,
    );
    return daemon;
  }

  /** Snapshot retention: soon after a crash that took a snapshot, now, and every hour. */
  #startRetention(): void {
    this.#handler.listen((c) => {
      if (c.results.some((r) => r.snapshot !== undefined)) this.#retention.soon();
    });
    this.#retentionTimer = setInterval(() => void this.#retention.run(), 3_600_000);
    void this.#retention.run();
  }

  /** Run snapshot retention now; resolves to how many snapshots it removed. */
  retainSnapshots(): Promise<number> {
    return this.#retention.run();
  }

  async #bind(): Promise<void> {
    const o = this.#options;
    this.#procReader = o.procReader ?? libc();
    if (typeof this.#procReader === "string") {
      o.log(`crashed processes are not looked at in /proc: ${this.#procReader}`);
    }
    // Root: the notifier runs as root, so only root may notify; the control socket is
    // shared with group "tracing" where it exists, as LTTng does, for reading: each
    // request is judged by who sent it (SO_PEERCRED, controlDenial); without libc no
    // peer is known, and no one changes triggers.
    const tracing = o.uid === 0 ? await groupId("tracing") : undefined;
    const notify = await bindSocket(this.notifySocketPath, { mode: 0o600 });
    this.#sockets.push(notify);
    const mode = tracing === undefined ? { mode: 0o600 } : { mode: 0o660, gid: tracing };
    const c = libc();
    const control = typeof c === "string"
      ? await bindSocket(this.controlSocketPath, mode)
      : await bindPeerSocket(this.controlSocketPath, mode, c);
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
          this.coredumpSocketPath,
          { mode: 0o600 },
          (path) => PeerListener.listen(path, 256),
        );
        this.#sockets.push(coredump);
        listener = coredump.listener;
      }
      this.#coredump = new CoredumpServer(listener, {
        handle: (facts, onRelease, onRecorded) =>
          this.#crashes.handle(facts, "socket", onRelease, onRecorded).then((outcome) => {
            o.log(crashLogLine(facts, outcome));
            return outcome;
          }),
        recordCore: (ref, fate) => this.#recordCore(ref, fate),
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
      crashes: this.#crashes,
      recordCore: (ref, fate) => this.#recordCore(ref, fate),
      recordChain: (ref, chain) => {
        const id = this.#store.setChainFate(ref, chain);
        const crash = id === undefined ? undefined : this.#store.crashById(id);
        if (crash !== undefined) {
          const time = new Date().toISOString();
          this.#chains.publish({ type: "chain", id: crash.id, pid: crash.pid, time, chain });
        }
      },
      procReader: this.#procReader,
      holdPid: holdByPidfd,
      stopping: () => this.#stopped !== undefined,
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
          store: this.#store,
          uid: o.uid,
          peer,
          listSessions: () => this.#actions.listSessions(),
          status: () => this.#status(),
          log: o.log,
          crashes: this.#handler,
          chains: this.#chains,
          reports: this.#reports,
          stopping: this.#stopSignal.signal,
        }),
    });
  }

  // The handler the sockets hand crashes to: timed for the metrics when they are on.
  get #crashes(): Pick<CrashHandler, "handle"> {
    return this.#metrics?.crashes ?? this.#handler;
  }

  async #listenEarly(): Promise<void> {
    const o = this.#options;
    const early = await listenEarly({ ...o, pinOps: o.pinOps, crashes: this.#handler });
    if (typeof early === "string") this.#earlyWhy = early;
    else this.#early = early;
  }

  #status(): StatusReply {
    const o = this.#options;
    return {
      pid: Deno.pid,
      uid: o.uid,
      runDir: o.runDir,
      stateDir: o.stateDir,
      store: this.#store.path,
      startedAt: this.#startedAt.toISOString(),
      triggers: this.#store.listTriggers().length,
      coredumpSocket: this.#coredump === undefined ? null : this.coredumpSocketPath,
      ...(this.#socketActivated ? { coredumpSocketActivated: true } : {}),
      ...(this.#selfDump === undefined ? {} : { selfDump: this.#selfDump }),
      earlyPath: this.#early === undefined
        ? { listening: false, reason: this.#earlyWhy }
        : { listening: true, only: this.#options.connector === "only", ...this.#early.status() },
      ...(o.corePatternWatch === undefined ? {} : { corePatternWatch: o.corePatternWatch() }),
    };
  }

  /** Stop: close the sockets (answering in-flight notifications first), then the store. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopSignal.abort();
      await Promise.all([
        this.#notify?.close(this.#options.replyTimeoutMs),
        this.#control?.close(this.#options.replyTimeoutMs),
        this.#coredump?.close(),
        this.#early?.close(),
      ]);
      // Bounded: an action is killed after its own deadline, but a stuck one must not
      // keep the daemon from stopping.
      let idleTimer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#handler.idle(),
        new Promise((r) => idleTimer = setTimeout(r, this.#options.actionTimeoutMs + 2000)),
      ]);
      clearTimeout(idleTimer);
      await this.#reports.close();
      this.#journal?.close();
      await this.#metrics?.close();
      clearInterval(this.#retentionTimer);
      await this.#retention.idle();
      for (const s of this.#sockets) await unlinkOwnSocket(s);
      await removeOwnPidFile(this.#options.runDir);
      this.#store.close();
      await this.#library?.close();
      releaseLocks(this.#locks);
      this.#options.log("lttng-trig daemon stopped");
      this.#done.resolve();
    })();
    return this.#stopped;
  }

  /** Same as {@linkcode Daemon.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
