/**
 * `lttng-trig show CRASH`: everything known about one crash, and the crashed process's
 * last events from its snapshot.
 *
 * @module
 */
import { chainShowText } from "./chain_fate.ts";
import { CommandError, UsageError } from "../errors.ts";
import type { CrashRecord } from "../protocol/records.ts";
import { signalName } from "../signals.ts";
import { ControlClient } from "../client/client.ts";
import { snapshotDirProblem } from "../lttng/control.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  controlSocketPath,
  escaped,
  jsonLine,
  parseCount,
  printable,
  quoted,
  runDirOption,
} from "./common.ts";
import { type CommandSpec, parse, usageLine } from "./registry.ts";

/** `show`'s options and arguments. */
export const SHOW_SPEC = {
  name: "show",
  summary: "Show one crash in full, with the crashed process's last events",
  description: [
    "Show everything lttng-trig knows about one crash (its facts, each trigger's outcome, the snapshot, the core), then the crashed process's last events, read from its snapshot with babeltrace2 and filtered on its vpid where the session records that context (lttng add-context -u -t vpid), so you see what the program did right before it died.",
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
      name: "json",
      type: "boolean",
      help: 'Print the crash as one JSON object, with an "events" array, for scripts.',
      examples: ["lttng-trig show --json 4242 | jq .events"],
    },
    runDirOption("show"),
    COMMON_HELP_OPTION,
  ],
  examples: [{ text: "The newest crash of pid 4242:", commands: ["lttng-trig show 4242"] }],
  exitStatus: [[0, "shown"], [1, "no such crash, or no daemon answers"], [2, "usage error"]],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-history(1)", "babeltrace2(1)", "lttng-add-context(1)"],
} as const satisfies CommandSpec;

/** Usage line of `show`. */
export const SHOW_USAGE = usageLine(SHOW_SPEC);

/** The last `n` lines of babeltrace2's text for `snapshot` that concern `pid`. */
export async function lastEvents(
  snapshot: string,
  pid: number,
  n: number,
): Promise<{ events: string[]; filtered: boolean }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("babeltrace2", {
      args: [snapshot],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new CommandError(
      `cannot run babeltrace2 (${
        (err as Error).message
      }): install it with 'apt-get install babeltrace2'`,
    );
  }
  const mine: string[] = [];
  const all: string[] = [];
  let sawVpid = false;
  // `{ vpid = 42 }` or, with vtid beside it, `{ vpid = 42, vtid = 43 }`.
  const needle = new RegExp(`\\bvpid = ${pid}\\b`);
  const push = (ring: string[], line: string) => {
    ring.push(line);
    if (ring.length > n) ring.shift();
  };
  let rest = "";
  const decoder = new TextDecoder();
  const errText = new Response(child.stderr).text();
  for await (const chunk of child.stdout) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!sawVpid && line.includes("vpid = ")) sawVpid = true;
      if (needle.test(line)) push(mine, line);
      push(all, line);
    }
  }
  if (rest !== "") {
    if (needle.test(rest)) push(mine, rest);
    push(all, rest);
  }
  const status = await child.status;
  const stderr = await errText;
  if (!status.success) {
    throw new CommandError(
      `babeltrace2 cannot read ${snapshot}: ${stderr.trim().split("\n").pop() ?? ""}`,
    );
  }
  return sawVpid ? { events: mine, filtered: true } : { events: all, filtered: false };
}

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
  for (const r of c.results) {
    field(
      "trigger",
      `${escaped(r.trigger)} on session ${escaped(r.session)}: ${escaped(r.action)} ${
        escaped(r.outcome)
      }${r.reason ? ` (${escaped(r.reason)})` : ""}${
        r.durationMs !== undefined ? `, ${r.durationMs} ms` : ""
      }`,
    );
    field("snapshot", text(r.snapshot));
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

/** Run `show`. */
export async function showCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(SHOW_SPEC, argv);
  if (positionals.length !== 1 || !/^\d{1,10}$/.test(positionals[0])) {
    throw new UsageError("expected one CRASH: a pid, or a history id with --id", SHOW_USAGE);
  }
  const n = parseCount(values.events, "--events", SHOW_USAGE);
  const key = Number(positionals[0]);
  const reply = await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).history(
    values.id ? { id: key, limit: 1 } : { pid: key, limit: 1 },
  );
  const crash = reply.crashes[0];
  if (crash === undefined) {
    throw new CommandError(
      `no crash with ${values.id ? "history id" : "pid"} ${key}: see 'lttng-trig history'`,
    );
  }
  const snapshot = crash.results.map((r) => r.snapshot).find((s) =>
    s !== undefined && s.startsWith("/")
  );
  let events: { events: string[]; filtered: boolean } | undefined;
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
      events = await lastEvents(snapshot, crash.pid, n);
    } catch (err) {
      eventsError = (err as Error).message;
    }
  }
  if (values.json) {
    ctx.io.out(jsonLine({
      ...crash,
      events: events?.events ?? [],
      ...(events === undefined ? {} : { eventsFiltered: events.filtered }),
      ...(eventsError === undefined ? {} : { eventsError }),
    }));
    return 0;
  }
  for (const line of showLines(crash)) ctx.io.out(line);
  ctx.io.out("");
  if (snapshot === undefined) {
    ctx.io.out("No local snapshot of this crash to read events from.");
  } else if (events === undefined) {
    ctx.io.err(`Warning: ${printable(eventsError ?? "")}`);
  } else if (events.events.length === 0) {
    ctx.io.out(`No event of pid ${crash.pid} in ${escaped(snapshot)}.`);
  } else {
    ctx.io.out(
      events.filtered
        ? `Last ${events.events.length} events of pid ${crash.pid} (babeltrace2 ${
          escaped(snapshot)
        }):`
        : `Last ${events.events.length} events (the session has no vpid context, so these are every process's: a session takes one only before its first start: create the next one with 'lttng add-context -u -t vpid -t vtid' before 'lttng start') (babeltrace2 ${
          escaped(snapshot)
        }):`,
    );
    // The events' strings are the crashed program's own: babeltrace2 quotes them, and
    // whatever control it leaves is escaped here.
    for (const e of events.events) ctx.io.out(`  ${printable(e)}`);
  }
  return 0;
}
