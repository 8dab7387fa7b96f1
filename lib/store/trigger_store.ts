/**
 * The durable store: triggers, their rate counters and the crash history, in SQLite
 * through Deno's built-in `node:sqlite`. One writer (the daemon); WAL with
 * `synchronous=FULL`, so whatever a method returned from is on disk before a client hears
 * of it.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  conditionMatches,
  type CrashFacts,
  formatDuration,
  formatRatePolicy,
  rateAllows,
  type Trigger,
  triggerIdentity,
  type TriggerSpec,
} from "../trigger.ts";

const SCHEMA_VERSION = 1;

/** The store cannot be opened or written. */
export class StoreError extends Error {
  /** The database file. */
  readonly path: string;
  /** Build a store error. */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.path = path;
  }
}

/** A trigger with that name, or an identical trigger, exists already. */
export class TriggerExistsError extends Error {
  /** The existing trigger's name. */
  readonly existing: string;
  /** Build the error. */
  constructor(message: string, existing: string) {
    super(message);
    this.name = "TriggerExistsError";
    this.existing = existing;
  }
}

/** What happened to one trigger for one crash. */
export interface TriggerOutcome {
  /** Trigger name. */
  trigger: string;
  /** Session acted on. */
  session: string;
  /** `snapshot` or `stop`. */
  action: string;
  /** `ok`, `failed` or `skipped` (rate policy and the like). */
  outcome: "ok" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  reason?: string;
  /** The snapshot's location, for a snapshot that was taken. */
  snapshot?: string;
  /** How long the action took, in milliseconds. */
  durationMs?: number;
}

/** One crash in the history. */
export interface CrashRecord extends CrashFacts {
  /** History id. */
  id: number;
  /** When the daemon received it (ISO 8601). */
  time: string;
  /** Where it came from: `notify` (pipe helper), `socket`... */
  source: string;
  /** `pending`, `ok`, `failed`, `no-trigger`, `skipped`, `interrupted`. */
  outcome: string;
  /** Per-trigger outcomes. */
  results: TriggerOutcome[];
  /** Extra detail. */
  detail?: string;
  /** What happened to the core, when the notifier kept it or tried to. */
  core?: CoreFate;
}

/** What happened to a crash's core. */
export interface CoreFate {
  /** Whether it was kept. */
  kept: boolean;
  /** The kept core's path. */
  path?: string;
  /** Why it was not kept. */
  reason?: string;
  /** Core bytes the notifier read. */
  bytes: number;
}

/**
 * The fate to record for a core, from what the notifier or the coredump server says of it:
 * `text` is the kept core's path, or why it was not kept.
 */
export function coreFate(outcome: { kept: boolean; text: string; bytes: number }): CoreFate {
  return outcome.kept
    ? { kept: true, path: outcome.text, bytes: outcome.bytes }
    : { kept: false, reason: outcome.text, bytes: outcome.bytes };
}

/** A trigger that matched a crash, and whether its rate policy lets it act. */
export interface Decision {
  /** The trigger, with its counters after this crash. */
  trigger: Trigger;
  /** Whether the action runs. */
  allowed: boolean;
  /** Why it does not (rate policy, cooldown, daily maximum). */
  reason?: string;
}

/** Options of {@linkcode TriggerStore.listCrashes}. */
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

interface TriggerRow {
  name: string;
  owner: number;
  spec: string;
  created_at: string;
  hits: number;
  fired: number;
}

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
}

/**
 * The trigger store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TriggerStore } from "./trigger_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   using store = TriggerStore.open(`${dir}/triggers.db`);
 *   store.addTrigger(
 *     { session: "s", condition: { type: "OnAnyCoreDump" }, action: { type: "snapshot" } },
 *     0,
 *   );
 *   assert.equal(store.listTriggers().length, 1);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TriggerStore implements Disposable {
  #db: DatabaseSync;
  #path: string;
  #stmts: Record<string, StatementSync> = {};
  #closed = false;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
  }

  /** The database file. */
  get path(): string {
    return this.#path;
  }

  /**
   * Open (or create) the store at `path`. A file that is not a healthy lttng-trig store is
   * refused with a {@linkcode StoreError} that names it: never silently replaced.
   */
  static open(path: string): TriggerStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      throw new StoreError(
        path,
        `Cannot open the state store ${path}: ${
          errText(err)
        }: check the state directory's permissions`,
        { cause: err },
      );
    }
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
      if (check.length !== 1 || check[0].quick_check !== "ok") {
        throw new Error(check.map((r) => r.quick_check).join("; "));
      }
      const store = new TriggerStore(db, path);
      // Checks before any write (WAL is persistent): a foreign file is refused untouched.
      store.#migrate();
      db.exec("PRAGMA journal_mode = WAL");
      // NORMAL in WAL mode: a commit survives the daemon being killed (SIGKILL), which is
      // what the crash history needs at thousands of crashes a second; trigger changes,
      // which a user was told about, are committed FULL (fsync'd) as well.
      db.exec("PRAGMA synchronous = NORMAL");
      return store;
    } catch (err) {
      try {
        db.close();
      } catch { /* already failing */ }
      if (err instanceof StoreError) throw err;
      throw new StoreError(
        path,
        `The state store ${path} is unreadable or corrupt (${
          errText(err)
        }): move it aside to start with no triggers, or restore it from a backup`,
        { cause: err },
      );
    }
  }

  #migrate(): void {
    const db = this.#db;
    const hasMeta = db.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
    ).get() !== undefined;
    const row = hasMeta
      ? db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
        | { value: string }
        | undefined
      : undefined;
    if (row !== undefined && Number(row.value) !== SCHEMA_VERSION) {
      throw new StoreError(
        this.#path,
        `The state store ${this.#path} has schema version ${row.value}, this lttng-trig knows ${SCHEMA_VERSION}: use the matching lttng-trig version`,
      );
    }
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('meta', 'sqlite_sequence')",
    ).all() as { name: string }[];
    if (row === undefined && tables.length > 0) {
      throw new StoreError(
        this.#path,
        `The file ${this.#path} is an SQLite database but not an lttng-trig store: pass another --state-dir`,
      );
    }
    db.exec(`
      BEGIN;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS triggers (
        name TEXT PRIMARY KEY,
        identity TEXT NOT NULL UNIQUE,
        owner INTEGER NOT NULL,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0,
        fired INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS crashes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        pid INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        gid INTEGER NOT NULL,
        exec TEXT NOT NULL,
        hostname TEXT NOT NULL,
        facts TEXT NOT NULL,
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        results TEXT NOT NULL,
        detail TEXT,
        core TEXT
      );
      CREATE INDEX IF NOT EXISTS crashes_pid ON crashes (pid);
      CREATE TABLE IF NOT EXISTS firings (
        trigger TEXT NOT NULL,
        exec TEXT NOT NULL,
        time INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS firings_trigger ON firings (trigger, time);
      INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '${SCHEMA_VERSION}');
      COMMIT;
    `);
  }

  #stmt(sql: string): StatementSync {
    if (this.#closed) throw new StoreError(this.#path, "The state store is closed");
    let s = this.#stmts[sql];
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#stmts[sql] = s;
    }
    return s;
  }

  #write<T>(what: string, fn: () => T, durable = false): T {
    if (this.#closed) throw new StoreError(this.#path, "The state store is closed");
    if (durable) this.#db.exec("PRAGMA synchronous = FULL");
    try {
      return this.#transaction(what, fn);
    } finally {
      if (durable) this.#db.exec("PRAGMA synchronous = NORMAL");
    }
  }

  #transaction<T>(what: string, fn: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      throw new StoreError(this.#path, `Cannot ${what}: ${errText(err)}`, { cause: err });
    }
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the transaction may already be gone */ }
      if (err instanceof TriggerExistsError || err instanceof StoreError) throw err;
      throw new StoreError(
        this.#path,
        `Cannot ${what}: ${
          errText(err)
        } (state store ${this.#path}): check free space and permissions`,
        { cause: err },
      );
    }
  }

  /**
   * Add a trigger owned by `owner`. The name is `spec.name` or the first free
   * `trigger-N`. Throws {@linkcode TriggerExistsError} for a taken name or an identical
   * trigger; nothing is written then.
   */
  addTrigger(spec: TriggerSpec, owner: number, now: Date = new Date()): Trigger {
    const identity = triggerIdentity(spec);
    return this.#write("save the trigger", () => {
      const same = this.#stmt("SELECT name FROM triggers WHERE identity = ?").get(identity) as
        | { name: string }
        | undefined;
      if (same !== undefined) {
        throw new TriggerExistsError(
          `an identical trigger exists already: \`${same.name}\` (same session, condition and action)`,
          same.name,
        );
      }
      let name = spec.name;
      if (name === undefined) {
        for (let i = 1;; i++) {
          const candidate = `trigger-${i}`;
          if (this.#stmt("SELECT 1 FROM triggers WHERE name = ?").get(candidate) === undefined) {
            name = candidate;
            break;
          }
        }
      } else if (this.#stmt("SELECT 1 FROM triggers WHERE name = ?").get(name) !== undefined) {
        throw new TriggerExistsError(`a trigger named \`${name}\` exists already`, name);
      }
      const stored: TriggerSpec = { ...spec, name };
      const createdAt = now.toISOString();
      this.#stmt(
        "INSERT INTO triggers (name, identity, owner, spec, created_at) VALUES (?, ?, ?, ?, ?)",
      ).run(name, identity, owner, JSON.stringify(stored), createdAt);
      return { ...stored, name, owner, createdAt, hits: 0, fired: 0 };
    }, true);
  }

  /** Why `trigger` must not act on its `hits`-th crash (of `exec`), or undefined. */
  #limitReason(trigger: Trigger, hits: number, exec: string, now: number): string | undefined {
    if (!rateAllows(trigger.ratePolicy, hits)) {
      return `rate policy ${formatRatePolicy(trigger.ratePolicy)} (matching crash ${hits})`;
    }
    if (trigger.cooldownMs !== undefined) {
      const last = this.#stmt(
        "SELECT MAX(time) AS t FROM firings WHERE trigger = ? AND exec = ?",
      ).get(trigger.name, exec) as { t: number | null };
      if (last.t !== null && now - last.t < trigger.cooldownMs) {
        return `cooldown ${formatDuration(trigger.cooldownMs)}: ${JSON.stringify(exec)} fired it ${
          Math.round((now - last.t) / 1000)
        } s ago`;
      }
    }
    if (trigger.maxPerDay !== undefined) {
      this.#stmt("DELETE FROM firings WHERE trigger = ? AND time < ?").run(
        trigger.name,
        now - 86_400_000 - (trigger.cooldownMs ?? 0),
      );
      const n = this.#stmt(
        "SELECT COUNT(*) AS n FROM firings WHERE trigger = ? AND time > ?",
      ).get(trigger.name, now - 86_400_000) as { n: number };
      if (n.n >= trigger.maxPerDay) {
        return `max-per-day ${trigger.maxPerDay}: it acted ${n.n} times in the last 24 h`;
      }
    }
    return undefined;
  }

  /** Remove the trigger `name`; returns whether it existed. */
  removeTrigger(name: string): boolean {
    return this.#write("remove the trigger", () => {
      this.#stmt("DELETE FROM firings WHERE trigger = ?").run(name);
      const r = this.#stmt("DELETE FROM triggers WHERE name = ?").run(name);
      return Number(r.changes) > 0;
    }, true);
  }

  /** Every trigger, by name. */
  listTriggers(): Trigger[] {
    const rows = this.#stmt(
      "SELECT name, owner, spec, created_at, hits, fired FROM triggers ORDER BY name",
    ).all() as unknown as TriggerRow[];
    return rows.map(rowToTrigger);
  }

  /**
   * Record a crash and decide which triggers act on it, in one transaction: the crash row
   * (outcome `pending`) and every matching trigger's counters. With `veto`, no trigger
   * acts (each is skipped with that reason) and no rate limit is spent.
   */
  recordCrash(
    facts: CrashFacts,
    source: string,
    now: Date = new Date(),
    veto?: string,
  ): { id: number; decisions: Decision[] } {
    return this.#write("record the crash", () => {
      const decisions: Decision[] = [];
      for (const trigger of this.listTriggers()) {
        if (!conditionMatches(trigger.condition, facts)) continue;
        // A vetoed crash (one no action may touch) counts as a hit but spends no limit.
        const hits = trigger.hits + 1;
        const reason = veto ?? this.#limitReason(trigger, hits, facts.execName, now.getTime());
        const allowed = reason === undefined;
        const fired = trigger.fired + (allowed ? 1 : 0);
        this.#stmt("UPDATE triggers SET hits = ?, fired = ? WHERE name = ?").run(
          hits,
          fired,
          trigger.name,
        );
        if (allowed && (trigger.cooldownMs !== undefined || trigger.maxPerDay !== undefined)) {
          this.#stmt("INSERT INTO firings (trigger, exec, time) VALUES (?, ?, ?)").run(
            trigger.name,
            facts.execName,
            now.getTime(),
          );
        }
        decisions.push({
          trigger: { ...trigger, hits, fired },
          allowed,
          ...(reason === undefined ? {} : { reason }),
        });
      }
      const r = this.#stmt(
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
        // No trigger matched: the crash is final at once, in this one transaction.
        decisions.length === 0 ? "no-trigger" : "pending",
      );
      return { id: Number(r.lastInsertRowid), decisions };
    });
  }

  /** Set a crash's final outcome and per-trigger results. */
  finishCrash(id: number, outcome: string, results: TriggerOutcome[], detail?: string): void {
    this.#write("record the crash's outcome", () => {
      this.#stmt("UPDATE crashes SET outcome = ?, results = ?, detail = ? WHERE id = ?").run(
        outcome,
        JSON.stringify(results),
        detail ?? null,
        id,
      );
    });
  }

  /**
   * Record the fate of the core of the newest crash of `pid` (received within the last
   * hour); returns whether such a crash was found.
   */
  setCoreFate(pid: number, fate: CoreFate, now: Date = new Date()): boolean {
    const since = new Date(now.getTime() - 3600_000).toISOString();
    return this.#write("record the core", () => {
      const row = this.#stmt(
        "SELECT id FROM crashes WHERE pid = ? AND time >= ? ORDER BY id DESC LIMIT 1",
      ).get(pid, since) as { id: number } | undefined;
      if (row === undefined) return false;
      this.#stmt("UPDATE crashes SET core = ? WHERE id = ?").run(JSON.stringify(fate), row.id);
      return true;
    });
  }

  /** Mark crashes left `pending` by a daemon that died as `interrupted`; returns how many. */
  markInterrupted(): number {
    return this.#write("mark interrupted crashes", () => {
      const r = this.#stmt(
        "UPDATE crashes SET outcome = 'interrupted', detail = 'the daemon stopped before the actions finished' WHERE outcome = 'pending'",
      ).run();
      return Number(r.changes);
    });
  }

  /** The newest crashes, oldest first. */
  listCrashes(options: ListCrashesOptions = {}): CrashRecord[] {
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
    for (const row of this.#stmt(sql).iterate(...params) as Iterable<CrashRow>) {
      const crash = rowToCrash(row);
      if (options.match !== undefined && !options.match(crash)) continue;
      out.push(crash);
      if (out.length >= limit) break;
    }
    return out.reverse();
  }

  /** Close the database; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stmts = {};
    this.#db.close();
  }

  /** Same as {@linkcode TriggerStore.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function rowToTrigger(row: TriggerRow): Trigger {
  const spec = JSON.parse(row.spec) as TriggerSpec;
  return {
    ...spec,
    name: row.name,
    owner: row.owner,
    createdAt: row.created_at,
    hits: row.hits,
    fired: row.fired,
  };
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
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
