/**
 * The daemon's options (`lttng-trig daemon`'s, and a library user's) and their defaults.
 *
 * @module
 */
import { JOURNAL_SOCKET, ROOT_RUN_DIR } from "../core/paths.ts";
import type { HistoryLimits } from "../store/history_limits.ts";
import type { SessionInfo } from "../lttng/control.ts";
import type { CorePatternWatchFacts } from "../protocol/control.ts";
import type { MetricsExporterOptions } from "../metrics/exporter.ts";
import type { SessionActions } from "./trigger_actions.ts";
import type { RetentionFs } from "./retention_runner.ts";
import type { SnapshotSpaceLimits } from "./snapshot_retention.ts";
import type { ProcReader } from "./held_process.ts";
import type { PinOps } from "./early_pin.ts";
import { REPORT_SETTLE_MS } from "./report_queue.ts";

/** Options of `Daemon.start` (lib/daemon/daemon.ts). */
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

/**
 * The options the daemon and its servers read, with their defaults filled in
 * ({@linkcode resolveDaemonOptions}); the others are read from {@linkcode DaemonOptions}
 * at start.
 */
export type ResolvedDaemonOptions = Required<Omit<DaemonOptions, Unresolved>> & {
  coreDir?: string;
  coredumpFd?: number;
  procReader?: ProcReader | string;
  dumpable?: { setNotDumpable(): boolean } | string;
  journalSocket: string | null;
  pinOps?: PinOps | string;
  corePatternWatch?: () => CorePatternWatchFacts;
};

/** `options` with the defaults {@linkcode DaemonOptions} documents filled in. */
export function resolveDaemonOptions(options: DaemonOptions): ResolvedDaemonOptions {
  const uid = options.uid ?? Deno.uid() ?? 0;
  return {
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
}
