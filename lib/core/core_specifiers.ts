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
 * How lttng-trig's own pattern carries these values to its notifier is in
 * lib/core/chain_words.ts.
 *
 * @module
 */

/** Every specifier the kernel knows (Linux 6.16+), `%` itself aside. */
export const CORE_SPECIFIERS = "pPiIugdstheEfcCF";

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
 * import { specifiersUsed } from "./core_specifiers.ts";
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
 * import { expandPipeCommand } from "./core_specifiers.ts";
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
