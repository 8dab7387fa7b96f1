/**
 * `lttng-trig watch`: crashes and action outcomes as they happen.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { TriggerOutcome } from "../protocol/records.ts";
import { signalName } from "../signals.ts";
import { watchDaemon } from "../client/client.ts";
import {
  CLIENT_OPTIONS,
  type CommandContext,
  controlSocketPath,
  parseCommandArgs,
} from "./common.ts";

/** Usage line of `watch`. */
export const WATCH_USAGE = "lttng-trig watch [--json] [--run-dir=DIR]";

/** Help of `watch`. */
export const WATCH_HELP = `Usage: ${WATCH_USAGE}

Follow the daemon: one line when a crash arrives, one when its actions have finished
(with each trigger's outcome and the snapshot), until interrupted (Ctrl-C). Like LTTng's
notification channel, for crashes.
  lttng-trig watch
  2026-11-26T10:00:00.123Z crash   pid 4242 uid 1000 exec "nginx" signal SIGSEGV
  2026-11-26T10:00:00.141Z outcome pid 4242 ok: web-crash ok /var/crash/core-nginx-4242-...

Options:
      --json          One JSON object per line (type: crash, outcome, heartbeat,
                      dropped), for scripts.   lttng-trig watch --json | jq .
      --run-dir=DIR   The daemon's run directory.
  -h, --help          Show this help.

Exit status: 0 when interrupted, 1 when the daemon stops or cannot be reached.
`;

/** One line for an event, or undefined for events without a line (heartbeats). */
export function watchLine(e: Record<string, unknown>): string | undefined {
  const now = new Date().toISOString();
  if (e.type === "crash") {
    const sig = typeof e.signal === "number" ? ` signal ${signalName(e.signal)}` : "";
    return `${e.time ?? now} crash   pid ${e.pid} uid ${e.uid} exec ${
      JSON.stringify(e.execName)
    }${sig} (${e.source})`;
  }
  if (e.type === "outcome") {
    const results = (e.results as TriggerOutcome[]).map((r) =>
      `${r.trigger} ${r.outcome}${r.snapshot ? ` ${r.snapshot}` : ""}${
        r.reason ? ` (${r.reason})` : ""
      }`
    ).join("; ");
    return `${now} outcome pid ${e.pid} ${e.outcome}${results ? `: ${results}` : ""}`;
  }
  if (e.type === "dropped") return `${now} (${e.count} events dropped: this watcher was slow)`;
  return undefined;
}

/** Run `watch`; resolves on SIGINT/SIGTERM. */
export async function watchCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CLIENT_OPTIONS,
    json: { type: "boolean" },
  }, WATCH_USAGE);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, WATCH_USAGE);
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await watchDaemon(controlSocketPath(ctx.env, values["run-dir"]), (event) => {
      if (values.json) {
        if (event.type !== "watching") ctx.io.out(JSON.stringify(event));
        return;
      }
      const line = watchLine(event);
      if (line !== undefined) ctx.io.out(line);
    }, stop.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  return 0;
}
