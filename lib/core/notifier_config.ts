/**
 * STATE_DIR/notifier.json: what the notifier needs on a crash beyond its command line,
 * in a file of its own. `install` writes it beside install.json (lib/install/state.ts),
 * `uninstall` removes it, and the notifier reads it only when its pattern carries
 * `--chain=` (lib/notify/chain.ts). Today that is the chained crash handler.
 *
 * ```json
 * { "version": 1, "chain": { "program": "/lib/systemd/systemd-coredump", ... } }
 * ```
 *
 * @module
 */

/** A chained crash handler (`install --chain`), in notifier.json and install.json. */
export interface ChainState {
  /** The program, as the previous pattern names it. */
  program: string;
  /** The previous pattern's command: its text after `|`, expanded on each crash. */
  command: string;
  /** The specifiers `command` uses (as lib/core/core_specifiers.ts specifiersUsed). */
  specifiers: string;
  /** How long the chained handler may hold the crash, in ms, before it is killed. */
  timeoutMs: number;
}

/** STATE_DIR/notifier.json. */
export interface NotifierConfig {
  /** Format version. */
  version: 1;
  /** The crash handler the notifier runs after its own actions, when one is chained. */
  chain?: ChainState;
}

/** Is `v` a {@linkcode ChainState}: every field there, a positive timeout? */
export function isChainState(v: unknown): v is ChainState {
  const c = v as ChainState | null;
  return typeof c === "object" && c !== null && typeof c.program === "string" &&
    typeof c.command === "string" && typeof c.specifiers === "string" &&
    Number.isSafeInteger(c.timeoutMs) && c.timeoutMs > 0;
}

/**
 * Is `v` a {@linkcode NotifierConfig}?
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNotifierConfig } from "./notifier_config.ts";
 *
 * assert.ok(isNotifierConfig({ version: 1 }));
 * assert.ok(!isNotifierConfig({ version: 1, chain: { program: "/x" } }));
 * ```
 */
export function isNotifierConfig(v: unknown): v is NotifierConfig {
  const c = v as NotifierConfig | null;
  return typeof c === "object" && c !== null && c.version === 1 &&
    (c.chain === undefined || isChainState(c.chain));
}
