/**
 * `lttng-trig completions bash`.
 *
 * @module
 */
import { CommandError } from "../errors.ts";
import type { CommandContext } from "./common.ts";

/** Usage line of `completions`. */
export const COMPLETIONS_USAGE = "lttng-trig completions bash";

/** Help of `completions`. */
export const COMPLETIONS_HELP = `Usage: ${COMPLETIONS_USAGE}

(not implemented yet)
`;

/** Run `completions`. */
export function completionsCommand(_argv: string[], _ctx: CommandContext): Promise<number> {
  return Promise.reject(new CommandError("completions is not implemented yet"));
}
