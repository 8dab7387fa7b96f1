/**
 * Limits on the core directory, as systemd-coredump's `MaxUse=` and `KeepFree=`, plus a
 * per-uid share: which kept cores to remove (oldest first) so that a new one fits, the
 * directory's lock, and the limits' file `DIR/.limits.json`. Loaded only when a core is
 * kept.
 *
 * @module
 */
import { ownershipProblem } from "../core/ownership.ts";
import { parseDuration } from "../core/duration.ts";
import { parseByteSize } from "../core/size.ts";
import { LIMITS_FILE } from "../core/paths.ts";

const GiB = 1024 ** 3;

/** Upper bound of the default `maxUse` and `keepFree` (systemd-coredump's 4G). */
export const DEFAULT_CORE_CAP_BYTES = 4 * GiB;
/** Largest core kept, uncompressed (as systemd-coredump's ExternalSizeMax). */
export const DEFAULT_CORE_MAX_BYTES = 2 * GiB;
/** The default `maxUse`: this share of the filesystem (at most DEFAULT_CORE_CAP_BYTES). */
export const DEFAULT_MAX_USE_SHARE = 0.1;
/** The default `keepFree`: this share of the filesystem (at most DEFAULT_CORE_CAP_BYTES). */
export const DEFAULT_KEEP_FREE_SHARE = 0.15;
/** A uid's cores may use this share of `maxUse`. */
export const DEFAULT_UID_SHARE = 0.25;

/** The limits in force, in bytes; 0 turns `maxUse` (and the uid share) or `keepFree` off. */
export interface CoreLimits {
  /** Bytes all kept cores (compressed) may use. */
  maxUse: number;
  /** Bytes to keep free on the directory's filesystem, checked while writing. */
  keepFree: number;
  /** Share of `maxUse` one uid's cores may use, in (0, 1]. */
  uidShare: number;
  /** Largest core kept, uncompressed. */
  maxCore: number;
  /** Cores older than this (ms, by modification time) are removed; 0: no age limit. */
  maxAgeMs: number;
}

/**
 * Limits as written in `.limits.json` or given to `keepCore`: a size is bytes (a number)
 * or a string such as `"512M"`, `"4G"` (powers of 1024) or `"10%"` (of the filesystem).
 */
export interface CoreLimitsConfig {
  /** @default {"10%, at most 4G"} */
  maxUse?: number | string;
  /** @default {"15%, at most 4G"} */
  keepFree?: number | string;
  /** A fraction or a percentage. @default DEFAULT_UID_SHARE */
  uidShare?: number | string;
  /** @default DEFAULT_CORE_MAX_BYTES */
  maxCore?: number | string;
  /** A duration such as `"30d"` (lib/core/duration.ts), or seconds. @default {no age limit} */
  maxAge?: number | string;
}

const KEYS = ["maxUse", "keepFree", "uidShare", "maxCore", "maxAge"] as const;

/** Parse a size of {@linkcode CoreLimitsConfig} against a filesystem of `fsBytes`. */
export function parseLimitSize(value: unknown, fsBytes: number, name: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  const size = typeof value === "string" ? parseByteSize(value) : undefined;
  if (size === undefined) {
    throw new TypeError(
      `Cannot use ${name} ${
        JSON.stringify(value)
      }: expected bytes, or a size such as "512M" or "10%"`,
    );
  }
  if (size.bytes !== undefined) return size.bytes;
  if (size.percent > 100) throw new RangeError(`Cannot use ${name} "${value}": over 100%`);
  return Math.floor(fsBytes * size.percent / 100);
}

/** The limits in force: `config` over systemd-coredump's defaults, on `fsBytes`. */
export function resolveCoreLimits(config: CoreLimitsConfig, fsBytes: number): CoreLimits {
  for (const key of Object.keys(config)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(`Cannot use the limit "${key}": expected one of ${KEYS.join(", ")}`);
    }
  }
  const size = (key: "maxUse" | "keepFree" | "maxCore", fallback: number) =>
    config[key] === undefined ? fallback : parseLimitSize(config[key], fsBytes, key);
  let uidShare = DEFAULT_UID_SHARE;
  if (config.uidShare !== undefined) {
    const v = config.uidShare;
    uidShare = typeof v === "string" && v.endsWith("%") ? Number(v.slice(0, -1)) / 100 : Number(v);
    if (!(uidShare > 0 && uidShare <= 1)) {
      throw new RangeError(`Cannot use uidShare ${JSON.stringify(v)}: expected a share in (0, 1]`);
    }
  }
  return {
    maxUse: size(
      "maxUse",
      Math.min(Math.floor(fsBytes * DEFAULT_MAX_USE_SHARE), DEFAULT_CORE_CAP_BYTES),
    ),
    keepFree: size(
      "keepFree",
      Math.min(Math.floor(fsBytes * DEFAULT_KEEP_FREE_SHARE), DEFAULT_CORE_CAP_BYTES),
    ),
    uidShare,
    maxCore: size("maxCore", DEFAULT_CORE_MAX_BYTES),
    maxAgeMs: maxAgeOf(config.maxAge),
  };
}

function maxAgeOf(value: number | string | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value * 1000;
  try {
    return parseDuration(String(value));
  } catch {
    throw new TypeError(
      `Cannot use maxAge ${JSON.stringify(value)}: expected seconds, or a duration such as "30d"`,
    );
  }
}

/**
 * Read `DIR/.limits.json` when there is one: a regular file, not a link, that only we
 * can write (as the directory). Resolves to `{}` when there is none; throws when it is
 * unsafe or unparsable (then no core is kept, and the reason says why).
 */
export async function readLimitsFile(dir: string): Promise<CoreLimitsConfig> {
  const path = `${dir}/${LIMITS_FILE}`;
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw err;
  }
  if (!st.isFile || ownershipProblem(st, [Deno.uid() ?? -1]) !== undefined) {
    throw new Error(`${path} is not a regular file that only we can write`);
  }
  const value = JSON.parse(await Deno.readTextFile(path));
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${path} is not a JSON object`);
  }
  return value as CoreLimitsConfig;
}

/** A file of the core directory that counts against the limits. */
export interface KeptCore {
  /** File name in the directory. */
  name: string;
  /** Uid of the crash (from the name). */
  uid: number;
  /** Bytes it counts for: its size, or for a core being written its size and its grant. */
  bytes: number;
  /** Modification time (ms): the oldest is removed first. */
  mtimeMs: number;
  /** Being written by a live keeper: counted, never removed. */
  partial: boolean;
}

const CORE_NAME = /^core\.(.+)\.(\d+)\.(\d+)\.(\d+)\.zst$/;
const PARTIAL_NAME = /^\.(core\..+\.zst)\.[0-9a-f]+\.partial$/;

/** The uid in a kept core's name (or a partial's), or `undefined` when it is neither. */
export function coreNameUid(name: string): { uid: number; partial: boolean } | undefined {
  const p = PARTIAL_NAME.exec(name);
  const m = CORE_NAME.exec(p === null ? name : p[1]);
  return m === null ? undefined : { uid: Number(m[2]), partial: p !== null };
}

/** The name a core is written under until it is complete: hidden, unique, `.partial`. */
export function partialName(finalName: string): string {
  const tag = Array.from(crypto.getRandomValues(new Uint8Array(6)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `.${finalName}.${tag}.partial`;
}

/** What {@linkcode planVacuum} decided. */
export interface VacuumPlan {
  /** Complete cores to remove, in order. */
  remove: KeptCore[];
  /** Bytes the new core may reach (compressed) once they are removed. */
  room: number;
  /** Why the room is short of what was wanted, or the floor not reached. */
  problem?: string;
  /** Free bytes expected once they are removed. */
  free: number;
}

/**
 * Decide which kept cores to remove so that a core of `uid` may reach `want` bytes:
 * first every core older than `maxAgeMs`; then the oldest of that uid while its cores
 * would pass its share of `maxUse`; then,
 * while all cores would pass `maxUse`, the oldest core of the uid that uses the most (so
 * a uid within a small share is the last to lose cores to another's flood); then, while
 * the filesystem's free space is under `keepFree`, the oldest of that uid again, and no
 * other: any user can fill the filesystem with files of their own, which must not let
 * them erase other users' cores. Cores being written are counted, never removed. Pure:
 * `free` is the filesystem's free bytes now.
 */
export function planVacuum(
  cores: readonly KeptCore[],
  want: { uid: number; bytes: number; free: number; dir?: string; now?: number },
  limits: CoreLimits,
): VacuumPlan {
  const now = want.now ?? Date.now();
  // Past maxAge, whoever's: age is no one's doing.
  const expired = (c: KeptCore) =>
    limits.maxAgeMs > 0 && !c.partial && now - c.mtimeMs > limits.maxAgeMs;
  const left = cores.filter((c) => !expired(c));
  const remove: KeptCore[] = cores.filter(expired);
  let free = want.free + remove.reduce((sum, c) => sum + c.bytes, 0);
  const uidCap = limits.maxUse > 0 ? Math.floor(limits.maxUse * limits.uidShare) : Infinity;
  const maxUse = limits.maxUse > 0 ? limits.maxUse : Infinity;
  const use = (uid?: number) =>
    left.reduce((sum, c) => uid === undefined || c.uid === uid ? sum + c.bytes : sum, 0);
  const oldest = (uid?: number) =>
    left.filter((c) => !c.partial && (uid === undefined || c.uid === uid))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1))[0];
  const heaviest = () => {
    const byUid = new Map<number, number>();
    for (const c of left) byUid.set(c.uid, (byUid.get(c.uid) ?? 0) + c.bytes);
    const candidates = [...byUid].filter(([uid]) => oldest(uid) !== undefined)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return candidates.length === 0 ? undefined : oldest(candidates[0][0]);
  };
  for (;;) {
    let victim: KeptCore | undefined;
    if (use(want.uid) + want.bytes > uidCap) victim = oldest(want.uid);
    else if (use() + want.bytes > maxUse) victim = heaviest();
    else if (free < limits.keepFree) victim = oldest(want.uid);
    if (victim === undefined) break;
    left.splice(left.indexOf(victim), 1);
    remove.push(victim);
    free += victim.bytes;
  }
  const uidRoom = uidCap - use(want.uid);
  const allRoom = maxUse - use();
  const room = Math.max(0, Math.min(uidRoom, allRoom));
  const where = want.dir ?? "the core directory";
  let problem: string | undefined;
  if (free < limits.keepFree) {
    problem = `only ${free} bytes free in ${where}, under the ${limits.keepFree} to keep free`;
  } else if (room < want.bytes) {
    problem = uidRoom <= allRoom
      ? `uid ${want.uid}'s cores reached their share of ${where} (${uidCap} bytes)`
      : `the cores in ${where} reached their total cap (${maxUse} bytes)`;
  }
  return { remove, room, free, ...(problem === undefined ? {} : { problem }) };
}

/**
 * The kept cores of `dir` and the cores other keepers are writing. A `.partial` file
 * whose keeper died (its flock is free) is removed here; a live one counts for its size
 * plus `grant`, the most its keeper may add before it scans again. Call under
 * {@linkcode lockCoreDir}. `skip` is the caller's own partial.
 */
export function scanCoreDir(dir: string, grant: number, skip?: string): KeptCore[] {
  // Synchronous: a keeper scans every few MiB, and async lstat costs ~50 us a file.
  const cores: KeptCore[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const kind = coreNameUid(entry.name);
    if (kind === undefined || entry.name === skip || !entry.isFile) continue;
    const path = `${dir}/${entry.name}`;
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(path);
    } catch {
      continue;
    }
    if (!st.isFile) continue;
    if (kind.partial) {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { read: true });
      } catch {
        continue;
      }
      try {
        if (file.tryLockSync(true)) {
          try {
            Deno.removeSync(path); // its keeper died mid-write
          } catch { /* gone */ }
          continue;
        }
      } finally {
        file.close();
      }
    }
    cores.push({
      name: entry.name,
      uid: kind.uid,
      bytes: st.size + (kind.partial ? grant : 0),
      mtimeMs: st.mtime?.getTime() ?? 0,
      partial: kind.partial,
    });
  }
  return cores;
}

/** How long a keeper waits for the directory's lock. */
export const LOCK_WAIT_MS = 10_000;

/**
 * Run `fn` holding `flock(LOCK_EX)` on `DIR/.lock`, polled without blocking for at most
 * `waitMs`: keepers scan, remove and publish only under it. The lock dies with its
 * process.
 */
export async function lockCoreDir<T>(
  dir: string,
  fn: () => Promise<T>,
  waitMs = LOCK_WAIT_MS,
): Promise<T> {
  const path = `${dir}/.lock`;
  const st = await Deno.lstat(path).catch(() => undefined);
  if (st !== undefined && !st.isFile) throw new Error(`${path} is not a regular file`);
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    const deadline = Date.now() + waitMs;
    while (!file.tryLockSync(true)) {
      if (Date.now() > deadline) throw new Error(`${path} stayed locked for ${waitMs} ms`);
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
    }
    return await fn();
  } finally {
    file.close();
  }
}
