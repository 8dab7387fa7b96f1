/**
 * The store's crash history: one row per crash, its outcome, per-trigger results and the
 * fate of its core, within limits (count and age) applied oldest first, as
 * systemd-coredump and journald limit theirs.
 *
 * @module
 */
import type {
  CoreFate,
  CrashFacts,
  CrashRecord,
  ReportRecord,
  SnapshotRemoved,
  TriggerOutcome,
} from "../protocol/records.ts";
import type { ChainFate } from "../protocol/records.ts";
import type { Prepare } from "./triggers.ts";

/** Options of {@linkcode CrashTable.list}. */
export interface ListCrashesOptions {
  /** At most this many, the newest. @default 1000 */
  limit?: number;
  /** Only this history id. */
  id?: number;
  /** Only crashes of this pid. */
  pid?: number;
  /** Only crashes received at or after this ISO 8601 time. */
  since?: string;
  /** Only crashes whose exec name (or executable path) matches. */
  match?: (crash: CrashRecord) => boolean;
}

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

interface CrashRow {
  id: number;
  time: string;
  pid: number;
  uid: number;
  gid: number;
  exec: string;
  hostname: string;
  facts: string;
  source: string;
  outcome: string;
  results: string;
  detail: string | null;
  core: string | null;
  chain?: string | null;
  report?: string | null;
}

/** The `crashes` table; every write runs inside the caller's transaction. */
export class CrashTable {
  #sql: Prepare;

  /** Build it over the store's statement cache. */
  constructor(prepare: Prepare) {
    this.#sql = prepare;
  }

  /** Insert a crash with no results yet; returns its history id. */
  insert(facts: CrashFacts, source: string, now: Date, outcome: string): number {
    const r = this.#sql(
      `INSERT INTO crashes (time, pid, uid, gid, exec, hostname, facts, source, outcome, results)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')`,
    ).run(
      now.toISOString(),
      facts.pid,
      facts.uid,
      facts.gid,
      facts.execName,
      facts.hostname,
      JSON.stringify(facts),
      source,
      outcome,
    );
    return Number(r.lastInsertRowid);
  }

  /** Set a crash's final outcome and per-trigger results. */
  finish(id: number, outcome: string, results: TriggerOutcome[], detail?: string): void {
    this.#sql("UPDATE crashes SET outcome = ?, results = ?, detail = ? WHERE id = ?").run(
      outcome,
      JSON.stringify(results),
      detail ?? null,
      id,
    );
  }

  /** Record the core's fate on the newest crash of `pid` since `since`; whether found. */
  setCoreFate(pid: number, fate: CoreFate, since: string): boolean {
    const row = this.#sql(
      "SELECT id FROM crashes WHERE pid = ? AND time >= ? ORDER BY id DESC LIMIT 1",
    ).get(pid, since) as { id: number } | undefined;
    if (row === undefined) return false;
    this.#sql("UPDATE crashes SET core = ? WHERE id = ?").run(JSON.stringify(fate), row.id);
    return true;
  }

  /**
   * Record what the chained handler did on the newest crash of `pid` since `since`;
   * returns that crash's history id, or `undefined` when there is none.
   */
  setChainFate(pid: number, fate: ChainFate, since: string): number | undefined {
    const row = this.#sql(
      "SELECT id FROM crashes WHERE pid = ? AND time >= ? ORDER BY id DESC LIMIT 1",
    ).get(pid, since) as { id: number } | undefined;
    if (row === undefined) return undefined;
    this.#sql("UPDATE crashes SET chain = ? WHERE id = ?").run(JSON.stringify(fate), row.id);
    return row.id;
  }

  /** The history id of the newest crash of `pid` since `since`, as setCoreFate finds it. */
  crashOfPid(pid: number, since: string): number | undefined {
    const row = this.#sql(
      "SELECT id FROM crashes WHERE pid = ? AND time >= ? ORDER BY id DESC LIMIT 1",
    ).get(pid, since) as { id: number } | undefined;
    return row?.id;
  }

  /** Store crash `id`'s report (JSON, its size bounded by the caller); whether found. */
  setReport(id: number, report: ReportRecord): boolean {
    const r = this.#sql("UPDATE crashes SET report = ? WHERE id = ?").run(
      JSON.stringify(report),
      id,
    );
    return Number(r.changes) > 0;
  }

  /**
   * Record that the snapshot `path` of trigger `trigger` of crash `id` was removed, and
   * why; returns whether that result was found.
   */
  setSnapshotRemoved(id: number, trigger: string, path: string, removed: SnapshotRemoved): boolean {
    const row = this.#sql("SELECT results FROM crashes WHERE id = ?").get(id) as
      | { results: string }
      | undefined;
    if (row === undefined) return false;
    const results = JSON.parse(row.results) as TriggerOutcome[];
    const r = results.find((x) => x.trigger === trigger && x.snapshot === path);
    if (r === undefined) return false;
    r.removed = removed;
    this.#sql("UPDATE crashes SET results = ? WHERE id = ?").run(JSON.stringify(results), id);
    return true;
  }

  /** Mark `pending` crashes `interrupted`; returns how many. */
  markInterrupted(): number {
    const r = this.#sql(
      "UPDATE crashes SET outcome = 'interrupted', detail = 'the daemon stopped before the actions finished' WHERE outcome = 'pending'",
    ).run();
    return Number(r.changes);
  }

  /** Mark reports left `pending` by a daemon that stopped as `failed`; returns how many. */
  failPendingReports(): number {
    const failed = JSON.stringify({
      state: "failed",
      reason: "the daemon stopped before the report was made",
    });
    const r = this.#sql(
      "UPDATE crashes SET report = ? WHERE report IS NOT NULL AND json_extract(report, '$.state') = 'pending'",
    ).run(failed);
    return Number(r.changes);
  }

  /**
   * Delete the oldest crashes beyond `limits` at `now`; returns how many went. Oldest means
   * first received (lowest id). Cheap when nothing is due: two lookups on the primary key.
   * When something is, it deletes a little more than the excess (1 % of the limit), so that
   * a steady stream of crashes deletes in batches rather than one row per insert, and the
   * limits always hold after it returns.
   */
  prune(now: Date, limits: Required<HistoryLimits>): number {
    // Two subqueries: SQLite reads MIN or MAX alone off the key, but scans for both at once.
    const ends = this.#sql(
      "SELECT (SELECT MIN(id) FROM crashes) AS lo, (SELECT MAX(id) FROM crashes) AS hi",
    ).get() as {
      lo: number | null;
      hi: number | null;
    };
    if (ends.lo === null || ends.hi === null) return 0;
    let below = ends.lo; // every id < below goes
    // Ids only grow and only the oldest are deleted, so hi - lo + 1 is the count (or more).
    if (ends.hi - ends.lo + 1 > limits.maxCount) {
      const keep = limits.maxCount - Math.floor(limits.maxCount / 100);
      below = ends.hi - keep + 1;
    }
    const oldest = this.#sql("SELECT time FROM crashes WHERE id >= ? ORDER BY id LIMIT 1").get(
      below,
    ) as { time: string } | undefined;
    const cutoff = now.getTime() - limits.maxAgeMs;
    if (oldest !== undefined && Date.parse(oldest.time) < cutoff) {
      const margin = new Date(cutoff + Math.floor(limits.maxAgeMs / 100)).toISOString();
      // Scans from the oldest only as far as the first crash young enough to stay.
      const young = this.#sql(
        "SELECT id FROM crashes WHERE id >= ? AND time >= ? ORDER BY id LIMIT 1",
      ).get(below, margin) as { id: number } | undefined;
      below = young?.id ?? ends.hi + 1;
    }
    if (below <= ends.lo) return 0;
    const r = this.#sql("DELETE FROM crashes WHERE id < ?").run(below);
    return Number(r.changes);
  }

  /** The newest crashes, oldest first. */
  list(options: ListCrashesOptions = {}): CrashRecord[] {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 100_000));
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options.id !== undefined) {
      where.push("id = ?");
      params.push(options.id);
    }
    if (options.pid !== undefined) {
      where.push("pid = ?");
      params.push(options.pid);
    }
    if (options.since !== undefined) {
      where.push("time >= ?");
      params.push(options.since);
    }
    const sql = `SELECT * FROM crashes${
      where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""
    } ORDER BY id DESC`;
    const out: CrashRecord[] = [];
    // Iterate newest first, so that a filter in JS still returns the newest matches.
    for (const row of this.#sql(sql).iterate(...params) as Iterable<CrashRow>) {
      const crash = rowToCrash(row);
      if (options.match !== undefined && !options.match(crash)) continue;
      out.push(crash);
      if (out.length >= limit) break;
    }
    return out.reverse();
  }
}

function rowToCrash(row: CrashRow): CrashRecord {
  const facts = JSON.parse(row.facts) as CrashFacts;
  return {
    ...facts,
    id: row.id,
    time: row.time,
    source: row.source,
    outcome: row.outcome,
    results: JSON.parse(row.results) as TriggerOutcome[],
    ...(row.detail === null ? {} : { detail: row.detail }),
    ...(row.core === null ? {} : { core: JSON.parse(row.core) as CoreFate }),
    ...(row.chain == null ? {} : { chain: JSON.parse(row.chain) as ChainFate }),
    ...(row.report === null || row.report === undefined
      ? {}
      : { report: JSON.parse(row.report) as ReportRecord }),
  };
}
