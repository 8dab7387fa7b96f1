/**
 * Keeping a core (`notify --core-dir=DIR`): the core on the notifier's stdin is streamed
 * through zstd into DIR, never whole in memory, within the directory's limits
 * (core_vacuum.ts). Loaded only when a core is kept.
 *
 * @module
 */
import fs from "node:fs";
import zlib from "node:zlib";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CoreOutcome } from "./notifier_io.ts";
import { safeExecName } from "../core/paths.ts";
import { ownershipProblem } from "../core/ownership.ts";
import { limitUidOf } from "../sys/subuid.ts";
import {
  type CoreLimits,
  type CoreLimitsConfig,
  DEFAULT_CORE_MAX_BYTES,
  lockCoreDir,
  partialName,
  planVacuum,
  readLimitsFile,
  resolveCoreLimits,
  scanCoreDir,
} from "./core_vacuum.ts";

export { DEFAULT_CORE_MAX_BYTES };
export type { CoreLimits, CoreLimitsConfig };

/** Compressed bytes a keeper may write before it takes the lock and scans again. */
export const GRANT_BYTES = 8 * 1024 ** 2;
/** Compressed bytes between two checks of the free space while writing. */
export const FREE_CHECK_BYTES = 1024 ** 2;

/** A filesystem's size and the bytes an unprivileged writer may still use. */
export interface FsSpace {
  /** Total bytes. */
  size: number;
  /** Available bytes (`f_bavail`). */
  free: number;
}

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
  /**
   * Limits, over those of `DIR/.limits.json`, over the defaults (systemd-coredump's:
   * maxUse 10% of the filesystem and keepFree 15%, each at most 4 GiB; a uid's share a
   * quarter of maxUse; 2 GiB of core).
   */
  limits?: CoreLimitsConfig;
  /** The filesystem's space: injected for tests. @default {statfs(2)} */
  space?: (dir: string) => FsSpace;
  /** Bytes a keeper writes between scans. @default GRANT_BYTES */
  grantBytes?: number;
  /** Bytes between free-space checks. @default FREE_CHECK_BYTES */
  freeCheckBytes?: number;
  /** The uid whose share a core of `uid` counts in. @default limitUidOf (lib/sys/subuid.ts) */
  ownerOf?: (uid: number) => number;
}

/** The file name of a kept core: `core.<exec>.<uid>.<pid>.<time>.zst`. */
export function coreFileName(o: Pick<KeepCoreOptions, "execName" | "uid" | "pid" | "time">) {
  const exec = safeExecName(o.execName);
  const time = o.time ?? Math.floor(Date.now() / 1000);
  return `core.${exec}.${o.uid}.${o.pid}.${time}.zst`;
}

function statfsSpace(dir: string): FsSpace {
  const st = fs.statfsSync(dir);
  return {
    size: Number(st.blocks) * Number(st.bsize),
    free: Number(st.bavail) * Number(st.bsize),
  };
}

class Stop extends Error {}

/**
 * Stream `core` into `options.dir` compressed with zstd. Resolves to what happened; a
 * core that is not kept (limit 0, too large, no room, unsafe directory) leaves no file.
 *
 * The core is written under a hidden `.partial` name, locked with flock while it is
 * written, and linked to its final name only when complete. Before writing, and every
 * `grantBytes` of compressed output, the keeper takes `DIR/.lock` and removes the oldest
 * cores as {@linkcode planVacuum} says; every `freeCheckBytes` it checks the free space.
 * When the core does not fit, the partial file is removed and the outcome says why.
 */
export async function keepCore(
  core: ReadableStream<Uint8Array>,
  options: KeepCoreOptions,
): Promise<CoreOutcome> {
  const dir = options.dir;
  const refuse = async (text: string, bytes = 0): Promise<CoreOutcome> => {
    await core.cancel().catch(() => {});
    return { kept: false, text, bytes };
  };
  if (options.coreLimit === 0) return refuse("the process's core size limit (ulimit -c) is 0");
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return refuse(`cannot create ${dir}: ${(err as Error).message}`);
  }
  const st = await Deno.lstat(dir);
  if (!st.isDirectory || ownershipProblem(st, [Deno.uid() ?? -1]) !== undefined) {
    return refuse(`${dir} is not a directory of ours that only we can write`);
  }
  const space = options.space ?? statfsSpace;
  let limits: CoreLimits;
  try {
    const config = { ...await readLimitsFile(dir), ...options.limits };
    limits = resolveCoreLimits(config, space(dir).size);
  } catch (err) {
    return refuse(`cannot read the limits of ${dir}: ${(err as Error).message}`);
  }
  const max = Math.min(
    limits.maxCore,
    typeof options.coreLimit === "number" ? options.coreLimit : Infinity,
  );
  const grant = options.grantBytes ?? GRANT_BYTES;
  const ownerOf = options.ownerOf ?? limitUidOf;
  const freeEvery = options.freeCheckBytes ?? FREE_CHECK_BYTES;
  const finalName = coreFileName(options);
  const finalPath = `${dir}/${finalName}`;
  const tempName = partialName(finalName);
  const tempPath = `${dir}/${tempName}`;

  // Remove the oldest cores until `want` compressed bytes fit; resolves to the bytes
  // this core may reach, or throws Stop with the reason when it cannot reach `least`.
  const makeRoom = async (want: number, least: number): Promise<number> => {
    // A subordinate uid's cores count in its owner's share (lib/sys/subuid.ts).
    const cores = scanCoreDir(dir, grant, tempName).map((c) => ({ ...c, uid: ownerOf(c.uid) }));
    const plan = planVacuum(
      cores,
      { uid: ownerOf(options.uid), bytes: want, free: space(dir).free, dir },
      limits,
    );
    for (const c of plan.remove) await Deno.remove(`${dir}/${c.name}`).catch(() => {});
    const free = plan.remove.length > 0 ? space(dir).free : plan.free;
    if (free < limits.keepFree) {
      throw new Stop(
        `only ${free} bytes free in ${dir}, under the ${limits.keepFree} to keep free`,
      );
    }
    if (plan.room < least) throw new Stop(plan.problem ?? `no room in ${dir}`);
    return Math.min(plan.room, want);
  };

  // Create the partial file and lock it, under the directory's lock: a scan never sees a
  // partial file that no live keeper holds, and so never removes one being written.
  let fd: number | undefined;
  let guard: Deno.FsFile | undefined;
  let allowed: number;
  try {
    allowed = await lockCoreDir(dir, async () => {
      const room = await makeRoom(grant, 1);
      // "wx": O_CREAT|O_EXCL, which never follows a link and never reuses a file.
      fd = fs.openSync(tempPath, "wx", 0o600);
      guard = await Deno.open(tempPath, { read: true });
      if (!guard.tryLockSync(true)) throw new Error(`${tempPath} is locked by another keeper`);
      return room;
    });
  } catch (err) {
    guard?.close();
    if (fd !== undefined) {
      fs.closeSync(fd);
      await Deno.remove(tempPath).catch(() => {});
    }
    return refuse(
      err instanceof Stop ? err.message : `cannot keep the core: ${(err as Error).message}`,
    );
  }

  let bytes = 0;
  let written = 0;
  let nextFreeCheck = freeEvery;
  const limiter = new Transform({
    transform(chunk: Uint8Array, _enc, callback) {
      bytes += chunk.byteLength;
      if (bytes > max) {
        callback(
          new Stop(
            `the core is larger than ${max} bytes (${
              max === options.coreLimit ? "the process's ulimit -c" : "the maximum kept"
            })`,
          ),
        );
      } else callback(null, chunk);
    },
  });
  // Between the compressor and the file: the limits, on compressed bytes.
  const meter = new Transform({
    transform(chunk: Uint8Array, _enc, callback) {
      written += chunk.byteLength;
      const check = async () => {
        if (written > allowed) {
          allowed = await lockCoreDir(dir, () => makeRoom(written + grant, written));
        }
        if (written >= nextFreeCheck) {
          nextFreeCheck = written + freeEvery;
          const free = space(dir).free;
          if (free < limits.keepFree) {
            await lockCoreDir(dir, () => makeRoom(written, written));
          }
        }
      };
      if (written <= allowed && written < nextFreeCheck) callback(null, chunk);
      else check().then(() => callback(null, chunk), (err) => callback(err));
    },
  });
  const out = fs.createWriteStream(tempPath, { fd });
  try {
    await pipeline(
      Readable.fromWeb(core as import("node:stream/web").ReadableStream<Uint8Array>),
      limiter,
      zlib.createZstdCompress(),
      meter,
      out,
    );
    // Link, never rename: a core already under the final name is never replaced.
    await lockCoreDir(dir, async () => {
      await Deno.link(tempPath, finalPath);
      await Deno.remove(tempPath);
    });
    return { kept: true, text: finalPath, bytes };
  } catch (err) {
    await Deno.remove(tempPath).catch(() => {});
    await core.cancel().catch(() => {});
    if (err instanceof Stop) {
      const text = err.message.startsWith("the core is larger")
        ? err.message
        : `stopped after ${bytes} bytes of core (${written} written): ${err.message}`;
      return { kept: false, text, bytes };
    }
    return { kept: false, text: `cannot write ${finalPath}: ${(err as Error).message}`, bytes };
  } finally {
    (guard as Deno.FsFile | undefined)?.close();
  }
}
