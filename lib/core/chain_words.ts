/**
 * The words of lttng-trig's own pattern that carry a chained handler's values to the
 * notifier (`install --chain`): `install` writes them, the notifier reads them back on
 * each crash. Pure: no file is read here.
 *
 * Besides `%p %u %g %e %h` as its positional words, the pattern carries the numeric
 * specifiers the chained pattern uses in one word `--chain=LETTERS:%A:%B...` (the letters
 * say which), `%E` in `--chain-exe=%E` and `%f` in `--chain-file=%f` (their own words:
 * they may hold `:` or spaces). The specifiers themselves are in
 * lib/core/core_specifiers.ts.
 *
 * @module
 */

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

/**
 * The words lttng-trig's pattern needs so that its notifier has every value of
 * `specifiers` (as lib/core/core_specifiers.ts specifiersUsed gives them) besides its positional five.
 *
 * @example systemd-coredump's pattern needs %P %s %t besides %p %u %g %e %h
 * ```ts
 * import assert from "node:assert/strict";
 * import { chainWords } from "./chain_words.ts";
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

/**
 * Does the notifier's command line (the words after `notify`) carry a chain: is
 * `--chain=` among its leading `--` words? The notifier runs the chained handler only then.
 */
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
 * import { chainValuesOf } from "./chain_words.ts";
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
