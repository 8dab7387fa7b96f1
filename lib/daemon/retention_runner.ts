/**
 * Runs snapshot retention (lib/daemon/snapshot_retention.ts): within a second of a crash
 * that took a snapshot (once for all those of that second),
 * at start and every hour, one pass at a time. Each removal is checked on disk first
 * (what LTTng wrote, no symbolic link, inside the trigger's output) and recorded in the
 * history. The filesystem is behind {@linkcode RetentionFs}, injected by tests.
 *
 * @module
 */
import fs from "node:fs";
import type { CrashRecord, SnapshotRemoved } from "../protocol/records.ts";
import type { Trigger } from "../core/trigger.ts";
import { snapshotDirProblem } from "../lttng/control.ts";
import {
  insideOutput,
  planBySpace,
  planByTrigger,
  recordedSnapshots,
  resolveSpaceLimits,
  type SizedSnapshot,
  type SnapshotRemoval,
  type SnapshotSpaceLimits,
} from "./snapshot_retention.ts";

/** How long after a crash that took a snapshot its retention pass runs, at most. */
export const RETENTION_SETTLE_MS = 1000;

/** What retention does on disk. */
export interface RetentionFs {
  /** Why `path` must not be removed, or `undefined` when it may. */
  problem(path: string): Promise<string | undefined>;
  /** Bytes of the files under `path`, no symbolic link followed. */
  size(path: string): Promise<number>;
  /** The filesystem of `path`: total and available bytes. */
  space(path: string): { size: number; free: number };
  /** Remove the directory `path` and what it holds (links removed, never followed). */
  remove(path: string): Promise<void>;
}

/** The store, as retention uses it. */
export interface RetentionStore {
  /** The triggers. */
  listTriggers(): Trigger[];
  /** The history. */
  listCrashes(options: { limit: number; withSnapshot?: boolean }): CrashRecord[];
  /** Record a removal. */
  setSnapshotRemoved(id: number, trigger: string, path: string, removed: SnapshotRemoved): boolean;
}

async function sizeOf(path: string): Promise<number> {
  const st = await Deno.lstat(path);
  if (!st.isDirectory) return st.isFile ? st.size : 0;
  let total = 0;
  for await (const e of Deno.readDir(path)) total += await sizeOf(`${path}/${e.name}`);
  return total;
}

/** The real filesystem. */
export const denoRetentionFs: RetentionFs = {
  async problem(path) {
    const st = await Deno.lstat(path).catch(() => undefined);
    if (st === undefined) return "it no longer exists";
    if (st.isSymlink || !st.isDirectory) return "it is not a directory (a link is never followed)";
    return (await snapshotDirProblem(path))?.message;
  },
  size: sizeOf,
  space(path) {
    const st = fs.statfsSync(path);
    return {
      size: Number(st.blocks) * Number(st.bsize),
      free: Number(st.bavail) * Number(st.bsize),
    };
  },
  remove: (path) => Deno.remove(path, { recursive: true }),
};

/** Options of {@linkcode SnapshotRetention}. */
export interface SnapshotRetentionOptions {
  /** The store. */
  store: RetentionStore;
  /** Daemon-wide limits. @default the filesystem's defaults */
  limits?: SnapshotSpaceLimits;
  /** The filesystem. @default denoRetentionFs */
  fs?: RetentionFs;
  /** Log sink. */
  log: (line: string) => void;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** Snapshot retention for one daemon. */
export class SnapshotRetention {
  #o: SnapshotRetentionOptions;
  #fs: RetentionFs;
  #running?: Promise<number>;
  #again = false;
  #soon?: ReturnType<typeof setTimeout>;

  constructor(options: SnapshotRetentionOptions) {
    this.#o = options;
    this.#fs = options.fs ?? denoRetentionFs;
  }

  /**
   * One pass (a pass asked for while one runs runs once after it); resolves to how many
   * snapshots were removed.
   */
  run(): Promise<number> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let removed = 0;
      do {
        this.#again = false;
        removed += await this.#pass().catch((err) => {
          this.#o.log(`snapshot retention: ${(err as Error).message}`);
          return 0;
        });
      } while (this.#again);
      return removed;
    })().finally(() => this.#running = undefined);
    return this.#running;
  }

  /**
   * A pass within {@linkcode RETENTION_SETTLE_MS}, once for every crash that took a
   * snapshot meanwhile: a pass reads every recorded snapshot (and sizes them), which a
   * crash loop must not pay on each crash.
   */
  soon(): void {
    this.#soon ??= setTimeout(() => {
      this.#soon = undefined;
      void this.run();
    }, RETENTION_SETTLE_MS);
  }

  /** Resolves once no pass runs; a pass asked for with `soon` is not made. */
  async idle(): Promise<void> {
    clearTimeout(this.#soon);
    this.#soon = undefined;
    await this.#running;
  }

  async #pass(): Promise<number> {
    const triggers = this.#o.store.listTriggers();
    const all = recordedSnapshots(
      this.#o.store.listCrashes({ limit: 1_000_000, withSnapshot: true }),
    );
    const now = (this.#o.now ?? Date.now)();
    let removed = 0;
    const gone = new Set<string>();
    for (const r of planByTrigger(all, triggers, now)) {
      if (await this.#remove(r, triggers)) removed++;
      gone.add(r.path);
    }
    const left = all.filter((s) => !gone.has(s.path));
    if (left.length < 2) return removed;
    const sized: SizedSnapshot[] = [];
    for (const s of left) sized.push({ ...s, bytes: await this.#fs.size(s.path).catch(() => 0) });
    const space = this.#fs.space(left[0].path.slice(0, left[0].path.lastIndexOf("/")) || "/");
    const limits = resolveSpaceLimits(this.#o.limits ?? {}, space.size);
    for (const r of planBySpace(sized, limits, space.free)) {
      if (await this.#remove(r, triggers)) removed++;
    }
    return removed;
  }

  async #remove(r: SnapshotRemoval, triggers: readonly Trigger[]): Promise<boolean> {
    const o = this.#o;
    const trigger = triggers.find((t) => t.name === r.trigger);
    const problem = !insideOutput(r.path, trigger)
      ? "it is not in the trigger's output directory"
      : await this.#fs.problem(r.path);
    if (problem === "it no longer exists") {
      o.store.setSnapshotRemoved(r.crashId, r.trigger, r.path, {
        time: new Date().toISOString(),
        reason: `${r.reason}: it was gone already`,
      });
      return false;
    }
    if (problem !== undefined) {
      o.log(`snapshot retention: ${r.path} kept: ${problem} (it would go: ${r.reason})`);
      return false;
    }
    try {
      await this.#fs.remove(r.path);
    } catch (err) {
      o.log(`snapshot retention: cannot remove ${r.path}: ${(err as Error).message}`);
      return false;
    }
    o.store.setSnapshotRemoved(r.crashId, r.trigger, r.path, {
      time: new Date().toISOString(),
      reason: r.reason,
    });
    o.log(`snapshot retention: removed ${r.path} (crash ${r.crashId}): ${r.reason}`);
    return true;
  }
}
