/**
 * The CLI: dispatches a subcommand, turns errors into `Error: ...` and an exit code.
 * Each command declares its options once, in its spec (`lib/core/registry.ts`); help is made
 * from it.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { type CommandContext, defaultContext } from "./common.ts";
import { parse, renderHelp, renderProgramHelp } from "../core/registry.ts";
import { commandSpec, HELP_SPEC, PROGRAM } from "./program.ts";
import { VERSION } from "./version.ts";
import { setCommand } from "./set.ts";
import { listCommand, removeCommand } from "./list.ts";
import { historyCommand } from "./history.ts";
import { daemonCommand } from "./daemon.ts";
import { installCommand, uninstallCommand } from "./install.ts";
import { statusCommand } from "./status.ts";
import { completionsCommand } from "./completions.ts";
import { showCommand } from "./show.ts";
import { watchCommand } from "./watch.ts";

export { VERSION };

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  daemon: daemonCommand,
  set: setCommand,
  list: listCommand,
  remove: removeCommand,
  history: historyCommand,
  show: showCommand,
  watch: watchCommand,
  status: statusCommand,
  install: installCommand,
  uninstall: uninstallCommand,
  completions: (argv, ctx) => completionsCommand(argv, ctx, PROGRAM),
  // `notify` is not here: main.ts runs it (lib/notify/cli.ts) without loading the CLI.
  help: helpCommand,
};

/** `help [COMMAND]`: the help of COMMAND, or of the program. */
function helpCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parse(HELP_SPEC, argv);
  const topic = positionals[0];
  if (topic === undefined) {
    ctx.io.out(renderProgramHelp(PROGRAM).trimEnd());
    return Promise.resolve(0);
  }
  const spec = commandSpec(topic);
  if (spec === undefined) {
    throw new UsageError(
      `unknown command "${topic}"`,
      "lttng-trig help [COMMAND] (see 'lttng-trig --help')",
    );
  }
  ctx.io.out(renderHelp(spec).trimEnd());
  return Promise.resolve(0);
}

/**
 * Run the CLI on `argv`; resolves to the exit code. Never exits the process itself.
 * `notify` never comes here: main.ts dispatches it.
 */
export async function runCli(argv: string[], ctx = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help") {
    (name === undefined ? ctx.io.err : ctx.io.out)(renderProgramHelp(PROGRAM).trimEnd());
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version") {
    ctx.io.out(`lttng-trig ${VERSION}`);
    return 0;
  }
  const spec = commandSpec(name);
  const command = COMMANDS[name];
  if (spec === undefined || command === undefined) {
    ctx.io.err(`Error: unknown command "${name}"`);
    ctx.io.err("Usage: lttng-trig COMMAND [OPTIONS] (see 'lttng-trig --help')");
    return 2;
  }
  // A command whose arguments are data (rawArgs) takes no --help of its own.
  if (!spec.rawArgs && (rest.includes("-h") || rest.includes("--help"))) {
    ctx.io.out(renderHelp(spec).trimEnd());
    return 0;
  }
  try {
    return await command(rest, ctx);
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
