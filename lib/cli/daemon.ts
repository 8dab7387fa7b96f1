/**
 * `lttng-trig daemon`: run the trigger daemon in the foreground until SIGTERM or SIGINT.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { resolveRunDir, resolveStateDir } from "../paths.ts";
import { Daemon } from "../daemon/daemon.ts";
import { REPORT_MAX_DELAY_MS, REPORT_SETTLE_MS } from "../daemon/report_queue.ts";
import { parseDuration } from "../trigger.ts";
import { type CommandContext, parseCount } from "./common.ts";
import { type CommandSpec, HELP_OPTION, parse, usageLine } from "./registry.ts";

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
      name: "history-max",
      type: "string",
      value: "N",
      help:
        "Keep at most N crashes in the history, deleting the oldest first (applied as crashes arrive and at start; rate limits are not history and are kept). Default: 10000.",
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
  ],
  seeAlso: ["lttng-trig-install(1)", "lttng-trig-status(1)", "lttng-sessiond(8)"],
} as const satisfies CommandSpec;

/** Usage line of `daemon`. */
export const DAEMON_USAGE = usageLine(DAEMON_SPEC);

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
  try {
    daemon = await Daemon.start({
      runDir: resolveRunDir(ctx.env, values["run-dir"]),
      stateDir: resolveStateDir(ctx.env, values["state-dir"]),
      uid: ctx.env.uid,
      actionTimeoutMs,
      reportDelayMs,
      coredumpSocket: values["no-coredump-socket"] ? false : undefined,
      coreDir: coreDir(values["core-dir"]),
      lttngCtl: lttngCtl(values["lttng-ctl"]),
      history,
      log,
    });
    if (stopRequested) void daemon.stop();
    await daemon.finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
}
