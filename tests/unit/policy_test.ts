import assert from "node:assert/strict";
import {
  DAY_MS,
  decide,
  type FiringLog,
  judge,
  logsFirings,
  rateAllows,
  UnsavedCounters,
} from "../../lib/core/policy.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { ON_ANY_CORE_DUMP, type RatePolicy, type Trigger } from "../../lib/core/trigger.ts";

// rateAllows

function firingHits(policy: RatePolicy | undefined, upTo: number): number[] {
  const out: number[] = [];
  for (let hit = 1; hit <= upTo; hit++) if (rateAllows(policy, hit)) out.push(hit);
  return out;
}

Deno.test("rateAllows() with every:N fires on hits N, 2N, 3N...", () => {
  assert.deepEqual(firingHits({ kind: "every", count: 3 }, 10), [3, 6, 9]);
  assert.deepEqual(firingHits({ kind: "every", count: 1 }, 4), [1, 2, 3, 4]);
});

Deno.test("rateAllows() fires on every hit without a policy", () => {
  assert.deepEqual(firingHits(undefined, 4), [1, 2, 3, 4]);
});

Deno.test("rateAllows() with once-after:N fires only at hit N", () => {
  assert.deepEqual(firingHits({ kind: "once-after", count: 3 }, 10), [3]);
  assert.deepEqual(firingHits({ kind: "once-after", count: 1 }, 10), [1]);
});
// judge

const CRASH: CrashFacts = { pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "h" };
const T0 = Date.UTC(2026, 0, 1);

function trig(extra: Partial<Trigger> = {}): Trigger {
  return {
    name: "t",
    owner: 0,
    createdAt: "2026-01-01T00:00:00.000Z",
    hits: 0,
    fired: 0,
    session: "s",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...extra,
  };
}

/** A firing log over a list of firings (of uid 1000 unless said) and per-uid hits. */
function logOf(
  firings: { exec: string; time: number; uid?: number }[],
  hits: Record<number, number> = {},
): FiringLog {
  const of = (uid: number) => firings.filter((f) => (f.uid ?? 1000) === uid);
  return {
    hitsOf: (_t, uid) => hits[uid] ?? 0,
    lastFiring: (_t, uid, exec) => {
      const times = of(uid).filter((f) => f.exec === exec).map((f) => f.time);
      return times.length === 0 ? undefined : Math.max(...times);
    },
    firingsInLastDay: (_t, uid, now) => of(uid).filter((f) => f.time > now - DAY_MS).length,
  };
}

const NO_FIRINGS = logOf([]);

Deno.test("judge() fires a matching trigger with no limits", () => {
  assert.deepEqual(judge(trig(), CRASH, NO_FIRINGS, { now: T0 }), { fires: true });
});

Deno.test("judge() reports a crash its filters do not select as rule filters", () => {
  const t = trig({ condition: { type: ON_ANY_CORE_DUMP, exec: "nginx*" } });
  assert.deepEqual(judge(t, CRASH, NO_FIRINGS, { now: T0 }), { fires: false, rule: "filters" });
  const u = trig({ condition: { type: ON_ANY_CORE_DUMP, uids: [0] } });
  assert.deepEqual(judge(u, CRASH, NO_FIRINGS, { now: T0 }), { fires: false, rule: "filters" });
});

Deno.test("judge() holds back a vetoed crash with the veto as the reason", () => {
  assert.deepEqual(judge(trig(), CRASH, NO_FIRINGS, { now: T0, veto: "no" }), {
    fires: false,
    rule: "veto",
    reason: "no",
  });
});

Deno.test("judge() applies the rate policy to the hit this crash makes for its uid", () => {
  const t = trig({ ratePolicy: { kind: "every", count: 2 }, hits: 7 });
  assert.deepEqual(judge(t, CRASH, logOf([], { 1000: 2 }), { now: T0 }), {
    fires: false,
    rule: "rate-policy",
    reason: "rate policy every:2 (matching crash 3 of uid 1000)",
  });
  assert.deepEqual(judge(t, CRASH, logOf([], { 1000: 3 }), { now: T0 }), { fires: true });
});

Deno.test("judge() holds back a trigger within its cooldown, per exec name", () => {
  const t = trig({ cooldownMs: 60_000 });
  const log = logOf([{ exec: "apache2", time: T0 }]);
  assert.deepEqual(judge(t, CRASH, log, { now: T0 + 30_000 }), {
    fires: false,
    rule: "cooldown",
    reason: 'cooldown 1m: "apache2" of uid 1000 fired it 30 s ago',
  });
  assert.deepEqual(judge(t, { ...CRASH, execName: "b" }, log, { now: T0 + 30_000 }), {
    fires: true,
  });
  assert.deepEqual(judge(t, CRASH, log, { now: T0 + 60_000 }), { fires: true });
});

Deno.test("judge() holds back a trigger at its daily maximum", () => {
  const t = trig({ maxPerDay: 2 });
  const log = logOf([{ exec: "a", time: T0 }, { exec: "b", time: T0 + 1000 }]);
  assert.deepEqual(judge(t, CRASH, log, { now: T0 + 2000 }), {
    fires: false,
    rule: "max-per-day",
    reason: "max-per-day 2: it acted 2 times on crashes of uid 1000 in the last 24 h",
  });
  assert.deepEqual(judge(t, CRASH, log, { now: T0 + DAY_MS }), { fires: true });
});

Deno.test("judge() checks the rate policy, then the cooldown, then the daily maximum", () => {
  const t = trig({ ratePolicy: { kind: "every", count: 2 }, cooldownMs: 60_000, maxPerDay: 1 });
  const rule = (hits: number, now: number) => {
    const v = judge(t, CRASH, logOf([{ exec: "apache2", time: T0 }], { 1000: hits }), { now });
    return v.fires ? "fires" : v.rule;
  };
  assert.equal(rule(0, T0 + 1), "rate-policy");
  assert.equal(rule(1, T0 + 1), "cooldown");
  assert.equal(rule(1, T0 + 60_000), "max-per-day");
  assert.equal(rule(1, T0 + DAY_MS), "fires");
});

Deno.test("judge() reads no firing nor hit for a trigger without limits", () => {
  const log: FiringLog = {
    hitsOf: () => assert.fail("read"),
    lastFiring: () => assert.fail("read"),
    firingsInLastDay: () => assert.fail("read"),
  };
  assert.deepEqual(judge(trig(), CRASH, log, { now: T0 }), { fires: true });
});

// decide

Deno.test("decide() returns the matching triggers with their counters after the crash", () => {
  const triggers = [
    trig({ name: "a", hits: 9, fired: 2, ratePolicy: { kind: "every", count: 5 } }),
    trig({ name: "b", condition: { type: ON_ANY_CORE_DUMP, exec: "nginx" } }),
    trig({ name: "c", hits: 1, fired: 1, ratePolicy: { kind: "once-after", count: 1 } }),
    trig({ name: "d", hits: 3, fired: 3 }),
  ];
  const log: FiringLog = { ...NO_FIRINGS, hitsOf: (t) => t.name === "a" ? 4 : 1 };
  assert.deepEqual(decide(triggers, CRASH, log, { now: T0 }), [
    { trigger: { ...triggers[0], hits: 10, fired: 3 }, uidHits: 5, allowed: true },
    {
      trigger: { ...triggers[2], hits: 2, fired: 1 },
      uidHits: 2,
      allowed: false,
      reason: "rate policy once-after:1 (matching crash 2 of uid 1000)",
    },
    { trigger: { ...triggers[3], hits: 4, fired: 4 }, allowed: true },
  ]);
});

Deno.test("logsFirings() is true only with a cooldown or a daily maximum", () => {
  assert.equal(logsFirings(trig()), false);
  assert.equal(logsFirings(trig({ cooldownMs: 1 })), true);
  assert.equal(logsFirings(trig({ maxPerDay: 1 })), true);
});

// UnsavedCounters

Deno.test("UnsavedCounters keeps hits and firings so that the policy still holds", () => {
  const unsaved = new UnsavedCounters();
  const stored = [trig({ cooldownMs: 60_000, maxPerDay: 2, hits: 5, fired: 1 })];
  const run = (now: number, execName = "apache2") => {
    const crash = { ...CRASH, execName };
    const d = decide(unsaved.apply(stored), crash, unsaved, { now });
    unsaved.record(d, crash, now);
    return d[0];
  };
  const first = run(T0);
  assert.equal(first.allowed, true);
  assert.deepEqual([first.trigger.hits, first.trigger.fired], [6, 2]);
  const second = run(T0 + 1000);
  assert.equal(second.allowed, false);
  assert.match(second.reason ?? "", /^cooldown 1m/);
  assert.equal(run(T0 + 2000, "other").allowed, true);
  const fourth = run(T0 + 120_000);
  assert.equal(fourth.allowed, false);
  assert.match(fourth.reason ?? "", /^max-per-day 2/);
  assert.deepEqual([fourth.trigger.hits, fourth.trigger.fired], [9, 3]);
  assert.equal(run(T0 + DAY_MS + 2001).allowed, true);
});

Deno.test("UnsavedCounters adds the stored firings, and ignores a store it cannot read", () => {
  const t = trig({ cooldownMs: 60_000, maxPerDay: 3 });
  const unsaved = new UnsavedCounters(logOf([{ exec: "apache2", time: T0 }]));
  assert.equal(unsaved.lastFiring(t, 1000, "apache2"), T0);
  unsaved.record([{ trigger: t, allowed: true }], CRASH, T0 + 5);
  assert.equal(unsaved.lastFiring(t, 1000, "apache2"), T0 + 5);
  assert.equal(unsaved.firingsInLastDay(t, 1000, T0 + 10), 2);
  const broken = new UnsavedCounters({
    hitsOf: () => {
      throw new Error("disk I/O error");
    },
    lastFiring: () => {
      throw new Error("disk I/O error");
    },
    firingsInLastDay: () => {
      throw new Error("disk I/O error");
    },
  });
  assert.equal(broken.lastFiring(t, 1000, "apache2"), undefined);
  assert.equal(broken.firingsInLastDay(t, 1000, T0), 0);
  assert.equal(broken.hitsOf(t, 1000), 0);
});

Deno.test("UnsavedCounters starts afresh for a trigger removed and set again", () => {
  const unsaved = new UnsavedCounters();
  const old = trig({ hits: 3 });
  unsaved.record([{ trigger: old, allowed: true }], { uid: 0, execName: "a" }, T0);
  assert.equal(unsaved.apply([old])[0].hits, 4);
  const again = trig({ createdAt: "2026-02-01T00:00:00.000Z" });
  assert.equal(unsaved.apply([again])[0].hits, 0);
});

// Per-uid counters (issue #15): one user's crashes never spend another's limits.

const ROOT: CrashFacts = { pid: 7, uid: 0, gid: 0, execName: "nginx", hostname: "h" };
const MALLORY: CrashFacts = { pid: 8, uid: 1001, gid: 1001, execName: "nginx", hostname: "h" };

Deno.test("UnsavedCounters: a uid's crashes do not spend another uid's every:N, cooldown or max-per-day", () => {
  const cases: [string, Partial<Trigger>][] = [
    ["every:3", { ratePolicy: { kind: "every", count: 3 } }],
    ["once-after:2", { ratePolicy: { kind: "once-after", count: 2 } }],
    ["cooldown", { cooldownMs: 3_600_000 }],
    ["max-per-day", { maxPerDay: 1 }],
  ];
  for (const [what, limits] of cases) {
    const unsaved = new UnsavedCounters();
    const stored = [trig(limits)];
    const run = (crash: CrashFacts, now: number) => {
      const [d] = decide(unsaved.apply(stored), crash, unsaved, { now });
      unsaved.record([d], crash, now);
      return d.allowed;
    };
    // Mallory crashes "nginx" a hundred times...
    const mallory = Array.from({ length: 100 }, (_, i) => run(MALLORY, T0 + i));
    assert.ok(mallory.filter((a) => a).length <= 33, `${what}: mallory fired too often`);
    // ...and root's own crashes are judged as if she never had.
    const root = [1, 2, 3].map((i) => run(ROOT, T0 + 1000 + i));
    const expected: Record<string, boolean[]> = {
      "every:3": [false, false, true],
      "once-after:2": [false, true, false],
      "cooldown": [true, false, false],
      "max-per-day": [true, false, false],
    };
    assert.deepEqual(root, expected[what], what);
    // The totals still count everyone.
    assert.equal(unsaved.apply(stored)[0].hits, 103, what);
  }
});
