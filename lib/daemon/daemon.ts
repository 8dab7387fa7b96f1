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
  PID_FILE_NAME,
  STORE_FILE_NAME,
} from "../paths.ts";
import { coreFate, TriggerStore } from "../store/trigger_store.ts";
import { LttngControl } from "../lttng/control.ts";
import { LttngCtlLibrary } from "../lttng/ctl_library.ts";
import {
  decodeOnAnyCoreDump,
  encodeNotifyReply,
  NotifyCommand,
  NotifyStatus,
  ONANYCOREDUMP_C_SIZE,
} from "../wire/notify.ts";
import {
  ControlCommand,
  ControlStatus,
  decodeControlRequest,
  encodeControlReply,
  MAX_CONTROL_REQUEST,
} from "../wire/control.ts";
import type { FrameError } from "../wire/frame.ts";
import {
  CORE_RESULT_MAX,
  decodeCoreResult,
  decodeOnAnyCoreDumpExt,
  NotifyExtCommand,
  ONANYCOREDUMP_EXT_MAX,
  type OnAnyCoreDumpExtMessage,
} from "../wire/notify_ext.ts";
import type { CrashFacts } from "../trigger.ts";
import { CrashHandler, type CrashOutcome, type SessionActions } from "./crash_handler.ts";
import { handleControl } from "./control_handler.ts";
import { type FrameResult, SocketServer } from "./connections.ts";
import {
  bindSocket,
  type BoundSocket,
  groupId,
  socketAnswers,
  unlinkOwnSocket,
} from "./sockets.ts";
import type { SessionInfo } from "../lttng/control.ts";
import { CoredumpServer } from "./coredump_socket.ts";
import { lookAtHeldProcess, type ProcReader, withHeldProcess } from "./held_process.ts";
import { selfDumpProtection } from "./dumpable.ts";
import { libc } from "./libc.ts";

/** The daemon cannot start; the message says why and what to do. */
export class DaemonStartError extends Error {
  /** Build the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DaemonStartError";
  }
}

/**
 * The lock file each daemon holds (flock, exclusive) in its run and its state directory,
 * so that two daemons started at once cannot both bind the sockets or both write the
 * store. It is never removed: removing a lock file would reopen the race.
 */
export const LOCK_FILE_NAME = "lttng-trig.lock";

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
  /** Longest wait before a notifier gets its reply, in milliseconds. @default 9000 */
  replyTimeoutMs?: number;
  /** Deadline for a client to send a whole frame, in milliseconds. @default 5000 */
  frameTimeoutMs?: number;
  /** Most connections per socket. @default 256 */
  maxConnections?: number;
  /** Log line sink. @default nothing */
  log?: (line: string) => void;
  /**
   * Reads `/proc` for the look at a held process (lib/daemon/held_process.ts), or why
   * it cannot. @default libc through FFI
   */
  procReader?: ProcReader | string;
}

type ResolvedOptions = Required<Omit<DaemonOptions, "actions" | "coreDir" | "procReader">> & {
  coreDir?: string;
  procReader?: ProcReader | string;
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
  #sockets: BoundSocket[] = [];
  #servers: SocketServer[] = [];
  #actions: SessionActions & { listSessions(): Promise<SessionInfo[]> };
  #startedAt = new Date();
  #procReader: ProcReader | string = "not started";
  #coredump?: CoredumpServer;
  #stopSignal = new AbortController();
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
      replyTimeoutMs: options.replyTimeoutMs ?? 9000,
      frameTimeoutMs: options.frameTimeoutMs ?? 5000,
      maxConnections: options.maxConnections ?? 256,
      coredumpSocket: options.coredumpSocket ?? uid === 0,
      lttngCtl: options.lttngCtl ?? "auto",
      coreDir: options.coreDir,
      log: options.log ?? (() => {}),
      procReader: options.procReader,
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
    const locks: Deno.FsFile[] = [];
    let store: TriggerStore;
    try {
      locks.push(await lockDir(full.runDir, "run"));
      const [run, state] = await Promise.all([Deno.stat(full.runDir), Deno.stat(full.stateDir)]);
      if (run.dev !== state.dev || run.ino !== state.ino) {
        locks.push(await lockDir(full.stateDir, "state"));
      }
      store = TriggerStore.open(`${full.stateDir}/${STORE_FILE_NAME}`);
    } catch (err) {
      for (const lock of locks) lock.close();
      throw err;
    }
    let library: LttngCtlLibrary | undefined;
    if (options.actions === undefined && full.lttngCtl !== "command") {
      const opened = LttngCtlLibrary.open(full.actionTimeoutMs);
      if (typeof opened === "string") {
        if (full.lttngCtl === "library") {
          for (const lock of locks) lock.close();
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
      await daemon.#bind();
      await Deno.writeTextFile(`${full.runDir}/${PID_FILE_NAME}`, `${Deno.pid}\n`, {
        mode: 0o644,
      });
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
      this.#selfDump = selfDumpProtection();
      if (!this.#selfDump.protected) {
        o.log(`coredump socket: ${this.#selfDump.reason}`);
      }
      const coredump = await bindSocket(this.coredumpSocketPath, { mode: 0o600 });
      this.#sockets.push(coredump);
      this.#coredump = new CoredumpServer(coredump.listener, {
        handle: (facts, onRelease) =>
          this.#handler.handle(facts, "socket", onRelease).then((outcome) => {
            this.#logCrash(facts, outcome);
            return outcome;
          }),
        recordCore: (pid, fate) => {
          this.#store.setCoreFate(pid, fate);
        },
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
    const common = {
      frameTimeoutMs: o.frameTimeoutMs,
      maxConnections: o.maxConnections,
    };
    this.#servers.push(
      new SocketServer(notify.listener, {
        ...common,
        maxPayload: (cmd) =>
          cmd === NotifyCommand.ONANYCOREDUMP
            ? ONANYCOREDUMP_C_SIZE
            : cmd === NotifyExtCommand.ONANYCOREDUMP_EXT
            ? ONANYCOREDUMP_EXT_MAX
            : cmd === NotifyExtCommand.CORE_RESULT
            ? CORE_RESULT_MAX
            : -1,
        onFrameError: () =>
          encodeNotifyReply({ status: NotifyStatus.BAD_REQUEST, fired: 0, failed: 0 }),
        onFrame: (frame) =>
          frame.header.cmd === NotifyExtCommand.CORE_RESULT
            ? this.#onCoreResult(frame.payload)
            : this.#onNotify(frame.header.cmd, frame.payload),
      }),
      new SocketServer(control.listener, {
        ...common,
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
        onFrame: (frame) => this.#onControl(frame.header.cmd, frame.payload),
      }),
    );
  }

  #onCoreResult(payload: Uint8Array): Promise<FrameResult> {
    try {
      const r = decodeCoreResult(payload);
      this.#store.setCoreFate(r.pid, coreFate(r));
      this.#options.log(`core of pid ${r.pid}: ${r.kept ? `kept in ${r.text}` : r.text}`);
    } catch (err) {
      this.#options.log(`bad core result: ${(err as Error).message}`);
    }
    return Promise.resolve({ close: true });
  }

  #logCrash(facts: CrashFacts, outcome: CrashOutcome): void {
    this.#options.log(
      `crash pid=${facts.pid} uid=${facts.uid} exec=${
        JSON.stringify(facts.execName)
      }: ${outcome.outcome}` +
        outcome.results.map((r) =>
          ` [${r.trigger}: ${r.outcome}${r.snapshot ? ` ${r.snapshot}` : ""}${
            r.reason ? ` (${r.reason})` : ""
          }]`
        ).join(""),
    );
  }

  async #onNotify(cmd: number, payload: Uint8Array): Promise<FrameResult> {
    let facts: CrashFacts;
    try {
      facts = cmd === NotifyCommand.ONANYCOREDUMP
        ? decodeOnAnyCoreDump(payload)
        : crashFactsOf(decodeOnAnyCoreDumpExt(payload));
    } catch (err) {
      this.#options.log(`bad notification: ${(err as Error).message}`);
      return {
        reply: encodeNotifyReply({ status: NotifyStatus.BAD_REQUEST, fired: 0, failed: 0 }),
        close: true,
      };
    }
    if (this.#stopped !== undefined) {
      return {
        reply: encodeNotifyReply({ status: NotifyStatus.UNAVAILABLE, fired: 0, failed: 0 }),
        close: true,
      };
    }
    const held = { source: "notify" } as const;
    facts = withHeldProcess(facts, lookAtHeldProcess(facts, this.#procReader, held), held);
    const release = Promise.withResolvers<Uint8Array>();
    this.#handler.handle(facts, "notify", ({ fired, failed }) =>
      release.resolve(encodeNotifyReply({
        status: failed > 0 ? NotifyStatus.ACTION_FAILED : NotifyStatus.OK,
        fired,
        failed,
      }))).then((outcome) => this.#logCrash(facts, outcome), (err) => {
        this.#options.log(`crash pid=${facts.pid}: ${(err as Error).message}`);
        release.resolve(
          encodeNotifyReply({ status: NotifyStatus.ACTION_FAILED, fired: 0, failed: 1 }),
        );
      });
    const work = release.promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<Uint8Array>((resolve) => {
      timer = setTimeout(
        () => resolve(encodeNotifyReply({ status: NotifyStatus.TIMEOUT, fired: 0, failed: 0 })),
        this.#options.replyTimeoutMs,
      );
    });
    try {
      return { reply: await Promise.race([work, timeout]) };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * WATCH: every crash as it arrives and every outcome, as reply frames, with a
   * heartbeat every 15 s; ends when the daemon stops. A watcher that falls more than
   * 1000 events behind loses the oldest, and is told how many.
   */
  async *#watch(cmd: number): AsyncGenerator<Uint8Array> {
    const queue: unknown[] = [];
    let dropped = 0;
    let wake: (() => void) | undefined;
    const push = (event: unknown) => {
      queue.push(event);
      if (queue.length > 1000) {
        queue.shift();
        dropped++;
      }
      wake?.();
    };
    const offReceived = this.#handler.listenReceived((c) => push({ type: "crash", ...c }));
    const offDone = this.#handler.listen((c) => push({ type: "outcome", ...c }));
    const onStop = () => wake?.();
    this.#stopSignal.signal.addEventListener("abort", onStop);
    const frame = (payload: unknown) =>
      encodeControlReply(cmd, { status: ControlStatus.OK, error: "", payload });
    try {
      while (!this.#stopSignal.signal.aborted) {
        if (dropped > 0) {
          yield frame({ type: "dropped", count: dropped });
          dropped = 0;
        }
        const event = queue.shift();
        if (event !== undefined) {
          yield frame(event);
          continue;
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const heartbeat = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          timer = setTimeout(() => resolve(true), 15_000);
        });
        wake = undefined;
        clearTimeout(timer);
        if (heartbeat) yield frame({ type: "heartbeat", time: new Date().toISOString() });
      }
    } finally {
      offReceived();
      offDone();
      this.#stopSignal.signal.removeEventListener("abort", onStop);
    }
  }

  async #onControl(cmd: number, payload: Uint8Array): Promise<FrameResult> {
    if (cmd === ControlCommand.WATCH) {
      this.#options.log("watch: a client follows crashes");
      return {
        reply: encodeControlReply(cmd, {
          status: ControlStatus.OK,
          error: "",
          payload: { type: "watching", pid: Deno.pid },
        }),
        stream: this.#watch(cmd),
      };
    }
    let request: unknown;
    try {
      request = decodeControlRequest(payload);
    } catch (err) {
      return {
        reply: encodeControlReply(cmd, {
          status: ControlStatus.INVALID,
          error: (err as Error).message,
          payload: null,
        }),
        close: true,
      };
    }
    const reply = await handleControl(cmd, request, {
      store: this.#store,
      uid: this.#options.uid,
      listSessions: () => this.#actions.listSessions(),
      status: () => ({
        pid: Deno.pid,
        uid: this.#options.uid,
        runDir: this.#options.runDir,
        stateDir: this.#options.stateDir,
        store: this.#store.path,
        startedAt: this.#startedAt.toISOString(),
        triggers: this.#store.listTriggers().length,
        coredumpSocket: this.#coredump === undefined ? null : this.coredumpSocketPath,
        ...(this.#selfDump === undefined ? {} : { selfDump: this.#selfDump }),
      }),
    });
    if (cmd === ControlCommand.SET && reply.status === ControlStatus.OK) {
      const t = (reply.payload as { trigger: { name: string } }).trigger;
      this.#options.log(`added trigger ${t.name}`);
    }
    return { reply: encodeControlReply(cmd, reply) };
  }

  /** Stop: close the sockets (answering in-flight notifications first), then the store. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopSignal.abort();
      await Promise.all([
        ...this.#servers.map((s) => s.close(this.#options.replyTimeoutMs)),
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
      for (const s of this.#sockets) await unlinkOwnSocket(s);
      try {
        const pidFile = `${this.#options.runDir}/${PID_FILE_NAME}`;
        if ((await Deno.readTextFile(pidFile)).trim() === String(Deno.pid)) {
          await Deno.remove(pidFile);
        }
      } catch { /* not ours or gone */ }
      this.#store.close();
      await this.#library?.close();
      for (const lock of this.#locks) {
        try {
          lock.close(); // releases the lock
        } catch { /* closed */ }
      }
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

/** Take `dir`'s lock file, or refuse: another daemon holds it. */
async function lockDir(dir: string, what: "run" | "state"): Promise<Deno.FsFile> {
  const path = `${dir}/${LOCK_FILE_NAME}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (err) {
    throw new DaemonStartError(`Cannot open the lock file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (err) {
    file.close();
    throw new DaemonStartError(`Cannot lock ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!locked) {
    file.close();
    throw new DaemonStartError(
      `another lttng-trig daemon uses the ${what} directory ${dir} (it holds ${path}): stop it first, or pass another --${what}-dir`,
    );
  }
  return file;
}

/** The daemon's view of an extended notification. */
function crashFactsOf(m: OnAnyCoreDumpExtMessage): CrashFacts {
  const { exe, time, ...rest } = m;
  return {
    ...rest,
    ...(exe === undefined ? {} : { exePath: exe }),
    ...(time === undefined ? {} : { crashTime: time }),
  };
}

/**
 * Create `dir` if missing (with `mode`), and refuse one that someone other than `uid`
 * or root owns, or that others can write: our sockets and store live there.
 */
async function prepareDir(dir: string, mode: number, uid: number, what: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw new DaemonStartError(
      `Cannot create the ${what} directory ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const st = await Deno.lstat(dir);
  if (!st.isDirectory) {
    throw new DaemonStartError(`The ${what} directory ${dir} is not a directory (or is a link)`);
  }
  if (st.uid !== uid && st.uid !== 0) {
    throw new DaemonStartError(
      `The ${what} directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): pass another --${what}-dir`,
    );
  }
  if (((st.mode ?? 0) & 0o022) !== 0) {
    throw new DaemonStartError(
      `The ${what} directory ${dir} is writable by others (mode ${
        ((st.mode ?? 0) & 0o777).toString(8)
      }): run 'chmod go-w ${dir}' or pass another --${what}-dir`,
    );
  }
}
