/**
 * `lttng-trig watch`: crashes and action outcomes as they happen.
 *
 * @module
 */
import { chainShowText } from "./chain_fate.ts";
import { UsageError } from "../core/errors.ts";
import { signalName } from "../core/signals.ts";
import { ControlClient } from "../client/client.ts";
import type { WatchEvent } from "../protocol/watch.ts";
import { controlSocketPath } from "../core/paths.ts";
import {
  type CommandContext,
  COMMON_HELP_OPTION,
  CONTROL_SOCKET_FILE,
  escaped,
  jsonLine,
  quoted,
  runDirOption,
} from "./common.ts";
import { type CommandSpec, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";

/** `watch`'s options and arguments. */
export const WATCH_SPEC = {
  name: "watch",
  summary: "Follow crashes and action outcomes as they happen",
  description: [
    "Follow the lttng-trig daemon: print one line when a crash arrives, one when its actions have finished (with each trigger's outcome and the snapshot), one when its core is kept, one when its crash report is ready (with the crashing thread's innermost function and the crash's signature, which groups the crashes at one site: see history --by-signature), and under 'install --chain' one when the chained crash handler has ended, until interrupted (Ctrl-C). Like LTTng's notification channel, for crashes:",
    '  2026-11-26T10:00:00.123Z crash   pid 4242 uid 1000 exec "nginx" signal SIGSEGV\n  2026-11-26T10:00:00.141Z outcome pid 4242 ok: web-crash ok /var/crash/core-nginx-4242-...\n  2026-11-26T10:00:01.020Z report  pid 4242 ready in ngx_http_parse (nginx+0x5a1f3)',
  ],
  positionals: [],
  options: [
    {
      name: "json",
      type: "boolean",
      help:
        "Print one JSON object per line (type: crash, outcome, report, chain, heartbeat, dropped), for scripts.",
      examples: ["lttng-trig watch --json | jq ."],
    },
    runDirOption("watch"),
    COMMON_HELP_OPTION,
  ],
  exitStatus: [[0, "interrupted"], [1, "the daemon stops or cannot be reached"], [
    2,
    "usage error",
  ]],
  files: [CONTROL_SOCKET_FILE],
  seeAlso: ["lttng-trig-history(1)", "lttng-trig-show(1)"],
} as const satisfies CommandSpec;

/** Usage line of `watch`. */
export const WATCH_USAGE = usageLine(WATCH_SPEC);

/** One line for an event, or undefined for events without a line (heartbeats). */
export function watchLine(e: WatchEvent): string | undefined {
  const now = new Date().toISOString();
  if (e.type === "crash") {
    const sig = typeof e.signal === "number" ? ` signal ${signalName(e.signal)}` : "";
    // Every string from the crash is escaped: none reaches the terminal as a control.
    return `${
      e.time === undefined ? now : escaped(e.time)
    } crash   pid ${e.pid} uid ${e.uid} exec ${quoted(e.execName)}${sig} (${escaped(e.source)})`;
  }
  if (e.type === "outcome") {
    const results = e.results.map((r) =>
      `${escaped(r.trigger)} ${escaped(r.outcome)}${r.snapshot ? ` ${escaped(r.snapshot)}` : ""}${
        r.reason ? ` (${escaped(r.reason)})` : ""
      }`
    ).join("; ");
    return `${now} outcome pid ${e.pid} ${escaped(e.outcome)}${results ? `: ${results}` : ""}${
      e.signature ? ` signature ${escaped(e.signature)}` : ""
    }`;
  }
  if (e.type === "chain") {
    return `${escaped(e.time)} chain   pid ${e.pid} ${escaped(e.chain.outcome)}: ${
      chainShowText(e.chain)
    }`;
  }
  if (e.type === "report") {
    // The function and module names come from the crashed program's files: escaped.
    const f = e.frame;
    const where = f === undefined
      ? ""
      : ` in ${escaped(f.function ?? "??")}${
        f.module === undefined
          ? ""
          : ` (${escaped(f.module)}${f.offset === undefined ? "" : `+${escaped(f.offset)}`})`
      }`;
    return `${now} report  pid ${e.pid} ${e.state}${where}${
      e.reason ? ` (${escaped(e.reason)})` : ""
    }${e.signature ? ` signature ${escaped(e.signature)}` : ""}`;
  }
  if (e.type === "dropped") return `${now} (${e.count} events dropped: this watcher was slow)`;
  return undefined;
}

/** Run `watch`; resolves on SIGINT/SIGTERM. */
export async function watchCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(WATCH_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, WATCH_USAGE);
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await new ControlClient(controlSocketPath(ctx.env, values["run-dir"])).watch((event) => {
      if (values.json) {
        if (event.type !== "watching") ctx.io.out(jsonLine(event));
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
