/**
 * How `lttng-trig status` prints a {@linkcode StatusReport}: one line per fact, each
 * saying what to do when something is wrong. Every string from a crash is escaped.
 *
 * @module
 */
import type { StatusReply } from "../protocol/control.ts";
import type { CorePatternWatchFacts } from "../protocol/control.ts";
import { describeAction } from "../core/trigger.ts";
import type { CrashRecord } from "../protocol/records.ts";
import { escaped, printable, shortTime, table } from "./common.ts";
import { chainStatusLines } from "./chain_status.ts";
import { classifyCorePattern, quotePattern } from "../install/pattern.ts";
import { coreKeepingOf, coreKeepingText } from "../install/core_limit.ts";
import { reinstallAdvice, watchStatusLines } from "../install/pattern_watch.ts";
import { socketHoldLine } from "../install/socket_hold.ts";
import { NO_DAEMON, type StatusReport } from "./status_report.ts";

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
