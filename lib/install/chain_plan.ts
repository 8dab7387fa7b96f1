/**
 * What `install --chain` does with the pattern it finds: a pipe handler is chained (kept
 * in install.json and run by the notifier after its actions); a coredump socket cannot
 * be; a core file pattern has nothing to chain. Pure: no file is read here.
 *
 * @module
 */
import { CommandError } from "../core/errors.ts";
import { classifyCorePattern, quotePattern } from "./pattern.ts";
import { pipeCommandOf, programOf, specifiersUsed } from "../core/core_specifiers.ts";
import type { ChainState } from "../core/notifier_config.ts";

/** How long a chained handler may hold a crash unless told otherwise. */
export const DEFAULT_CHAIN_TIMEOUT_MS = 60_000;

/** What `install --chain` does with the handler it replaces. */
export interface ChainPlan {
  /** The handler to chain, when there is one. */
  chain?: ChainState;
  /** A note for the user when there is nothing to chain. */
  note?: string;
}

/** Why a coredump socket handler cannot be chained, for messages. */
export function socketRefusal(pattern: string, handler: string): string {
  return `core_pattern is handled by ${handler} (${
    quotePattern(pattern)
  }): only the kernel can connect to a coredump socket, so lttng-trig cannot pass crashes on to it: pass --force to replace it (uninstall will restore it)`;
}

/**
 * Plan the chain over `previous`, the pattern lttng-trig replaces (as /proc gave it, or
 * as install.json remembered it when lttng-trig is installed already).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planChain } from "./chain_plan.ts";
 *
 * const plan = planChain("|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h\n", 60000);
 * assert.equal(plan.chain?.program, "/lib/systemd/systemd-coredump");
 * assert.equal(plan.chain?.specifiers, "Pugsth");
 * ```
 */
export function planChain(previous: string, timeoutMs: number): ChainPlan {
  const kind = classifyCorePattern(previous);
  const command = pipeCommandOf(previous);
  if (kind.kind === "handler" && command !== undefined) {
    const program = programOf(command);
    if (program === "") {
      throw new CommandError(
        `core_pattern ${
          quotePattern(previous)
        } names no program: nothing to chain: pass --force to replace it`,
      );
    }
    return { chain: { program, command, specifiers: specifiersUsed(command), timeoutMs } };
  }
  if (kind.kind === "handler") throw new CommandError(socketRefusal(previous, kind.handler));
  if (kind.kind === "file") {
    return {
      note: `Nothing to chain: core_pattern ${
        quotePattern(previous)
      } writes core files, which lttng-trig replaces: pass --core-dir=DIR to keep cores`,
    };
  }
  // lttng-trig's own pattern with no remembered handler: nothing to chain.
  return { note: "Nothing to chain: core_pattern ran lttng-trig already" };
}
