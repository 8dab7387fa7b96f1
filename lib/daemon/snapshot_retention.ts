/**
 * Retention of the snapshot directories lttng-trig's triggers created, as
 * systemd-coredump's coredump.conf limits cores: per trigger a count
 * (`set --max-snapshots=N`, the N newest kept) and an age (`set --max-age`); for the
 * daemon, a total size (`daemon --snapshots-max-use`) and the free space to leave
 * (`--snapshots-keep-free`), whose defaults (10% and 15% of the filesystem, each at most
 * 4 GiB) keep a crash loop from filling the disk.
 *
 * Only snapshots recorded in the history are candidates, and each is removed only when
 * it still is what LTTng wrote: a local directory named `core-<exec>-<pid>-<date>-<time>-<n>`
 * inside the trigger's output directory when the trigger names one, with no symbolic link
 * on its path or inside it, owned and writable by no one but root or the daemon's user
 * (lib/lttng/control.ts snapshotDirProblem). The history records each removal and why.
 *
 * @module
 */
import type { CrashRecord } from "../protocol/records.ts";
import { formatDuration } from "../core/duration.ts";
import type { Trigger } from "../core/trigger.ts";

/** The default share of a filesystem that snapshots may use, and its cap. */
export const SNAPSHOT_MAX_USE = { percent: 10, capBytes: 4 * 1024 ** 3 } as const;
/** The default share of a filesystem to leave free, and its cap. */
export const SNAPSHOT_KEEP_FREE = { percent: 15, capBytes: 4 * 1024 ** 3 } as const;

/** A snapshot the history holds, still on disk as far as it knows. */
export interface RecordedSnapshot {
  /** Its crash's history id. */
  crashId: number;
  /** The trigger that took it. */
  trigger: string;
  /** Its directory. */
  path: string;
  /** When its crash was received (ISO 8601). */
  time: string;
}

/** One snapshot to remove, and why (recorded in the history). */
export interface SnapshotRemoval extends RecordedSnapshot {
  /** Why, in a sentence. */
  reason: string;
}

/** Daemon-wide limits, in bytes; `undefined`: the defaults of the filesystem. */
export interface SnapshotSpaceLimits {
  /** Most bytes all snapshots may use together. */
  maxUse?: number;
  /** Bytes to leave free on the snapshots' filesystem. */
  keepFree?: number;
}

const NAME_RE = /^core-.+-\d+-\d{8}-\d{6}-\d+$/;

/**
 * The local snapshots of `crashes` not yet removed, newest first; a remote one (a URL), a
 * pattern (`...-*`: not found when recorded) or a directory of another name is none.
 */
export function recordedSnapshots(crashes: readonly CrashRecord[]): RecordedSnapshot[] {
  const out: RecordedSnapshot[] = [];
  for (const c of crashes) {
    for (const r of c.results) {
      const path = r.snapshot;
      if (path === undefined || r.removed !== undefined || !path.startsWith("/")) continue;
      if (!NAME_RE.test(path.slice(path.lastIndexOf("/") + 1))) continue;
      out.push({ crashId: c.id, trigger: r.trigger, path, time: c.time });
    }
  }
  return out.sort((a, b) => a.time < b.time ? 1 : a.time > b.time ? -1 : b.crashId - a.crashId);
}

/** Where a trigger writes its snapshots, when it names a local directory. */
function outputDir(t: Trigger): string | undefined {
  if (t.action.type !== "snapshot") return undefined;
  const url = t.action.url;
  const dir = t.action.path ?? (url?.startsWith("file://") ? url.slice(7) : undefined);
  return dir?.replace(/\/+$/, "");
}

/** Is `path` a direct child of the trigger's output directory (when it names one)? */
export function insideOutput(path: string, trigger: Trigger | undefined): boolean {
  const dir = trigger === undefined ? undefined : outputDir(trigger);
  if (dir === undefined) return true;
  return path.slice(0, path.lastIndexOf("/")) === dir;
}

/**
 * What the triggers' own limits remove (pure): past `--max-snapshots`, the oldest of
 * each trigger; past `--max-age`, the older than it. `snapshots` newest first.
 */
export function planByTrigger(
  snapshots: readonly RecordedSnapshot[],
  triggers: readonly Trigger[],
  nowMs: number,
): SnapshotRemoval[] {
  const out: SnapshotRemoval[] = [];
  const seen = new Map<string, number>();
  for (const s of snapshots) {
    const t = triggers.find((x) => x.name === s.trigger);
    if (t === undefined || t.action.type !== "snapshot") continue;
    const n = (seen.get(s.trigger) ?? 0) + 1;
    seen.set(s.trigger, n);
    const { maxSnapshots, maxAgeMs } = t.action;
    if (maxSnapshots !== undefined && n > maxSnapshots) {
      out.push({
        ...s,
        reason:
          `trigger ${t.name} keeps its ${maxSnapshots} newest snapshot(s) (--max-snapshots=${maxSnapshots})`,
      });
    } else if (maxAgeMs !== undefined && nowMs - Date.parse(s.time) > maxAgeMs) {
      out.push({
        ...s,
        reason: `older than trigger ${t.name}'s --max-age of ${formatDuration(maxAgeMs)}`,
      });
    }
  }
  return out;
}

/** A snapshot with its size in bytes. */
export interface SizedSnapshot extends RecordedSnapshot {
  /** Bytes of its files. */
  bytes: number;
}

/**
 * What the daemon-wide limits remove (pure): the oldest snapshots, until all of them use
 * at most `maxUse` bytes and `free` (the filesystem's available bytes) reaches
 * `keepFree`, as each removal frees its bytes. `snapshots` newest first; the newest is
 * never removed (the crash that was just taken).
 */
export function planBySpace(
  snapshots: readonly SizedSnapshot[],
  limits: Required<SnapshotSpaceLimits>,
  free: number,
): SnapshotRemoval[] {
  let used = snapshots.reduce((sum, s) => sum + s.bytes, 0);
  let available = free;
  const out: SnapshotRemoval[] = [];
  for (let i = snapshots.length - 1; i > 0; i--) {
    const s = snapshots[i];
    if (used > limits.maxUse) {
      out.push({
        ...s,
        reason:
          `snapshots used ${used} bytes, over the daemon's --snapshots-max-use of ${limits.maxUse}`,
      });
    } else if (available < limits.keepFree) {
      out.push({
        ...s,
        reason:
          `${available} bytes free, under the daemon's --snapshots-keep-free of ${limits.keepFree}`,
      });
    } else {
      break;
    }
    used -= s.bytes;
    available += s.bytes;
  }
  return out;
}

/** The daemon-wide limits on a filesystem of `fsBytes`: given ones, else the defaults. */
export function resolveSpaceLimits(
  limits: SnapshotSpaceLimits,
  fsBytes: number,
): Required<SnapshotSpaceLimits> {
  const share = (d: { percent: number; capBytes: number }) =>
    Math.min(Math.floor(fsBytes * d.percent / 100), d.capBytes);
  return {
    maxUse: limits.maxUse ?? share(SNAPSHOT_MAX_USE),
    keepFree: limits.keepFree ?? share(SNAPSHOT_KEEP_FREE),
  };
}
