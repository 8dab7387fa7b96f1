/**
 * What every CLI command shares: the common options, the daemon's socket paths, and
 * output.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { type FileSpec, HELP_OPTION, type OptionSpec } from "./registry.ts";
import { type PathEnv, processPathEnv } from "../paths.ts";

/** Where a command writes: injected by tests. */
export interface Output {
  /** A line on stdout. */
  out(line: string): void;
  /** A line on stderr. */
  err(line: string): void;
}

/** The console. */
export const consoleOutput: Output = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** What a command gets. */
export interface CommandContext {
  /** Output sink. */
  io: Output;
  /** Process facts for path resolution. */
  env: PathEnv;
}

/** The default context: the console and this process. */
export function defaultContext(): CommandContext {
  return { io: consoleOutput, env: processPathEnv() };
}

/** `--run-dir=DIR`, which every client command takes; `command` names it in the example. */
export function runDirOption<C extends string>(command: C) {
  return {
    name: "run-dir",
    type: "string",
    value: "DIR",
    help:
      "The daemon's run directory, where its control socket is: /var/run/lttng for root, $LTTNG_HOME/.lttng otherwise ($LTTNG_RUNDIR also sets it).",
    examples: [`lttng-trig ${command} --run-dir=/tmp/trig`],
    complete: "dirs",
    group: "Common options",
  } as const satisfies OptionSpec;
}

/** `-h, --help`, listed with the common options. */
export const COMMON_HELP_OPTION = { ...HELP_OPTION, group: "Common options" } as const;

/** The control socket, in the FILES of a client command's man page. */
export const CONTROL_SOCKET_FILE: FileSpec = {
  path: "RUN_DIR/client-lttng-trig",
  help: "The daemon's control socket, which set, list, remove, history, show and watch use.",
};

export { controlSocketPath } from "../paths.ts";

/** Pad columns of `rows` to a table (the last column is not padded). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
      .trimEnd()
  );
}

/**
 * Parse a size with LTTng's suffixes (`k`, `M`, `G`, powers of 1024), as `--max-size`
 * takes it; throws a {@linkcode UsageError} naming `option`.
 */
export function parseSize(text: string, option: string, usage: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m?.[2] ?? "").toLowerCase()];
  const n = m === null || mult === undefined ? NaN : Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(
      `invalid ${option} "${text}": expected a positive size such as 4096, 512k, 64M or 1G`,
      usage,
    );
  }
  return n;
}

/** Parse a non-negative integer option; throws a {@linkcode UsageError} naming it. */
export function parseCount(text: string, option: string, usage: string, min = 1): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < min) {
    throw new UsageError(
      `invalid ${option} "${text}": expected an integer of at least ${min}`,
      usage,
    );
  }
  return Number(text);
}

/** An ISO time as tables show it: `2026-11-26 07:48:06Z`. */
export function shortTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** `text` with control characters and quotes escaped, without the quotes (exec names). */
export function escaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
