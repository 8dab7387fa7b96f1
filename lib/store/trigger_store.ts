/**
 * The durable store: triggers, their rate counters and the crash history, in SQLite
 * through Deno's built-in `node:sqlite`. One writer (the daemon); WAL with
 * `synchronous=FULL`, so whatever a method returned from is on disk before a client hears
 * of it.
 *
 * The store persists; it does not decide. The schema is in `schema.ts`, the triggers and
 * their counters in `triggers.ts`, the history in `crashes.ts`, and whether a trigger acts
 * in `lib/policy.ts`, which {@linkcode TriggerStore.recordCrash} calls inside its
 * transaction.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { decide, type Decision } from "../policy.ts";
import type { CoreFate, CrashFacts, CrashRecord, TriggerOutcome } from "../protocol/records.ts";
import type { Trigger, TriggerSpec } from "../trigger.ts";
import { CrashTable, type ListCrashesOptions } from "./crashes.ts";
import { errText, openStoreDatabase, StoreError } from "./schema.ts";
import { TriggerExistsError, TriggerTable } from "./triggers.ts";

export { StoreError } from "./schema.ts";
export { TriggerExistsError } from "./triggers.ts";
export type { ListCrashesOptions } from "./crashes.ts";
export type { Decision } from "../policy.ts";
// The records live in lib/protocol/records.ts; named here too for the store's callers.
export {
  type CoreFate,
  coreFate,
  type CrashRecord,
  type TriggerOutcome,
} from "../protocol/records.ts";

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
  // Also the policy's FiringLog (lastFiring, firingsInLastDay), read-only.
  #db: DatabaseSync;
  #path: string;
  #stmts: Record<string, StatementSync> = {};
  #closed = false;
  #triggers: TriggerTable;
  #crashes: CrashTable;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    const prepare = (sql: string) => this.#stmt(sql);
    this.#triggers = new TriggerTable(prepare);
    this.#crashes = new CrashTable(prepare);
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
    return new TriggerStore(openStoreDatabase(path), path);
  }

  /**
   * When `trigger` last acted on a crash of `exec` (milliseconds since the epoch), as
   * persisted: what the policy reads for the cooldown.
   */
  lastFiring(trigger: Trigger, exec: string): number | undefined {
    return this.#triggers.lastFiring(trigger, exec);
  }

  /**
   * How many times `trigger` acted in the 24 hours before `now` (milliseconds since the
   * epoch), as persisted: what the policy reads for the daily maximum.
   */
  firingsInLastDay(trigger: Trigger, now: number): number {
    return this.#triggers.firingsInLastDay(trigger, now);
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
    return this.#write("save the trigger", () => this.#triggers.add(spec, owner, now), true);
  }

  /** Remove the trigger `name`; returns whether it existed. */
  removeTrigger(name: string): boolean {
    return this.#write("remove the trigger", () => this.#triggers.remove(name), true);
  }

  /** Every trigger, by name. */
  listTriggers(): Trigger[] {
    return this.#triggers.list();
  }

  /**
   * Record a crash and decide which triggers act on it, in one transaction: the crash row
   * (outcome `pending`) and every matching trigger's counters, as the policy
   * (`decide()` in lib/policy.ts) sets them. With `veto`, no trigger acts (each is skipped
   * with that reason) and no rate limit is spent.
   */
  recordCrash(
    facts: CrashFacts,
    source: string,
    now: Date = new Date(),
    veto?: string,
  ): { id: number; decisions: Decision[] } {
    return this.#write("record the crash", () => {
      const at = now.getTime();
      const decisions = decide(this.#triggers.list(), facts, this.#triggers, { now: at, veto });
      for (const d of decisions) this.#triggers.save(d, facts.execName, at);
      // No trigger matched: the crash is final at once, in this one transaction.
      const outcome = decisions.length === 0 ? "no-trigger" : "pending";
      return { id: this.#crashes.insert(facts, source, now, outcome), decisions };
    });
  }

  /** Set a crash's final outcome and per-trigger results. */
  finishCrash(id: number, outcome: string, results: TriggerOutcome[], detail?: string): void {
    this.#write(
      "record the crash's outcome",
      () => this.#crashes.finish(id, outcome, results, detail),
    );
  }

  /**
   * Record the fate of the core of the newest crash of `pid` (received within the last
   * hour); returns whether such a crash was found.
   */
  setCoreFate(pid: number, fate: CoreFate, now: Date = new Date()): boolean {
    const since = new Date(now.getTime() - 3600_000).toISOString();
    return this.#write("record the core", () => this.#crashes.setCoreFate(pid, fate, since));
  }

  /** Mark crashes left `pending` by a daemon that died as `interrupted`; returns how many. */
  markInterrupted(): number {
    return this.#write("mark interrupted crashes", () => this.#crashes.markInterrupted());
  }

  /** The newest crashes, oldest first. */
  listCrashes(options: ListCrashesOptions = {}): CrashRecord[] {
    return this.#crashes.list(options);
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
