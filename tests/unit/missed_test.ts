/**
 * Crashes that reached no daemon (issue #21, item 3): what the notifier journaled becomes
 * history, outcome `missed`, each crash once.
 */
import assert from "node:assert/strict";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import { missedByRootDaemon, missedCrashes } from "../../lib/notify/missed.ts";
import type { JournalEntry } from "../../lib/notify/io.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const DOWN = "no root daemon: /var/run/lttng/notify-lttng-sessiond does not exist";

function entry(time: string, pid: number, extra: Partial<JournalEntry> = {}): JournalEntry {
  return { time, pid, uid: 1000, exec: "app", failures: [DOWN], ...extra };
}

Deno.test("missedByRootDaemon() takes rootMissed, or an older journal's 'no root daemon'", () => {
  assert.equal(missedByRootDaemon(entry("t", 1)), true);
  assert.equal(missedByRootDaemon(entry("t", 1, { failures: ["x"], rootMissed: true })), true);
  assert.equal(
    missedByRootDaemon(entry("t", 1, { failures: ["user daemon at /x: refused"] })),
    false,
  );
});

Deno.test("missedCrashes() keeps the journal's facts and says why no trigger ran", () => {
  const [c] = missedCrashes([
    entry("2026-12-04T03:00:00.000Z", 42, { gid: 1000, host: "h", signal: 11 }),
  ]);
  assert.deepEqual(c, {
    time: "2026-12-04T03:00:00.000Z",
    facts: { pid: 42, uid: 1000, gid: 1000, execName: "app", hostname: "h", signal: 11 },
    detail:
      `no trigger ran: no lttng-trig daemon was running when it crashed (the notifier journaled: ${DOWN})`,
  });
  const [unknown] = missedCrashes([{ time: "t", pid: 1, exec: "x", failures: [DOWN] }]);
  assert.equal(unknown.facts.uid, 0xffff_ffff);
});

Deno.test("TriggerStore.importMissed() imports each journaled crash once, across reopenings", async () => {
  await using dir = await tempDir("ltm-");
  const path = `${dir.path}/lttng-trig.db`;
  const first = missedCrashes([
    entry("2026-12-04T03:00:02.000Z", 12),
    entry("2026-12-04T03:00:01.000Z", 11),
  ]);
  {
    using store = TriggerStore.open(path);
    assert.equal(store.importMissed(first), 2);
    assert.equal(store.importMissed(first), 0);
  }
  using store = TriggerStore.open(path);
  assert.equal(store.importMissed(first), 0);
  assert.equal(
    store.importMissed([...first, ...missedCrashes([entry("2026-12-04T03:00:03.000Z", 13)])]),
    1,
  );
  const crashes = store.listCrashes();
  assert.deepEqual(crashes.map((c) => [c.pid, c.time, c.outcome, c.source]), [
    [11, "2026-12-04T03:00:01.000Z", "missed", "notifier.log"],
    [12, "2026-12-04T03:00:02.000Z", "missed", "notifier.log"],
    [13, "2026-12-04T03:00:03.000Z", "missed", "notifier.log"],
  ]);
  assert.match(crashes[0].detail ?? "", /^no trigger ran: no lttng-trig daemon was running/);
  assert.deepEqual(crashes[0].results, []);
});

Deno.test("TriggerStore.importMissed() skips a crash the daemon recorded before it died", async () => {
  await using dir = await tempDir("ltm-");
  using store = TriggerStore.open(`${dir.path}/lttng-trig.db`);
  const received = new Date("2026-12-04T03:00:00.000Z");
  store.recordCrash(
    { pid: 21, uid: 1000, gid: 1000, execName: "app", hostname: "h" },
    "notify",
    received,
  );
  // Journaled 12 s later: the daemon closed without replying (killed).
  const journaled = missedCrashes([
    entry("2026-12-04T03:00:12.000Z", 21, { failures: ["x"], rootMissed: true }),
    entry("2026-12-04T03:00:13.000Z", 22),
  ]);
  assert.equal(store.importMissed(journaled), 1);
  assert.deepEqual(store.listCrashes().map((c) => [c.pid, c.outcome]), [
    [21, "no-trigger"],
    [22, "missed"],
  ]);
});
