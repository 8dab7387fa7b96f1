/**
 * `lttng-trig show CRASH`: everything known about one crash, and the crashed process's
 * last events from its snapshot.
 *
 * @module
 */
import { chainShowText } from "./chain_fate.ts";
import { CommandError, UsageError } from "../core/errors.ts";
import type { CrashRecord, ReportRecord } from "../protocol/records.ts";
import { type CrashReport, formatReport } from "../report/backtrace.ts";
import { type CrashEvents, readLastEvents, type TraceEvent } from "../report/events.ts";
import { signalName } from "../core/signals.ts";
import { ControlClient } from "../client/client.ts";
import { snapshotDirProblem } from "../lttng/control.ts";
import { controlSocketPath } from "../core/paths.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  escaped,
  jsonLine,
  parseCount,
  printable,
  quoted,
  runDirOption,
  shortTime,
} from "./common.ts";
import { type CommandSpec, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";

/** `show`'s options and arguments. */
export const SHOW_SPEC = {
  name: "show",
  summary: "Show one crash in full: where it died, beside what it did",
  description: [
    "Show everything lttng-trig knows about one crash (its facts, each trigger's outcome, the snapshot, the core), then the crash report: the backtrace of the crashing thread, computed from the kept core with eu-stack after the crash was released (the daemon keeps cores with --core-dir: lttng-trig install --core-dir=DIR, or lttng-trig daemon --core-dir=DIR in socket mode), and that thread's last events, read from its snapshot with babeltrace2: filtered on its vtid where the session records that context, else on the process's vpid (lttng add-context -u -t vpid -t vtid), so you see what the thread did right before it died.",
    "A report is partial when the executable is stripped or gone (its frames have a module and an offset, no function name): show says what is missing.",
  ],
  positionals: [{
    name: "CRASH",
    help:
      "A pid (the newest crash of that pid) or, with --id, a history id (the id field of 'lttng-trig history --json').",
  }],
  options: [
    {
      name: "id",
      type: "boolean",
      help: "CRASH is a history id, not a pid.",
      examples: ["lttng-trig show --id 17"],
    },
    {
      name: "events",
      type: "string",
      value: "N",
      default: "20",
      help: "Show the last N events of the crashed process.",
      examples: ["lttng-trig show --events=100 4242"],
    },
    {
      name: "all-threads",
      type: "boolean",
      help: "Show the backtrace of every thread, not only the crashing one.",
      examples: ["lttng-trig show --all-threads 4242"],
    },
    {
      name: "json",
      type: "boolean",
      help:
        'Print the crash as one JSON object, with its "report" (threads of frames: pc, function, offset, module) and an "events" array, for scripts.',
      examples: [
        "lttng-trig show --json 4242 | jq .events",
        "lttng-trig show --json 4242 | jq '.report.threads[0].frames'",
      ],
    },
    runDirOption("show"),
    COMMON_HELP_OPTION,
  ],
  examples: [{ text: "The newest crash of pid 4242:", commands: ["lttng-trig show 4242"] }],
  exitStatus: [[0, "shown"], [1, "no such crash, or no daemon answers"], [2, "usage error"]],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-history(1)", "babeltrace2(1)", "lttng-add-context(1)", "eu-stack(1)"],
} as const satisfies CommandSpec;

/** Usage line of `show`. */
export const SHOW_USAGE = usageLine(SHOW_SPEC);

/**
 * The text `show` prints about `c`, before its events. Every string that came from the
 * crash goes through {@linkcode escaped}: none reaches the terminal as a control.
 */
export function showLines(c: CrashRecord): string[] {
  const lines = [`Crash ${c.id}: pid ${c.pid}, uid ${c.uid}, gid ${c.gid}`];
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined) lines.push(`  ${(name + ":").padEnd(12)} ${value}`);
  };
  const text = (value: string | undefined) => value === undefined ? undefined : escaped(value);
  field("received", text(c.time));
  field("exec", `${quoted(c.execName)}${c.exePath ? ` (${escaped(c.exePath)})` : ""}`);
  field(
    "command",
    c.cmdline?.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : quoted(a)).join(" "),
  );
  field("signal", c.signal === undefined ? undefined : `${signalName(c.signal)} (${c.signal})`);
  field("thread", c.tid === undefined ? undefined : `${c.tid} (the crashing thread)`);
  field(
    "held",
    c.released === true
      ? "no: released at once, its user held its share of crashes already (core not kept)"
      : undefined,
  );
  field("core facts", c.coreNote === undefined ? undefined : `partial: ${escaped(c.coreNote)}`);
  field(
    "host",
    c.hostnameNote === undefined
      ? escaped(c.hostname)
      : `${c.hostname === "" ? "unknown" : escaped(c.hostname)} (${escaped(c.hostnameNote)})`,
  );
  field("global pid", c.globalPid?.toString());
  field(
    "crash time",
    c.crashTime === undefined ? undefined : new Date(c.crashTime * 1000).toISOString(),
  );
  field("core limit", c.coreLimit?.toString());
  field("source", text(c.source));
  field("outcome", escaped(c.outcome) + (c.detail ? ` (${escaped(c.detail)})` : ""));
  field(
    "signature",
    c.signature === undefined
      ? (c.report?.state === "pending" ? "pending (the report is being made)" : undefined)
      : escaped(c.signature),
  );
  for (const r of c.results) {
    field(
      "trigger",
      `${escaped(r.trigger)} on session ${escaped(r.session)}: ${escaped(r.action)} ${
        escaped(r.outcome)
      }${r.reason ? ` (${escaped(r.reason)})` : ""}${
        r.durationMs !== undefined ? `, ${r.durationMs} ms` : ""
      }`,
    );
    field(
      "snapshot",
      r.removed === undefined
        ? text(r.snapshot)
        : `${text(r.snapshot)} (removed ${escaped(shortTime(r.removed.time))}: ${
          escaped(r.removed.reason)
        })`,
    );
  }
  if (c.chain !== undefined) field("chained handler", chainShowText(c.chain));
  if (c.core !== undefined) {
    field(
      "core",
      c.core.kept
        ? `${text(c.core.path)} (${c.core.bytes} bytes before compression)`
        : `not kept: ${text(c.core.reason)}`,
    );
  }
  return lines;
}

/**
 * The crash report's lines: the crashing thread's backtrace (every thread's with
 * `allThreads`), or why there is none and how to get one. Escaped: function and module
 * names come from the crashed program's files.
 */
export function reportLines(c: CrashRecord, allThreads = false): string[] {
  const r: ReportRecord | undefined = c.report;
  if (r === undefined) {
    if (c.core === undefined) {
      return [
        "No backtrace: no core was kept for this crash: keep cores with 'lttng-trig install --core-dir=DIR' (or 'lttng-trig daemon --core-dir=DIR' in socket mode)",
      ];
    }
    return c.core.kept
      ? ["No backtrace: this crash has no report (its daemon made none)"]
      : [`No backtrace: the core was not kept: ${escaped(c.core.reason ?? "")}`];
  }
  if (r.state === "pending") {
    return [
      "Backtrace pending: the report is being made from the kept core: run show again in a moment",
    ];
  }
  const report: CrashReport = {
    state: r.state,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    ...(r.crashingTid === undefined ? {} : { crashingTid: r.crashingTid }),
    threads: r.threads ?? [],
    missing: r.missing ?? [],
    durationMs: r.durationMs ?? 0,
  };
  return formatReport(report, allThreads).map(escaped);
}

/** One event as `show` prints it: `[TIME] NAME: FIELDS`. */
export function eventLine(e: TraceEvent): string {
  return `[${e.time}] ${e.name}:${e.fields === "" ? "" : ` ${e.fields}`}`;
}

/** Run `show`. */
export async function showCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(SHOW_SPEC, argv);
  if (positionals.length !== 1 || !/^\d{1,10}$/.test(positionals[0])) {
    throw new UsageError("expected one CRASH: a pid, or a history id with --id", SHOW_USAGE);
  }
  const n = parseCount(values.events, "--events", SHOW_USAGE);
  const key = Number(positionals[0]);
  const reply = await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).history(
    values.id ? { id: key, limit: 1, fullReport: true } : { pid: key, limit: 1, fullReport: true },
  );
  const crash = reply.crashes[0];
  if (crash === undefined) {
    throw new CommandError(
      `no crash with ${values.id ? "history id" : "pid"} ${key}: see 'lttng-trig history'`,
    );
  }
  const snapshot = crash.results.filter((r) => r.removed === undefined).map((r) => r.snapshot)
    .find((s) => s !== undefined && s.startsWith("/"));
  const removed = crash.results.find((r) => r.removed !== undefined)?.removed;
  let events: CrashEvents | undefined;
  // The crashing thread: the one the report unwound, else the one the kernel named.
  const tid = crash.report?.crashingTid ?? crash.tid;
  let eventsError: string | undefined;
  if (snapshot !== undefined) {
    try {
      const problem = await snapshotDirProblem(snapshot);
      if (problem?.untrusted === false) throw new CommandError(problem.message);
      if (problem !== undefined) {
        throw new CommandError(
          `not reading the snapshot ${snapshot}: ${problem.message}: a user could have planted a trace there for babeltrace2 to read: give the session a snapshot output only its owner can write (lttng snapshot add-output --session=SESSION DIR, with DIR and its parents not writable by others: chmod go-w DIR)`,
        );
      }
      events = await readLastEvents(snapshot, {
        pid: crash.pid,
        ...(tid === undefined ? {} : { tid }),
        count: n,
      });
    } catch (err) {
      eventsError = (err as Error).message;
    }
  }
  if (values.json) {
    ctx.io.out(jsonLine({
      ...crash,
      events: events?.events ?? [],
      ...(events === undefined ? {} : {
        eventsMatchedBy: events.matchedBy,
        eventsFiltered: events.matchedBy !== "none",
      }),
      ...(snapshot === undefined ? {} : { eventsSnapshot: snapshot }),
      ...(eventsError === undefined ? {} : { eventsError }),
    }));
    return 0;
  }
  for (const line of showLines(crash)) ctx.io.out(line);
  ctx.io.out("");
  for (const line of reportLines(crash, values["all-threads"] === true)) ctx.io.out(line);
  ctx.io.out("");
  if (snapshot === undefined && removed !== undefined) {
    ctx.io.out(`No events: the snapshot was removed by retention: ${escaped(removed.reason)}.`);
  } else if (snapshot === undefined) {
    ctx.io.out("No local snapshot of this crash to read events from.");
  } else if (events === undefined) {
    ctx.io.err(`Warning: ${printable(eventsError ?? "")}`);
  } else if (events.events.length === 0) {
    ctx.io.out(
      events.matchedBy === "vtid"
        ? `No event of thread ${tid} of pid ${crash.pid} in ${escaped(snapshot)}.`
        : `No event of pid ${crash.pid} in ${escaped(snapshot)}.`,
    );
  } else {
    ctx.io.out(
      events.matchedBy === "vtid"
        ? `Last ${events.events.length} events of the crashing thread ${tid} of pid ${crash.pid} (babeltrace2 ${
          escaped(snapshot)
        }):`
        : events.matchedBy === "vpid"
        ? `Last ${events.events.length} events of pid ${crash.pid} (babeltrace2 ${
          escaped(snapshot)
        }):`
        : `Last ${events.events.length} events (the session has no vpid context, so these are every process's: a session takes one only before its first start: create the next one with 'lttng add-context -u -t vpid -t vtid' before 'lttng start') (babeltrace2 ${
          escaped(snapshot)
        }):`,
    );
    // The events' strings are the crashed program's own: babeltrace2 quotes them, and
    // whatever control it leaves is escaped here.
    for (const e of events.events) ctx.io.out(`  ${printable(eventLine(e))}`);
  }
  return 0;
}
