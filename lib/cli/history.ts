/**
 * `lttng-trig history`: the crashes the daemon received.
 *
 * @module
 */
import { chainHistoryText } from "./chain_fate.ts";
import { UsageError } from "../core/errors.ts";
import type { CrashRecord, SignatureGroup } from "../protocol/records.ts";
import { signalName } from "../core/signals.ts";
import { ControlClient } from "../client/client.ts";
import { controlSocketPath } from "../core/paths.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  escaped,
  jsonLine,
  parseCount,
  runDirOption,
  shortTime,
  table,
} from "./common.ts";
import { type CommandSpec, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";

/** `history`'s options and arguments. */
export const HISTORY_SPEC = {
  name: "history",
  summary: "List the crashes received and what they fired",
  description: [
    "List the crashes the lttng-trig daemon received, one per line, oldest first, like coredumpctl list: time, pid, uid, signal, exec name, the triggers it fired (the first two, then +N for the others: show CRASH lists them all), the outcome, where the snapshot is, and where the core is (when the notifier keeps cores).",
    "Outcomes: ok (every fired action succeeded), failed (the reason is in the SNAPSHOT column and in --json), no-trigger (no trigger matched), skipped (rate policy, cooldown or daily maximum), pending (actions running), interrupted (the daemon stopped before they finished), missed (no daemon ran when it crashed: the notifier journaled it, and the daemon's next start put it in the history; no trigger ran, 'show' says why). Under 'install --chain', the outcome is followed by what the chained crash handler did, such as (chain: ok 85 ms) or (chain: failed exit 1 12 ms).",
  ],
  positionals: [],
  options: [
    {
      name: "lines",
      short: "n",
      type: "string",
      value: "N",
      default: "50",
      help: "Show the N newest matching crashes.",
      examples: ["lttng-trig history -n 10"],
    },
    {
      name: "exec",
      type: "string",
      value: "GLOB",
      help: "Show only crashes whose exec name (or executable path) matches GLOB.",
      examples: ["lttng-trig history --exec='nginx*'"],
    },
    {
      name: "since",
      type: "string",
      value: "TIME",
      help:
        "Show only crashes received since TIME: an ISO 8601 date or time, or a duration ago (30m, 2h, 7d).",
      examples: ["lttng-trig history --since=2026-11-26", "lttng-trig history --since=1h"],
    },
    {
      name: "json",
      type: "boolean",
      help:
        'Print one JSON object with a "crashes" array, with every detail, for scripts: each crash\'s "report" has its state (pending, ready or failed) and, when it failed, the reason (the backtraces are in \'lttng-trig show --json\').',
      examples: ["lttng-trig history --json | jq '.crashes[-1]'"],
    },
    {
      name: "by-signature",
      type: "boolean",
      help:
        "List the crash signatures instead of the crashes, one line each: how many crashes have it, when the first and the last were received, the history id of the last (for 'lttng-trig show --id') with its exec name and innermost function, and the signature. A signature is computed from the crashing thread's innermost named frames (module and function names, no address), or from the signal and the executable when no frame is named, so that a crash loop is one line with a count. With --json, a \"signatures\" array. --exec and --since narrow the crashes counted.",
      examples: [
        "lttng-trig history --by-signature",
        "lttng-trig history --by-signature --since=1d --json | jq '.signatures[-1]'",
      ],
    },
    runDirOption("history"),
    COMMON_HELP_OPTION,
  ],
  exitStatus: [
    [0, "crashes listed"],
    [1, "no crash matches, or no daemon answers"],
    [2, "usage error"],
  ],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-show(1)", "lttng-trig-watch(1)", "coredumpctl(1)"],
} as const satisfies CommandSpec;

/** Usage line of `history`. */
export const HISTORY_USAGE = usageLine(HISTORY_SPEC);

/** Parse `--since`: an ISO 8601 date or time, or a duration ago. */
export function parseSince(text: string, now: Date = new Date()): string {
  const ago = /^(\d{1,9})(s|m|h|d)$/.exec(text);
  if (ago !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as "s"];
    return new Date(now.getTime() - Number(ago[1]) * unit).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const t = Date.parse(text.replace(" ", "T"));
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw new UsageError(
    `invalid --since "${text}": expected an ISO 8601 date or time (2026-11-26, 2026-11-26T10:00) or a duration ago (30m, 2h, 7d)`,
    HISTORY_USAGE,
  );
}

/** How many triggers the FIRED column names before it counts the rest: `show` lists all. */
const FIRED_SHOWN = 2;

/** The FIRED column: `-`, the first triggers, then `+N` for the rest (`show CRASH` has all). */
function firedText(fired: string[]): string {
  if (fired.length === 0) return "-";
  const shown = fired.slice(0, FIRED_SHOWN).join(",");
  return fired.length > FIRED_SHOWN ? `${shown} +${fired.length - FIRED_SHOWN}` : shown;
}

/** Render crashes as `history` lines. */
export function historyLines(crashes: CrashRecord[]): string[] {
  const rows = [["TIME", "PID", "UID", "SIG", "EXEC", "FIRED", "OUTCOME", "SNAPSHOT", "CORE"]];
  for (const c of crashes) {
    // Every string from the crash is escaped: none reaches the terminal as a control.
    const fired = firedText(c.results.map((r) => `${escaped(r.trigger)}:${escaped(r.outcome)}`));
    const snapshots = c.results.flatMap((r) =>
      r.snapshot === undefined ? [] : [escaped(r.snapshot) + (r.removed ? " (removed)" : "")]
    );
    const reasons = c.results.filter((r) => r.outcome === "failed").map((r) =>
      escaped(r.reason ?? "")
    );
    rows.push([
      escaped(shortTime(c.time)),
      String(c.pid),
      String(c.uid),
      c.signal === undefined ? "-" : signalName(c.signal).replace(/^SIG/, ""),
      escaped(c.execName),
      fired,
      escaped(c.outcome) + (c.chain === undefined ? "" : ` (${chainHistoryText(c.chain)})`),
      snapshots.join(",") ||
      (reasons.length > 0
        ? `(${reasons.join("; ")})`
        : c.outcome === "missed"
        ? "(no daemon ran: no trigger fired)"
        : "-"),
      c.core === undefined
        ? "-"
        : c.core.kept
        ? escaped(c.core.path ?? "-")
        : `(${escaped(c.core.reason ?? "")})`,
    ]);
  }
  return table(rows);
}

/** Render signature groups as `history --by-signature` lines. */
export function signatureLines(groups: SignatureGroup[]): string[] {
  const rows = [["COUNT", "FIRST", "LAST", "EXAMPLE", "EXEC", "FUNCTION", "SIGNATURE"]];
  for (const g of groups) {
    rows.push([
      String(g.count),
      escaped(shortTime(g.first)),
      escaped(shortTime(g.last)),
      String(g.example),
      escaped(g.execName),
      g.function === undefined ? "-" : escaped(g.function),
      escaped(g.signature),
    ]);
  }
  return table(rows);
}

/** Run `history`. */
export async function historyCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(HISTORY_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, HISTORY_USAGE);
  }
  const limit = parseCount(values.lines, "--lines", HISTORY_USAGE);
  if (values.exec === "") throw new UsageError("--exec needs a glob", HISTORY_USAGE);
  const request = {
    limit,
    ...(values.exec === undefined ? {} : { exec: values.exec }),
    ...(values.since === undefined ? {} : { since: parseSince(values.since) }),
    ...(values["by-signature"] ? { bySignature: true } : {}),
  };
  const reply = await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).history(
    request,
  );
  if (values["by-signature"]) {
    const groups = reply.signatures ?? [];
    if (values.json) ctx.io.out(jsonLine({ signatures: groups }));
    else if (groups.length === 0) ctx.io.err("No crash signatures recorded.");
    else for (const line of signatureLines(groups)) ctx.io.out(line);
    return groups.length === 0 ? 1 : 0;
  }
  if (values.json) {
    ctx.io.out(jsonLine(reply));
    return reply.crashes.length === 0 ? 1 : 0;
  }
  if (reply.crashes.length === 0) {
    // Not an error: a note and exit 1, as coredumpctl says "No coredumps found."
    const filtered = values.exec !== undefined || values.since !== undefined;
    ctx.io.err(filtered ? "No crashes match." : "No crashes recorded.");
    return 1;
  }
  for (const line of historyLines(reply.crashes)) ctx.io.out(line);
  return 0;
}
