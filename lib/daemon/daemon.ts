/**
 * The trigger daemon: its start (the directories, the locks, the store, how actions
 * reach LTTng), the wiring of the crash handler, the reports, the journal and snapshot
 * retention, and its stop. Its options are in lib/daemon/daemon_options.ts, its sockets
 * and their servers in lib/daemon/daemon_servers.ts.
 *
 * @module
 */
import { processPathEnv, resolveRunDir, STORE_FILE_NAME } from "../core/paths.ts";
import { Listeners } from "../core/listeners.ts";
import { CrashJournal } from "../journal/crash_journal.ts";
import { TriggerStore } from "../store/trigger_store.ts";
import type { CrashRef } from "../store/crashes.ts";
import { LttngControl, type SessionInfo } from "../lttng/control.ts";
import { LttngCtlLibrary } from "../lttng/ctl_library.ts";
import type { StatusReply } from "../protocol/control.ts";
import type { ChainEvent } from "../protocol/watch.ts";
import type { ChainFate, CoreFate, MissedCrash } from "../protocol/records.ts";
import { CrashHandler } from "./crash_handler.ts";
import type { SessionActions } from "./trigger_actions.ts";
import { socketAnswers } from "./sockets.ts";
import { type RetentionFs, SnapshotRetention } from "./retention_runner.ts";
import type { SnapshotSpaceLimits } from "./snapshot_retention.ts";
import { libc } from "./libc.ts";
import { SessiondWaits } from "./sessiond_waits.ts";
import { ReportQueue } from "./report_queue.ts";
import { removeStaleReportDirs } from "./report_maker.ts";
import { type DaemonMetricsHooks, hookMetrics } from "./metrics_hooks.ts";
import {
  type DaemonOptions,
  resolveDaemonOptions,
  type ResolvedDaemonOptions,
} from "./daemon_options.ts";
import { DaemonServers, daemonSocketPaths, type DaemonWork } from "./daemon_servers.ts";
import {
  DaemonStartError,
  lockDirs,
  prepareDir,
  releaseLocks,
  removeOwnPidFile,
  writePidFile,
} from "./run_dirs.ts";

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
  #options: ResolvedDaemonOptions;
  #store: TriggerStore;
  #handler: CrashHandler;
  #reports: ReportQueue;
  #journal?: CrashJournal;
  #servers?: DaemonServers;
  #actions: SessionActions & { listSessions(): Promise<SessionInfo[]> };
  #startedAt = new Date();
  #stopSignal = new AbortController();
  #chains = new Listeners<ChainEvent>();
  #library?: LttngCtlLibrary;
  #locks: Deno.FsFile[];
  #stopped?: Promise<void>;
  #done: PromiseWithResolvers<void> = Promise.withResolvers();
  #metrics?: DaemonMetricsHooks;
  #retention: SnapshotRetention;
  #retentionTimer?: ReturnType<typeof setInterval>;
  #sessiondWaits: SessiondWaits;

  private constructor(
    options: ResolvedDaemonOptions,
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
    // The session daemon liblttng-ctl talks to: the one of LTTng's own run directory.
    this.#sessiondWaits = new SessiondWaits({
      pidFile: `${resolveRunDir(processPathEnv())}/lttng-sessiond.pid`,
      log: options.log,
    });
    this.#handler = new CrashHandler({
      store,
      actions,
      whileActing: (crash, done) => this.#sessiondWaits.watch(crash, done),
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

  /** Record what the chained crash handler did with a crash, and tell WATCH. */
  #recordChain(ref: CrashRef, chain: ChainFate): void {
    const id = this.#store.setChainFate(ref, chain);
    const crash = id === undefined ? undefined : this.#store.crashById(id);
    if (crash !== undefined) {
      const time = new Date().toISOString();
      this.#chains.emit({ type: "chain", id: crash.id, pid: crash.pid, time, chain });
    }
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
    return daemonSocketPaths(this.#options.runDir).notify;
  }

  /** Path of the coredump socket. */
  get coredumpSocketPath(): string {
    return daemonSocketPaths(this.#options.runDir).coredump;
  }

  /** Path of the control socket. */
  get controlSocketPath(): string {
    return daemonSocketPaths(this.#options.runDir).control;
  }

  /** Resolves once the daemon has stopped. */
  get finished(): Promise<void> {
    return this.#done.promise;
  }

  /** Start a daemon: check the directories, open the store, bind both sockets. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const full = resolveDaemonOptions(options);
    const uid = full.uid;
    await prepareDir(full.runDir, uid === 0 ? 0o755 : 0o700, uid, "run");
    await prepareDir(full.stateDir, 0o700, uid, "state");
    const control = daemonSocketPaths(full.runDir).control;
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
      daemon.#servers = new DaemonServers(full, daemon.#work());
      await daemon.#servers.bind();
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

  // What the servers hand their work to.
  #work(): DaemonWork {
    return {
      handler: this.#handler,
      // Timed for the metrics when they are on.
      crashes: this.#metrics?.crashes ?? this.#handler,
      store: this.#store,
      reports: this.#reports,
      chains: this.#chains,
      recordCore: (ref, fate) => this.#recordCore(ref, fate),
      recordChain: (ref, chain) => this.#recordChain(ref, chain),
      listSessions: () => this.#actions.listSessions(),
      status: () => this.#status(),
      stopping: () => this.#stopped !== undefined,
      stopSignal: this.#stopSignal.signal,
    };
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
      ...this.#servers!.status(),
      ...(o.corePatternWatch === undefined ? {} : { corePatternWatch: o.corePatternWatch() }),
    };
  }

  /** Stop: close the sockets (answering in-flight notifications first), then the store. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopSignal.abort();
      await this.#servers?.close(this.#options.replyTimeoutMs);
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
      await this.#servers?.unlink();
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
