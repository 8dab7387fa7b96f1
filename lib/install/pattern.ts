/**
 * The core_pattern model: the line that runs lttng-trig's notifier, what a pattern
 * does, how one is quoted in a message, and what the running kernel's version allows.
 * Pure: no file is read here.
 *
 * @module
 */
import { COREDUMP_SOCKET_NAME } from "../core/paths.ts";
import { kernelVersion } from "../core/kernel_version.ts";
import { hasUnprintable } from "../core/unprintable.ts";
import { chainWords } from "../core/chain_words.ts";

/**
 * The longest core_pattern the kernel keeps, in bytes: CORENAME_MAX_SIZE (128) less the
 * NUL. It silently cuts a longer one.
 */
export const CORE_PATTERN_MAX_BYTES = 127;
/** The kernel's default core_pattern, restored when nothing else is known. */
export const KERNEL_DEFAULT_CORE_PATTERN = "core";

/** Options of {@linkcode corePatternFor}. */
export interface CorePatternOptions {
  /** Absolute path of the lttng-trig executable the kernel runs. */
  exe: string;
  /**
   * Pass the kernel's crash facts (`--tid=%i --facts=%P:%s:%t:%c:%d:%E`).
   * @default false
   */
  facts?: boolean;
  /** Absolute directory the notifier saves cores in; implies `facts`. */
  coreDir?: string;
  /** With `coreDir`: `ignore` keeps every core whatever its `ulimit -c`. @default "honour" */
  coreLimit?: "honour" | "ignore";
  /**
   * The specifiers a chained handler's pattern uses (`install --chain`): the pattern then
   * carries the values the notifier needs to run it (lib/core/chain_words.ts).
   */
  chainSpecifiers?: string;
  /** Tell the notifier where notifier.json is, when not in the default state directory. */
  stateDir?: string;
  /**
   * With the facts, pass the crashing thread's tid (`--tid=%i`). Without it the crash
   * report takes the core's first thread, which the kernel writes first: the same one.
   * @default true
   */
  tid?: boolean;
  /**
   * With the facts, pass the kernel's pidfd of the crashed process (`%F` in `--facts=`,
   * Linux 6.16+: {@linkcode kernelHasPidfdSpecifier}): the notifier takes the crash's
   * pid, uid and gid through it (lib/notify/identity.ts).
   * @default false
   */
  pidfd?: boolean;
}

/**
 * Why `path` cannot appear in a core_pattern, or `undefined` when it can: it must be
 * absolute, and the kernel splits the pattern at white space and expands `%`.
 */
export function patternPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "it is not an absolute path";
  if (/\s/.test(path)) return "it contains white space, where the kernel splits the pattern";
  if (path.includes("%")) return "it contains '%', which the kernel expands";
  return undefined;
}

/**
 * The core_pattern line that runs lttng-trig's notifier.
 *
 * @example The default line, and one with the crash facts
 * ```ts
 * import assert from "node:assert/strict";
 * import { corePatternFor } from "./pattern.ts";
 *
 * assert.equal(
 *   corePatternFor({ exe: "/usr/bin/lttng-trig" }),
 *   "|/usr/bin/lttng-trig notify %p %u %g %e %h",
 * );
 * assert.equal(
 *   corePatternFor({ exe: "/usr/bin/lttng-trig", facts: true }),
 *   "|/usr/bin/lttng-trig notify --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
 * );
 * ```
 */
export function corePatternFor(options: CorePatternOptions): string {
  const exeProblem = patternPathProblem(options.exe);
  if (exeProblem !== undefined) {
    throw new TypeError(`Cannot use "${options.exe}" in core_pattern: ${exeProblem}`);
  }
  const words = [`|${options.exe}`, "notify"];
  if (options.coreDir !== undefined) {
    const problem = patternPathProblem(options.coreDir);
    if (problem !== undefined) {
      throw new TypeError(`Cannot use "${options.coreDir}" in core_pattern: ${problem}`);
    }
    words.push(`--core-dir=${options.coreDir}`);
    if (options.coreLimit === "ignore") words.push("--core-limit=ignore");
  }
  if (options.stateDir !== undefined) {
    const problem = patternPathProblem(options.stateDir);
    if (problem !== undefined) {
      throw new TypeError(`Cannot use "${options.stateDir}" in core_pattern: ${problem}`);
    }
    words.push(`--state-dir=${options.stateDir}`);
  }
  if (options.chainSpecifiers !== undefined) words.push(...chainWords(options.chainSpecifiers));
  if (options.facts || options.coreDir !== undefined) {
    // The crashing thread (%i), for the crash report's backtrace and events.
    if (options.tid ?? true) words.push("--tid=%i");
    // The last option (lib/notify/args.ts reads no option after it): %E (the executable's
    // path, "/" written "!") comes last in it, since a path may contain ":".
    words.push(`--facts=%P:%s:%t:%c:%d${options.pidfd ? ":%F" : ""}:%E`);
  }
  words.push("%p", "%u", "%g", "%e", "%h");
  return words.join(" ");
}

/** What a core_pattern does. */
export type CorePatternKind =
  /** lttng-trig's notifier. */
  | { kind: "ours"; exe: string }
  /** Another crash handler: a `|program` or an `@socket`. */
  | { kind: "handler"; handler: string }
  /** A core file name (or template). */
  | { kind: "file" };

/**
 * Classify a core_pattern (a trailing newline, as /proc gives it, is ignored): lttng-trig's
 * when it pipes to a program named `lttng-trig` whose first argument is `notify`.
 */
export function classifyCorePattern(pattern: string): CorePatternKind {
  const text = stripNewline(pattern);
  if (text.startsWith("|")) {
    // The kernel splits the helper's command line as argv_split() does: at white space.
    const words = text.slice(1).trim().split(/\s+/);
    const exe = words[0] ?? "";
    if (exe.split("/").pop() === "lttng-trig" && words[1] === "notify") {
      return { kind: "ours", exe };
    }
    return { kind: "handler", handler: exe === "" ? "an empty pipe command" : exe };
  }
  if (text.startsWith("@")) {
    const path = text.replace(/^@+/, "");
    if (path.split("/").pop() === COREDUMP_SOCKET_NAME) return { kind: "ours", exe: path };
    return { kind: "handler", handler: `the coredump socket ${path}` };
  }
  return { kind: "file" };
}

/** `text` without the one trailing newline /proc adds on read. */
export function stripNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** A pattern for a message: `'core'`, or JSON-quoted when it holds control characters. */
export function quotePattern(text: string): string {
  const t = stripNewline(text);
  return hasUnprintable(t) ? JSON.stringify(t) : `'${t}'`;
}

/**
 * Does a kernel of release `release` give a pipe helper a pidfd of the crashed process
 * (`%F`, Linux 6.16+)? An older one drops the unknown specifier.
 */
export function kernelHasPidfdSpecifier(release: string): boolean {
  return kernelHasCoredumpSocket(release);
}

/** Does a kernel of release `release` have the coredump socket (Linux 6.16+)? */
export function kernelHasCoredumpSocket(release: string): boolean {
  const v = kernelVersion(release);
  return v !== undefined && (v[0] > 6 || (v[0] === 6 && v[1] >= 16));
}

/** The crash facts a core_pattern gives lttng-trig, beyond `%p %u %g %e %h`. */
export interface PatternFacts {
  /** The fatal signal (`%s` in `--facts=`, or the coredump socket). */
  signal: boolean;
  /** The executable's path (`%E` in `--facts=`, or the coredump socket). */
  exePath: boolean;
}

/**
 * Which facts `pattern` gives lttng-trig, read from the notifier's `--facts=%P:%s:%t:%c:%d:%E`
 * argument (its fields by position, as the notifier reads them); `undefined` when the
 * pattern does not run lttng-trig. The coredump socket gives every fact.
 *
 * @example The RFC's line carries no signal; install's default line does
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternFacts } from "./pattern.ts";
 *
 * assert.deepEqual(
 *   patternFacts("|/usr/bin/lttng-trig notify %p %u %g %e %h"),
 *   { signal: false, exePath: false },
 * );
 * assert.deepEqual(
 *   patternFacts("|/usr/bin/lttng-trig notify --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h"),
 *   { signal: true, exePath: true },
 * );
 * ```
 */
export function patternFacts(pattern: string): PatternFacts | undefined {
  const text = stripNewline(pattern);
  const kind = classifyCorePattern(text);
  if (kind.kind !== "ours") return undefined;
  if (text.startsWith("@")) return { signal: true, exePath: true };
  const facts: PatternFacts = { signal: false, exePath: false };
  // Only leading --name=value words are the notifier's options.
  for (const word of text.slice(1).trim().split(/\s+/).slice(2)) {
    if (!word.startsWith("--")) break;
    if (!word.startsWith("--facts=")) continue;
    const fields = word.slice("--facts=".length).split(":");
    facts.signal = fields[1] === "%s";
    // %F (the pidfd) may stand before %E.
    facts.exePath = fields[5] === "%E" || (fields[5] === "%F" && fields[6] === "%E");
  }
  return facts;
}

/** The filters of a trigger that a core_pattern may be unable to serve. */
export interface PatternFilters {
  /** `--signal`. */
  signals?: readonly number[];
  /** `--exec`. */
  exec?: string;
}

/**
 * What a trigger with `filters` will never (or not always) see under `pattern`: one
 * sentence per filter, empty when the pattern serves them all or does not run lttng-trig
 * (status says that).
 */
export function unservedFilters(pattern: string, filters: PatternFilters): string[] {
  const facts = patternFacts(pattern);
  if (facts === undefined) return [];
  const out: string[] = [];
  const shown = quotePattern(pattern);
  if (filters.signals !== undefined && !facts.signal) {
    out.push(
      `core_pattern ${shown} does not pass the signal (%s): a --signal filter never matches, and the trigger will never fire: run 'lttng-trig install' to pass the crash facts`,
    );
  }
  if (filters.exec !== undefined && filters.exec.includes("/") && !facts.exePath) {
    out.push(
      `core_pattern ${shown} does not pass the executable's path (%E): --exec='${filters.exec}' matches a path only when the root daemon reads it from /proc, never the exec name: run 'lttng-trig install' to pass the crash facts`,
    );
  }
  return out;
}
