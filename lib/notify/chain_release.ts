/**
 * The notifier's release of a crash under `install --chain`: run the chained handler
 * with the core, keep the core too with `--core-dir`, then journal what the handler did.
 * Loaded by lib/notify/cli.ts only when the pattern carries `--chain=`.
 *
 * @module
 */
import { chainValuesOf } from "../core/chain_words.ts";
import { linuxSignalNumber } from "../core/signals.ts";
import { journalChain, loadChain, runChain } from "./chain.ts";
import type { ChainFate } from "../protocol/records.ts";
import type { NotifyArgs } from "./args.ts";
import type { CoreFate } from "../protocol/records.ts";
import { type ChainResultMessage, encodeChainResult } from "../wire/notify_results.ts";

/** A release of the crash through the chained handler, and its record. */
export interface ChainedRelease {
  /** For {@linkcode NotifierIo.releaseCore}: run the handler, resolve once it is done. */
  releaseCore(): Promise<CoreFate | undefined>;
  /**
   * Journal the run in STATE_DIR/chain.log and give its CHAIN_RESULT frame to `tell`
   * (which sends it to the daemons that replied); resolves to the failures to journal.
   */
  record(args: NotifyArgs, tell?: (frame: Uint8Array) => Promise<string[]>): Promise<string[]>;
}

/**
 * The release of one crash: `words` are the notifier's (after `notify`), `stateDir`
 * holds notifier.json, `keep` keeps a copy of the core (`--core-dir`).
 */
export function chainedRelease(
  words: string[],
  stateDir: string,
  keep: ((core: ReadableStream<Uint8Array>) => Promise<CoreFate>) | undefined,
): ChainedRelease {
  let outcome: ChainFate | undefined;
  const closeStdin = () => {
    try {
      Deno.stdin.close();
    } catch { /* already closed */ }
  };
  return {
    async releaseCore() {
      const chain = await loadChain(stateDir);
      if (typeof chain === "string") {
        outcome = {
          program: "",
          outcome: "missing",
          durationMs: 0,
          bytes: 0,
          reason: `cannot find the chained handler: ${chain}`,
        };
        const core = keep === undefined ? undefined : await keep(Deno.stdin.readable);
        closeStdin();
        return core;
      }
      const r = await runChain(chain, chainValuesOf(words), Deno.stdin.readable, {
        timeoutMs: chain.timeoutMs,
        ...(keep === undefined ? {} : { keep }),
      });
      outcome = r.chain;
      closeStdin();
      return r.core;
    },
    async record(args, tell) {
      if (outcome === undefined) return [];
      // The daemons record it in their history; chain.log stays the record when none runs.
      const told = tell?.(encodeChainResult(chainResultOf(args.pid, outcome)))
        .catch((err) => [`cannot tell the daemons: ${(err as Error).message}`]);
      const entry = {
        time: new Date().toISOString(),
        pid: args.pid,
        exec: args.execName,
        ...outcome,
      };
      const failures = outcome.outcome === "ok" ? [] : [`chained handler: ${outcome.reason}`];
      try {
        await journalChain(stateDir, entry);
      } catch (err) {
        failures.push(`cannot journal the chained handler's run: ${(err as Error).message}`);
      }
      failures.push(...((await told) ?? []).map((f) => `chained handler's result: ${f}`));
      return failures;
    },
  };
}

/** The CHAIN_RESULT of `outcome`: the wire carries its signal by number. */
function chainResultOf(pid: number, outcome: ChainFate): ChainResultMessage {
  const { signal, ...rest } = outcome;
  const n = signal === undefined ? undefined : linuxSignalNumber(signal);
  return { pid, ...rest, ...(n === undefined ? {} : { signal: n }) };
}
