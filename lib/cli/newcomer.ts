/**
 * What a newcomer needs told beside a command's answer: the root daemon when a user has
 * none of their own, what the installed core_pattern cannot give a trigger's filters, and
 * what `show` will miss in a session's snapshots.
 *
 * @module
 */
import { CommandError, DaemonUnavailableError } from "../core/errors.ts";
import { CONTROL_SOCKET_NAME, ROOT_RUN_DIR } from "../core/paths.ts";
import type { TriggerSpec } from "../core/trigger.ts";
import {
  CORE_PATTERN_PATH,
  defaultKernelFiles,
  type KernelFiles,
} from "../install/kernel_files.ts";
import { unservedFilters } from "../install/pattern.ts";
import { contextProblem, readSavedSession } from "../lttng/session_checks.ts";
import type { CommandContext } from "./common.ts";

/**
 * Run a client request; when a user (not root) finds no daemon of their own, say where the
 * root daemon is and who may use it.
 */
export async function withRootDaemonHint<T>(
  ctx: CommandContext,
  runDir: string | undefined,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (!(err instanceof DaemonUnavailableError) || ctx.env.uid === 0 || runDir !== undefined) {
      throw err;
    }
    throw new CommandError(
      `${err.message}; or use the root daemon with --run-dir=${ROOT_RUN_DIR}: its socket ${ROOT_RUN_DIR}/${CONTROL_SOCKET_NAME} is open to root and group tracing ('sudo usermod -aG tracing $USER', then log in again)`,
      { cause: err },
    );
  }
}

/**
 * What the kernel's core_pattern keeps from `spec`'s filters (nothing when it cannot be
 * read: status says so).
 */
export async function patternWarnings(
  spec: TriggerSpec,
  kernel: KernelFiles = defaultKernelFiles,
): Promise<string[]> {
  let pattern: string;
  try {
    pattern = new TextDecoder().decode(await kernel.read(CORE_PATTERN_PATH));
  } catch {
    return [];
  }
  return unservedFilters(pattern, spec.condition);
}

/** What `show` will miss in the snapshots of a snapshot trigger's session, asked of LTTng. */
export async function contextWarnings(spec: TriggerSpec): Promise<string[]> {
  if (spec.action.type !== "snapshot") return [];
  const saved = await readSavedSession(spec.session);
  const problem = saved === undefined ? undefined : contextProblem(spec.session, saved);
  return problem === undefined ? [] : [problem];
}
