/**
 * What `lttng-trig status` finds out, gathered once into a {@linkcode StatusReport}
 * (`status --json` prints it as it is): core_pattern, install.json, the daemon, its
 * triggers and whether their sessions can take them, the last crash and the notifier's
 * last failure. Never throws: what cannot be known is said so.
 *
 * @module
 */
import { DaemonUnavailableError } from "../core/errors.ts";
import { COREDUMP_SOCKET_NAME, NOTIFIER_LOG_NAME } from "../core/paths.ts";
import type { Trigger } from "../core/trigger.ts";
import type { CrashRecord } from "../protocol/records.ts";
import { type JournalEntry, readJournal } from "../notify/io.ts";
import { ControlClient } from "../client/client.ts";
import { type ChainStatus, chainStatusOf } from "./chain_status.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  defaultKernelFiles,
  type KernelFiles,
} from "../install/kernel_files.ts";
import { classifyCorePattern, stripNewline, unservedFilters } from "../install/pattern.ts";
import { installStatePath, readInstallState } from "../install/state.ts";
import { LttngControl, type SessionInfo } from "../lttng/control.ts";
import { sessionInactivity, sessionProblem } from "../lttng/session_checks.ts";

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
export const NO_DAEMON = Symbol("no daemon");

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
