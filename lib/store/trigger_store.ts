/**
 * The durable store: triggers, their rate counters and the crash history, in SQLite
 * through Deno's built-in `node:sqlite`. One writer (the daemon); WAL with
 * `synchronous=FULL`, so whatever a method returned from is on disk before a client hears
 * of it.
 *
 * The store persists; it does not decide. The schema is in `schema.ts`, the connection and
 * its transactions in `connection.ts`, the triggers and their counters in `triggers.ts`,
 * the history in `crashes.ts` within the limits of `history_limits.ts`, and whether a
 * trigger acts in `lib/core/policy.ts`, which {@linkcode TriggerStore.recordCrash} calls inside its
 * transaction.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { decide, type Decision } from "../core/policy.ts";
import type { CrashFacts } from "../core/crash_facts.ts";
import type {
  CoreFate,
  CrashRecord,
  ReportRecord,
  SignatureGroup,
  TriggerOutcome,
} from "../protocol/records.ts";
import type { ChainFate, MissedCrash, SnapshotRemoved } from "../protocol/records.ts";
import type { Trigger, TriggerSpec } from "../core/trigger.ts";
import { type CrashRef, CrashTable, type ListCrashesOptions } from "./crashes.ts";
import {
  HISTORY_MAX_AGE_DEFAULT_MS,
  HISTORY_MAX_DEFAULT,
  type HistoryLimits,
} from "./history_limits.ts";
import { openStoreDatabase } from "./schema.ts";
import { StoreConnection } from "./connection.ts";
import { limitUidOf } from "../sys/subuid.ts";
import { TriggerTable } from "./triggers.ts";

/** Options of {@linkcode TriggerStore.recordCrash}. */
export interface RecordCrashOptions {
  /** Decide only the triggers this selects. @default every trigger */
  only?: (trigger: Trigger) => boolean;
  /** Join crash `into` (its facts and source replaced) instead of inserting one. */
  into?: number;
  /**
   * Decisions already made by {@linkcode TriggerStore.decideCrash} in the same
   * synchronous run (nothing written in between: the daemon is the one writer), saved
   * instead of deciding again.
   */
  decisions?: Decision[];
}

/** Options of {@linkcode TriggerStore.open}. */
export interface TriggerStoreOptions {
  /** How much crash history to keep (count and age); see {@linkcode HistoryLimits}. */
  history?: HistoryLimits;
  /** Clock, for the history's age limit. @default () => new Date() */
  now?: () => Date;
  /**
   * The uid whose limits (rate counters, history share) a crash of `uid` counts against.
   * @default limitUidOf (lib/sys/subuid.ts: a subordinate uid counts as its owner)
   */
  ownerOf?: (uid: number) => number;
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
  // Also the policy's FiringLog (hitsOf, lastFiring, firingsInLastDay), read-only.
  #conn: StoreConnection;
  #triggers: TriggerTable;
  #crashes: CrashTable;
  #limits: Required<HistoryLimits>;
  #ownerOf: (uid: number) => number;

  private constructor(
    db: DatabaseSync,
    path: string,
    limits: Required<HistoryLimits>,
    ownerOf: (uid: number) => number,
  ) {
    this.#conn = new StoreConnection(db, path);
    this.#limits = limits;
    this.#ownerOf = ownerOf;
    const prepare = (sql: string) => this.#conn.prepare(sql);
    this.#triggers = new TriggerTable(prepare);
    this.#crashes = new CrashTable(prepare);
  }

  /** The database file. */
  get path(): string {
    return this.#conn.path;
  }

  /**
   * Open (or create) the store at `path`. A file that is not a healthy lttng-trig store is
   * refused with a {@linkcode StoreError} that names it: never silently replaced. An older
   * schema is migrated. The history limits are applied at once, and a store that is
   * mostly free pages (after a lower limit deleted much of it) is compacted (`VACUUM`):
   * the one place it is, off the path of any crash.
   */
  static open(path: string, options: TriggerStoreOptions = {}): TriggerStore {
    const limits = {
      maxCount: options.history?.maxCount ?? HISTORY_MAX_DEFAULT,
      maxAgeMs: options.history?.maxAgeMs ?? HISTORY_MAX_AGE_DEFAULT_MS,
    };
    if (!Number.isSafeInteger(limits.maxCount) || limits.maxCount < 1) {
      throw new RangeError(`Invalid history limit ${limits.maxCount}: expected at least 1`);
    }
    if (!Number.isSafeInteger(limits.maxAgeMs) || limits.maxAgeMs < 1) {
      throw new RangeError(`Invalid history age ${limits.maxAgeMs}: expected at least 1 ms`);
    }
    const store = new TriggerStore(
      openStoreDatabase(path),
      path,
      limits,
      options.ownerOf ?? limitUidOf,
    );
    try {
      store.pruneHistory((options.now ?? (() => new Date()))());
      store.#conn.compactIfSparse();
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  /** The history limits this store applies. */
  get historyLimits(): Readonly<Required<HistoryLimits>> {
    return this.#limits;
  }

  /**
   * How many crashes of `uid` matched `trigger` (its rate policy's count), as persisted.
   */
  hitsOf(trigger: Trigger, uid: number): number {
    return this.#triggers.hitsOf(trigger, uid);
  }

  /**
   * When `trigger` last acted on a crash of `uid` named `exec` (milliseconds since the
   * epoch), as persisted: what the policy reads for the cooldown.
   */
  lastFiring(trigger: Trigger, uid: number, exec: string): number | undefined {
    return this.#triggers.lastFiring(trigger, uid, exec);
  }

  /**
   * How many times `trigger` acted on crashes of `uid` in the 24 hours before `now`
   * (milliseconds since the epoch), as persisted: what the policy reads for the daily
   * maximum.
   */
  firingsInLastDay(trigger: Trigger, uid: number, now: number): number {
    return this.#triggers.firingsInLastDay(trigger, uid, now);
  }

  /**
   * Delete crashes beyond the history limits at `now` (the count shared between uids:
   * the uid with the most crashes loses its oldest first); returns how many went.
   * {@linkcode TriggerStore.recordCrash} does it with every crash it records (cheaply:
   * nothing is deleted until a limit is passed, then a batch of 1 % of the limit).
   * Trigger counters and firings are not history: they are kept.
   */
  pruneHistory(now: Date = new Date()): number {
    return this.#conn.write(
      "trim the crash history",
      () => this.#crashes.prune(now, this.#limits, this.#ownerOf),
    );
  }

  /**
   * Add a trigger owned by `owner`. The name is `spec.name` or the first free
   * `trigger-N`. Throws `TriggerExistsError` (triggers.ts) for a taken name or an identical
   * trigger; nothing is written then.
   */
  addTrigger(spec: TriggerSpec, owner: number, now: Date = new Date()): Trigger {
    return this.#conn.write("save the trigger", () => this.#triggers.add(spec, owner, now), true);
  }

  /** Remove the trigger `name`; returns whether it existed. */
  removeTrigger(name: string): boolean {
    return this.#conn.write("remove the trigger", () => this.#triggers.remove(name), true);
  }

  /** Every trigger, by name. */
  listTriggers(): Trigger[] {
    return this.#triggers.list();
  }

  /**
   * Record a crash and decide which triggers act on it, in one transaction: the crash row
   * (outcome `pending`) and every matching trigger's counters, as the policy
   * (`decide()` in lib/core/policy.ts) sets them, per crashing uid. With `veto`, no trigger acts
   * (each is skipped with that reason) and no rate limit is spent. The history limits are
   * applied in the same transaction.
   *
   * With `options.only`, only the triggers it selects are decided (the early path decides
   * the others when the crash's helper brings the facts they need); with `options.into`,
   * no row is inserted: crash `into` (an early crash the helper joined) gets `facts` and
   * `source`, and the triggers `only` selects are decided for it. Either way a trigger is
   * decided, and counts a crash, once.
   */
  recordCrash(
    facts: CrashFacts,
    source: string,
    now: Date = new Date(),
    veto?: string,
    options: RecordCrashOptions = {},
  ): { id: number; decisions: Decision[] } {
    return this.#conn.write("record the crash", () => {
      const at = now.getTime();
      const { only, into } = options;
      // A subordinate uid's crash spends its owner's limits.
      const limitUid = this.#ownerOf(facts.uid);
      const decisions = options.decisions ?? this.#decide(facts, at, veto, only);
      for (const d of decisions) this.#triggers.save(d, { ...facts, uid: limitUid }, at);
      if (into !== undefined) {
        this.#crashes.join(into, facts, source);
        return { id: into, decisions };
      }
      // No trigger matched: the crash is final at once, in this one transaction.
      const outcome = decisions.length === 0 ? "no-trigger" : "pending";
      const id = this.#crashes.insert(facts, source, now, outcome);
      this.#crashes.prune(now, this.#limits, this.#ownerOf);
      return { id, decisions };
    });
  }

  /**
   * Decide which triggers act on a crash, as {@linkcode TriggerStore.recordCrash} would,
   * writing nothing: the early path starts the actions first, then records the crash with
   * these decisions (`RecordCrashOptions.decisions`) in the same synchronous run.
   */
  decideCrash(
    facts: CrashFacts,
    now: Date,
    veto?: string,
    only?: (trigger: Trigger) => boolean,
  ): Decision[] {
    this.#conn.assertOpen();
    return this.#decide(facts, now.getTime(), veto, only);
  }

  #decide(
    facts: CrashFacts,
    at: number,
    veto?: string,
    only?: (trigger: Trigger) => boolean,
  ): Decision[] {
    const triggers = this.#triggers.list().filter((t) => only === undefined || only(t));
    // A subordinate uid's crash spends its owner's limits.
    return decide(triggers, facts, this.#triggers, {
      now: at,
      veto,
      limitUid: this.#ownerOf(facts.uid),
    });
  }

  /** Set a crash's final outcome and per-trigger results. */
  finishCrash(id: number, outcome: string, results: TriggerOutcome[], detail?: string): void {
    this.#conn.write(
      "record the crash's outcome",
      () => this.#crashes.finish(id, outcome, results, detail),
    );
  }

  /**
   * Record the fate of a crash's core: crash `ref.id`, or, by pid, the one crash of
   * `ref.pid` received within the last hour that has no core's fate yet (see
   * CrashTable.crashFor); returns the crash's history id, or `undefined` when none is.
   */
  setCoreFate(ref: CrashRef, fate: CoreFate, now: Date = new Date()): number | undefined {
    const since = new Date(now.getTime() - 3600_000).toISOString();
    return this.#conn.write("record the core", () => {
      const id = this.#crashes.crashFor(ref, "core", since);
      if (id !== undefined) this.#crashes.setCoreFate(id, fate);
      return id;
    });
  }

  /**
   * Record what the chained handler did with a crash, found as setCoreFate finds it;
   * returns the crash's history id, or `undefined` when none is.
   */
  setChainFate(ref: CrashRef, fate: ChainFate, now: Date = new Date()): number | undefined {
    const since = new Date(now.getTime() - 3600_000).toISOString();
    return this.#conn.write("record the chained handler's run", () => {
      const id = this.#crashes.crashFor(ref, "chain", since);
      if (id !== undefined) this.#crashes.setChainFate(id, fate);
      return id;
    });
  }

  /** Crash `id` of the history, or `undefined` when it is not (or no longer) there. */
  crashById(id: number): CrashRecord | undefined {
    return this.#crashes.list({ id, limit: 1 })[0];
  }

  /** Store crash `id`'s report; returns whether the crash is still in the history. */
  setReport(id: number, report: ReportRecord): boolean {
    return this.#conn.write("record the crash report", () => this.#crashes.setReport(id, report));
  }

  /** Record that a snapshot was removed, and why (snapshot retention). */
  setSnapshotRemoved(id: number, trigger: string, path: string, removed: SnapshotRemoved): boolean {
    return this.#conn.write(
      "record the snapshot's removal",
      () => this.#crashes.setSnapshotRemoved(id, trigger, path, removed),
    );
  }

  /** Mark crash reports left `pending` by a daemon that died as `failed`; returns how many. */
  failPendingReports(): number {
    return this.#conn.write(
      "mark unfinished reports failed",
      () => this.#crashes.failPendingReports(),
    );
  }

  /**
   * Put the crashes that reached no daemon into the history, outcome `missed`, each once:
   * the store remembers the time of the newest imported (meta `journal_imported`) and
   * skips those not newer. Returns how many were imported.
   */
  importMissed(crashes: readonly MissedCrash[]): number {
    return this.#conn.write(
      "import the crashes the notifier journaled",
      () => this.#crashes.importMissed(crashes, this.#limits),
      true,
    );
  }

  /** Mark crashes left `pending` by a daemon that died as `interrupted`; returns how many. */
  markInterrupted(): number {
    return this.#conn.write("mark interrupted crashes", () => this.#crashes.markInterrupted());
  }

  /** The newest crashes, oldest first. */
  listCrashes(options: ListCrashesOptions = {}): CrashRecord[] {
    return this.#crashes.list(options);
  }

  /** Crash `id`'s signature (lib/report/signature.ts), when it has one. */
  crashSignature(id: number): string | undefined {
    return this.#crashes.signature(id);
  }

  /** The crashes grouped by signature, the most recent group last. */
  signatureGroups(options: Omit<ListCrashesOptions, "limit"> = {}): SignatureGroup[] {
    return this.#crashes.signatureGroups(options);
  }

  /** Close the database; idempotent. */
  close(): void {
    this.#conn.close();
  }

  /** Same as {@linkcode TriggerStore.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
