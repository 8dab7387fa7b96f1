/**
 * The store's triggers: their rows, their counters (hits, fired) and their firings, the
 * log the cooldown and the daily maximum read. Persistence only: what the counters become
 * is decided by the policy (`lib/policy.ts`).
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import { DAY_MS, type Decision, type FiringLog, logsFirings } from "../policy.ts";
import { type Trigger, triggerIdentity, type TriggerSpec } from "../trigger.ts";

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

  /** Remove the trigger `name` and its firings; returns whether it existed. */
  remove(name: string): boolean {
    this.#sql("DELETE FROM firings WHERE trigger = ?").run(name);
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

  /** When `trigger` last acted on a crash of `exec`. */
  lastFiring(trigger: Trigger, exec: string): number | undefined {
    const last = this.#sql(
      "SELECT MAX(time) AS t FROM firings WHERE trigger = ? AND exec = ?",
    ).get(trigger.name, exec) as { t: number | null };
    return last.t ?? undefined;
  }

  /** How many times `trigger` acted in the 24 hours before `now`. */
  firingsInLastDay(trigger: Trigger, now: number): number {
    const n = this.#sql(
      "SELECT COUNT(*) AS n FROM firings WHERE trigger = ? AND time > ?",
    ).get(trigger.name, now - DAY_MS) as { n: number };
    return n.n;
  }

  /** Persist what `decision` did for a crash of `exec` at `now`: counters and firing. */
  save(decision: Decision, exec: string, now: number): void {
    const t = decision.trigger;
    if (t.maxPerDay !== undefined) {
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
    if (decision.allowed && logsFirings(t)) {
      this.#sql("INSERT INTO firings (trigger, exec, time) VALUES (?, ?, ?)").run(
        t.name,
        exec,
        now,
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
