/**
 * The root daemon's watch of /proc/sys/kernel/core_pattern: a package upgrade of the
 * chained handler (systemd-coredump's postinst runs systemd-sysctl), or a sysctl run,
 * takes core_pattern back and lttng-trig would silently see no more crashes.
 *
 * /proc files give no inotify event, so the watch reads core_pattern every second (one
 * small read). A change counts once it is seen on two reads in a row, with install.json
 * still there: `uninstall` writes the previous pattern and then removes install.json at
 * once, and must never be undone. Then {@linkcode judgePattern} says what to do: when
 * the new pattern is exactly the chained handler's own (`install --chain`), the watch
 * writes lttng-trig's pattern and core_pipe_limit back, as install did, keeping what
 * install.json remembers; any other change is logged and shown by `status`.
 *
 * @module
 */
import type { CorePatternWatchFacts } from "../protocol/control.ts";
import { classifyCorePattern, quotePattern, stripNewline } from "./pattern.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  defaultKernelFiles,
  type KernelFiles,
} from "./kernel_files.ts";
import { type InstallState, readInstallState } from "./state.ts";

/** What a core_pattern means for an install. */
export type PatternVerdict =
  /** It runs lttng-trig (install's pattern, or another of lttng-trig's). */
  | { kind: "ours" }
  /** Nothing is installed (no install.json): nothing to watch. */
  | { kind: "not-installed" }
  /** The chained handler's own pattern is back: lttng-trig's chain can be put back. */
  | { kind: "reapply"; handler: string }
  /** Anything else: crashes no longer reach lttng-trig. */
  | { kind: "lost"; advice: string };

/**
 * What `current` (as /proc gives it) means under `state` (install.json), pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { judgePattern } from "./pattern_watch.ts";
 *
 * const state = {
 *   version: 1 as const,
 *   installedAt: "2026-01-01T00:00:00Z",
 *   corePattern: "|/usr/bin/lttng-trig notify --chain=P:%P %p %u %g %e %h",
 *   corePipeLimit: 64,
 *   chain: { program: "/lib/h", command: "/lib/h %P", specifiers: "P", timeoutMs: 1000 },
 *   previous: { corePattern: "|/lib/h %P\n", corePipeLimit: "16\n" },
 * };
 * assert.deepEqual(judgePattern("|/lib/h %P\n", state), { kind: "reapply", handler: "/lib/h" });
 * assert.equal(judgePattern("core\n", state).kind, "lost");
 * ```
 */
export function judgePattern(current: string, state: InstallState | undefined): PatternVerdict {
  if (state === undefined) return { kind: "not-installed" };
  const text = stripNewline(current);
  const kind = classifyCorePattern(text);
  if (text === state.corePattern || kind.kind === "ours") return { kind: "ours" };
  if (state.chain !== undefined && text === stripNewline(state.previous.corePattern)) {
    return { kind: "reapply", handler: state.chain.program };
  }
  return { kind: "lost", advice: reinstallAdvice(kind, state.chain !== undefined) };
}

/**
 * What to run when core_pattern no longer runs lttng-trig: with a chain recorded,
 * `install --chain` (never `--force`, which would drop the handler).
 */
export function reinstallAdvice(
  kind: ReturnType<typeof classifyCorePattern>,
  chained: boolean,
): string {
  if (kind.kind !== "handler") return "run 'lttng-trig install' to catch crashes again";
  return chained
    ? `run 'lttng-trig install --chain' to run ${kind.handler} after lttng-trig again`
    : `'lttng-trig install --chain' keeps ${kind.handler} and runs it after lttng-trig; --force replaces it`;
}

/** Options of {@linkcode CorePatternWatch}. */
export interface CorePatternWatchOptions {
  /** The state directory of install.json. */
  stateDir: string;
  /** Read core_pattern's text (cheap: every interval), or `undefined` when it cannot. */
  read: () => Promise<string | undefined> | string | undefined;
  /** Writes core_pattern and core_pipe_limit back. @default defaultKernelFiles */
  kernel?: KernelFiles;
  /** Log line sink. */
  log: (line: string) => void;
  /** Milliseconds between two reads. @default 1000 */
  intervalMs?: number;
  /** Who may own install.json, whose pattern the watch writes as root. @default [0] */
  trustedOwners?: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Watches core_pattern for an install (see the module's documentation). */
export class CorePatternWatch {
  #o: Required<Omit<CorePatternWatchOptions, "kernel">> & { kernel: KernelFiles };
  #seen: string | undefined;
  #acted: string | undefined;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #facts: CorePatternWatchFacts;
  #tick?: Promise<void>;

  constructor(options: CorePatternWatchOptions) {
    this.#o = {
      kernel: defaultKernelFiles,
      intervalMs: 1000,
      trustedOwners: [0],
      ...options,
    };
    this.#facts = { intervalS: this.#o.intervalMs / 1000 };
  }

  /** What the watch saw, for `status`. */
  facts(): CorePatternWatchFacts {
    return structuredClone(this.#facts);
  }

  /** Read now, then every interval until {@linkcode CorePatternWatch.stop}. */
  start(): this {
    const loop = async () => {
      this.#tick = this.check();
      await this.#tick;
      if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.intervalMs);
    };
    void loop();
    return this;
  }

  /** Stop watching (waits for a check in progress). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
  }

  /** One read: acts on a pattern seen twice in a row that it has not acted on yet. */
  async check(): Promise<void> {
    let raw: string | undefined;
    try {
      raw = await this.#o.read();
    } catch {
      raw = undefined;
    }
    if (raw === undefined) return;
    const text = stripNewline(raw);
    const confirmed = text === this.#seen;
    this.#seen = text;
    if (!confirmed || text === this.#acted) return;
    this.#acted = text;
    let state: InstallState | undefined;
    try {
      state = await readInstallState(this.#o.stateDir, { trustedOwners: this.#o.trustedOwners });
    } catch (err) {
      this.#o.log(`core_pattern watch: ${(err as Error).message}`);
      return;
    }
    const verdict = judgePattern(text, state);
    if (verdict.kind === "reapply" && state !== undefined) {
      await this.#reapply(text, state, verdict.handler);
    } else if (verdict.kind === "lost") {
      this.#facts.lost = { time: new Date().toISOString(), pattern: text };
      this.#o.log(
        `Warning: core_pattern changed to ${
          quotePattern(text)
        }: crashes no longer reach lttng-trig: ${verdict.advice}`,
      );
    } else {
      if (this.#facts.lost !== undefined) {
        this.#o.log(`core_pattern runs lttng-trig again (${quotePattern(text)})`);
      }
      delete this.#facts.lost;
    }
  }

  async #reapply(text: string, state: InstallState, handler: string): Promise<void> {
    const k = this.#o.kernel;
    try {
      const limitBefore = decoder.decode(await k.read(CORE_PIPE_LIMIT_PATH)).trim();
      await k.write(CORE_PATTERN_PATH, encoder.encode(state.corePattern));
      const back = stripNewline(decoder.decode(await k.read(CORE_PATTERN_PATH)));
      if (back !== state.corePattern) {
        throw new Error(`it reads back as ${quotePattern(back)}`);
      }
      const limit = String(state.corePipeLimit);
      if (limitBefore !== limit) await k.write(CORE_PIPE_LIMIT_PATH, encoder.encode(limit));
      // Our own write: no change to act on at the next read.
      this.#seen = this.#acted = back;
      this.#facts.reapplied = { time: new Date().toISOString(), handler };
      delete this.#facts.lost;
      this.#o.log(
        `core_pattern was set back to ${handler}'s own (${
          quotePattern(text)
        }), as a package upgrade does: re-applied lttng-trig's chain ('${state.corePattern}')${
          limitBefore === limit ? "" : ` and core_pipe_limit ${limitBefore} -> ${limit}`
        }; ${handler} still runs after lttng-trig, and uninstall still restores ${
          quotePattern(state.previous.corePattern)
        }`,
      );
    } catch (err) {
      this.#facts.lost = { time: new Date().toISOString(), pattern: text };
      this.#o.log(
        `Error: core_pattern was set back to ${handler}'s own (${
          quotePattern(text)
        }) and lttng-trig's chain cannot be re-applied: ${
          (err as Error).message
        }: crashes no longer reach lttng-trig: run 'lttng-trig install --chain'`,
      );
    }
  }
}

/** `status` lines for what the root daemon's watch of core_pattern saw. */
export function watchStatusLines(facts: CorePatternWatchFacts | undefined): string[] {
  const lines: string[] = [];
  if (facts?.reapplied !== undefined) {
    lines.push(
      `core_pattern watch: ${facts.reapplied.time}: ${facts.reapplied.handler} took core_pattern back (a package upgrade): the daemon re-applied lttng-trig's chain`,
    );
  }
  if (facts?.lost !== undefined) {
    lines.push(
      `core_pattern watch: ${facts.lost.time}: the daemon saw core_pattern change to ${
        quotePattern(facts.lost.pattern)
      }: crashes no longer reach lttng-trig`,
    );
  }
  return lines;
}
