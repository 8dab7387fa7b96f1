/**
 * `lttng-trig install` and `lttng-trig uninstall`: take over and give back
 * /proc/sys/kernel/core_pattern.
 *
 * @module
 */
import { CommandError } from "../errors.ts";
import type { CommandContext } from "./common.ts";

/** Usage line of `install`. */
export const INSTALL_USAGE = "lttng-trig install [--force] [--facts] [--core-dir=DIR]";

/** Help of `install`. */
export const INSTALL_HELP = `Usage: ${INSTALL_USAGE}

(not implemented yet)
`;

/** Usage line of `uninstall`. */
export const UNINSTALL_USAGE = "lttng-trig uninstall";

/** Help of `uninstall`. */
export const UNINSTALL_HELP = `Usage: ${UNINSTALL_USAGE}

(not implemented yet)
`;

/** Run `install`. */
export function installCommand(_argv: string[], _ctx: CommandContext): Promise<number> {
  return Promise.reject(new CommandError("install is not implemented yet"));
}

/** Run `uninstall`. */
export function uninstallCommand(_argv: string[], _ctx: CommandContext): Promise<number> {
  return Promise.reject(new CommandError("uninstall is not implemented yet"));
}
