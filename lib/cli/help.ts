/**
 * `lttng-trig help [COMMAND]`: the help of a command, or of the program.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import {
  type CommandSpec,
  type ProgramSpec,
  renderHelp,
  renderProgramHelp,
} from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";
import type { CommandContext } from "./common.ts";

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

/** Run `help` on `program`'s commands: the help of COMMAND, or of the program. */
export function helpCommand(
  argv: string[],
  ctx: CommandContext,
  program: ProgramSpec,
): Promise<number> {
  const { positionals } = parse(HELP_SPEC, argv);
  const topic = positionals[0];
  if (topic === undefined) {
    ctx.io.out(renderProgramHelp(program).trimEnd());
    return Promise.resolve(0);
  }
  const spec = program.commands.find((c) => c.name === topic);
  if (spec === undefined) {
    throw new UsageError(
      `unknown command "${topic}"`,
      "lttng-trig help [COMMAND] (see 'lttng-trig --help')",
    );
  }
  ctx.io.out(renderHelp(spec).trimEnd());
  return Promise.resolve(0);
}
