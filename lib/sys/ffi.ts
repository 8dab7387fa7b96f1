/**
 * What the two native libraries the daemon loads (liblttng-ctl, libc) share: opening the
 * first of their known paths, and C strings.
 *
 * @module
 */

import { libcSymbols } from "./libc_symbols.ts";

const encoder = new TextEncoder();

/** Where libc is, on the supported hosts (the `ffi` permission lists the same). */
export const LIBC_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
];

/** `s` as a NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${s}\0`) as Uint8Array<ArrayBuffer>;
}

/**
 * Open the first of `paths` that loads, with `symbols`; or say why none did, as
 * "`what` cannot be loaded (path: reason; ...)".
 */
export function dlopenFirst<S extends Deno.ForeignLibraryInterface>(
  what: string,
  paths: readonly string[],
  symbols: S,
): Deno.DynamicLibrary<S> | string {
  const reasons: string[] = [];
  for (const path of paths) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (err) {
      reasons.push(`${path}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return `${what} cannot be loaded (${reasons.join("; ")})`;
}

/**
 * The target of the symbolic link `path` (a `/proc` link: Deno refuses those) through
 * libc's `readlink`; `undefined` when there is none, or when it may have been cut.
 */
export function readLinkWith(
  readlink: (
    path: Uint8Array<ArrayBuffer>,
    buf: Uint8Array<ArrayBuffer>,
    len: bigint,
  ) => number | bigint,
  path: string,
): string | undefined {
  const buf = new Uint8Array(4096);
  const n = Number(readlink(cString(path), buf, BigInt(buf.length)));
  return n < 0 || n >= buf.length ? undefined : new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * libc with `symbols`, opened on the first call and kept: each module binds only the
 * calls it makes (Deno spends time per symbol bound). A string says why it cannot load.
 */
export function lazyLibc<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): () => Deno.DynamicLibrary<S>["symbols"] | string {
  let opened: Deno.DynamicLibrary<S>["symbols"] | string | undefined;
  return () => {
    if (opened === undefined) {
      const l = dlopenFirst("libc", LIBC_PATHS, symbols);
      opened = typeof l === "string" ? l : l.symbols;
    }
    return opened;
  };
}

/**
 * The two libc symbols that read `errno` (Deno's UnsafePointerView would need
 * `--allow-ffi` for every path): add them to a library's symbols to use
 * {@linkcode errnoOf}.
 */
export const ERRNO_SYMBOLS = libcSymbols("__errno_location", "memcpy");

const errnoBuf = new Int32Array(1);

/** The calling thread's `errno`, through a libc opened with {@linkcode ERRNO_SYMBOLS}. */
export function errnoOf(
  c: Deno.DynamicLibrary<typeof ERRNO_SYMBOLS>["symbols"],
): number {
  const p = c.__errno_location();
  if (p === null) return 0;
  c.memcpy(errnoBuf, p, 4n);
  return errnoBuf[0];
}
