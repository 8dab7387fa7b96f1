/**
 * `lttng-trig status`.
 *
 * @module
 */
import { CommandError } from "../errors.ts";
import type { CommandContext } from "./common.ts";

/** Usage line of `status`. */
export const STATUS_USAGE = "lttng-trig status [--json] [--run-dir=DIR] [--state-dir=DIR]";

/** Help of `status`. */
export const STATUS_HELP = `Usage: ${STATUS_USAGE}

(not implemented yet)
`;

/** Run `status`. */
export function statusCommand(_argv: string[], _ctx: CommandContext): Promise<number> {
  return Promise.reject(new CommandError("status is not implemented yet"));
}
