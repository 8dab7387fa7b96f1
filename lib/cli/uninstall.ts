/**
 * `lttng-trig uninstall`: give /proc/sys/kernel/core_pattern and core_pipe_limit back,
 * exactly the bytes `install` remembered in STATE_DIR/install.json, read back to check
 * them.
 *
 * @module
 */
import { CommandError, UsageError } from "../core/errors.ts";
import { NOTIFIER_CONFIG_NAME, resolveStateDir } from "../core/paths.ts";
import type { CommandContext } from "./common.ts";
import { type CommandSpec, HELP_OPTION, usageLine } from "../core/registry.ts";
import { parse } from "../core/option_parser.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  defaultKernelFiles,
  readKernelFile,
  sameBytes,
  withoutNewline,
  writeKernelFile,
} from "../install/kernel_files.ts";
import { classifyCorePattern, quotePattern } from "../install/pattern.ts";
import {
  installStatePath,
  previousPatternBytes,
  readInstallState,
  removeInstallState,
} from "../install/state.ts";
import { type InstallCommandOptions, requireRoot } from "./install.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `uninstall`'s options and arguments. */
export const UNINSTALL_SPEC = {
  name: "uninstall",
  summary: "Restore the core_pattern that install replaced",
  description: [
    `Give /proc/sys/kernel/core_pattern back: write the core_pattern and core_pipe_limit that 'lttng-trig install' remembered in STATE_DIR/install.json, exactly as they were, check them by reading them back, and forget them (remove install.json, and ${NOTIFIER_CONFIG_NAME} beside it). Needs root.`,
    "If core_pattern no longer runs lttng-trig (someone changed it since install), uninstall refuses to overwrite it unless --force.",
  ],
  positionals: [],
  options: [
    {
      name: "force",
      type: "boolean",
      help: "Restore the remembered values even though core_pattern was changed since install.",
      examples: ["lttng-trig uninstall --force"],
    },
    {
      name: "state-dir",
      type: "string",
      value: "DIR",
      help: "The state directory install used (/var/lib/lttng-trig for root).",
      examples: ["lttng-trig uninstall --state-dir=/srv/lttng-trig"],
      complete: "dirs",
    },
    HELP_OPTION,
  ],
  exitStatus: [[0, "restored"], [1, "not installed, refused or failed"], [2, "usage error"]],
  files: [
    { path: "/proc/sys/kernel/core_pattern", help: "What the kernel does with a core dump." },
    { path: "STATE_DIR/install.json", help: "What install remembered." },
    { path: `STATE_DIR/${NOTIFIER_CONFIG_NAME}`, help: "What install told the notifier." },
  ],
  seeAlso: ["lttng-trig-install(1)"],
} as const satisfies CommandSpec;

/** Usage line of `uninstall`. */
export const UNINSTALL_USAGE = usageLine(UNINSTALL_SPEC);

/** Run `uninstall`; `options` are injected by tests. */
export async function uninstallCommand(
  argv: string[],
  ctx: CommandContext,
  options: InstallCommandOptions = {},
): Promise<number> {
  const { values, positionals } = parse(UNINSTALL_SPEC, argv);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, UNINSTALL_USAGE);
  }
  requireRoot(ctx.env.uid, "uninstall");
  const kernel = options.kernel ?? defaultKernelFiles;
  const owners = options.trustedOwners ?? [0];
  const stateDir = resolveStateDir(ctx.env, values["state-dir"]);
  const statePath = installStatePath(stateDir);
  const state = await readInstallState(stateDir, { trustedOwners: owners });
  const current = decoder.decode(await readKernelFile(kernel, CORE_PATTERN_PATH));
  const kind = classifyCorePattern(current);
  if (state === undefined) {
    throw new CommandError(
      `lttng-trig is not installed (no ${statePath})${
        kind.kind === "ours"
          ? `: core_pattern runs lttng-trig, but not by 'lttng-trig install' with this state directory: write the pattern you want to ${CORE_PATTERN_PATH}, or pass the --state-dir that install used`
          : ""
      }`,
    );
  }
  const previous = previousPatternBytes(state);
  const shownPrevious = quotePattern(state.previous.corePattern);
  if (kind.kind !== "ours" && !values.force) {
    throw new CommandError(
      `core_pattern no longer runs lttng-trig: it is ${
        quotePattern(current)
      } (changed since the install of ${state.installedAt}): pass --force to restore ${shownPrevious} anyway, or remove ${statePath} to forget it`,
    );
  }

  await writeKernelFile(kernel, CORE_PATTERN_PATH, withoutNewline(previous));
  const back = await readKernelFile(kernel, CORE_PATTERN_PATH);
  if (!sameBytes(back, previous)) {
    throw new CommandError(
      `core_pattern reads back as ${
        quotePattern(decoder.decode(back))
      } instead of ${shownPrevious}: ${statePath} is kept`,
    );
  }
  const limitText = state.previous.corePipeLimit.trim();
  await writeKernelFile(kernel, CORE_PIPE_LIMIT_PATH, encoder.encode(limitText));
  const backLimit = decoder.decode(await readKernelFile(kernel, CORE_PIPE_LIMIT_PATH)).trim();
  if (backLimit !== limitText) {
    throw new CommandError(
      `core_pipe_limit reads back as ${backLimit} instead of ${limitText}: ${statePath} is kept`,
    );
  }
  try {
    await removeInstallState(stateDir);
  } catch (err) {
    throw new CommandError(`core_pattern is restored, but ${(err as Error).message}`, {
      cause: err,
    });
  }
  ctx.io.out(
    `Uninstalled: core_pattern is back to ${shownPrevious}, core_pipe_limit to ${limitText}.`,
  );
  return 0;
}
