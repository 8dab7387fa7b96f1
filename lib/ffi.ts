/**
 * What the two native libraries the daemon loads (liblttng-ctl, libc) share: opening the
 * first of their known paths, and C strings.
 *
 * @module
 */

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
