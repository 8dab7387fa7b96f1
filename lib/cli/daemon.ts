/**
 * `lttng-trig daemon`: run the trigger daemon in the foreground until SIGTERM or SIGINT.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import {
  DEFAULT_METRICS_DIR,
  METRICS_FILE_NAME,
  NOTIFIER_LOG_NAME,
  resolveRunDir,
  resolveStateDir,
  ROOT_STATE_DIR,
} from "../core/paths.ts";
import { Daemon } from "../daemon/daemon.ts";
import { libc } from "../daemon/libc.ts";
import { passedSocketFd } from "../daemon/listen_fds.ts";
import { CORE_PATTERN_PATH, defaultKernelFiles } from "../install/kernel_files.ts";
import { CorePatternWatch } from "../install/pattern_watch.ts";
import { readJournal } from "../notify/io.ts";
import { missedCrashes } from "../notify/missed.ts";
import { REPORT_MAX_DELAY_MS, REPORT_SETTLE_MS } from "../daemon/report_queue.ts";
import { parseDuration } from "../core/duration.ts";
import { VERSION } from "./version.ts";
import { type CommandContext, parseCount, parseSize } from "./common.ts";
import { SNAPSHOT_KEEP_FREE, SNAPSHOT_MAX_USE } from "../daemon/snapshot_retention.ts";
import { type CommandSpec, HELP_OPTION, parse, usageLine } from "../core/registry.ts";

/** `daemon`'s options and arguments. */
export const DAEMON_SPEC = {
  name: "daemon",
  summary: "Run the trigger daemon",
  description: [
    "Run the lttng-trig daemon in the foreground (use systemd, or '&', to background it). It listens on RUN_DIR/notify-lttng-sessiond for core dump notifications and on RUN_DIR/client-lttng-trig for set, list, remove, history, show and watch, and keeps its triggers and crash history in STATE_DIR/lttng-trig.db.",
    "It runs each fired action through liblttng-ctl, LTTng's control library, loaded in the daemon: no process is started while a crash is held. Where the library does not load, it falls back to the lttng command (see --lttng-ctl). SIGTERM or SIGINT stops it cleanly: in-flight crashes are answered first, and its sockets are removed.",
    "As root it serves root's session daemon; run by another user, it serves that user's sessions, and the notifier tells it of that user's crashes only.",
  ],
  positionals: [],
  options: [
    {
      name: "run-dir",
      type: "string",
      value: "DIR",
      help:
        "Put the sockets in DIR instead of /var/run/lttng (root) or $LTTNG_HOME/.lttng; $LTTNG_RUNDIR also sets it.",
      examples: ["lttng-trig daemon --run-dir=/tmp/trig"],
      complete: "dirs",
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help:
        "Keep the store in DIR instead of /var/lib/lttng-trig (root) or $LTTNG_HOME/.lttng/lttng-trig.",
      examples: ["lttng-trig daemon --state-dir=/srv/lttng-trig"],
      complete: "dirs",
    },
    {
      name: "action-timeout",
      type: "string",
      value: "MS",
      help:
        "Give up an action after MS milliseconds (at least 100; the notifier holds a crash at most 10 s). Default: 8000.",
      examples: ["lttng-trig daemon --action-timeout=3000"],
    },
    {
      name: "report-delay",
      type: "string",
      value: "MS",
      help:
        `Start a crash report (the backtrace from a kept core) only once no crash has come for MS milliseconds, and at most ${REPORT_MAX_DELAY_MS} ms after its crash: decompressing the core and running eu-stack right away would compete for the CPU with the programs that start right after the crash, and with lttng-sessiond registering them. 0 starts it at once. Default: ${REPORT_SETTLE_MS}.`,
      examples: ["lttng-trig daemon --report-delay=1000"],
    },
    {
      name: "no-coredump-socket",
      type: "boolean",
      help:
        "Do not listen on RUN_DIR/coredump-lttng-trig (root listens there by default, for 'lttng-trig install --socket').",
      examples: ["lttng-trig daemon --no-coredump-socket"],
    },
    {
      name: "connector",
      type: "string",
      value: "WAY",
      help:
        "The early path: auto (root listens to the kernel's process connector, which announces each crash about 0.1 ms after the fault, before core_pattern's helper runs, and starts the actions then; the helper joins the crash already in flight; without CAP_NET_ADMIN or a connector in the kernel, crashes are acted on when their helper arrives), only (act on the connector alone, bind no coredump socket and leave core_pattern to another handler: the crash is not held, so with per-process buffers its events may be gone; triggers with --signal never fire; the daemon does not start without the connector) or off. Default: auto for root on /var/run/lttng, off for another run directory (a second daemon would act on every crash of the machine too) or user.",
      examples: ["lttng-trig daemon --connector=only"],
      complete: { words: ["auto", "only", "off"] },
    },
    {
      name: "core-dir",
      type: "string",
      value: "DIR",
      help:
        "In coredump-socket mode, keep each core in DIR (an absolute path), compressed with zstd, as 'notify --core-dir' does in pipe mode.",
      examples: ["lttng-trig daemon --core-dir=/var/crash/lttng-trig"],
      complete: "dirs",
    },
    {
      name: "lttng-ctl",
      type: "string",
      value: "WAY",
      help:
        "How actions reach LTTng: library (liblttng-ctl in the daemon; the daemon does not start without it), command (the lttng command, one process per action), or auto (the library where it loads, else the command). Errors read the same either way. Default: auto.",
      examples: ["lttng-trig daemon --lttng-ctl=command"],
      complete: { words: ["auto", "library", "command"] },
    },
    {
      name: "journal-socket",
      type: "string",
      value: "PATH",
      help:
        "Send each crash, and each crash report, to the journal through journald's native socket PATH, as structured entries with lttng-trig's own MESSAGE_ID and LTTNG_TRIG_* fields (see docs/FLEET.md), or 'none' not to. Where no journald answers, nothing fails and the log says so once. Default: /run/systemd/journal/socket for root, none for a user's daemon (root's daemon journals every crash already). A journal namespace's socket is /run/systemd/journal.NAMESPACE/socket.",
      examples: [
        "lttng-trig daemon --journal-socket=none",
        "lttng-trig daemon --journal-socket=/run/systemd/journal.crashes/socket",
      ],
      complete: "files",
    },
    {
      name: "history-max",
      type: "string",
      value: "N",
      help:
        "Keep at most N crashes in the history, shared between uids: the uid with the most crashes loses its oldest first, so one user's crashes never erase another's (a subordinate uid counts as its owner; applied as crashes arrive and at start; rate limits are not history and are kept). Default: 10000.",
      examples: ["lttng-trig daemon --history-max=1000"],
    },
    {
      name: "history-max-age",
      type: "string",
      value: "DURATION",
      help:
        "Delete crashes received longer ago than DURATION (ms, s, m, h or d) from the history. Default: 90d.",
      examples: ["lttng-trig daemon --history-max-age=30d"],
    },
    {
      name: "metrics-dir",
      type: "string",
      value: "DIR",
      help:
        `Write Prometheus metrics (crashes, actions, holds, reports, notifier failures) to DIR/${METRICS_FILE_NAME} for node_exporter's textfile collector, atomically and at most once a second. Default: ${DEFAULT_METRICS_DIR} for root's daemon on the default state directory (the host's daemon); no metrics for another daemon unless this option is given (two daemons would overwrite one file). When DIR does not exist, nothing is written and the log says so once. The file is removed when the daemon stops.`,
      examples: ["lttng-trig daemon --metrics-dir=/var/lib/node_exporter/textfile"],
      complete: "dirs",
    },
    {
      name: "no-metrics",
      type: "boolean",
      help: "Write no metrics file.",
      examples: ["lttng-trig daemon --no-metrics"],
    },
    {
      name: "snapshots-max-use",
      type: "string",
      value: "SIZE",
      help:
        `Remove the oldest snapshot directories the triggers created (as recorded in the history) while all of them use more than SIZE bytes (k, M, G suffixes), as coredump.conf's MaxUse does for cores. Default: ${SNAPSHOT_MAX_USE.percent}% of the snapshots' filesystem, at most ${
          SNAPSHOT_MAX_USE.capBytes / 1024 ** 3
        } GiB. The newest snapshot is never removed.`,
      examples: ["lttng-trig daemon --snapshots-max-use=2G"],
    },
    {
      name: "snapshots-keep-free",
      type: "string",
      value: "SIZE",
      help:
        `Remove the oldest snapshot directories the triggers created while their filesystem has less than SIZE bytes free, as coredump.conf's KeepFree does. Default: ${SNAPSHOT_KEEP_FREE.percent}% of the filesystem, at most ${
          SNAPSHOT_KEEP_FREE.capBytes / 1024 ** 3
        } GiB.`,
      examples: ["lttng-trig daemon --snapshots-keep-free=1G"],
    },
    {
      name: "quiet",
      type: "boolean",
      help: "Do not log crashes and actions to stderr.",
      examples: ["lttng-trig daemon --quiet"],
    },
    HELP_OPTION,
  ],
  exitStatus: [[0, "stopped by SIGTERM or SIGINT"], [1, "could not start"], [2, "usage error"]],
  files: [
    { path: "RUN_DIR/notify-lttng-sessiond", help: "Where the notifier sends crashes." },
    { path: "RUN_DIR/client-lttng-trig", help: "The control socket of the client commands." },
    {
      path: "RUN_DIR/coredump-lttng-trig",
      help: "The kernel's coredump socket (root, 'lttng-trig install --socket').",
    },
    { path: "STATE_DIR/lttng-trig.db", help: "Triggers and crash history." },
    {
      path: `${DEFAULT_METRICS_DIR}/${METRICS_FILE_NAME}`,
      help: "Prometheus metrics, for node_exporter's textfile collector (--metrics-dir).",
    },
  ],
  seeAlso: ["lttng-trig-install(1)", "lttng-trig-status(1)", "lttng-sessiond(8)"],
} as const satisfies CommandSpec;

/** Usage line of `daemon`. */
export const DAEMON_USAGE = usageLine(DAEMON_SPEC);

/**
 * Reads core_pattern every second: through libc (Deno opens nothing under /proc without
 * --allow-all), else through sysctl(8).
 */
function corePatternReader(): () => Promise<string | undefined> | string | undefined {
  const c = libc();
  if (typeof c !== "string") return () => c.readFile(CORE_PATTERN_PATH);
  return async () => new TextDecoder().decode(await defaultKernelFiles.read(CORE_PATTERN_PATH));
}

/** Run `daemon`; resolves when it stops. */
export async function daemonCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(DAEMON_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, DAEMON_USAGE);
  }
  const actionTimeoutMs = values["action-timeout"] === undefined
    ? undefined
    : parseCount(values["action-timeout"], "--action-timeout", DAEMON_USAGE, 100);
  const reportDelayMs = values["report-delay"] === undefined
    ? undefined
    : parseCount(values["report-delay"], "--report-delay", DAEMON_USAGE, 0);
  const coreDir = (dir: string | undefined) => {
    if (dir !== undefined && !dir.startsWith("/")) {
      throw new UsageError(`--core-dir must be an absolute path, got "${dir}"`, DAEMON_USAGE);
    }
    return dir;
  };
  const lttngCtl = (v: string | undefined) => {
    if (v === undefined || v === "auto" || v === "library" || v === "command") return v;
    throw new UsageError(
      `invalid --lttng-ctl "${v}": expected auto, library or command`,
      DAEMON_USAGE,
    );
  };
  const journalSocket = (v: string | undefined) => {
    if (v === undefined) return undefined;
    if (v === "none") return null;
    if (!v.startsWith("/")) {
      throw new UsageError(
        `--journal-socket must be an absolute path or none, got "${v}"`,
        DAEMON_USAGE,
      );
    }
    return v;
  };
  const connector = (v: string | undefined) => {
    if (v === undefined || v === "auto" || v === "only" || v === "off") return v;
    throw new UsageError(`invalid --connector "${v}": expected auto, only or off`, DAEMON_USAGE);
  };
  const historyMaxAgeMs = (v: string | undefined) => {
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (err) {
      throw new UsageError(`--history-max-age: ${(err as Error).message}`, DAEMON_USAGE);
    }
  };
  const history = {
    maxCount: values["history-max"] === undefined
      ? undefined
      : parseCount(values["history-max"], "--history-max", DAEMON_USAGE),
    maxAgeMs: historyMaxAgeMs(values["history-max-age"]),
  };
  const stateDir = resolveStateDir(ctx.env, values["state-dir"]);
  // By default only the host's daemon (root's, on the default state directory, which
  // its lock keeps to one) writes the file: two daemons would overwrite each other's.
  const metricsDir = values["no-metrics"] ? undefined : values["metrics-dir"] ??
    (ctx.env.uid === 0 && stateDir === ROOT_STATE_DIR ? DEFAULT_METRICS_DIR : undefined);
  if (values["no-metrics"] && values["metrics-dir"] !== undefined) {
    throw new UsageError("--metrics-dir and --no-metrics exclude each other", DAEMON_USAGE);
  }
  if (metricsDir !== undefined && !metricsDir.startsWith("/")) {
    throw new UsageError(
      `--metrics-dir must be an absolute path, got "${metricsDir}"`,
      DAEMON_USAGE,
    );
  }
  const size = (v: string | undefined, option: string) =>
    v === undefined ? undefined : parseSize(v, option, DAEMON_USAGE);
  const log = values.quiet
    ? undefined
    : (line: string) => ctx.io.err(`${new Date().toISOString()} lttng-trig: ${line}`);
  // Listen for signals before the daemon says it listens: a SIGTERM sent as soon as it
  // is up must stop it cleanly (sockets removed, exit 0), not kill it.
  let daemon: Daemon | undefined;
  let stopRequested = false;
  const stop = () => {
    stopRequested = true;
    void daemon?.stop();
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  // Root's daemon puts back a chain that a package upgrade took away (issue #21).
  const watch = ctx.env.uid === 0
    ? new CorePatternWatch({
      stateDir,
      read: corePatternReader(),
      log: log ?? (() => {}),
    })
    : undefined;
  try {
    daemon = await Daemon.start({
      runDir: resolveRunDir(ctx.env, values["run-dir"]),
      stateDir,
      uid: ctx.env.uid,
      actionTimeoutMs,
      reportDelayMs,
      coredumpSocket: values["no-coredump-socket"] ? false : undefined,
      coreDir: coreDir(values["core-dir"]),
      coredumpFd: passedSocketFd((name) => ctx.env.get(name), Deno.pid),
      lttngCtl: lttngCtl(values["lttng-ctl"]),
      journalSocket: journalSocket(values["journal-socket"]),
      connector: connector(values.connector),
      history,
      snapshotLimits: {
        maxUse: size(values["snapshots-max-use"], "--snapshots-max-use"),
        keepFree: size(values["snapshots-keep-free"], "--snapshots-keep-free"),
      },
      log,
      ...(metricsDir === undefined ? {} : {
        // The notifier journals in the state directory the pattern names (install
        // --state-dir), the daemon's own when both were given the same.
        metrics: {
          dir: metricsDir,
          version: VERSION,
          notifierLog: `${stateDir}/${NOTIFIER_LOG_NAME}`,
          log,
        },
      }),
      ...(watch === undefined ? {} : { corePatternWatch: () => watch.facts() }),
    });
    watch?.start();
    // Crashes while no daemon ran: the notifier journaled them (issue #21).
    try {
      daemon.importMissed(missedCrashes(await readJournal(stateDir, Infinity)));
    } catch (err) {
      log?.(`cannot import the crashes the notifier journaled: ${(err as Error).message}`);
    }
    if (stopRequested) void daemon.stop();
    await daemon.finished;
  } finally {
    await watch?.stop();
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
}
