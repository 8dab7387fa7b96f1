import assert from "node:assert/strict";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import { shareCuts } from "../../lib/store/history_limits.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { ON_ANY_CORE_DUMP } from "../../lib/core/trigger.ts";
import { tempDir as temporaryDir } from "../fixtures/temp_dir.ts";

const tempDir = () => temporaryDir("lttng-trig-share-");

function crash(pid: number, uid: number): CrashFacts {
  return { pid, uid, gid: uid, execName: "crasher", hostname: "h" };
}

// Alice is uid 1000 and owns the subordinate uids 100000-165535.
const ownerOf = (uid: number) => uid >= 100000 && uid < 165536 ? 1000 : uid;

Deno.test("shareCuts() cuts the owners with the most first, root's last", () => {
  assert.deepEqual([...shareCuts(new Map([[0, 1], [1000, 45]]), 6)], [[1000, 6]]);
  // 10, 10, 4: seven to go; level 6 frees 8, one row given back to the lowest uid.
  assert.deepEqual(
    [...shareCuts(new Map([[1001, 10], [0, 10], [1002, 4]]), 7)].sort((a, b) => a[0] - b[0]),
    [[0, 3], [1001, 4]],
  );
  assert.deepEqual([...shareCuts(new Map([[5, 3]]), 0)], []);
  assert.deepEqual([...shareCuts(new Map([[5, 3]]), 3)], [[5, 3]]);
});

Deno.test("45 crashes of one user with a history of 40 never erase root's record", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 40 }, ownerOf });
  store.recordCrash(crash(1, 0), "notify");
  for (let pid = 100; pid < 145; pid++) store.recordCrash(crash(pid, 1000), "notify");
  const kept = store.listCrashes({ limit: 1000 });
  assert.equal(kept.length, 40);
  assert.deepEqual(kept.filter((c) => c.uid === 0).map((c) => c.pid), [1], "root's stays");
  // The user lost its own oldest: its 39 newest remain.
  assert.deepEqual(
    kept.filter((c) => c.uid === 1000).map((c) => c.pid),
    Array.from({ length: 39 }, (_, i) => 106 + i),
  );
});

Deno.test("a user alone keeps the whole history, oldest first out, as before", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 40 }, ownerOf });
  for (let pid = 1; pid <= 50; pid++) store.recordCrash(crash(pid, 1000), "notify");
  assert.deepEqual(
    store.listCrashes().map((c) => c.pid),
    Array.from({ length: 40 }, (_, i) => 11 + i),
  );
});

Deno.test("subordinate uids share their owner's part of the history", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 20 }, ownerOf });
  for (let pid = 1; pid <= 8; pid++) store.recordCrash(crash(pid, 1001), "notify");
  // Alice floods from 30 subordinate uids: as one owner, she evicts only her own.
  for (let i = 0; i < 30; i++) store.recordCrash(crash(100 + i, 100000 + i), "notify");
  const kept = store.listCrashes({ limit: 1000 });
  assert.equal(kept.length, 20);
  assert.deepEqual(kept.filter((c) => c.uid === 1001).map((c) => c.pid), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(
    kept.filter((c) => c.uid !== 1001).map((c) => c.pid),
    Array.from({ length: 12 }, (_, i) => 118 + i),
  );
});

Deno.test("a subordinate uid spends its owner's cooldown and daily maximum", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { ownerOf });
  store.addTrigger({
    session: "s",
    name: "daily",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    maxPerDay: 1,
  }, 0);
  const T = new Date(Date.UTC(2026, 0, 1));
  const first = store.recordCrash(crash(1, 100007), "notify", T).decisions[0];
  assert.equal(first.allowed, true);
  const second = store.recordCrash(crash(2, 100008), "notify", T).decisions[0];
  assert.equal(second.allowed, false);
  assert.equal(
    second.reason,
    "max-per-day 1: it acted 1 times on crashes of uid 1000 (owner of uid 100008) in the last 24 h",
  );
  assert.equal(store.recordCrash(crash(3, 1000), "notify", T).decisions[0].allowed, false);
  assert.equal(store.recordCrash(crash(4, 1001), "notify", T).decisions[0].allowed, true);
});
