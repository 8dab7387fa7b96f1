/**
 * The one definition of a character that a terminal may act on rather than show. Every
 * text output (lib/cli/common.ts's `printable`, `escaped`, `quoted` and `jsonLine`), a
 * message quoting core_pattern, and the tests that check output for such characters use it.
 *
 * @module
 */

/**
 * Characters a terminal may act on rather than show: C0 controls (ESC starts a sequence),
 * DEL, C1 controls (U+009B is a CSI of its own), and the invisible ones that reorder or
 * hide text (bidirectional overrides and isolates, zero-width marks, line and paragraph
 * separators, the soft hyphen, the byte-order mark, interlinear annotations, lone
 * surrogates).
 *
 * @example
 * ```ts
 * import { UNPRINTABLE } from "./unprintable.ts";
 * UNPRINTABLE.test("ok \u202e"); // => true
 * UNPRINTABLE.test("naïve 😀 日本 \"quoted\""); // => false
 * ```
 */
export const UNPRINTABLE: RegExp =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\p{Cs}]/u;

const EVERY_UNPRINTABLE = new RegExp(UNPRINTABLE.source, "gu");

/**
 * Does `text` hold a character of {@linkcode UNPRINTABLE}?
 *
 * @example
 * ```ts
 * import { hasUnprintable } from "./unprintable.ts";
 * hasUnprintable("core\x1b[2J"); // => true
 * ```
 */
export function hasUnprintable(text: string): boolean {
  return UNPRINTABLE.test(text);
}

/**
 * `text` with each character of {@linkcode UNPRINTABLE} replaced by `escape(c)`, and
 * nothing else changed.
 *
 * @example
 * ```ts
 * import { replaceUnprintable } from "./unprintable.ts";
 * replaceUnprintable("a\tb", () => "?"); // => "a?b"
 * ```
 */
export function replaceUnprintable(text: string, escape: (c: string) => string): string {
  return text.replace(EVERY_UNPRINTABLE, escape);
}
