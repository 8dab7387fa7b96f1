/**
 * Snapshot retention (issue #21, item 5) with an injected filesystem and store: per
 * trigger count and age, daemon-wide size and free space, and only directories the
 * history records, in the trigger's output, that the filesystem check lets go.
 */
import assert from "node:assert/strict";
import type { CrashRecord, SnapshotRemoved } from "../../lib/protocol/records.ts";
import type { Trigger } from "../../lib/core/trigger.ts";
import {
  planBySpace,
  planByTrigger,
  recordedSnapshots,
  resolveSpaceLimits,
} from "../../lib/daemon/snapshot_retention.ts";
import { type RetentionFs, SnapshotRetention } from "../../lib/daemon/retention_runner.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-12-04T00:00:00Z");

function trigger(name: string, action: Partial<Trigger["action"]> = {}): Trigger {
  return {
    name,
    session: "s",
    condition: { type: "OnAnyCoreDump" },
    action: { type: "snapshot", ...action } as Trigger["action"],
    owner: 0,
    createdAt: "2026-01-01T00:00:00Z",
    hits: 0,
    fired: 0,
  };
}

/** Crash `id` at NOW minus `daysAgo`, with a snapshot of trigger `t` in `dir`. */
function crash(id: number, t: string, daysAgo: number, dir = "/out"): CrashRecord {
  return {
    id,
    time: new Date(NOW - daysAgo * DAY).toISOString(),
    pid: 100 + id,
    uid: 0,
    gid: 0,
    execName: "app",
    hostname: "h",
    source: "notify",
    outcome: "ok",
    results: [{
      trigger: t,
      session: "s",
      action: "snapshot",
      outcome: "ok",
      snapshot: `${dir}/core-app-${100 + id}-20261201-000000-${id}`,
    }],
  };
}

Deno.test("recordedSnapshots() keeps local, lttng-trig-named, not yet removed directories, newest first", () => {
  const glob = crash(4, "t", 0);
  glob.results[0].snapshot = "/out/core-app-104-*";
  const remote = crash(5, "t", 0);
  remote.results[0].snapshot = "net://host (core-app-105)";
  const removed = crash(6, "t", 0);
  removed.results[0].removed = { time: "x", reason: "y" };
  const other = crash(7, "t", 0);
  other.results[0].snapshot = "/out/important";
  const got = recordedSnapshots([crash(1, "t", 3), crash(2, "t", 1), glob, remote, removed, other]);
  assert.deepEqual(got.map((s) => s.crashId), [2, 1]);
});

Deno.test("planByTrigger() keeps each trigger's N newest and removes what is past --max-age", () => {
  const snaps = recordedSnapshots([
    crash(1, "a", 4),
    crash(2, "a", 3),
    crash(3, "a", 2),
    crash(4, "a", 1),
    crash(5, "b", 40),
    crash(6, "b", 1),
    crash(7, "c", 100),
  ]);
  const plan = planByTrigger(snaps, [
    trigger("a", { maxSnapshots: 2 }),
    trigger("b", { maxAgeMs: 30 * DAY }),
    trigger("c"),
  ], NOW);
  assert.deepEqual(plan.map((r) => [r.crashId, r.reason]), [
    [2, "trigger a keeps its 2 newest snapshot(s) (--max-snapshots=2)"],
    [1, "trigger a keeps its 2 newest snapshot(s) (--max-snapshots=2)"],
    [5, "older than trigger b's --max-age of 30d"],
  ]);
});

Deno.test("planBySpace() removes the oldest while over max use or under keep-free, never the newest", () => {
  const sized = recordedSnapshots([crash(1, "a", 3), crash(2, "a", 2), crash(3, "a", 1)])
    .map((s) => ({ ...s, bytes: 100 }));
  assert.deepEqual(
    planBySpace(sized, { maxUse: 150, keepFree: 0 }, 1000).map((r) => r.crashId),
    [1, 2],
  );
  assert.deepEqual(
    planBySpace(sized, { maxUse: 1000, keepFree: 150 }, 100).map((r) => [r.crashId, r.reason]),
    [[1, "100 bytes free, under the daemon's --snapshots-keep-free of 150"]],
  );
  assert.deepEqual(planBySpace(sized, { maxUse: 10, keepFree: 0 }, 0).length, 2);
  assert.deepEqual(resolveSpaceLimits({}, 10 * 1024 ** 3), {
    maxUse: 1024 ** 3,
    keepFree: Math.floor(1.5 * 1024 ** 3),
  });
  assert.deepEqual(resolveSpaceLimits({ maxUse: 5 }, 1000 * 1024 ** 4).keepFree, 4 * 1024 ** 3);
});

Deno.test("SnapshotRetention removes only what the filesystem check allows, and records why", async () => {
  const crashes = [crash(1, "a", 4), crash(2, "a", 3), crash(3, "a", 2), crash(4, "a", 1)];
  // A trigger's output directory: a snapshot recorded elsewhere is never removed.
  crashes[0].results[0].snapshot = "/elsewhere/core-app-101-20261201-000000-1";
  const removed: [number, string, SnapshotRemoved][] = [];
  const gone: string[] = [];
  const log: string[] = [];
  const fs: RetentionFs = {
    problem: (p) =>
      Promise.resolve(p.endsWith("-2") ? "a symbolic link in it: /out/...-2/ust" : undefined),
    size: () => Promise.resolve(1),
    space: () => ({ size: 1024 ** 4, free: 1024 ** 4 }),
    remove: (p) => {
      gone.push(p);
      return Promise.resolve();
    },
  };
  const retention = new SnapshotRetention({
    store: {
      listTriggers: () => [trigger("a", { maxSnapshots: 1, path: "/out" })],
      listCrashes: () => crashes,
      setSnapshotRemoved: (id, _t, _p, r) => (removed.push([id, _t, r]), true),
    },
    fs,
    log: (l) => log.push(l),
    now: () => NOW,
  });
  assert.equal(await retention.run(), 1);
  assert.deepEqual(gone, ["/out/core-app-103-20261201-000000-3"]);
  assert.deepEqual(removed.map(([id, t, r]) => [id, t, r.reason]), [
    [3, "a", "trigger a keeps its 1 newest snapshot(s) (--max-snapshots=1)"],
  ]);
  assert.ok(log.some((l) => l.includes("-2 kept: a symbolic link in it")), log.join("\n"));
  assert.ok(log.some((l) => l.includes("-1 kept: it is not in the trigger's output directory")));
});
