/**
 * `lttng-trig status`: is the notifier in core_pattern, does the daemon answer, what are
 * its triggers, and what happened last.
 *
 * @module
 */
import type { StatusReply } from "../protocol/control.ts";
import { DaemonUnavailableError, UsageError } from "../core/errors.ts";
import {
  controlSocketPath,
  COREDUMP_SOCKET_NAME,
  NOTIFIER_LOG_NAME,
  ROOT_STATE_DIR,
} from "../core/paths.ts";
import { describeAction, type Trigger } from "../core/trigger.ts";
import type { CrashRecord } from "../protocol/records.ts";
import { type JournalEntry, readJournal } from "../notify/io.ts";
import { ControlClient } from "../client/client.ts";
import { type CommandContext, escaped, jsonLine, printable, shortTime, table } from "./common.ts";
import { type CommandSpec, HELP_OPTION, parse, usageLine } from "../core/registry.ts";
import { type ChainStatus, chainStatusLines, chainStatusOf } from "./chain_status.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  defaultKernelFiles,
  type KernelFiles,
} from "../install/kernel_files.ts";
import {
  classifyCorePattern,
  quotePattern,
  stripNewline,
  unservedFilters,
} from "../install/pattern.ts";
import { installStatePath, readInstallState } from "../install/state.ts";
import { coreKeepingOf, coreKeepingText } from "../install/core_limit.ts";
import { reinstallAdvice, watchStatusLines } from "../install/pattern_watch.ts";
import { socketHoldLine } from "../install/socket_hold.ts";
import type { CorePatternWatchFacts } from "../protocol/control.ts";
import { LttngControl, type SessionInfo } from "../lttng/control.ts";
import { sessionInactivity, sessionProblem } from "../lttng/session_checks.ts";

/** `status`'s options and arguments. */
export const STATUS_SPEC = {
  name: "status",
  summary: "Is lttng-trig installed, does the daemon answer, what happened last",
  description: [
    "Show whether lttng-trig is ready to catch a crash:",
    "  core_pattern      installed (it runs 'lttng-trig notify') or not, and the pattern\n  cores             with --core-dir: which cores are kept, under ulimit -c (--core-limit)\n  core_pattern watch\n                    what the root daemon saw: a chain it put back after a package upgrade, or a change that stops lttng-trig seeing crashes\n  coredump socket   socket mode: whether lttng-trig.socket holds it (crashes wait while the daemon restarts)\n  core_pipe_limit   the kernel's limit of crashes piped at once\n  daemon            running (pid, number of triggers) or not answering, and where\n  trigger           one line per trigger: name, session, action\n  session daemon    whether lttng-sessiond answers 'lttng list' (run as you)\n  cannot fire       a trigger whose session is missing or not in snapshot mode\n  last crash        the newest crash the daemon received, and its outcome\n  last notifier error\n                    the newest failure the notifier journalled in STATE_DIR/notifier.log\n                    (e.g. no daemon answered when a process crashed)",
  ],
  positionals: [],
  options: [
    {
      name: "json",
      type: "boolean",
      help: "Print one JSON object with all of it, for scripts and monitoring.",
      examples: ["lttng-trig status --json | jq .lastCrash"],
    },
    {
      name: "run-dir",
      type: "string",
      value: "DIR",
      help: "The daemon's run directory: /var/run/lttng for root, $LTTNG_HOME/.lttng otherwise.",
      examples: ["lttng-trig status --run-dir=/tmp/trig"],
      complete: "dirs",
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help:
        "Where the notifier journal (notifier.log) and install.json are: /var/lib/lttng-trig for every user, since the kernel runs the notifier as root, and install needs root.",
      examples: ["lttng-trig status --state-dir=/srv/lttng-trig"],
      complete: "dirs",
    },
    HELP_OPTION,
  ],
  examples: [{
    text: "In a monitoring script:",
    commands: ["lttng-trig status || echo 'crashes are not being caught'"],
  }],
  exitStatus: [
    [
      0,
      "when the notifier is installed, the daemon answers, and every trigger's session is there, in snapshot mode for a snapshot",
    ],
    [1, "otherwise (the lines say what to do)"],
    [2, "usage error"],
  ],
  files: [
    { path: "/proc/sys/kernel/core_pattern", help: "What the kernel does with a core dump." },
    { path: "RUN_DIR/client-lttng-trig", help: "The daemon's control socket." },
    { path: "STATE_DIR/notifier.log", help: "The notifier's journal of failures." },
    { path: "STATE_DIR/install.json", help: "What install remembered." },
  ],
  seeAlso: ["lttng-trig-install(1)", "lttng-trig-daemon(1)"],
} as const satisfies CommandSpec;

/** Usage line of `status`. */
export const STATUS_USAGE = usageLine(STATUS_SPEC);

/** The daemon, as `status` sees it. */
export type DaemonStatus =
  | {
    /** It answered. */
    answering: true;
    /** Its control socket. */
    socket: string;
    /** Its pid. */
    pid: number;
    /** How many triggers it holds. */
    triggers: number;
    /** Everything else it said (uid, runDir, stateDir, startedAt...). */
    [fact: string]: unknown;
  }
  | {
    /** It did not answer. */
    answering: false;
    /** The control socket tried. */
    socket: string;
    /** Why. */
    error: string;
    /** No daemon listens there (not printed by `--json`: a symbol key). */
    [NO_DAEMON]?: true;
  };

/** Marks a daemon status whose socket has no daemon behind it (`JSON.stringify` skips it). */
const NO_DAEMON = Symbol("no daemon");

/** Everything `status` reports; `status --json` prints it as it is. */
export interface StatusReport {
  /** Installed, and the daemon answers (exit code 0). */
  ok: boolean;
  /** core_pattern runs lttng-trig's notifier. */
  installed: boolean;
  /** core_pattern (without the newline /proc adds); `null` when unreadable. */
  corePattern: string | null;
  /** The other crash handler in core_pattern (a program or a socket), if any. */
  handler: string | null;
  /** What is wrong with the installed pattern (its executable is gone), if anything. */
  problem: string | null;
  /** core_pipe_limit; `null` when unreadable. */
  corePipeLimit: number | null;
  /** What `install` remembered, when install.json is there and readable. */
  remembered: { path: string; previousCorePattern: string; installedAt: string } | null;
  /** The crash handler run after lttng-trig (`install --chain`), if any. */
  chain?: ChainStatus | null;
  /** The daemon. */
  daemon: DaemonStatus;
  /** Its triggers (empty when it does not answer). */
  triggers: Trigger[];
  /** The newest crash it received. */
  lastCrash: CrashRecord | null;
  /** The newest failure in the notifier journal. */
  lastNotifierError: JournalEntry | null;
  /** Why the notifier journal could not be read, if it could not. */
  journalError: string | null;
  /** lttng-sessiond, as `lttng list` run by the caller sees it (`null`: not checked). */
  sessionDaemon: { answering: boolean; error: string | null; checkedAsUid: number } | null;
  /** The triggers that cannot act on their session, and why. */
  cannotFire: { trigger: string; problem: string }[];
  /** The triggers whose session is inactive (never started, or stopped): what a crash will do. */
  inactive: { trigger: string; warning: string }[];
}

/** Where `status` looks: resolved paths and the kernel's files. */
export interface StatusOptions {
  /** The daemon's control socket. */
  socket: string;
  /** The state directory (notifier journal, install.json). */
  stateDir: string;
  /** /proc/sys. @default defaultKernelFiles */
  kernel?: KernelFiles;
  /** Deadline of each control request. @default 5000 */
  timeoutMs?: number;
  /** The caller's uid, for the note on whose sessions were checked. @default 0 */
  uid?: number;
  /** Lists the sessions, as the caller. @default a real LttngControl */
  lttng?: { listSessions(): Promise<SessionInfo[]> };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readText(kernel: KernelFiles, path: string): Promise<string> {
  return new TextDecoder().decode(await kernel.read(path));
}

async function executableProblem(exe: string): Promise<string | null> {
  try {
    const st = await Deno.stat(exe);
    // Coredump-socket mode: the pattern names the daemon's socket, not a program.
    if (exe.endsWith(`/${COREDUMP_SOCKET_NAME}`)) {
      return st.isSocket ? null : `${exe} is not a socket: is the daemon running?`;
    }
    if (!st.isFile || ((st.mode ?? 0) & 0o111) === 0) return `${exe} is not an executable file`;
    return null;
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? `${exe} does not exist${
        exe.endsWith(`/${COREDUMP_SOCKET_NAME}`)
          ? ": start the daemon, or the kernel drops every core"
          : ""
      }`
      : null;
  }
}

async function journalReadError(stateDir: string): Promise<string | null> {
  const path = `${stateDir}/${NOTIFIER_LOG_NAME}`;
  try {
    (await Deno.open(path, { read: true })).close();
    return null;
  } catch (err) {
    return err instanceof Deno.errors.NotFound ? null : `cannot read ${path}: ${message(err)}`;
  }
}

/** Gather the status (never throws: what cannot be known is said so). */
export async function gatherStatus(options: StatusOptions): Promise<StatusReport> {
  const kernel = options.kernel ?? defaultKernelFiles;
  const timeoutMs = options.timeoutMs ?? 5000;
  const report: StatusReport = {
    ok: false,
    installed: false,
    corePattern: null,
    handler: null,
    problem: null,
    corePipeLimit: null,
    remembered: null,
    daemon: { answering: false, socket: options.socket, error: "" },
    triggers: [],
    lastCrash: null,
    lastNotifierError: null,
    journalError: null,
    sessionDaemon: null,
    cannotFire: [],
    inactive: [],
  };

  try {
    report.corePattern = stripNewline(await readText(kernel, CORE_PATTERN_PATH));
    const kind = classifyCorePattern(report.corePattern);
    report.installed = kind.kind === "ours";
    if (kind.kind === "handler") report.handler = kind.handler;
    if (kind.kind === "ours") report.problem = await executableProblem(kind.exe);
  } catch (err) {
    report.problem = `cannot read ${CORE_PATTERN_PATH}: ${message(err)}`;
  }
  try {
    const limit = (await readText(kernel, CORE_PIPE_LIMIT_PATH)).trim();
    if (/^\d+$/.test(limit)) report.corePipeLimit = Number(limit);
  } catch { /* shown as unknown */ }
  try {
    // No trust check: status only reports what install.json says.
    const state = await readInstallState(options.stateDir);
    if (state !== undefined) {
      report.remembered = {
        path: installStatePath(options.stateDir),
        previousCorePattern: stripNewline(state.previous.corePattern),
        installedAt: state.installedAt,
      };
      report.chain = await chainStatusOf(state, options.stateDir);
    }
  } catch { /* unreadable (not root) or damaged: install and uninstall say so */ }

  try {
    const client = new ControlClient(options.socket, { timeoutMs });
    const facts = await client.status();
    report.daemon = {
      ...facts,
      answering: true,
      socket: options.socket,
      pid: Number(facts.pid),
      triggers: Number(facts.triggers),
    };
    report.triggers = (await client.list()).triggers;
    const history = await client.history({ limit: 1 });
    report.lastCrash = history.crashes.at(-1) ?? null;
  } catch (err) {
    if (!report.daemon.answering) {
      report.daemon = {
        answering: false,
        socket: options.socket,
        error: message(err),
        ...(err instanceof DaemonUnavailableError ? { [NO_DAEMON]: true as const } : {}),
      };
    }
  }

  report.journalError = await journalReadError(options.stateDir);
  report.lastNotifierError = (await readJournal(options.stateDir, 1)).at(-1) ?? null;
  await checkSessions(report, options);
  checkFilters(report);
  report.ok = report.installed && report.problem === null && report.daemon.answering &&
    report.cannotFire.length === 0;
  return report;
}

/**
 * A trigger whose `--signal` filter the installed core_pattern cannot serve never fires
 * (issue #16): the bare RFC line carries no signal.
 */
function checkFilters(report: StatusReport): void {
  if (report.corePattern === null) return;
  for (const t of report.triggers) {
    const signals = t.condition.signals;
    for (const problem of unservedFilters(report.corePattern, { signals })) {
      report.cannotFire.push({ trigger: t.name, problem });
    }
  }
}

/** Can each trigger act? Asks lttng-sessiond, as the caller, for the sessions. */
async function checkSessions(report: StatusReport, options: StatusOptions): Promise<void> {
  if (report.triggers.length === 0) return;
  const uid = options.uid ?? 0;
  const lttng = options.lttng ?? new LttngControl({ timeoutMs: 5000 });
  let sessions: SessionInfo[];
  try {
    sessions = await lttng.listSessions();
  } catch (err) {
    report.sessionDaemon = { answering: false, error: message(err), checkedAsUid: uid };
    for (const t of report.triggers) {
      report.cannotFire.push({ trigger: t.name, problem: "lttng-sessiond does not answer" });
    }
    return;
  }
  report.sessionDaemon = { answering: true, error: null, checkedAsUid: uid };
  for (const t of report.triggers) {
    const problem = sessionProblem(
      t.session,
      t.action,
      sessions.find((s) => s.name === t.session),
    );
    if (problem !== undefined) report.cannotFire.push({ trigger: t.name, problem });
    const warning = sessionInactivity(
      t.session,
      t.action,
      sessions.find((s) => s.name === t.session),
    );
    if (warning !== undefined) report.inactive.push({ trigger: t.name, warning });
  }
}

/** The session daemon's and the triggers' lines of `status`. */
function sessionLines(r: StatusReport): string[] {
  const sd = r.sessionDaemon;
  if (sd === null) return [];
  const daemonUid = r.daemon.answering ? Number(r.daemon.uid) : sd.checkedAsUid;
  const note = sd.checkedAsUid === daemonUid
    ? ""
    : ` (checked with 'lttng list' as uid ${sd.checkedAsUid}; the daemon acts as uid ${daemonUid}, whose sessions may differ)`;
  const lines = [
    sd.answering
      ? `session daemon: answering${note}`
      : `session daemon: not answering (${sd.error})${note}: no trigger can act: start it with 'systemctl start lttng-sessiond' (or 'lttng-sessiond --daemonize')`,
  ];
  if (sd.answering) {
    for (const c of r.cannotFire) lines.push(`cannot fire: ${c.trigger}: ${c.problem}`);
    for (const w of r.inactive) lines.push(`Warning: ${w.trigger}: ${w.warning}`);
  }
  return lines;
}

function crashOutcome(c: CrashRecord): string {
  const snapshots = c.results.map((r) => r.snapshot).filter((s) => s !== undefined);
  const reasons = c.results.filter((r) => r.outcome !== "ok" && r.reason !== undefined)
    .map((r) => `${r.trigger}: ${r.reason}`);
  const detail = snapshots.length > 0 ? `snapshot ${snapshots.join(", ")}` : reasons.join("; ");
  return detail === "" ? c.outcome : `${c.outcome} (${detail})`;
}

function watchFacts(r: StatusReport): CorePatternWatchFacts | undefined {
  return r.daemon.answering ? r.daemon.corePatternWatch as CorePatternWatchFacts : undefined;
}

/** Render a status report as `status` prints it. */
export function statusLines(r: StatusReport): string[] {
  const lines: string[] = [];
  if (r.corePattern === null) {
    lines.push(`core_pattern: unknown (${r.problem})`);
  } else if (r.installed && r.problem !== null) {
    lines.push(
      `core_pattern: installed but broken (${r.corePattern}): ${r.problem}: run 'lttng-trig install' again`,
    );
  } else if (r.installed) {
    lines.push(`core_pattern: installed (${r.corePattern})`);
  } else if (r.handler !== null && r.chain != null) {
    // A chain is recorded: --force would drop the handler (issue #21).
    lines.push(
      `core_pattern: not installed (${r.corePattern}): ${r.handler} handles crashes: ${
        reinstallAdvice(classifyCorePattern(r.corePattern), true)
      }`,
    );
  } else if (r.handler !== null) {
    lines.push(
      `core_pattern: not installed (${r.corePattern}): ${r.handler} handles crashes; 'lttng-trig install --force' replaces it`,
    );
  } else {
    lines.push(
      `core_pattern: not installed (${r.corePattern}): run 'lttng-trig install'`,
    );
  }
  if (r.remembered !== null) {
    lines.push(
      `previous core_pattern: ${
        quotePattern(r.remembered.previousCorePattern)
      } (remembered in ${r.remembered.path}, restored by 'lttng-trig uninstall')`,
    );
  }
  if (r.chain != null) lines.push(...chainStatusLines(r.chain, r.installed));
  lines.push(...watchStatusLines(watchFacts(r)));
  const keeping = r.installed && r.corePattern !== null ? coreKeepingOf(r.corePattern) : undefined;
  if (keeping !== undefined) lines.push(`cores: ${coreKeepingText(keeping)}`);
  if (r.installed && r.corePattern?.startsWith("@")) {
    lines.push(
      socketHoldLine(r.daemon.answering ? r.daemon.coredumpSocketActivated === true : undefined),
    );
  }
  lines.push(
    r.corePipeLimit === null
      ? "core_pipe_limit: unknown"
      : r.corePipeLimit === 0 && r.installed
      ? "core_pipe_limit: 0 (the kernel does not wait for the notifier: 'lttng-trig install' sets 64)"
      : `core_pipe_limit: ${r.corePipeLimit}`,
  );

  const d = r.daemon;
  if (d.answering) {
    lines.push(`daemon: running, pid ${d.pid}, ${d.triggers} trigger(s)`);
    const early = d.earlyPath as StatusReply["earlyPath"];
    if (early !== undefined) {
      lines.push(
        early.listening
          ? `crash path: ${
            early.only
              ? "the kernel's process connector only"
              : "early (process connector), then the helper"
          }: ${early.announced} announced, ${early.pinned} acted on early, ${early.overruns} overrun(s)`
          : `crash path: the helper only (no early path: ${early.reason})`,
      );
    }
    if (r.triggers.length === 0) {
      lines.push("trigger: none: add one with 'lttng-trig set -s SESSION OnAnyCoreDump snapshot'");
    } else {
      const rows = r.triggers.map((
        t,
      ) => [t.name, `session ${t.session}`, describeAction(t.action)].map(printable));
      lines.push(...table(rows).map((row) => `trigger: ${row}`));
    }
    lines.push(...sessionLines(r));
    lines.push(
      r.lastCrash === null
        ? "last crash: none"
        : `last crash: ${shortTime(r.lastCrash.time)} pid ${r.lastCrash.pid} exec ${
          escaped(r.lastCrash.execName)
        }: ${crashOutcome(r.lastCrash)}`,
    );
  } else {
    const hint = d[NO_DAEMON] ? "start it with 'lttng-trig daemon' (or pass --run-dir)" : d.error;
    lines.push(`daemon: not answering on ${d.socket}: ${hint}`);
    lines.push("last crash: unknown (the daemon does not answer)");
  }

  const e = r.lastNotifierError;
  if (e !== null) {
    // An old failure is not the current state: say when a later crash went through.
    const later = r.lastCrash !== null && Date.parse(r.lastCrash.time) > Date.parse(e.time)
      ? ` (older than the last crash, ${shortTime(r.lastCrash.time)}, which reached the daemon)`
      : "";
    lines.push(
      `last notifier error: ${shortTime(e.time)} pid ${e.pid} exec ${escaped(e.exec)}: ${
        e.failures.join("; ")
      }${later}`,
    );
  } else if (r.journalError !== null) {
    lines.push(`last notifier error: unknown (${r.journalError})`);
  } else {
    lines.push("last notifier error: none");
  }
  return lines;
}

/** Run `status`; `kernel` and `lttng` are injected by tests. */
export async function statusCommand(
  argv: string[],
  ctx: CommandContext,
  kernel: KernelFiles = defaultKernelFiles,
  lttng?: StatusOptions["lttng"],
): Promise<number> {
  const { values, positionals } = parse(STATUS_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, STATUS_USAGE);
  }
  const report = await gatherStatus({
    socket: controlSocketPath(ctx.env, values["run-dir"]),
    // The kernel runs the notifier as root, and install needs root: both use root's state
    // directory whoever asks.
    stateDir: values["state-dir"] || ROOT_STATE_DIR,
    kernel,
    uid: ctx.env.uid,
    ...(lttng === undefined ? {} : { lttng }),
  });
  if (values.json) {
    ctx.io.out(jsonLine(report));
  } else {
    for (const line of statusLines(report)) ctx.io.out(line);
  }
  return report.ok ? 0 : 1;
}
