/**
 * Keeping a core (`notify --core-dir=DIR`): the core on the notifier's stdin is streamed
 * through zstd into DIR, never whole in memory. Loaded only when a core is kept.
 *
 * @module
 */
import fs from "node:fs";
import zlib from "node:zlib";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CoreOutcome } from "./notifier.ts";
import { safeExecName } from "../paths.ts";
import { ownershipProblem } from "../ownership.ts";

/** Largest core kept, uncompressed (as systemd-coredump's ExternalSizeMax). */
export const DEFAULT_CORE_MAX_BYTES = 2 * 1024 ** 3;
/** Free space to leave on the core directory's filesystem. */
export const DEFAULT_MIN_FREE_BYTES = 1024 ** 3;

/** Options of {@linkcode keepCore}. */
export interface KeepCoreOptions {
  /** Directory of the cores (created 0700; refused if others can write it or it is a link). */
  dir: string;
  /** Crash facts for the file name. */
  execName: string;
  /** Uid of the crash. */
  uid: number;
  /** Pid of the crash. */
  pid: number;
  /** Seconds since the epoch (`%t`), or now. */
  time?: number;
  /** The crash's RLIMIT_CORE (`%c`), when the pattern passes it. */
  coreLimit?: number | "unlimited";
  /** Largest core kept. @default DEFAULT_CORE_MAX_BYTES */
  maxBytes?: number;
  /** Free space to leave. @default DEFAULT_MIN_FREE_BYTES */
  minFreeBytes?: number;
}

/** The file name of a kept core: `core.<exec>.<uid>.<pid>.<time>.zst`. */
export function coreFileName(o: Pick<KeepCoreOptions, "execName" | "uid" | "pid" | "time">) {
  const exec = safeExecName(o.execName);
  const time = o.time ?? Math.floor(Date.now() / 1000);
  return `core.${exec}.${o.uid}.${o.pid}.${time}.zst`;
}

class TooLarge extends Error {}

/**
 * Stream `core` into `options.dir` compressed with zstd. Resolves to what happened; a
 * core that is not kept (limit 0, too large, no space, unsafe directory) leaves no file.
 */
export async function keepCore(
  core: ReadableStream<Uint8Array>,
  options: KeepCoreOptions,
): Promise<CoreOutcome> {
  const max = Math.min(
    options.maxBytes ?? DEFAULT_CORE_MAX_BYTES,
    typeof options.coreLimit === "number" ? options.coreLimit : Infinity,
  );
  if (options.coreLimit === 0) {
    await core.cancel().catch(() => {});
    return { kept: false, text: "the process's core size limit (ulimit -c) is 0", bytes: 0 };
  }
  try {
    await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    await core.cancel().catch(() => {});
    return {
      kept: false,
      text: `cannot create ${options.dir}: ${(err as Error).message}`,
      bytes: 0,
    };
  }
  const st = await Deno.lstat(options.dir);
  if (!st.isDirectory || ownershipProblem(st, [Deno.uid() ?? -1]) !== undefined) {
    await core.cancel().catch(() => {});
    return {
      kept: false,
      text: `${options.dir} is not a directory of ours that only we can write`,
      bytes: 0,
    };
  }
  const minFree = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  const fsStat = fs.statfsSync(options.dir);
  const free = Number(fsStat.bavail) * Number(fsStat.bsize);
  if (free < minFree) {
    await core.cancel().catch(() => {});
    return {
      kept: false,
      text: `only ${free} bytes free in ${options.dir}, under the ${minFree} to leave`,
      bytes: 0,
    };
  }
  const path = `${options.dir}/${coreFileName(options)}`;
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Uint8Array, _enc, callback) {
      bytes += chunk.byteLength;
      if (bytes > max) callback(new TooLarge());
      else callback(null, chunk);
    },
  });
  // "wx": O_CREAT|O_EXCL, which never follows a link and never reuses a file.
  const out = fs.createWriteStream(path, { flags: "wx", mode: 0o600 });
  try {
    await pipeline(
      Readable.fromWeb(core as import("node:stream/web").ReadableStream<Uint8Array>),
      limiter,
      zlib.createZstdCompress(),
      out,
    );
    return { kept: true, text: path, bytes };
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    if (err instanceof TooLarge) {
      return {
        kept: false,
        text: `the core is larger than ${max} bytes (${
          max === options.coreLimit ? "the process's ulimit -c" : "the maximum kept"
        })`,
        bytes,
      };
    }
    return { kept: false, text: `cannot write ${path}: ${(err as Error).message}`, bytes };
  }
}
