/**
 * The whole command line of lttng-trig, as the registry declares it: the program's own
 * options and every command's spec. Help, completion and man pages are made from it.
 *
 * @module
 */
import { NOTIFY_SPEC } from "../notify/help.ts";
import type { CommandSpec, ProgramSpec } from "../core/registry.ts";
import { COMPLETIONS_SPEC } from "./completions.ts";
import { DAEMON_SPEC } from "./daemon.ts";
import { HISTORY_SPEC } from "./history.ts";
import { INSTALL_SPEC, UNINSTALL_SPEC } from "./install_args.ts";
import { LIST_SPEC, REMOVE_SPEC } from "./list.ts";
import { SET_SPEC } from "./set.ts";
import { SHOW_SPEC } from "./show.ts";
import { STATUS_SPEC } from "./status.ts";
import { WATCH_SPEC } from "./watch.ts";
import { VERSION } from "./version.ts";

/** `help`'s options and arguments. */
export const HELP_SPEC = {
  name: "help",
  summary: "Show the help of lttng-trig or of a command",
  description: [
    "Show the help of COMMAND, as 'lttng-trig COMMAND --help' does, or without COMMAND the list of commands, as 'lttng-trig --help' does.",
  ],
  positionals: [{
    name: "COMMAND",
    help: "The command whose help to show.",
    complete: "commands",
    optional: true,
  }],
  options: [{
    name: "help",
    short: "h",
    type: "boolean",
    help: "Show this help and exit.",
  }],
  examples: [{ text: "The options of set:", commands: ["lttng-trig help set"] }],
  exitStatus: [[0, "shown"], [2, "unknown command"]],
} as const satisfies CommandSpec;

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
  commands: [
    DAEMON_SPEC,
    SET_SPEC,
    LIST_SPEC,
    REMOVE_SPEC,
    HISTORY_SPEC,
    SHOW_SPEC,
    WATCH_SPEC,
    STATUS_SPEC,
    INSTALL_SPEC,
    UNINSTALL_SPEC,
    COMPLETIONS_SPEC,
    NOTIFY_SPEC,
    HELP_SPEC,
  ],
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

/** The spec of command `name`, if there is one. */
export function commandSpec(name: string): CommandSpec | undefined {
  return PROGRAM.commands.find((c) => c.name === name);
}
