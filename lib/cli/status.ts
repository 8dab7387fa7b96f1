/**
 * `lttng-trig status`: is the notifier in core_pattern, does the daemon answer, what are
 * its triggers, and what happened last. What it finds is gathered in status_report.ts and
 * printed by status_lines.ts.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { controlSocketPath, ROOT_STATE_DIR } from "../core/paths.ts";
import { type CommandContext, jsonLine } from "./common.ts";
import { type CommandSpec, HELP_OPTION, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";
import { defaultKernelFiles, type KernelFiles } from "../install/kernel_files.ts";
import { gatherStatus, type StatusOptions } from "./status_report.ts";
import { statusLines } from "./status_lines.ts";

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
