/**
 * `lttng-trig history`: the crashes the daemon received.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { CrashRecord } from "../store/trigger_store.ts";
import { ControlCommand } from "../wire/control.ts";
import { controlRequest } from "../client/client.ts";
import {
  CLIENT_OPTIONS,
  type CommandContext,
  controlSocketPath,
  parseCommandArgs,
  parseCount,
  table,
} from "./common.ts";

/** Usage line of `history`. */
export const HISTORY_USAGE = "lttng-trig history [--json] [-n N] [--run-dir=DIR]";

/** Help of `history`. */
export const HISTORY_HELP = `Usage: ${HISTORY_USAGE}

One line per crash the daemon received, oldest first: time, pid, uid, exec name, the
triggers it fired, the outcome, and where the snapshot is.

Outcomes: ok (every fired action succeeded), failed (see the reason with --json),
no-trigger (no trigger matched), skipped (rate policy), pending (actions running),
interrupted (the daemon stopped before they finished).

Options:
  -n, --lines=N       Show the N newest crashes (default 50).   lttng-trig history -n 10
      --json          One JSON object with a "crashes" array, with every detail.
      --run-dir=DIR   The daemon's run directory.
  -h, --help          Show this help.
`;

/** Render crashes as `history` lines. */
export function historyLines(crashes: CrashRecord[]): string[] {
  const rows = [["TIME", "PID", "UID", "EXEC", "FIRED", "OUTCOME", "SNAPSHOT"]];
  for (const c of crashes) {
    const fired = c.results.map((r) => `${r.trigger}:${r.outcome}`).join(",") || "-";
    const snapshots = c.results.map((r) => r.snapshot).filter((s) => s !== undefined);
    const reasons = c.results.filter((r) => r.outcome === "failed").map((r) => r.reason);
    rows.push([
      c.time.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      String(c.pid),
      String(c.uid),
      JSON.stringify(c.execName).slice(1, -1),
      fired,
      c.outcome,
      snapshots.join(",") || (reasons.length > 0 ? `(${reasons.join("; ")})` : "-"),
    ]);
  }
  return table(rows);
}

/** Run `history`. */
export async function historyCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CLIENT_OPTIONS,
    json: { type: "boolean" },
    lines: { type: "string", short: "n" },
  }, HISTORY_USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, HISTORY_USAGE);
  }
  const limit = values.lines === undefined
    ? 50
    : parseCount(values.lines, "--lines", HISTORY_USAGE);
  const reply = await controlRequest(
    controlSocketPath(ctx.env, values["run-dir"]),
    ControlCommand.HISTORY,
    { limit },
  ) as { crashes: CrashRecord[] };
  if (values.json) {
    ctx.io.out(JSON.stringify(reply));
    return 0;
  }
  if (reply.crashes.length === 0) {
    ctx.io.out("No crashes recorded.");
    return 0;
  }
  for (const line of historyLines(reply.crashes)) ctx.io.out(line);
  return 0;
}
