/**
 * The store's crash history: one row per crash, its outcome, per-trigger results and the
 * fate of its core, within the limits of history_limits.ts.
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
import type { ChainFate, MissedCrash } from "../protocol/records.ts";
import type { SignatureGroup } from "../protocol/records.ts";
import { signatureOf } from "../report/signature.ts";
import type { Prepare } from "./triggers.ts";
import { type HistoryLimits, pruneHistory } from "./history_limits.ts";

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

/**
 * How long before the notifier journals a crash the daemon may have received it: its hold
 * (10 s) and the chained handler's run (60 s by default), with room.
 */
const MISSED_MATCH_MS = 15 * 60_000;

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

  /**
   * Insert the crashes that reached no daemon, outcome `missed`, those newer than the
   * newest imported before (meta `journal_imported`), and prune the history to `limits`;
   * returns how many were imported.
   */
  importMissed(crashes: readonly MissedCrash[], limits: Required<HistoryLimits>): number {
    const row = this.#sql("SELECT value FROM meta WHERE key = 'journal_imported'")
      .get() as { value: string } | undefined;
    const after = row?.value ?? "";
    const fresh = crashes.filter((c) => c.time > after).sort((a, b) => a.time < b.time ? -1 : 1);
    // A daemon that got the crash and died before replying has it already (marked
    // interrupted): the notifier journals a crash after the daemon received it, within
    // its hold and the chained handler's run.
    const recorded = this.#sql(
      "SELECT 1 FROM crashes WHERE pid = ? AND time >= ? AND time <= ? AND source != 'notifier.log' LIMIT 1",
    );
    let imported = 0;
    for (const c of fresh) {
      const since = new Date(Date.parse(c.time) - MISSED_MATCH_MS).toISOString();
      if (recorded.get(c.facts.pid, since, c.time) !== undefined) continue;
      const id = this.insert(c.facts, "notifier.log", new Date(c.time), "missed");
      this.finish(id, "missed", [], c.detail);
      imported++;
    }
    if (fresh.length > 0) {
      this.#sql(
        "INSERT INTO meta (key, value) VALUES ('journal_imported', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(fresh.at(-1)!.time);
      this.prune(new Date(), limits);
    }
    return imported;
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

  /** Delete crashes beyond `limits` at `now`; see {@linkcode pruneHistory}. */
  prune(
    now: Date,
    limits: Required<HistoryLimits>,
    ownerOf: (uid: number) => number = (uid) => uid,
  ): number {
    return pruneHistory(this.#sql, now, limits, ownerOf);
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
