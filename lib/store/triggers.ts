/**
 * The store's triggers: their rows, their counters and their firings. `triggers.hits` and
 * `triggers.fired` are totals (for `list`); what the policy reads is per crashing uid:
 * `trigger_hits` (the rate policy's count) and `firings` (the log the cooldown and the
 * daily maximum read). Persistence only: what the counters become is decided by the
 * policy (`lib/core/policy.ts`).
 *
 * Rows written before per-uid counting (schema 1) carry no uid: uid -1 in `trigger_hits` and
 * `firings`. They count for every uid, so that no trigger acts more after the
 * upgrade than it would have before it.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import { countsHits, DAY_MS, type Decision, type FiringLog, logsFirings } from "../core/policy.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import { type Trigger, triggerIdentity, type TriggerSpec } from "../core/trigger.ts";

/** A prepared (and cached) statement for `sql`. */
export type Prepare = (sql: string) => StatementSync;

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

interface TriggerRow {
  name: string;
  owner: number;
  spec: string;
  created_at: string;
  hits: number;
  fired: number;
}

/** The `triggers` and `firings` tables; every method runs inside the caller's transaction. */
export class TriggerTable implements FiringLog {
  #sql: Prepare;

  /** Build it over the store's statement cache. */
  constructor(prepare: Prepare) {
    this.#sql = prepare;
  }

  /**
   * Add a trigger owned by `owner`. The name is `spec.name` or the first free
   * `trigger-N`. Throws {@linkcode TriggerExistsError} for a taken name or an identical
   * trigger.
   */
  add(spec: TriggerSpec, owner: number, now: Date): Trigger {
    const identity = triggerIdentity(spec);
    const same = this.#sql("SELECT name FROM triggers WHERE identity = ?").get(identity) as
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
        if (this.#sql("SELECT 1 FROM triggers WHERE name = ?").get(candidate) === undefined) {
          name = candidate;
          break;
        }
      }
    } else if (this.#sql("SELECT 1 FROM triggers WHERE name = ?").get(name) !== undefined) {
      throw new TriggerExistsError(`a trigger named \`${name}\` exists already`, name);
    }
    const stored: TriggerSpec = { ...spec, name };
    const createdAt = now.toISOString();
    this.#sql(
      "INSERT INTO triggers (name, identity, owner, spec, created_at) VALUES (?, ?, ?, ?, ?)",
    ).run(name, identity, owner, JSON.stringify(stored), createdAt);
    return { ...stored, name, owner, createdAt, hits: 0, fired: 0 };
  }

  /** Remove the trigger `name`, its per-uid counts and firings; returns whether it existed. */
  remove(name: string): boolean {
    this.#sql("DELETE FROM firings WHERE trigger = ?").run(name);
    this.#sql("DELETE FROM trigger_hits WHERE trigger = ?").run(name);
    const r = this.#sql("DELETE FROM triggers WHERE name = ?").run(name);
    return Number(r.changes) > 0;
  }

  /** Every trigger, by name. */
  list(): Trigger[] {
    const rows = this.#sql(
      "SELECT name, owner, spec, created_at, hits, fired FROM triggers ORDER BY name",
    ).all() as unknown as TriggerRow[];
    return rows.map(rowToTrigger);
  }

  /** How many crashes of `uid` matched `trigger` (plus those counted before schema 2). */
  hitsOf(trigger: Trigger, uid: number): number {
    const r = this.#sql(
      "SELECT COALESCE(SUM(hits), 0) AS n FROM trigger_hits WHERE trigger = ? AND uid IN (?, -1)",
    ).get(trigger.name, uid) as { n: number };
    return r.n;
  }

  /** When `trigger` last acted on a crash of `uid` named `exec`. */
  lastFiring(trigger: Trigger, uid: number, exec: string): number | undefined {
    const last = this.#sql(
      "SELECT MAX(time) AS t FROM firings WHERE trigger = ? AND uid IN (?, -1) AND exec = ?",
    ).get(trigger.name, uid, exec) as { t: number | null };
    return last.t ?? undefined;
  }

  /** How many times `trigger` acted on crashes of `uid` in the 24 hours before `now`. */
  firingsInLastDay(trigger: Trigger, uid: number, now: number): number {
    const n = this.#sql(
      "SELECT COUNT(*) AS n FROM firings WHERE trigger = ? AND uid IN (?, -1) AND time > ?",
    ).get(trigger.name, uid, now - DAY_MS) as { n: number };
    return n.n;
  }

  /** Persist what `decision` did for `crash` at `now`: counters and firing. */
  save(decision: Decision, crash: Pick<CrashFacts, "uid" | "execName">, now: number): void {
    const t = decision.trigger;
    if (logsFirings(t)) {
      // Firings no rule reads any more (older than the day and the cooldown) go.
      this.#sql("DELETE FROM firings WHERE trigger = ? AND time < ?").run(
        t.name,
        now - DAY_MS - (t.cooldownMs ?? 0),
      );
    }
    this.#sql("UPDATE triggers SET hits = ?, fired = ? WHERE name = ?").run(
      t.hits,
      t.fired,
      t.name,
    );
    if (countsHits(t)) {
      this.#sql(
        `INSERT INTO trigger_hits (trigger, uid, hits) VALUES (?, ?, 1)
           ON CONFLICT (trigger, uid) DO UPDATE SET hits = hits + 1`,
      ).run(t.name, crash.uid);
    }
    if (decision.allowed && logsFirings(t)) {
      this.#sql("INSERT INTO firings (trigger, exec, time, uid) VALUES (?, ?, ?, ?)").run(
        t.name,
        crash.execName,
        now,
        crash.uid,
      );
    }
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
