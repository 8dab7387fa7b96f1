/**
 * The trigger daemon: the notification socket, the control socket, the store and the
 * action runner.
 *
 * @module
 */
import {
  CONTROL_SOCKET_NAME,
  COREDUMP_SOCKET_NAME,
  NOTIFY_SOCKET_NAME,
  STORE_FILE_NAME,
} from "../paths.ts";
import { type HistoryLimits, TriggerStore } from "../store/trigger_store.ts";
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
  bindSocket,
  type BoundSocket,
  groupId,
  socketAnswers,
  unlinkOwnSocket,
} from "./sockets.ts";
import type { SessionInfo } from "../lttng/control.ts";
import type { StatusReply } from "../protocol/control.ts";
import { CoredumpServer } from "./coredump_socket.ts";
import { lookAtHeldProcess, type ProcReader } from "./held_process.ts";
import { selfDumpProtection } from "./dumpable.ts";
import { libc } from "./libc.ts";
import { crashLogLine, NotifyEndpoint } from "./notify_endpoint.ts";
import { ChainFateEvents } from "./chain_fate_events.ts";
import { removeStaleReportDirs, REPORT_SETTLE_MS, ReportQueue } from "./report_queue.ts";
import type { CoreFate } from "../protocol/records.ts";
import {
  DaemonStartError,
  lockDirs,
  prepareDir,
  releaseLocks,
  removeOwnPidFile,
  writePidFile,
} from "./run_dirs.ts";

export { DaemonStartError, LOCK_FILE_NAME } from "./run_dirs.ts";

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
}

// Options with no default, or handed on as they are (history, to the store).
type Unresolved = "actions" | "coreDir" | "procReader" | "dumpable" | "history";

type ResolvedOptions = Required<Omit<DaemonOptions, Unresolved>> & {
  coreDir?: string;
  procReader?: ProcReader | string;
  dumpable?: { setNotDumpable(): boolean } | string;
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
  #sockets: BoundSocket[] = [];
  #notify?: NotifyEndpoint;
  #control?: SocketServer;
  #actions: SessionActions & { listSessions(): Promise<SessionInfo[]> };
  #startedAt = new Date();
  #procReader: ProcReader | string = "not started";
  #coredump?: CoredumpServer;
  #stopSignal = new AbortController();
  #chains = new ChainFateEvents();
  #library?: LttngCtlLibrary;
  #selfDump?: { protected: boolean; reason: string };
  #locks: Deno.FsFile[];
  #stopped?: Promise<void>;
  #done: PromiseWithResolvers<void> = Promise.withResolvers();

  private constructor(
    options: ResolvedOptions,
    store: TriggerStore,
    actions: SessionActions & { listSessions(): Promise<SessionInfo[]> },
    locks: Deno.FsFile[],
  ) {
    this.#options = options;
    this.#locks = locks;
    this.#store = store;
    this.#actions = actions;
    this.#handler = new CrashHandler({
      store,
      actions,
      onStoreFailure: (err) =>
        options.log(`store: ${(err as Error).message}: the crash is acted on but not recorded`),
    });
    this.#reports = new ReportQueue({
      store,
      tempParent: options.stateDir,
      settleMs: options.reportDelayMs,
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
  #recordCore(pid: number, fate: CoreFate): void {
    this.#store.setCoreFate(pid, fate);
    if (!fate.kept || fate.path === undefined) return;
    const crash = this.#store.crashOfCore(pid);
    if (crash === undefined) return;
    this.#reports.submit({
      id: crash.id,
      pid,
      core: fate.path,
      ...(crash.exePath === undefined ? {} : { exe: crash.exePath }),
      ...(crash.tid === undefined ? {} : { tid: crash.tid }),
      bytes: fate.bytes,
    });
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
      coredumpSocket: options.coredumpSocket ?? uid === 0,
      lttngCtl: options.lttngCtl ?? "auto",
      coreDir: options.coreDir,
      log: options.log ?? (() => {}),
      procReader: options.procReader,
      dumpable: options.dumpable,
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
    const daemon = new Daemon(full, store, actions, locks);
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
      await daemon.#bind();
      await writePidFile(full.runDir);
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

  async #bind(): Promise<void> {
    const o = this.#options;
    this.#procReader = o.procReader ?? libc();
    if (typeof this.#procReader === "string") {
      o.log(`crashed processes are not looked at in /proc: ${this.#procReader}`);
    }
    // Root: the notifier runs as root, so only root may notify; the control socket is
    // shared with group "tracing" where it exists, as LTTng does.
    const tracing = o.uid === 0 ? await groupId("tracing") : undefined;
    const notify = await bindSocket(this.notifySocketPath, { mode: 0o600 });
    this.#sockets.push(notify);
    const control = await bindSocket(
      this.controlSocketPath,
      tracing === undefined ? { mode: 0o600 } : { mode: 0o660, gid: tracing },
    );
    this.#sockets.push(control);
    if (o.coredumpSocket) {
      this.#selfDump = selfDumpProtection(o.dumpable ?? libc());
    }
    if (this.#selfDump?.protected === false) {
      // A dumpable daemon that crashed would be held by the kernel while it streams the
      // core into the daemon's own socket, forever: better no socket mode at all.
      o.log(`coredump socket not bound: ${this.#selfDump.reason}`);
    } else if (o.coredumpSocket) {
      const coredump = await bindSocket(this.coredumpSocketPath, { mode: 0o600 });
      this.#sockets.push(coredump);
      this.#coredump = new CoredumpServer(coredump.listener, {
        handle: (facts, onRelease) =>
          this.#handler.handle(facts, "socket", onRelease).then((outcome) => {
            o.log(crashLogLine(facts, outcome));
            return outcome;
          }),
        recordCore: (pid, fate) => this.#recordCore(pid, fate),
        lookAtHeldProcess: (crash) =>
          lookAtHeldProcess(crash, this.#procReader, { source: "socket" }),
        coreDir: o.coreDir,
        hostname: Deno.hostname(),
        holdTimeoutMs: o.replyTimeoutMs,
        notesTimeoutMs: o.frameTimeoutMs,
        maxConnections: o.maxConnections,
        log: o.log,
      });
    }
    this.#notify = new NotifyEndpoint(notify.listener, {
      uid: o.uid,
      crashes: this.#handler,
      recordCore: (pid, fate) => this.#recordCore(pid, fate),
      recordChain: (pid, chain) => {
        const id = this.#store.setChainFate(pid, chain);
        if (id !== undefined) {
          this.#chains.publish({ type: "chain", id, pid, time: new Date().toISOString(), chain });
        }
      },
      procReader: this.#procReader,
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
      onFrame: (frame) =>
        answerControlFrame(frame.header.cmd, frame.payload, {
          store: this.#store,
          uid: o.uid,
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
      ...(this.#selfDump === undefined ? {} : { selfDump: this.#selfDump }),
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
