/**
 * The store's crash history: one row per crash, its outcome, per-trigger results and the
 * fate of its core, within limits: the age oldest first, as systemd-coredump and journald
 * limit theirs; the count shared between uids, as kept cores are.
 *
 * @module
 */
import type { CrashFacts } from "../core/crash_facts.ts";
import type {
  CoreFate,
  CrashRecord,
  ReportRecord,
  SnapshotRemoved,
  TriggerOutcome,
} from "../protocol/records.ts";
import type { ChainFate } from "../protocol/records.ts";
import type { SignatureGroup } from "../protocol/records.ts";
import { signatureOf } from "../report/signature.ts";
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
  /**
   * Only crashes a snapshot was taken of (retention's): told apart in SQLite, so that the
   * others' JSON is not even parsed.
   */
  withSnapshot?: boolean;
}

/**
 * Which crash a follow-up is about: its history id, which the daemon's reply gave; or,
 * from a sender that got none, only the pid it notified.
 */
export type CrashRef = { id: number } | { pid: number };

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
  signature?: string | null;
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
      `INSERT INTO crashes
         (time, pid, uid, gid, exec, hostname, facts, source, outcome, results, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)`,
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
      // Its signal and executable until a report (if any) names its frames.
      signatureOf(facts) ?? null,
    );
    return Number(r.lastInsertRowid);
  }

  /** Give crash `id` the facts and source of its helper, which joined it. */
  join(id: number, facts: CrashFacts, source: string): void {
    this.#sql("UPDATE crashes SET facts = ?, source = ? WHERE id = ?").run(
      JSON.stringify(facts),
      source,
      id,
    );
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

  /**
   * The crash a follow-up (`column`: its core's fate, or the chained handler's run) is
   * about: `ref.id` while it is in the history; or, when only a pid is known (an old
   * sender), the one crash of `ref.pid` since `since` that has no `column` yet, and none
   * when several have none (crashes of the same pid in several pid namespaces: placing
   * it on the newest could give one user's core to another's crash).
   */
  crashFor(ref: CrashRef, column: "core" | "chain", since: string): number | undefined {
    if ("id" in ref) {
      const row = this.#sql("SELECT id FROM crashes WHERE id = ?").get(ref.id) as
        | { id: number }
        | undefined;
      return row?.id;
    }
    const rows = this.#sql(
      `SELECT id FROM crashes WHERE pid = ? AND time >= ? AND ${column} IS NULL
         ORDER BY id DESC LIMIT 2`,
    ).all(ref.pid, since) as { id: number }[];
    return rows.length === 1 ? rows[0].id : undefined;
  }

  /** Record the core's fate on crash `id`. */
  setCoreFate(id: number, fate: CoreFate): void {
    this.#sql("UPDATE crashes SET core = ? WHERE id = ?").run(JSON.stringify(fate), id);
  }

  /** Record what the chained handler did on crash `id`. */
  setChainFate(id: number, fate: ChainFate): void {
    this.#sql("UPDATE crashes SET chain = ? WHERE id = ?").run(JSON.stringify(fate), id);
  }

  /**
   * Store crash `id`'s report (JSON, its size bounded by the caller), and the signature it
   * gives the crash (none while pending); whether found.
   */
  setReport(id: number, report: ReportRecord): boolean {
    const row = this.#sql("SELECT facts FROM crashes WHERE id = ?").get(id) as
      | { facts: string }
      | undefined;
    if (row === undefined) return false;
    const facts = JSON.parse(row.facts) as CrashFacts;
    const r = this.#sql("UPDATE crashes SET report = ?, signature = ? WHERE id = ?").run(
      JSON.stringify(report),
      signatureOf({ ...facts, report }) ?? null,
      id,
    );
    return Number(r.changes) > 0;
  }

  /** Crash `id`'s signature, when it is in the history and has one. */
  signature(id: number): string | undefined {
    const row = this.#sql("SELECT signature FROM crashes WHERE id = ?").get(id) as
      | { signature: string | null }
      | undefined;
    return row?.signature ?? undefined;
  }

  /**
   * The crashes grouped by signature (those with none left out), the most recent group
   * last; `options` filters the crashes as {@linkcode CrashTable.list} does.
   */
  signatureGroups(options: Omit<ListCrashesOptions, "limit"> = {}): SignatureGroup[] {
    const where = ["signature IS NOT NULL"];
    const params: (string | number)[] = [];
    for (
      const [column, value] of [["id", options.id], ["pid", options.pid], ["time", options.since]]
    ) {
      if (value === undefined) continue;
      where.push(column === "time" ? "time >= ?" : `${column} = ?`);
      params.push(value);
    }
    // No report read here (up to 64 KiB each): only the facts, for the --exec filter.
    const sql = `SELECT id, time, facts, source, outcome, signature FROM crashes WHERE ${
      where.join(" AND ")
    } ORDER BY id`;
    const groups = new Map<string, SignatureGroup>();
    type Row = Pick<CrashRow, "id" | "time" | "facts" | "source" | "outcome"> & {
      signature: string;
    };
    for (const row of this.#sql(sql).iterate(...params) as Iterable<Row>) {
      const facts = JSON.parse(row.facts) as CrashFacts;
      const crash = { ...facts, id: row.id, time: row.time, source: row.source, results: [] };
      if (options.match !== undefined && !options.match({ ...crash, outcome: row.outcome })) {
        continue;
      }
      // Oldest first: each group's example ends as its last crash.
      const example = { example: row.id, last: row.time, execName: facts.execName };
      const g = groups.get(row.signature);
      if (g === undefined) {
        groups.set(row.signature, {
          signature: row.signature,
          count: 1,
          first: row.time,
          ...example,
        });
      } else Object.assign(g, example, { count: g.count + 1 });
    }
    for (const g of groups.values()) {
      const top = this.#topFunction(g.example);
      if (top !== undefined) g.function = top;
    }
    return [...groups.values()].sort((a, b) => a.last < b.last ? -1 : a.last > b.last ? 1 : 0);
  }

  // The innermost named function of crash `id`'s crashing thread, when its report has one.
  #topFunction(id: number): string | undefined {
    const row = this.#sql("SELECT report FROM crashes WHERE id = ?").get(id) as
      | { report: string | null }
      | undefined;
    if (row?.report == null) return undefined;
    const r = JSON.parse(row.report) as ReportRecord;
    return r.threads?.find((t) => t.tid === r.crashingTid)?.frames.find((f) =>
      f.function !== undefined
    )?.function;
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
    const failed: ReportRecord = {
      state: "failed",
      reason: "the daemon stopped before the report was made",
    };
    // One by one: each gets the signature of its signal and executable.
    const ids = this.#sql(
      "SELECT id FROM crashes WHERE report IS NOT NULL AND json_extract(report, '$.state') = 'pending'",
    ).all() as { id: number }[];
    for (const { id } of ids) this.setReport(id, failed);
    return ids.length;
  }

  /**
   * Delete crashes beyond `limits` at `now`; returns how many went. Past the age limit the
   * oldest go, whoever's they are. Past the count the history is shared: see
   * {@linkcode CrashTable.pruneShares}; `ownerOf` names the uid each crash counts against
   * (a subordinate uid's owner). Cheap when nothing is due: two lookups on the primary
   * key. When something is, it deletes a little more than the excess (1 % of the limit),
   * so that a steady stream of crashes deletes in batches rather than one row per insert,
   * and the limits always hold after it returns.
   */
  prune(
    now: Date,
    limits: Required<HistoryLimits>,
    ownerOf: (uid: number) => number = (uid) => uid,
  ): number {
    return this.#pruneAge(now, limits.maxAgeMs) + this.pruneShares(limits.maxCount, ownerOf);
  }

  // The oldest first, as far as the first crash young enough to stay (with a 1 % margin).
  #pruneAge(now: Date, maxAgeMs: number): number {
    const oldest = this.#sql("SELECT id, time FROM crashes ORDER BY id LIMIT 1").get() as
      | { id: number; time: string }
      | undefined;
    const cutoff = now.getTime() - maxAgeMs;
    if (oldest === undefined || Date.parse(oldest.time) >= cutoff) return 0;
    const margin = new Date(cutoff + Math.floor(maxAgeMs / 100)).toISOString();
    const young = this.#sql(
      "SELECT id FROM crashes WHERE id >= ? AND time >= ? ORDER BY id LIMIT 1",
    ).get(oldest.id, margin) as { id: number } | undefined;
    const r = young === undefined
      ? this.#sql("DELETE FROM crashes").run()
      : this.#sql("DELETE FROM crashes WHERE id < ?").run(young.id);
    return Number(r.changes);
  }

  /**
   * Keep at most `maxCount` crashes, shared between uids as the core directory is past its
   * `maxUse` (lib/notify/core_vacuum.ts): the owner with the most crashes loses its oldest
   * first, so that no uid's crashes evict those of a uid that has fewer, and each of `k`
   * owners keeps at least `maxCount / k` of its newest. With one uid it is the plain
   * oldest-first limit. Returns how many went.
   */
  pruneShares(maxCount: number, ownerOf: (uid: number) => number): number {
    const ends = this.#sql(
      "SELECT (SELECT MIN(id) FROM crashes) AS lo, (SELECT MAX(id) FROM crashes) AS hi",
    ).get() as { lo: number | null; hi: number | null };
    // Ids only grow, so hi - lo + 1 bounds the count: counted only when it could be over.
    if (ends.lo === null || ends.hi === null || ends.hi - ends.lo + 1 <= maxCount) return 0;
    const total = (this.#sql("SELECT COUNT(*) AS n FROM crashes").get() as { n: number }).n;
    if (total <= maxCount) return 0;
    const keep = maxCount - Math.floor(maxCount / 100);
    const rows = this.#sql("SELECT id, uid FROM crashes ORDER BY id").all() as {
      id: number;
      uid: number;
    }[];
    const owners = rows.map((r) => ownerOf(r.uid));
    const counts = new Map<number, number>();
    for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
    const cuts = shareCuts(counts, rows.length - keep);
    const del = this.#sql("DELETE FROM crashes WHERE id = ?");
    let gone = 0;
    for (let i = 0; i < rows.length; i++) {
      const left = cuts.get(owners[i]) ?? 0;
      if (left === 0) continue;
      cuts.set(owners[i], left - 1);
      gone += Number(del.run(rows[i].id).changes);
    }
    return gone;
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
    if (options.withSnapshot === true) where.push(`results LIKE '%"snapshot":%'`);
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
    ...(row.signature == null ? {} : { signature: row.signature }),
  };
}
