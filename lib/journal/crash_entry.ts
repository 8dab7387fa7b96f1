/**
 * What lttng-trig writes to the journal for a crash (docs/FLEET.md): one entry when its
 * actions have finished, with lttng-trig's own MESSAGE_ID and LTTNG_TRIG_* fields a fleet
 * can query, and, once the report of its kept core is made, a second entry with the
 * crashing thread's top frames. Pure: the fields, from the crash as the history keeps it.
 *
 * @module
 */
import type { CrashRecord, TriggerOutcome } from "../protocol/records.ts";
import type { Frame } from "../protocol/records.ts";
import { signalName } from "../core/signals.ts";
import type { JournalField } from "./encoder.ts";

/** MESSAGE_ID of a crash's entry (as systemd-coredump has fc2e22bc6ee647b6b90729ab34a250b1). */
export const CRASH_MESSAGE_ID = "f3aeeb645cda4de7b07fada57ba1a13b";
/** MESSAGE_ID of a crash report's entry (the crashing thread's top frames). */
export const REPORT_MESSAGE_ID = "5de6083b1d4b450a8e1dc7e131bfcb01";
/** SYSLOG_IDENTIFIER of lttng-trig's entries. */
export const SYSLOG_IDENTIFIER = "lttng-trig";
/** Frames of the crashing thread in a report's entry, at most. */
export const JOURNAL_FRAMES = 16;

/** syslog priorities (syslog(3)), as journald's PRIORITY field takes them. */
export const Priority = { ERR: 3, WARNING: 4, NOTICE: 5, INFO: 6 } as const;

/** What an action did, in words: `snapshot of session web taken`. */
export function actionText(r: TriggerOutcome): string {
  const what = r.action.startsWith("snapshot")
    ? `snapshot of session ${r.session}`
    : `stop of session ${r.session}`;
  if (r.outcome === "ok") return `${what} ${r.action.startsWith("snapshot") ? "taken" : "done"}`;
  if (r.outcome === "failed") return `${what} failed${r.reason ? ` (${r.reason})` : ""}`;
  return `trigger ${r.trigger} skipped${r.reason ? ` (${r.reason})` : ""}`;
}

/** The fields every entry of a crash has: who crashed, where, and which crash it is. */
function crashFields(c: CrashRecord): JournalField[] {
  const f: JournalField[] = [
    ["SYSLOG_IDENTIFIER", SYSLOG_IDENTIFIER],
    ["LTTNG_TRIG_CRASH_ID", String(c.id)],
    ["LTTNG_TRIG_PID", String(c.pid)],
  ];
  if (c.globalPid !== undefined) f.push(["LTTNG_TRIG_GLOBAL_PID", String(c.globalPid)]);
  f.push(["LTTNG_TRIG_UID", String(c.uid)], ["LTTNG_TRIG_GID", String(c.gid)]);
  if (c.tid !== undefined) f.push(["LTTNG_TRIG_TID", String(c.tid)]);
  if (c.signal !== undefined) f.push(["LTTNG_TRIG_SIGNAL", signalName(c.signal)]);
  if (c.exePath !== undefined) f.push(["LTTNG_TRIG_EXE", c.exePath]);
  f.push(["LTTNG_TRIG_COMM", c.execName], ["LTTNG_TRIG_HOSTNAME", c.hostname]);
  if (c.core?.kept && c.core.path !== undefined) f.push(["LTTNG_TRIG_CORE", c.core.path]);
  if (c.signature !== undefined) f.push(["LTTNG_TRIG_SIGNATURE", c.signature]);
  return f;
}

/** `Process 3577 (myapp) of user 1000`, as systemd-coredump words it. */
function who(c: CrashRecord): string {
  return `Process ${c.pid} (${c.execName}) of user ${c.uid}`;
}

/**
 * The entry of a crash whose actions have finished: MESSAGE such as `Process 3577 (myapp)
 * of user 1000 dumped core: snapshot of session web taken`, PRIORITY err when an action
 * failed (notice otherwise), and the LTTNG_TRIG_* fields, LTTNG_TRIG_TRIGGERS and
 * LTTNG_TRIG_SNAPSHOT once per trigger and per snapshot.
 */
export function crashEntry(c: CrashRecord): JournalField[] {
  const done = c.results.map(actionText);
  const message = `${who(c)} dumped core${
    c.signal === undefined ? "" : ` (${signalName(c.signal)})`
  }: ${done.length === 0 ? "no trigger matched" : done.join("; ")}`;
  const failed = c.outcome === "failed" || c.results.some((r) => r.outcome === "failed");
  const f: JournalField[] = [
    ["MESSAGE_ID", CRASH_MESSAGE_ID],
    ["MESSAGE", message],
    ["PRIORITY", String(failed ? Priority.ERR : Priority.NOTICE)],
    ...crashFields(c),
    ["LTTNG_TRIG_OUTCOME", c.outcome],
  ];
  for (const r of c.results) f.push(["LTTNG_TRIG_TRIGGERS", `${r.trigger}:${r.outcome}`]);
  for (const r of c.results) if (r.snapshot) f.push(["LTTNG_TRIG_SNAPSHOT", r.snapshot]);
  return f;
}

/** One frame as the report's entry gives it: `#0 crash_in_worker (mt_crasher+0x11ad)`. */
export function frameText(frame: Frame, index: number): string {
  const where = frame.module === undefined
    ? ""
    : ` (${frame.module}${frame.offset === undefined ? "" : `+${frame.offset}`})`;
  return `#${index} ${frame.function ?? "??"}${where}`;
}

/**
 * The entry of a crash's report, once made: MESSAGE with the crashing thread's top frames
 * (one per line, as systemd-coredump's stack trace), LTTNG_TRIG_FRAME once per frame,
 * LTTNG_TRIG_REPORT (`ready` or `failed`) and why it failed; `undefined` while pending.
 */
export function reportEntry(c: CrashRecord): JournalField[] | undefined {
  const r = c.report;
  if (r === undefined || r.state === "pending") return undefined;
  const thread = r.threads?.find((t) => t.tid === r.crashingTid) ?? r.threads?.[0];
  const frames = (thread?.frames ?? []).slice(0, JOURNAL_FRAMES).map(frameText);
  const top = thread?.frames.find((f) => f.function !== undefined);
  const message = r.state === "failed"
    ? `${who(c)}: no crash report: ${r.reason ?? "unknown reason"}`
    : `${who(c)} crashed${top?.function ? ` in ${top.function}` : ""}\n\nStack trace of thread ${
      thread?.tid ?? "?"
    }:\n${frames.join("\n")}`;
  const f: JournalField[] = [
    ["MESSAGE_ID", REPORT_MESSAGE_ID],
    ["MESSAGE", message],
    ["PRIORITY", String(r.state === "ready" ? Priority.INFO : Priority.WARNING)],
    ...crashFields(c),
    ["LTTNG_TRIG_REPORT", r.state],
  ];
  if (r.reason !== undefined) f.push(["LTTNG_TRIG_REPORT_REASON", r.reason]);
  for (const frame of frames) f.push(["LTTNG_TRIG_FRAME", frame]);
  return f;
}
