/**
 * The core(5) specifiers of a pipe core_pattern, expanded as the kernel's
 * format_corename() (fs/coredump.c) does, so that lttng-trig can run a chained crash
 * handler exactly as the kernel would have. Pure: no file is read here.
 *
 * The kernel walks a pipe pattern once, character by character: white space outside a
 * specifier ends an argument (runs of it count once, leading white space is skipped), so
 * a value with spaces (`%e` of "my app") stays one argument; `%X` is replaced by its
 * value; `%%` is a `%`; an unknown `%X` is dropped with its letter (even a space); a `%`
 * that ends the pattern ends it. `%e %f %E %h` come escaped (every `/` written `!`, an
 * empty, `.` or `..` value made harmless): lttng-trig receives them escaped already, and
 * passes them on unchanged.
 *
 * lttng-trig's own pattern carries the values the chained pattern needs:
 * `%p %u %g %e %h` as its positional words, the numeric ones in one word
 * `--chain=LETTERS:%A:%B...` (the letters say which), `%E` in `--chain-exe=%E` and `%f`
 * in `--chain-file=%f` (their own words: they may hold `:` or spaces).
 *
 * @module
 */

/** Every specifier the kernel knows (Linux 6.16+), `%` itself aside. */
export const CORE_SPECIFIERS = "pPiIugdstheEfcCF";

/** Specifiers lttng-trig's notifier always receives, as its five positional words. */
const POSITIONAL = "pugeh";
/** Specifiers that carry numbers, and so can share one `:`-separated word. */
const NUMERIC = "PiIdstcCF";

/** The word that marks a chained pattern, and carries the numeric specifiers. */
export const CHAIN_OPTION = "--chain=";
/** The word that carries `%E`. */
export const CHAIN_EXE_OPTION = "--chain-exe=";
/** The word that carries `%f`. */
export const CHAIN_FILE_OPTION = "--chain-file=";

/** The kernel's isspace(): space, \t, \n, \v, \f, \r. */
function isSpace(c: string): boolean {
  return c === " " || (c >= "\t" && c <= "\r");
}

/** A pipe pattern split into the kernel's walk: literal text, specifiers, separators. */
type Token = { text: string } | { spec: string } | { split: true } | { end: true };

function* tokens(pattern: string): Generator<Token> {
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (isSpace(c)) {
      yield { split: true };
      i++;
    } else if (c !== "%") {
      yield { text: c };
      i++;
    } else if (i + 1 >= pattern.length) {
      yield { end: true };
      return;
    } else {
      const s = pattern[i + 1];
      yield s === "%" ? { text: "%" } : { spec: s };
      i += 2;
    }
  }
}

/** The text after `|` of a pipe pattern (and its trailing newline from /proc dropped). */
export function pipeCommandOf(pattern: string): string | undefined {
  const text = pattern.endsWith("\n") ? pattern.slice(0, -1) : pattern;
  return text.startsWith("|") ? text.slice(1) : undefined;
}

/**
 * The specifiers a pipe command uses (the text after `|`), each once, in the order of
 * {@linkcode CORE_SPECIFIERS}; unknown ones are left out (the kernel drops them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { specifiersUsed } from "./specifiers.ts";
 *
 * assert.equal(specifiersUsed("/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -F%F -- %E"), "pPugdsEcF");
 * ```
 */
export function specifiersUsed(command: string): string {
  const seen = new Set<string>();
  for (const t of tokens(command)) if ("spec" in t) seen.add(t.spec);
  return [...CORE_SPECIFIERS].filter((s) => seen.has(s)).join("");
}

/** The program a pipe command runs: its first word, literal (no specifier expanded). */
export function programOf(command: string): string {
  return command.replace(/^[ \t-\r]+/, "").split(/[ \t-\r]/)[0];
}

/** Values of the specifiers of one crash, by letter (`p`, `E`...), as the kernel gave them. */
export type SpecifierValues = Readonly<Record<string, string>>;

/**
 * Expand a pipe command (the text after `|`) into the helper's argv, as the kernel does.
 * A specifier with no value in `values` expands to nothing.
 *
 * @example apport's pattern, with a specifier glued to text
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandPipeCommand } from "./specifiers.ts";
 *
 * assert.deepEqual(
 *   expandPipeCommand("/usr/share/apport/apport -p%p -s%s -- %e", { p: "42", s: "11", e: "my app" }),
 *   ["/usr/share/apport/apport", "-p42", "-s11", "--", "my app"],
 * );
 * ```
 */
export function expandPipeCommand(command: string, values: SpecifierValues): string[] {
  const argv: string[] = [];
  let current: string | undefined;
  let wasSpace = false;
  for (const t of tokens(command)) {
    if ("end" in t) break;
    if ("split" in t) {
      // Leading white space is skipped; a run of it separates once.
      if (current !== undefined) wasSpace = true;
      continue;
    }
    if (wasSpace) {
      argv.push(current ?? "");
      current = undefined;
      wasSpace = false;
    }
    const piece = "text" in t ? t.text : (values[t.spec] ?? "");
    current = (current ?? "") + piece;
  }
  // The kernel starts an argument at the first character or specifier, even one that
  // expands to nothing.
  if (current !== undefined) argv.push(current);
  return argv;
}

/**
 * The words lttng-trig's pattern needs so that its notifier has every value of
 * `specifiers` (as from {@linkcode specifiersUsed}) besides its positional five.
 *
 * @example systemd-coredump's pattern needs %P %s %t besides %p %u %g %e %h
 * ```ts
 * import assert from "node:assert/strict";
 * import { chainWords } from "./specifiers.ts";
 *
 * assert.deepEqual(chainWords("PugsthF"), ["--chain=PstF:%P:%s:%t:%F"]);
 * assert.deepEqual(chainWords("pE"), ["--chain=", "--chain-exe=%E"]);
 * ```
 */
export function chainWords(specifiers: string): string[] {
  const numeric = [...NUMERIC].filter((s) => specifiers.includes(s));
  const words = [`${CHAIN_OPTION}${numeric.join("")}${numeric.map((s) => `:%${s}`).join("")}`];
  if (specifiers.includes("E")) words.push(`${CHAIN_EXE_OPTION}%E`);
  if (specifiers.includes("f")) words.push(`${CHAIN_FILE_OPTION}%f`);
  return words;
}

/** Does the notifier's command line (the words after `notify`) carry a chain? */
export function hasChain(words: readonly string[]): boolean {
  for (const w of words) {
    if (!w.startsWith("--")) return false;
    if (w.startsWith(CHAIN_OPTION)) return true;
  }
  return false;
}

/**
 * The specifier values of one crash from the notifier's command line (the words after
 * `notify`): the leading `--name=value` options, then `%p %u %g %e %h`. On a kernel that
 * splits `%e` at spaces (before Linux 5.3) the exec name is every word between `%g` and
 * the last one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chainValuesOf } from "./specifiers.ts";
 *
 * const v = chainValuesOf(["--chain=Ps:1234:11", "--chain-exe=!usr!bin!a", "42", "0", "0", "my app", "host"]);
 * assert.deepEqual(v, { P: "1234", s: "11", E: "!usr!bin!a", p: "42", u: "0", g: "0", e: "my app", h: "host" });
 * ```
 */
export function chainValuesOf(words: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^--[a-z][a-z-]*=/s.test(words[i]); i++) {
    const w = words[i];
    if (w.startsWith(CHAIN_OPTION)) {
      const parts = w.slice(CHAIN_OPTION.length).split(":");
      const letters = parts[0] ?? "";
      [...letters].forEach((s, k) => {
        if (NUMERIC.includes(s) && parts[k + 1] !== undefined) values[s] = parts[k + 1];
      });
    } else if (w.startsWith(CHAIN_EXE_OPTION)) {
      values.E = w.slice(CHAIN_EXE_OPTION.length);
    } else if (w.startsWith(CHAIN_FILE_OPTION)) {
      values.f = w.slice(CHAIN_FILE_OPTION.length);
    }
  }
  const pos = words.slice(i);
  const names = POSITIONAL;
  for (let k = 0; k < 3 && k < pos.length; k++) values[names[k]] = pos[k];
  if (pos.length > 5) {
    values.e = pos.slice(3, -1).join(" ");
    values.h = pos[pos.length - 1];
  } else {
    if (pos[3] !== undefined) values.e = pos[3];
    if (pos[4] !== undefined) values.h = pos[4];
  }
  return values;
}
