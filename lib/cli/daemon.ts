/**
 * `lttng-trig daemon`: run the trigger daemon in the foreground until SIGTERM or SIGINT.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { resolveRunDir, resolveStateDir } from "../paths.ts";
import { Daemon } from "../daemon/daemon.ts";
import { type CommandContext, parseCommandArgs, parseCount } from "./common.ts";

/** Usage line of `daemon`. */
export const DAEMON_USAGE =
  "lttng-trig daemon [--run-dir=DIR] [--state-dir=DIR] [--action-timeout=MS] [--no-coredump-socket] [--core-dir=DIR] [--lttng-ctl=auto|library|command] [--quiet]";

/** Help of `daemon`. */
export const DAEMON_HELP = `Usage: ${DAEMON_USAGE}

Run the trigger daemon in the foreground (use systemd, or '&', to background it). It
listens on RUN_DIR/notify-lttng-sessiond for core dump notifications and on
RUN_DIR/client-lttng-trig for set/list/remove/history, keeps triggers and crash history in
STATE_DIR/lttng-trig.db, and runs each fired action through the lttng command. SIGTERM
or SIGINT stops it cleanly (in-flight crashes are answered first) and removes its sockets.

As root it serves root's session daemon; run by another user, it serves that user's
sessions, and the notifier tells it of that user's crashes only.

Options:
      --run-dir=DIR        Socket directory. Default /var/run/lttng (root) or
                           $LTTNG_HOME/.lttng; $LTTNG_RUNDIR also sets it.
                             lttng-trig daemon --run-dir=/tmp/trig
      --state-dir=DIR      Store directory. Default /var/lib/lttng-trig (root) or
                           $LTTNG_HOME/.lttng/lttng-trig.
      --action-timeout=MS  Deadline of one lttng action, after which it is killed
                           (default 8000; the notifier holds a crash at most 10 s).
      --no-coredump-socket Do not listen on RUN_DIR/coredump-lttng-trig (root listens
                           there by default, for 'lttng-trig install --socket').
      --core-dir=DIR       In coredump-socket mode, keep each core in DIR, compressed
                           with zstd (as 'notify --core-dir' does in pipe mode).
                             lttng-trig daemon --core-dir=/var/crash/lttng-trig
      --lttng-ctl=WAY      How actions reach LTTng: library (liblttng-ctl, no process
                           started while a crash is held), command (the lttng
                           command), or auto (the library where it loads; default).
                           Errors read the same either way.
                             lttng-trig daemon --lttng-ctl=command
      --quiet              Do not log crashes and actions to stderr.
  -h, --help               Show this help.
`;

/** Run `daemon`; resolves when it stops. */
export async function daemonCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    "run-dir": { type: "string" },
    "state-dir": { type: "string" },
    "action-timeout": { type: "string" },
    quiet: { type: "boolean" },
    "no-coredump-socket": { type: "boolean" },
    "core-dir": { type: "string" },
    "lttng-ctl": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, DAEMON_USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, DAEMON_USAGE);
  }
  const actionTimeoutMs = values["action-timeout"] === undefined
    ? undefined
    : parseCount(values["action-timeout"], "--action-timeout", DAEMON_USAGE, 100);
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
      coredumpSocket: values["no-coredump-socket"] ? false : undefined,
      coreDir: coreDir(values["core-dir"]),
      lttngCtl: lttngCtl(values["lttng-ctl"]),
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
