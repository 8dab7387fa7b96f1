/**
 * The CLI: dispatches a subcommand, turns errors into `Error: ...` and an exit code.
 * Each command owns its usage and help in its own module.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { NOTIFY_HELP } from "../notify/help.ts";
import { type CommandContext, defaultContext } from "./common.ts";
import { SET_HELP, setCommand } from "./set.ts";
import { LIST_HELP, listCommand, REMOVE_HELP, removeCommand } from "./list.ts";
import { HISTORY_HELP, historyCommand } from "./history.ts";
import { DAEMON_HELP, daemonCommand } from "./daemon.ts";
import { INSTALL_HELP, installCommand, UNINSTALL_HELP, uninstallCommand } from "./install.ts";
import { STATUS_HELP, statusCommand } from "./status.ts";
import { COMPLETIONS_HELP, completionsCommand } from "./completions.ts";
import { SHOW_HELP, showCommand } from "./show.ts";
import { WATCH_HELP, watchCommand } from "./watch.ts";

/** The project's version. */
export const VERSION = "0.1.0";

const MAIN_HELP = `Usage: lttng-trig COMMAND [OPTIONS]

Crash-triggered flight recording for LTTng: when a process dumps core, snapshot (or
stop) the LTTng sessions that asked for it, in time to keep the events that explain
the crash.

Commands:
  daemon     Run the trigger daemon.
  set        Add a trigger:  lttng-trig set -s mysession OnAnyCoreDump snapshot
  list       List triggers.
  remove     Remove a trigger by name.
  history    List the crashes received and what they fired.
  show       One crash in full, with the crashed process's last events.
  watch      Follow crashes and action outcomes as they happen.
  status     Is lttng-trig installed, does the daemon answer, what happened last.
  install    Point /proc/sys/kernel/core_pattern at the notifier (remembers the old one).
  uninstall  Restore the core_pattern that install replaced.
  completions  Print a bash completion script:  lttng-trig completions bash
  notify     The core dump notifier (run by the kernel from core_pattern).

Run 'lttng-trig COMMAND --help' for a command's options.

Options:
  -h, --help     Show this help.
  -V, --version  Show the version.
`;

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  daemon: { run: daemonCommand, help: DAEMON_HELP },
  set: { run: setCommand, help: SET_HELP },
  list: { run: listCommand, help: LIST_HELP },
  remove: { run: removeCommand, help: REMOVE_HELP },
  history: { run: historyCommand, help: HISTORY_HELP },
  show: { run: showCommand, help: SHOW_HELP },
  watch: { run: watchCommand, help: WATCH_HELP },
  status: { run: statusCommand, help: STATUS_HELP },
  install: { run: installCommand, help: INSTALL_HELP },
  uninstall: { run: uninstallCommand, help: UNINSTALL_HELP },
  completions: { run: completionsCommand, help: COMPLETIONS_HELP },
  notify: {
    run: async (argv) => (await import("../notify/cli.ts")).notifyMain(argv),
    help: NOTIFY_HELP,
  },
};

/** Run the CLI on `argv`; resolves to the exit code. Never exits the process itself. */
export async function runCli(argv: string[], ctx = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined) {
      ctx.io.out(COMMANDS[topic].help.trimEnd());
      return 0;
    }
    if (topic !== undefined) {
      ctx.io.err(`Error: unknown command "${topic}"`);
      ctx.io.err("Usage: lttng-trig help [COMMAND] (see 'lttng-trig --help')");
      return 2;
    }
    (name === undefined ? ctx.io.err : ctx.io.out)(MAIN_HELP.trimEnd());
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version") {
    ctx.io.out(`lttng-trig ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    ctx.io.err(`Error: unknown command "${name}"`);
    ctx.io.err("Usage: lttng-trig COMMAND [OPTIONS] (see 'lttng-trig --help')");
    return 2;
  }
  // The notifier's arguments are data (an exec name may be "--help").
  if (name !== "notify" && (rest.includes("-h") || rest.includes("--help"))) {
    ctx.io.out(command.help.trimEnd());
    return 0;
  }
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.io.err(`Error: ${err.message}`);
      if (err.usage) ctx.io.err(`Usage: ${err.usage}`);
      return 2;
    }
    // CommandError, StoreError, DaemonStartError and the rest: their message, exit 1.
    ctx.io.err(`Error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
