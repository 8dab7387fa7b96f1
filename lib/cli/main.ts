/**
 * The CLI: dispatches a subcommand, turns errors into `Error: ...` and an exit code.
 * Each command declares its options once, in its spec (`lib/core/registry.ts`); help is made
 * from it.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { defaultContext } from "./common.ts";
import { renderHelp, renderProgramHelp } from "../core/registry.ts";
import { findCommand, PROGRAM } from "./program.ts";
import { VERSION } from "./version.ts";

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
  const command = findCommand(name);
  if (command === undefined) {
    ctx.io.err(`Error: unknown command "${name}"`);
    ctx.io.err("Usage: lttng-trig COMMAND [OPTIONS] (see 'lttng-trig --help')");
    return 2;
  }
  // The notifier's arguments are data (an exec name may be "--help").
  if (!command.spec.rawArgs && (rest.includes("-h") || rest.includes("--help"))) {
    ctx.io.out(renderHelp(command.spec).trimEnd());
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
