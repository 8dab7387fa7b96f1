/**
 * Where lttng-trig keeps its sockets and state, following LTTng's conventions
 * (docs/DESIGN.md, "Paths"). The one source of truth for these names.
 *
 * @module
 */

/** The notification socket's file name (the RFC's name). */
export const NOTIFY_SOCKET_NAME = "notify-lttng-sessiond";
/** The control socket's file name. */
export const CONTROL_SOCKET_NAME = "client-lttng-trig";
/** The coredump socket's file name (core_pattern `@RUN_DIR/coredump-lttng-trig`). */
export const COREDUMP_SOCKET_NAME = "coredump-lttng-trig";
/** The daemon's pid file name, in the run directory. */
export const PID_FILE_NAME = "lttng-trig.pid";
/** The root run directory (LTTng's). */
export const ROOT_RUN_DIR = "/var/run/lttng";
/** The root state directory. */
export const ROOT_STATE_DIR = "/var/lib/lttng-trig";
/** The store's file name in the state directory. */
export const STORE_FILE_NAME = "lttng-trig.db";
/** The notifier's failure journal, in the state directory. */
export const NOTIFIER_LOG_NAME = "notifier.log";
/** What `install` replaced in the kernel (lib/install/state.ts), in the state directory. */
export const INSTALL_STATE_NAME = "install.json";
/**
 * What the notifier reads on a crash (lib/core/notifier_config.ts), in the state directory:
 * written by `install` beside install.json, removed by `uninstall`.
 */
export const NOTIFIER_CONFIG_NAME = "notifier.json";
/** Where root's daemon writes its metrics: node_exporter's textfile collector on Debian. */
export const DEFAULT_METRICS_DIR = "/var/lib/prometheus/node-exporter";
/** The daemon's metrics file, in the metrics directory (the collector reads `*.prom`). */
export const METRICS_FILE_NAME = "lttng-trig.prom";

/**
 * An exec name made safe in a file or directory name (kept cores, snapshot names): every
 * character but `[A-Za-z0-9._+-]` becomes `_`, leading dots one `_`, at most 64
 * characters; `unknown` when nothing is left.
 */
export function safeExecName(execName: string): string {
  return execName.replace(/[^A-Za-z0-9._+-]/g, "_").replace(/^\.+/, "_").slice(0, 64) ||
    "unknown";
}

/** What path resolution reads from the process: injected for tests. */
export interface PathEnv {
  /** Effective uid. */
  uid: number;
  /** Read an environment variable. */
  get(name: string): string | undefined;
}

/** `$LTTNG_HOME`, else `$HOME`; `undefined` when neither is set. */
export function lttngHome(env: PathEnv): string | undefined {
  return nonEmpty(env.get("LTTNG_HOME")) ?? nonEmpty(env.get("HOME"));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/**
 * RUN_DIR: `override` (from `--run-dir`), else `$LTTNG_RUNDIR`, else `/var/run/lttng` for
 * root and `$LTTNG_HOME/.lttng` for other users.
 */
export function resolveRunDir(env: PathEnv, override?: string): string {
  const explicit = nonEmpty(override) ?? nonEmpty(env.get("LTTNG_RUNDIR"));
  if (explicit !== undefined) return explicit;
  if (env.uid === 0) return ROOT_RUN_DIR;
  const home = lttngHome(env);
  if (home === undefined) {
    throw new Error("Cannot find the run directory: set HOME or LTTNG_HOME, or pass --run-dir");
  }
  return userRunDir(home);
}

/** A user's run directory: `HOME/.lttng`, as LTTng's own. */
export function userRunDir(home: string): string {
  return `${home}/.lttng`;
}

/** The control socket for `--run-dir` (or the default run directory). */
export function controlSocketPath(env: PathEnv, runDir?: string): string {
  return `${resolveRunDir(env, runDir)}/${CONTROL_SOCKET_NAME}`;
}

/** The notification socket for `runDir` (or the default run directory). */
export function notifySocketPath(env: PathEnv, runDir?: string): string {
  return `${resolveRunDir(env, runDir)}/${NOTIFY_SOCKET_NAME}`;
}

/**
 * The state directory: `override` (from `--state-dir`), else `/var/lib/lttng-trig` for
 * root and `$LTTNG_HOME/.lttng/lttng-trig` for other users.
 */
export function resolveStateDir(env: PathEnv, override?: string): string {
  const explicit = nonEmpty(override);
  if (explicit !== undefined) return explicit;
  if (env.uid === 0) return ROOT_STATE_DIR;
  const home = lttngHome(env);
  if (home === undefined) {
    throw new Error(
      "Cannot find the state directory: set HOME or LTTNG_HOME, or pass --state-dir",
    );
  }
  return `${home}/.lttng/lttng-trig`;
}

/** The process's own {@linkcode PathEnv}. */
export function processPathEnv(): PathEnv {
  return { uid: Deno.uid() ?? 0, get: (name) => Deno.env.get(name) };
}

/**
 * journald's native protocol socket (systemd.journal-fields(7)); a journal namespace's is
 * `/run/systemd/journal.NAMESPACE/socket`.
 */
export const JOURNAL_SOCKET = "/run/systemd/journal/socket";

/**
 * The lock file each daemon holds (flock, exclusive) in its run and its state directory,
 * so that two daemons started at once cannot both bind the sockets or both write the
 * store. It is never removed: removing a lock file would reopen the race.
 */
export const LOCK_FILE_NAME = "lttng-trig.lock";
/** The chained handler's journal, in the state directory. */
export const CHAIN_LOG_NAME = "chain.log";
/** The held crashes' slot directory's name, in the root daemon's run directory. */
export const HELD_DIR_NAME = "lttng-trig-held";
/** The limits' file in a core directory (`DIR/.limits.json`), read by every keeper. */
export const LIMITS_FILE = ".limits.json";
/**
 * The early path's hold files' directory, in the root daemon's run directory: one file per
 * crash whose early actions run, named by its pid and locked by the daemon until they end;
 * the launcher waits on it before starting the notifier (bin/lttng-trig).
 */
export const EARLY_HOLD_DIR_NAME = "lttng-trig-early";
