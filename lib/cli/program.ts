/**
 * The whole command line of lttng-trig, as the registry declares it: the program's own
 * options and every command, its spec with what runs it. Help, completion, man pages and
 * the dispatch are made from it.
 *
 * @module
 */
import { NOTIFY_SPEC } from "../notify/help.ts";
import type { CommandSpec, ProgramSpec } from "../core/registry.ts";
import type { CommandContext } from "./common.ts";
import { COMPLETIONS_SPEC, completionsCommand } from "./completions.ts";
import { DAEMON_SPEC, daemonCommand } from "./daemon.ts";
import { HELP_SPEC, helpCommand } from "./help.ts";
import { HISTORY_SPEC, historyCommand } from "./history.ts";
import { installCommand } from "./install.ts";
import { INSTALL_SPEC } from "./install_args.ts";
import { UNINSTALL_SPEC, uninstallCommand } from "./uninstall.ts";
import { LIST_SPEC, listCommand, REMOVE_SPEC, removeCommand } from "./list.ts";
import { setCommand } from "./set.ts";
import { SET_SPEC } from "./set_args.ts";
import { SHOW_SPEC, showCommand } from "./show.ts";
import { STATUS_SPEC, statusCommand } from "./status.ts";
import { WATCH_SPEC, watchCommand } from "./watch.ts";
import { VERSION } from "./version.ts";

/** A command: its spec (parsing, help, completion, man page) and what runs it. */
export interface Command {
  /** What it declares. */
  readonly spec: CommandSpec;
  /** Run it on its arguments (after the command's name); resolves to the exit code. */
  run(argv: string[], ctx: CommandContext): Promise<number>;
}

/**
 * Every command, in the order `--help` lists them: the one list, which
 * {@linkcode PROGRAM}'s commands, the dispatch (main.ts), completion and man pages read.
 */
export const COMMANDS: readonly Command[] = [
  { spec: DAEMON_SPEC, run: daemonCommand },
  { spec: SET_SPEC, run: setCommand },
  { spec: LIST_SPEC, run: listCommand },
  { spec: REMOVE_SPEC, run: removeCommand },
  { spec: HISTORY_SPEC, run: historyCommand },
  { spec: SHOW_SPEC, run: showCommand },
  { spec: WATCH_SPEC, run: watchCommand },
  { spec: STATUS_SPEC, run: statusCommand },
  { spec: INSTALL_SPEC, run: installCommand },
  { spec: UNINSTALL_SPEC, run: uninstallCommand },
  { spec: COMPLETIONS_SPEC, run: (argv, ctx) => completionsCommand(argv, ctx, PROGRAM) },
  // Loaded when run: the notifier's modules are not the CLI's.
  { spec: NOTIFY_SPEC, run: async (argv) => (await import("../notify/cli.ts")).notifyMain(argv) },
  { spec: HELP_SPEC, run: (argv, ctx) => helpCommand(argv, ctx, PROGRAM) },
];

/** lttng-trig: its options and commands, in the order `--help` lists them. */
export const PROGRAM: ProgramSpec = {
  name: "lttng-trig",
  version: VERSION,
  summary: "crash-triggered flight recording for LTTng",
  description: [
    "Crash-triggered flight recording for LTTng: when a process dumps core, snapshot (or stop) the LTTng recording sessions that asked for it, in time to keep the events that explain the crash.",
    "The kernel runs the notifier (lttng-trig notify) from /proc/sys/kernel/core_pattern, which lttng-trig install sets; the notifier tells the daemon (lttng-trig daemon), which runs the actions of the triggers that match (lttng-trig set) while the crashed process is held.",
  ],
  options: [
    {
      name: "help",
      short: "h",
      type: "boolean",
      help: "Show this help.",
      examples: ["lttng-trig --help"],
    },
    {
      name: "version",
      short: "V",
      type: "boolean",
      help: "Show the version.",
      examples: ["lttng-trig --version"],
    },
  ],
  commands: COMMANDS.map((c) => c.spec),
  exitStatus: [[0, "success"], [1, "the command failed"], [2, "usage error"]],
  files: [
    {
      path: "/var/run/lttng",
      help: "RUN_DIR of root: the daemon's sockets ($LTTNG_HOME/.lttng for other users).",
    },
    {
      path: "/var/lib/lttng-trig",
      help:
        "STATE_DIR of root: triggers and crash history (lttng-trig.db), the notifier's journal (notifier.log), what install remembered (install.json).",
    },
    { path: "/proc/sys/kernel/core_pattern", help: "Where install puts the notifier." },
  ],
  environment: [
    [
      "HOME",
      "A user's home: their run directory, state directory and .lttngrc are under it, unless LTTNG_HOME is set.",
    ],
    ["LTTNG_HOME", "Replaces HOME for the run directory, state directory and .lttngrc."],
    ["LTTNG_RUNDIR", "The run directory, when --run-dir is not given."],
    [
      "LTTNG_TRIG_DEBUG",
      "When set, the notifier prints its run (replies, failures) as JSON on stderr.",
    ],
  ],
  seeAlso: ["lttng(1)", "lttng-snapshot(1)", "lttng-sessiond(8)", "core(5)"],
};

/** The command `name`, if there is one. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.spec.name === name);
}
