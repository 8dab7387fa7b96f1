/**
 * The one size grammar of lttng-trig, for the command line (`set --max-size`, `daemon
 * --snapshots-max-use`) and the core limits file (`.limits.json`): a number, with an
 * optional fraction, then an optional unit, spaces allowed before it:
 *
 * - `K`, `M`, `G`, `T`, in any case: powers of 1024, as LTTng's `--max-size` and
 *   systemd's coredump.conf(5) read them (`64M` is 67108864 bytes);
 * - `%`: a share of a whole that the caller knows (a filesystem's size), where it takes
 *   one;
 * - no unit: bytes.
 *
 * A fraction of a byte is dropped (`1.5K` is 1536 bytes, `0.5` is 0). Small and
 * dependency-free: the notifier reads it on the crash path.
 *
 * @module
 */

/** How help names the grammar's units: `SIZE bytes (${SIZE_SUFFIXES})`. */
export const SIZE_SUFFIXES = "K, M, G or T suffixes: powers of 1024";

/** A size as written: bytes, or a percentage of a whole the caller knows. */
export type ByteSize =
  | { readonly bytes: number; readonly percent?: undefined }
  | { readonly percent: number; readonly bytes?: undefined };

const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT%]?)$/i;

/**
 * Read `text` as a size of the grammar above; `undefined` when it is not one. Bounds
 * (positive, at most 100 %, an exact count of bytes: `Number.isSafeInteger`) are the
 * caller's, who words the error.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./size.ts";
 *
 * parseByteSize("64M"); // => { bytes: 67108864 }
 * parseByteSize("1.5k"); // => { bytes: 1536 }
 * parseByteSize("10%"); // => { percent: 10 }
 * parseByteSize("lots"); // => undefined
 * ```
 */
export function parseByteSize(text: string): ByteSize | undefined {
  const m = SIZE.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  if (unit === "%") return { percent: n };
  return { bytes: Math.floor(n * 1024 ** "_KMGT".indexOf(unit || "_")) };
}
