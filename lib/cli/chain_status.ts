/**
 * What `status` says of the chained crash handler (`install --chain`): its pattern,
 * whether its program still exists, and its last run from STATE_DIR/chain.log.
 *
 * @module
 */
import type { InstallState } from "../install/state.ts";
import { type ChainJournalEntry, readChainJournal } from "../notify/chain.ts";
import { chainRunText } from "./chain_fate.ts";
import { escaped, quoted } from "./common.ts";

/** The chained handler, for `status` (and `status --json`). */
export interface ChainStatus {
  /** Its program. */
  program: string;
  /** The pattern it had (text after `|`), expanded on each crash. */
  command: string;
  /** Why the program cannot run (gone, not executable), or `null`. */
  problem: string | null;
  /** Its newest run, from chain.log. */
  lastRun: ChainJournalEntry | null;
}

/** The chained handler install.json names, or `null` when there is none. */
export async function chainStatusOf(
  state: InstallState,
  stateDir: string,
): Promise<ChainStatus | null> {
  const chain = state.chain;
  if (chain === undefined) return null;
  let problem: string | null = null;
  try {
    const st = await Deno.stat(chain.program);
    if (!st.isFile) problem = `${chain.program} is not a file`;
    else if (((st.mode ?? 0) & 0o111) === 0) problem = `${chain.program} is not executable`;
  } catch (err) {
    problem = err instanceof Deno.errors.NotFound
      ? `${chain.program} no longer exists`
      : `cannot check ${chain.program}: ${(err as Error).message}`;
  }
  const lastRun = (await readChainJournal(stateDir, 1)).at(-1) ?? null;
  return { program: chain.program, command: chain.command, problem, lastRun };
}

/**
 * `status` lines for the chained handler; `installed`: core_pattern runs lttng-trig (when
 * it does not, the handler runs alone, and lttng-trig sees no crash).
 */
export function chainStatusLines(c: ChainStatus, installed = true): string[] {
  const lines = [
    installed
      ? `chained handler: ${c.program} ('|${c.command}'), run after lttng-trig on every crash`
      : `chained handler: ${c.program} ('|${c.command}'), chained by 'lttng-trig install --chain', but core_pattern no longer runs lttng-trig: ${c.program} runs alone, and lttng-trig sees no crash`,
  ];
  if (c.problem !== null) {
    lines.push(
      `Warning: chained handler: ${c.problem}: crashes no longer reach it: reinstall it, or run 'lttng-trig uninstall' and 'lttng-trig install' again`,
    );
  }
  const r = c.lastRun;
  if (r !== null) {
    // From chain.log: written on every crash, whether a daemon ran or not.
    lines.push(
      `chained handler last run: ${escaped(String(r.time))} pid ${r.pid} exec ${
        quoted(String(r.exec))
      }: ${chainRunText(r)}`,
    );
  }
  return lines;
}
