/**
 * `lttng-trig set`: add a trigger, and warn of what would keep it from acting. Its options
 * and their parsing are in set_args.ts.
 *
 * @module
 */
import { ControlClient } from "../client/client.ts";
import type { CommandContext } from "./common.ts";
import { controlSocketPath } from "../core/paths.ts";
import { defaultKernelFiles, type KernelFiles } from "../install/kernel_files.ts";
import { contextWarnings, patternWarnings, withRootDaemonHint } from "./newcomer.ts";
import { parseSetArgs } from "./set_args.ts";

/** Run `set`; `kernel` (core_pattern, for the filters' warnings) is injected by tests. */
export async function setCommand(
  argv: string[],
  ctx: CommandContext,
  kernel: KernelFiles = defaultKernelFiles,
): Promise<number> {
  const { spec, runDir, currentSession } = await parseSetArgs(argv, ctx);
  const reply = await withRootDaemonHint(
    ctx,
    runDir,
    () => new ControlClient(controlSocketPath(ctx.env, runDir)).set(spec),
  );
  const warnings = [
    ...reply.warnings,
    ...await patternWarnings(spec, kernel),
    ...await contextWarnings(spec),
  ];
  for (const w of warnings) ctx.io.err(`Warning: ${w}`);
  ctx.io.out(
    currentSession
      ? `Added trigger \`${reply.trigger.name}\` on session \`${spec.session}\` (the current session).`
      : `Added trigger \`${reply.trigger.name}\`.`,
  );
  return 0;
}
