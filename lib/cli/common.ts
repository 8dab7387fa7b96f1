/**
 * What every CLI command shares: the common options, the daemon's socket paths, and
 * output.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { type FileSpec, HELP_OPTION, type OptionSpec } from "../core/registry.ts";
import { type PathEnv, processPathEnv } from "../core/paths.ts";
import { parseByteSize } from "../core/size.ts";
import { replaceUnprintable } from "../core/unprintable.ts";

/** Where a command writes: injected by tests. */
export interface Output {
  /** A line on stdout. */
  out(line: string): void;
  /** A line on stderr. */
  err(line: string): void;
}

/**
 * The console. Each line passes {@linkcode printable} (its newlines kept), after the
 * command escaped what it prints ({@linkcode escaped}, {@linkcode jsonLine}): whatever a
 * message carries (a daemon's error, a path), no byte a terminal acts on reaches it.
 */
export const consoleOutput: Output = {
  out: (line) => console.log(terminalText(line)),
  err: (line) => console.error(terminalText(line)),
};

/** `text`, each of its lines {@linkcode printable}. */
function terminalText(text: string): string {
  return text.split("\n").map(printable).join("\n");
}

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
 * Parse a size option (`--max-size`) in bytes, by lib/core/size.ts's grammar (`K`, `M`,
 * `G`, `T`: powers of 1024; no `%` on the command line); throws a
 * {@linkcode UsageError} naming `option` unless it is a positive number of bytes.
 */
export function parseSizeOption(text: string, option: string, usage: string): number {
  const n = parseByteSize(text)?.bytes ?? NaN;
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

/**
 * `text` with every character a terminal could act on (lib/core/unprintable.ts) written
 * as an escape (`\n`, `\t`, `\x1b`, `\u009b`, `\u202e`), and nothing else changed: for
 * text that is already quoted as its source wants (babeltrace2's event lines).
 *
 * @example
 * ```ts
 * import { printable } from "./common.ts";
 * printable("a\x1b]0;pwned\x07b"); // => "a\\x1b]0;pwned\\x07b"
 * ```
 */
export function printable(text: string): string {
  return replaceUnprintable(text, (c) => {
    const named = ({ "\n": "\\n", "\r": "\\r", "\t": "\\t" } as Record<string, string>)[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A string that came from a crash (exec name, hostname, executable path, command line,
 * snapshot path, reason), as text output prints it: backslashes escaped (so that every
 * escape in the output is one this wrote), then {@linkcode printable}. Quotes stay as
 * they are: they are text, not controls. The one way `show`, `history`, `watch` and
 * `status` print such a string: a hostname set with `unshare -u` or a directory named
 * with an escape sequence must not reach root's terminal as bytes it acts on. (JSON
 * output is escaped by {@linkcode jsonLine}.)
 *
 * @example
 * ```ts
 * import { escaped } from "./common.ts";
 * escaped('session "web"\x9b2J'); // => 'session "web"\\u009b2J'
 * ```
 */
export function escaped(text: string): string {
  return printable(text.replaceAll("\\", "\\\\"));
}

/**
 * `text` in double quotes, as a string literal: its backslashes and quotes escaped, then
 * {@linkcode printable}. For a value whose ends the reader must see: an exec name, a
 * command-line word.
 *
 * @example
 * ```ts
 * import { quoted } from "./common.ts";
 * quoted('say "hi"'); // => '"say \\"hi\\""'
 * ```
 */
export function quoted(text: string): string {
  return `"${printable(text.replace(/[\\"]/g, (c) => `\\${c}`))}"`;
}

/**
 * `value` as one JSON line whose strings hold no character a terminal acts on: JSON.stringify
 * escapes C0 controls, and this also escapes DEL, C1 controls and the invisible ones, as
 * `\uXXXX` (the same JSON value).
 */
export function jsonLine(value: unknown): string {
  return replaceUnprintable(
    JSON.stringify(value),
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
