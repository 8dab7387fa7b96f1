/**
 * The decision policy: whether a trigger acts on a crash, and if not, why. One pure
 * function, {@linkcode judge}, applied in order: the trigger's filters, a veto (a crash
 * no action may touch), the rate policy, the cooldown and the daily maximum. The store
 * calls it inside the transaction that persists the counters; the crash handler calls it
 * with counters kept in memory when the store cannot be written. Neither decides alone.
 *
 * Every limit is counted per (trigger, crashing uid): a user who crashes processes of
 * their own, however fast and under whatever name, spends only their own share of a
 * trigger's rate policy, cooldown and daily maximum, never root's or another user's.
 * The totals (`Trigger.hits`, `Trigger.fired`) are for `list` only.
 *
 * @module
 */
import type { CrashFacts } from "./crash_facts.ts";
import { formatDuration } from "./duration.ts";
import { formatRatePolicy, type RatePolicy, type Trigger, type TriggerSpec } from "./trigger.ts";
import { conditionMatches } from "./trigger_match.ts";

/** The daily maximum's window: any 24 hours, in milliseconds. */
export const DAY_MS = 86_400_000;

/**
 * What the policy reads of a trigger's past, per crashing uid: its matching crashes (for
 * the rate policy) and its actions (its firings, for the cooldown and the daily maximum).
 * Times are milliseconds since the epoch.
 */
export interface FiringLog {
  /** How many crashes of `uid` matched `trigger` before this one (the rate policy's count). */
  hitsOf(trigger: Trigger, uid: number): number;
  /** When `trigger` last acted on a crash of `uid` named `exec`, or undefined if never. */
  lastFiring(trigger: Trigger, uid: number, exec: string): number | undefined;
  /** How many times `trigger` acted on crashes of `uid` in the 24 hours before `now`. */
  firingsInLastDay(trigger: Trigger, uid: number, now: number): number;
}

/** A rule that holds a matching trigger back. */
export type PolicyRule = "veto" | "rate-policy" | "cooldown" | "max-per-day";

/** The verdict on one trigger for one crash. */
export type Verdict =
  | { fires: true }
  /** The trigger's filters do not select the crash: it is not counted either. */
  | { fires: false; rule: "filters" }
  | { fires: false; rule: PolicyRule; reason: string };

/** A trigger that matched a crash, and whether its rate policy lets it act. */
export interface Decision {
  /** The trigger, with its counters (totals over every uid) after this crash. */
  trigger: Trigger;
  /**
   * The crashing uid's count of matching crashes after this one, when the rate policy
   * counts them (see {@linkcode countsHits}).
   */
  uidHits?: number;
  /** Whether the action runs. */
  allowed: boolean;
  /** Why it does not (rate policy, cooldown, daily maximum). */
  reason?: string;
}

/** Options of {@linkcode judge} and {@linkcode decide}. */
export interface DecideOptions {
  /** The crash's time, in milliseconds since the epoch. */
  now: number;
  /**
   * Why no action may touch this crash (see `lttngDaemonVeto`): a matching trigger counts
   * the crash but is held back with this reason, and spends no limit.
   * @default undefined
   */
  veto?: string;
  /**
   * The uid whose limits the crash counts against: a subordinate uid's owner
   * (`limitUidOf()` in lib/sys/subuid.ts). @default the crash's uid
   */
  limitUid?: number;
}

/**
 * Apply the rate policy: given the trigger's hit count including this crash, does the
 * action run?
 *
 * @example
 * ```ts
 * import { rateAllows } from "./policy.ts";
 *
 * rateAllows({ kind: "every", count: 2 }, 4); // => true
 * rateAllows({ kind: "once-after", count: 3 }, 4); // => false
 * ```
 */
export function rateAllows(policy: RatePolicy | undefined, hits: number): boolean {
  const p = policy ?? { kind: "every", count: 1 };
  return p.kind === "every" ? hits % p.count === 0 : hits === p.count;
}

/**
 * Whether the rate policy of `trigger` needs its per-uid count of matching crashes:
 * `every:1` (the default) acts on every one, so nothing is read or kept for it.
 */
export function countsHits(trigger: TriggerSpec): boolean {
  const p = trigger.ratePolicy;
  return p !== undefined && !(p.kind === "every" && p.count === 1);
}

/**
 * Whether an action of `trigger` is logged as a firing: only the cooldown and the daily
 * maximum read the log.
 */
export function logsFirings(trigger: TriggerSpec): boolean {
  return trigger.cooldownMs !== undefined || trigger.maxPerDay !== undefined;
}

/**
 * Judge one trigger for one crash. `log` holds, per uid, its count of matching crashes
 * before this one and its past actions: only the crashing uid's are read.
 *
 * @example
 * ```ts
 * import { judge } from "./policy.ts";
 *
 * const trigger = {
 *   name: "web", owner: 0, createdAt: "", hits: 0, fired: 0, session: "s",
 *   condition: { type: "OnAnyCoreDump" as const }, action: { type: "stop" as const },
 *   cooldownMs: 60_000,
 * };
 * const crash = { pid: 1, uid: 0, gid: 0, execName: "a", hostname: "h" };
 * const log = { hitsOf: () => 0, lastFiring: () => 1_000, firingsInLastDay: () => 1 };
 * judge(trigger, crash, log, { now: 31_000 }).fires; // => false (cooldown)
 * ```
 */
export function judge(
  trigger: Trigger,
  crash: CrashFacts,
  log: FiringLog,
  options: DecideOptions,
): Verdict {
  return evaluate(trigger, crash, log, options).verdict;
}

// The verdict, and the crashing uid's hits after this crash where the rate policy counts
// them (read once, for both the verdict and the decision).
function evaluate(
  trigger: Trigger,
  crash: CrashFacts,
  log: FiringLog,
  options: DecideOptions,
): { verdict: Verdict; uidHits?: number } {
  if (!conditionMatches(trigger.condition, crash)) {
    return { verdict: { fires: false, rule: "filters" } };
  }
  // A subordinate uid counts as its owner: the counters are the owner's.
  const who = options.limitUid ?? crash.uid;
  const whose = who === crash.uid ? `uid ${who}` : `uid ${who} (owner of uid ${crash.uid})`;
  const uidHits = countsHits(trigger) ? log.hitsOf(trigger, who) + 1 : undefined;
  const counted = uidHits === undefined ? {} : { uidHits };
  if (options.veto !== undefined) {
    return { verdict: { fires: false, rule: "veto", reason: options.veto }, ...counted };
  }
  if (uidHits !== undefined && !rateAllows(trigger.ratePolicy, uidHits)) {
    const reason = `rate policy ${
      formatRatePolicy(trigger.ratePolicy)
    } (matching crash ${uidHits} of ${whose})`;
    return { verdict: { fires: false, rule: "rate-policy", reason }, ...counted };
  }
  const now = options.now;
  if (trigger.cooldownMs !== undefined) {
    const last = log.lastFiring(trigger, who, crash.execName);
    if (last !== undefined && now - last < trigger.cooldownMs) {
      const reason = `cooldown ${formatDuration(trigger.cooldownMs)}: ${
        JSON.stringify(crash.execName)
      } of ${whose} fired it ${Math.round((now - last) / 1000)} s ago`;
      return { verdict: { fires: false, rule: "cooldown", reason }, ...counted };
    }
  }
  if (trigger.maxPerDay !== undefined) {
    const n = log.firingsInLastDay(trigger, who, now);
    if (n >= trigger.maxPerDay) {
      const reason =
        `max-per-day ${trigger.maxPerDay}: it acted ${n} times on crashes of ${whose} in the last 24 h`;
      return { verdict: { fires: false, rule: "max-per-day", reason }, ...counted };
    }
  }
  return { verdict: { fires: true }, ...counted };
}

/**
 * Decide for every trigger: one decision per trigger whose filters select the crash, in
 * the triggers' order, each with the counters the crash leaves it (a hit always, a firing
 * when it acts): the totals in `trigger`, the crashing uid's hits in `uidHits`.
 */
export function decide(
  triggers: readonly Trigger[],
  crash: CrashFacts,
  log: FiringLog,
  options: DecideOptions,
): Decision[] {
  const decisions: Decision[] = [];
  for (const trigger of triggers) {
    const { verdict, uidHits } = evaluate(trigger, crash, log, options);
    if (!verdict.fires && verdict.rule === "filters") continue;
    const hits = trigger.hits + 1;
    const fired = trigger.fired + (verdict.fires ? 1 : 0);
    decisions.push({
      trigger: { ...trigger, hits, fired },
      ...(uidHits === undefined ? {} : { uidHits }),
      allowed: verdict.fires,
      ...(verdict.fires ? {} : { reason: verdict.reason }),
    });
  }
  return decisions;
}

/**
 * Counters that could not be persisted (the store refused the write), kept in memory so
 * that the policy still holds while the disk is full: hits and firings per trigger and
 * per uid, added to the stored ones. Firings older than any rule reads are forgotten.
 */
export class UnsavedCounters implements FiringLog {
  // Totals per trigger, for apply().
  #counts = new Map<string, { hits: number; fired: number }>();
  // Per (trigger, uid): matching crashes, and firings.
  #hits = new Map<string, number>();
  #firings = new Map<string, { exec: string; time: number }[]>();
  #stored?: FiringLog;

  /** Counters on top of `stored`, the log that was persisted (when it can be read). */
  constructor(stored?: FiringLog) {
    this.#stored = stored;
  }

  /** Whether nothing is kept here: the store wrote every count so far. */
  get empty(): boolean {
    return this.#counts.size === 0;
  }

  /** `triggers` (as stored) with the hits and firings kept here added to their totals. */
  apply(triggers: readonly Trigger[]): Trigger[] {
    return triggers.map((t) => {
      const c = this.#counts.get(key(t));
      return c === undefined ? t : { ...t, hits: t.hits + c.hits, fired: t.fired + c.fired };
    });
  }

  /** Keep what `decisions` (from {@linkcode decide}) did for `crash` at `now`. */
  record(
    decisions: readonly Decision[],
    crash: Pick<CrashFacts, "uid" | "execName">,
    now: number,
  ): void {
    for (const d of decisions) {
      const k = key(d.trigger);
      const c = this.#counts.get(k) ?? { hits: 0, fired: 0 };
      c.hits++;
      if (d.allowed) c.fired++;
      this.#counts.set(k, c);
      const ku = uidKey(d.trigger, crash.uid);
      if (countsHits(d.trigger)) this.#hits.set(ku, (this.#hits.get(ku) ?? 0) + 1);
      if (d.allowed && logsFirings(d.trigger)) {
        const list = (this.#firings.get(ku) ?? []).filter((f) =>
          f.time >= now - DAY_MS - (d.trigger.cooldownMs ?? 0)
        );
        list.push({ exec: crash.execName, time: now });
        this.#firings.set(ku, list);
      }
    }
  }

  /** Matching crashes of `uid` kept here plus those stored. */
  hitsOf(trigger: Trigger, uid: number): number {
    const stored = this.#readStored(() => this.#stored?.hitsOf(trigger, uid)) ?? 0;
    return stored + (this.#hits.get(uidKey(trigger, uid)) ?? 0);
  }

  /** The newest firing for `uid` and `exec` kept here or stored. */
  lastFiring(trigger: Trigger, uid: number, exec: string): number | undefined {
    let last = this.#readStored(() => this.#stored?.lastFiring(trigger, uid, exec));
    for (const f of this.#firings.get(uidKey(trigger, uid)) ?? []) {
      if (f.exec === exec && (last === undefined || f.time > last)) last = f.time;
    }
    return last;
  }

  /** Firings for `uid` kept here plus those stored, in the 24 hours before `now`. */
  firingsInLastDay(trigger: Trigger, uid: number, now: number): number {
    const stored = this.#readStored(() => this.#stored?.firingsInLastDay(trigger, uid, now)) ??
      0;
    const kept = (this.#firings.get(uidKey(trigger, uid)) ?? []).filter((f) =>
      f.time > now - DAY_MS
    );
    return stored + kept.length;
  }

  #readStored<T>(read: () => T | undefined): T | undefined {
    try {
      return read();
    } catch {
      return undefined; // a store that cannot even be read: what is kept here is all there is
    }
  }
}

// A trigger removed and set again under its name starts afresh.
function key(t: Trigger): string {
  return JSON.stringify([t.name, t.createdAt]);
}

function uidKey(t: Trigger, uid: number): string {
  return JSON.stringify([t.name, t.createdAt, uid]);
}
