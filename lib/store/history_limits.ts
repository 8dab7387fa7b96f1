/**
 * How much crash history the store keeps, and the pruning that holds it there: the age
 * oldest first, as systemd-coredump and journald limit theirs; the count shared between
 * uids, as kept cores are. Runs inside the caller's transaction.
 *
 * @module
 */
import type { Prepare } from "./triggers.ts";

/** How much history the store keeps. */
export interface HistoryLimits {
  /** At most this many crashes. @default 10000 */
  maxCount?: number;
  /** No crash received longer ago than this, in milliseconds. @default 90 days */
  maxAgeMs?: number;
}

/** The default of {@linkcode HistoryLimits.maxCount}. */
export const HISTORY_MAX_DEFAULT = 10_000;
/** The default of {@linkcode HistoryLimits.maxAgeMs}: 90 days. */
export const HISTORY_MAX_AGE_DEFAULT_MS = 90 * 86_400_000;

/**
 * Delete crashes beyond `limits` at `now`, through the store's statements `sql`; returns
 * how many went. Past the age limit the oldest go, whoever's they are. Past the count the
 * history is shared: see {@linkcode pruneShares}; `ownerOf` names the uid each crash counts
 * against (a subordinate uid's owner). Cheap when nothing is due: two lookups on the
 * primary key. When something is, it deletes a little more than the excess (1 % of the
 * limit), so that a steady stream of crashes deletes in batches rather than one row per
 * insert, and the limits always hold after it returns.
 */
export function pruneHistory(
  sql: Prepare,
  now: Date,
  limits: Required<HistoryLimits>,
  ownerOf: (uid: number) => number = (uid) => uid,
): number {
  return pruneAge(sql, now, limits.maxAgeMs) + pruneShares(sql, limits.maxCount, ownerOf);
}

// The oldest first, as far as the first crash young enough to stay (with a 1 % margin).
function pruneAge(sql: Prepare, now: Date, maxAgeMs: number): number {
  const oldest = sql("SELECT id, time FROM crashes ORDER BY id LIMIT 1").get() as
    | { id: number; time: string }
    | undefined;
  const cutoff = now.getTime() - maxAgeMs;
  if (oldest === undefined || Date.parse(oldest.time) >= cutoff) return 0;
  const margin = new Date(cutoff + Math.floor(maxAgeMs / 100)).toISOString();
  const young = sql(
    "SELECT id FROM crashes WHERE id >= ? AND time >= ? ORDER BY id LIMIT 1",
  ).get(oldest.id, margin) as { id: number } | undefined;
  const r = young === undefined
    ? sql("DELETE FROM crashes").run()
    : sql("DELETE FROM crashes WHERE id < ?").run(young.id);
  return Number(r.changes);
}

/**
 * Keep at most `maxCount` crashes, shared between uids as the core directory is past its
 * `maxUse` (lib/notify/core_vacuum.ts): the owner with the most crashes loses its oldest
 * first, so that no uid's crashes evict those of a uid that has fewer, and each of `k`
 * owners keeps at least `maxCount / k` of its newest. With one uid it is the plain
 * oldest-first limit. Returns how many went.
 */
function pruneShares(
  sql: Prepare,
  maxCount: number,
  ownerOf: (uid: number) => number,
): number {
  const ends = sql(
    "SELECT (SELECT MIN(id) FROM crashes) AS lo, (SELECT MAX(id) FROM crashes) AS hi",
  ).get() as { lo: number | null; hi: number | null };
  // Ids only grow, so hi - lo + 1 bounds the count: counted only when it could be over.
  if (ends.lo === null || ends.hi === null || ends.hi - ends.lo + 1 <= maxCount) return 0;
  const total = (sql("SELECT COUNT(*) AS n FROM crashes").get() as { n: number }).n;
  if (total <= maxCount) return 0;
  const keep = maxCount - Math.floor(maxCount / 100);
  const rows = sql("SELECT id, uid FROM crashes ORDER BY id").all() as {
    id: number;
    uid: number;
  }[];
  const owners = rows.map((r) => ownerOf(r.uid));
  const counts = new Map<number, number>();
  for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
  const cuts = shareCuts(counts, rows.length - keep);
  const del = sql("DELETE FROM crashes WHERE id = ?");
  let gone = 0;
  for (let i = 0; i < rows.length; i++) {
    const left = cuts.get(owners[i]) ?? 0;
    if (left === 0) continue;
    cuts.set(owners[i], left - 1);
    gone += Number(del.run(rows[i].id).changes);
  }
  return gone;
}

/**
 * How many crashes each owner loses so that `excess` go, the owners with the most first:
 * every owner is cut down to one level (the highest that frees enough), and the rows the
 * level frees beyond `excess` are given back, to the lowest uids first (root's last to go).
 */
export function shareCuts(
  counts: ReadonlyMap<number, number>,
  excess: number,
): Map<number, number> {
  const cuts = new Map<number, number>();
  if (excess <= 0) return cuts;
  const freed = (level: number) => {
    let n = 0;
    for (const c of counts.values()) n += Math.max(0, c - level);
    return n;
  };
  // The highest level that frees at least `excess`: freed() falls as the level rises.
  let lo = 0;
  let hi = Math.max(0, ...counts.values());
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (freed(mid) >= excess) lo = mid;
    else hi = mid - 1;
  }
  let over = freed(lo) - excess;
  for (const [owner, c] of [...counts].sort((a, b) => a[0] - b[0])) {
    let cut = Math.max(0, c - lo);
    if (cut > 0 && over > 0) {
      cut--;
      over--;
    }
    if (cut > 0) cuts.set(owner, cut);
  }
  return cuts;
}
