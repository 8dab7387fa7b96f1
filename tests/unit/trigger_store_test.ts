import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import { StoreError } from "../../lib/store/schema.ts";
import { TriggerExistsError } from "../../lib/store/triggers.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { ON_ANY_CORE_DUMP, type TriggerSpec } from "../../lib/core/trigger.ts";
import { tempDir as temporaryDir } from "../fixtures/temp_dir.ts";

/** A temporary directory removed (with everything in it) on dispose. */
const tempDir = () => temporaryDir("lttng-trig-store-");

function snapshotSpec(session = "s1", extra: Partial<TriggerSpec> = {}): TriggerSpec {
  return {
    session,
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...extra,
  };
}

function crash(overrides: Partial<CrashFacts> = {}): CrashFacts {
  return { pid: 42, uid: 1000, gid: 1000, execName: "apache2", hostname: "h", ...overrides };
}

Deno.test("TriggerStore.addTrigger() stores a trigger that listTriggers() returns", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const now = new Date("2024-05-06T07:08:09.000Z");
  const t = store.addTrigger(snapshotSpec("s1", { name: "web" }), 1000, now);
  assert.deepEqual(t, {
    name: "web",
    session: "s1",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    owner: 1000,
    createdAt: "2024-05-06T07:08:09.000Z",
    hits: 0,
    fired: 0,
  });
  assert.deepEqual(store.listTriggers(), [t]);
});

Deno.test("TriggerStore.listTriggers() is empty for a new store and sorted by name", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  assert.deepEqual(store.listTriggers(), []);
  store.addTrigger(snapshotSpec("a", { name: "zeta" }), 0);
  store.addTrigger(snapshotSpec("b", { name: "alpha" }), 0);
  assert.deepEqual(store.listTriggers().map((t) => t.name), ["alpha", "zeta"]);
});

Deno.test("TriggerStore.addTrigger() generates free names trigger-N", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  assert.equal(store.addTrigger(snapshotSpec("a"), 0).name, "trigger-1");
  assert.equal(store.addTrigger(snapshotSpec("b"), 0).name, "trigger-2");
  assert.ok(store.removeTrigger("trigger-1"));
  const third = store.addTrigger(snapshotSpec("c"), 0).name;
  assert.match(third, /^trigger-\d+$/);
  assert.notEqual(third, "trigger-2");
  // A user-chosen name in the trigger-N space is skipped over.
  store.addTrigger(snapshotSpec("d", { name: "trigger-4" }), 0);
  const names = new Set(store.listTriggers().map((t) => t.name));
  const fifth = store.addTrigger(snapshotSpec("e"), 0).name;
  assert.ok(!names.has(fifth), `${fifth} was taken`);
  assert.equal(store.listTriggers().length, 4);
});

Deno.test("TriggerStore.addTrigger() refuses a taken name and writes nothing", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(snapshotSpec("s1", { name: "web" }), 0);
  const before = store.listTriggers();
  assert.throws(
    () => store.addTrigger(snapshotSpec("other", { name: "web" }), 0),
    (err: unknown) => {
      assert.ok(err instanceof TriggerExistsError);
      assert.equal(err.existing, "web");
      assert.match(err.message, /web/);
      return true;
    },
  );
  assert.deepEqual(store.listTriggers(), before);
});

Deno.test("TriggerStore.addTrigger() refuses an identical trigger under another name", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(snapshotSpec("s1", { name: "first" }), 0);
  const before = store.listTriggers();
  // Same session, condition, action and (default) policy, keys in another order.
  const same = {
    action: { type: "snapshot" },
    ratePolicy: { kind: "every", count: 1 },
    condition: { type: ON_ANY_CORE_DUMP },
    session: "s1",
    name: "second",
  } as TriggerSpec;
  assert.throws(() => store.addTrigger(same, 0), (err: unknown) => {
    assert.ok(err instanceof TriggerExistsError);
    assert.equal(err.existing, "first");
    return true;
  });
  // Without a name: nothing written, and no generated name was consumed.
  assert.throws(() => store.addTrigger(snapshotSpec("s1"), 0), TriggerExistsError);
  assert.deepEqual(store.listTriggers(), before);
});

Deno.test("TriggerStore.removeTrigger() removes by name and says whether it existed", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(snapshotSpec("s1", { name: "a" }), 0);
  store.addTrigger(snapshotSpec("s2", { name: "b" }), 0);
  assert.equal(store.removeTrigger("a"), true);
  assert.equal(store.removeTrigger("a"), false);
  assert.equal(store.removeTrigger("nope"), false);
  assert.deepEqual(store.listTriggers().map((t) => t.name), ["b"]);
  // The identity is free again.
  assert.equal(store.addTrigger(snapshotSpec("s1", { name: "a2" }), 0).name, "a2");
});

Deno.test("TriggerStore keeps triggers, counters and crashes across close and reopen", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  {
    using store = TriggerStore.open(path);
    store.addTrigger(
      snapshotSpec("s1", { name: "web", ratePolicy: { kind: "every", count: 2 } }),
      0,
    );
    store.addTrigger({ ...snapshotSpec("s2"), action: { type: "stop" } }, 0);
    store.recordCrash(crash(), "notify");
  }
  using store = TriggerStore.open(path);
  const triggers = store.listTriggers();
  assert.deepEqual(triggers.map((t) => [t.name, t.hits, t.fired]), [
    ["trigger-1", 1, 1],
    ["web", 1, 0],
  ]);
  assert.deepEqual(triggers[1].ratePolicy, { kind: "every", count: 2 });
  assert.equal(store.listCrashes().length, 1);
  assert.throws(() => store.addTrigger(snapshotSpec("s1", { name: "web" }), 0), TriggerExistsError);
});

Deno.test("TriggerStore.close() is idempotent and later calls throw StoreError", async () => {
  await using dir = await tempDir();
  const store = TriggerStore.open(`${dir.path}/t.db`);
  store.close();
  store.close();
  assert.throws(() => store.listTriggers(), StoreError);
  assert.throws(() => store.addTrigger(snapshotSpec(), 0), StoreError);
});

Deno.test("TriggerStore.recordCrash() counts hits and fires under every:N", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(snapshotSpec("s", { name: "t", ratePolicy: { kind: "every", count: 2 } }), 0);
  const seen: [boolean, number, number][] = [];
  for (let i = 0; i < 5; i++) {
    const { decisions } = store.recordCrash(crash({ pid: i }), "notify");
    assert.equal(decisions.length, 1);
    const d = decisions[0];
    seen.push([d.allowed, d.trigger.hits, d.trigger.fired]);
  }
  assert.deepEqual(seen, [
    [false, 1, 0],
    [true, 2, 1],
    [false, 3, 1],
    [true, 4, 2],
    [false, 5, 2],
  ]);
  const [t] = store.listTriggers();
  assert.equal(t.hits, 5);
  assert.equal(t.fired, 2);
});

Deno.test("TriggerStore.recordCrash() fires once-after:N only at hit N", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(
    snapshotSpec("s", { name: "t", ratePolicy: { kind: "once-after", count: 3 } }),
    0,
  );
  const allowed = [];
  for (let i = 0; i < 6; i++) {
    allowed.push(store.recordCrash(crash(), "notify").decisions[0].allowed);
  }
  assert.deepEqual(allowed, [false, false, true, false, false, false]);
  assert.equal(store.listTriggers()[0].fired, 1);
});

Deno.test("TriggerStore.recordCrash() leaves triggers that do not match untouched", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger({
    ...snapshotSpec("s1", { name: "nginx" }),
    condition: { type: ON_ANY_CORE_DUMP, exec: "nginx" },
  }, 0);
  store.addTrigger({
    ...snapshotSpec("s2", { name: "any" }),
  }, 0);
  const { decisions } = store.recordCrash(crash(), "notify");
  assert.deepEqual(decisions.map((d) => d.trigger.name), ["any"]);
  const byName = Object.fromEntries(store.listTriggers().map((t) => [t.name, t.hits]));
  assert.deepEqual(byName, { any: 1, nginx: 0 });
});

Deno.test("TriggerStore.recordCrash() inserts a final no-trigger row when no trigger matches", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const now = new Date("2024-01-02T03:04:05.000Z");
  const facts = crash({ signal: 11, exePath: "/usr/sbin/apache2" });
  const { id, decisions } = store.recordCrash(facts, "notify", now);
  assert.deepEqual(decisions, []);
  assert.deepEqual(store.listCrashes(), [{
    ...facts,
    id,
    time: "2024-01-02T03:04:05.000Z",
    source: "notify",
    outcome: "no-trigger",
    results: [],
    // sha256('signal SIGSEGV\nexe "/usr/sbin/apache2"\n'), its first 32 hex digits.
    signature: "d3ec8249b5c4071958780469af9b44a5",
  }]);
});

Deno.test("TriggerStore.finishCrash() sets the outcome, results and detail", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(snapshotSpec("s"), 0); // so that crashes stay pending until finished
  const { id } = store.recordCrash(crash(), "notify");
  const other = store.recordCrash(crash({ pid: 43 }), "notify").id;
  const results = [{
    trigger: "t",
    session: "s",
    action: "snapshot",
    outcome: "failed" as const,
    reason: "boom",
    durationMs: 3,
  }];
  store.finishCrash(id, "failed", results, "detail text");
  const [first, second] = store.listCrashes();
  assert.equal(first.outcome, "failed");
  assert.deepEqual(first.results, results);
  assert.equal(first.detail, "detail text");
  assert.equal(second.id, other);
  assert.equal(second.outcome, "pending");
  assert.ok(!("detail" in second));
});

Deno.test("TriggerStore.markInterrupted() marks only pending crashes", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  {
    using store = TriggerStore.open(path);
    store.addTrigger(snapshotSpec("s"), 0); // so that crashes stay pending until finished
    const a = store.recordCrash(crash({ pid: 1 }), "notify").id;
    store.recordCrash(crash({ pid: 2 }), "notify");
    store.recordCrash(crash({ pid: 3 }), "notify");
    store.finishCrash(a, "ok", []);
  }
  using store = TriggerStore.open(path);
  assert.equal(store.markInterrupted(), 2);
  assert.deepEqual(store.listCrashes().map((c) => [c.pid, c.outcome]), [
    [1, "ok"],
    [2, "interrupted"],
    [3, "interrupted"],
  ]);
  assert.match(store.listCrashes()[1].detail ?? "", /stopped/);
  assert.equal(store.markInterrupted(), 0);
});

Deno.test("TriggerStore.failPendingReports() fails only the reports a stopped daemon left pending", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  {
    using store = TriggerStore.open(path);
    const a = store.recordCrash(crash({ pid: 1 }), "notify").id;
    const b = store.recordCrash(crash({ pid: 2 }), "notify").id;
    store.recordCrash(crash({ pid: 3 }), "notify");
    store.setReport(a, { state: "pending" });
    store.setReport(b, { state: "ready", crashingTid: 2, threads: [], missing: [] });
  }
  using store = TriggerStore.open(path);
  assert.equal(store.failPendingReports(), 1);
  assert.deepEqual(store.listCrashes().map((c) => [c.pid, c.report?.state]), [
    [1, "failed"],
    [2, "ready"],
    [3, undefined],
  ]);
  assert.equal(
    store.listCrashes()[0].report?.reason,
    "the daemon stopped before the report was made",
  );
  assert.equal(store.failPendingReports(), 0);
});

Deno.test("TriggerStore.listCrashes() returns the newest N, oldest first", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  for (let pid = 1; pid <= 6; pid++) store.recordCrash(crash({ pid }), "notify");
  assert.deepEqual(store.listCrashes({ limit: 3 }).map((c) => c.pid), [4, 5, 6]);
  assert.deepEqual(store.listCrashes({ limit: 1 }).map((c) => c.pid), [6]);
  assert.deepEqual(store.listCrashes({ limit: 100 }).map((c) => c.pid), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(store.listCrashes().map((c) => c.pid), [1, 2, 3, 4, 5, 6]);
  const ids = store.listCrashes().map((c) => c.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
});

Deno.test("TriggerStore.open() refuses a corrupt file with a StoreError naming it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/corrupt.db`;
  const junk = new Uint8Array(4096);
  crypto.getRandomValues(junk);
  await Deno.writeFile(path, junk);
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError, `got ${err}`);
    assert.equal(err.path, path);
    assert.ok(err.message.includes(path), err.message);
    return true;
  });
  // Refused, never replaced.
  assert.deepEqual(await Deno.readFile(path), junk);
});

Deno.test("TriggerStore.open() refuses a text file with a StoreError naming it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/notes.db`;
  await Deno.writeTextFile(path, "these are not the triggers you are looking for\n".repeat(100));
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.ok(err.message.includes(path));
    return true;
  });
});

Deno.test("TriggerStore.open() refuses a foreign SQLite database and leaves it as it was", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/foreign.db`;
  {
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)");
    db.exec("INSERT INTO accounts (owner) VALUES ('alice')");
    db.close();
  }
  const before = await Deno.readFile(path);
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError, `got ${err}`);
    assert.equal(err.path, path);
    assert.ok(err.message.includes(path), err.message);
    assert.match(err.message, /not an lttng-trig store/);
    return true;
  });
  const db = new DatabaseSync(path);
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    assert.deepEqual(tables.map((t) => t.name), ["accounts"]);
  } finally {
    db.close();
  }
  assert.deepEqual(await Deno.readFile(path), before, "the file is left byte for byte");
});

Deno.test("TriggerStore.open() refuses a store with another schema version", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  TriggerStore.open(path).close();
  {
    const db = new DatabaseSync(path);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema'");
    db.close();
  }
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.match(err.message, /schema version 99/);
    return true;
  });
});

Deno.test("TriggerStore.open() refuses a path in a missing directory with a StoreError", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/missing/t.db`;
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.ok(err.message.includes(path));
    return true;
  });
});

Deno.test("TriggerStore.open() puts a new store in WAL mode", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  TriggerStore.open(path).close();
  const db = new DatabaseSync(path);
  try {
    const [row] = db.prepare("PRAGMA journal_mode").all();
    assert.equal(row.journal_mode, "wal");
  } finally {
    db.close();
  }
});

Deno.test("TriggerStore.recordCrash() holds back a trigger within its cooldown, per exec name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using store = TriggerStore.open(`${dir}/s.db`);
    store.addTrigger({
      name: "cool",
      session: "s",
      condition: { type: "OnAnyCoreDump" },
      action: { type: "snapshot" },
      cooldownMs: 60_000,
    }, 0);
    const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 0, 0, s));
    const crash = (exec: string, pid: number) => ({
      pid,
      uid: 0,
      gid: 0,
      execName: exec,
      hostname: "h",
    });
    assert.equal(store.recordCrash(crash("a", 1), "notify", at(0)).decisions[0].allowed, true);
    const held = store.recordCrash(crash("a", 2), "notify", at(30)).decisions[0];
    assert.equal(held.allowed, false);
    assert.match(held.reason ?? "", /cooldown 1m/);
    // Another exec name has its own window.
    assert.equal(store.recordCrash(crash("b", 3), "notify", at(31)).decisions[0].allowed, true);
    // After the window, "a" fires again.
    assert.equal(store.recordCrash(crash("a", 4), "notify", at(61)).decisions[0].allowed, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TriggerStore.recordCrash() caps actions over a rolling 24 hours, across reopening", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const at = (h: number) => new Date(Date.UTC(2026, 10, 26, h));
    const crash = (pid: number) => ({ pid, uid: 0, gid: 0, execName: "x", hostname: "h" });
    {
      using store = TriggerStore.open(`${dir}/s.db`);
      store.addTrigger({
        name: "capped",
        session: "s",
        condition: { type: "OnAnyCoreDump" },
        action: { type: "stop" },
        maxPerDay: 2,
      }, 0);
      assert.equal(store.recordCrash(crash(1), "notify", at(0)).decisions[0].allowed, true);
      assert.equal(store.recordCrash(crash(2), "notify", at(1)).decisions[0].allowed, true);
    }
    using store = TriggerStore.open(`${dir}/s.db`);
    const third = store.recordCrash(crash(3), "notify", at(2)).decisions[0];
    assert.equal(third.allowed, false);
    assert.match(third.reason ?? "", /max-per-day 2/);
    // 24 h after the first, one slot is free again.
    assert.equal(store.recordCrash(crash(4), "notify", at(24)).decisions[0].allowed, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Per-uid counters (issue #15)

Deno.test("TriggerStore.recordCrash() counts every:N, cooldown and max-per-day per uid", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  store.addTrigger(
    snapshotSpec("s1", { name: "every", ratePolicy: { kind: "every", count: 2 } }),
    0,
  );
  store.addTrigger(snapshotSpec("s2", { name: "cool", cooldownMs: 3_600_000 }), 0);
  store.addTrigger(snapshotSpec("s3", { name: "daily", maxPerDay: 1 }), 0);
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const fired = (uid: number, s: number) =>
    Object.fromEntries(
      store.recordCrash(crash({ uid, execName: "nginx" }), "notify", at(s)).decisions.map((
        d,
      ) => [d.trigger.name, d.allowed]),
    );
  // uid 1001 crashes "nginx" ten times: its share of each limit is spent...
  for (let i = 0; i < 10; i++) fired(1001, i);
  assert.deepEqual(fired(1001, 10), { every: false, cool: false, daily: false });
  // ...root's is whole: cooldown and daily maximum free, every:2 at its first hit.
  assert.deepEqual(fired(0, 11), { every: false, cool: true, daily: true });
  assert.deepEqual(fired(0, 12), { every: true, cool: false, daily: false });
  // list shows totals over every uid.
  const totals = Object.fromEntries(
    store.listTriggers().map((t) => [t.name, [t.fired, t.hits]]),
  );
  assert.deepEqual(totals, { every: [6, 13], cool: [2, 13], daily: [2, 13] });
});

Deno.test("TriggerStore.removeTrigger() forgets the per-uid counts of a trigger set again", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const spec = snapshotSpec("s", { name: "once", ratePolicy: { kind: "once-after", count: 1 } });
  store.addTrigger(spec, 0);
  assert.equal(store.recordCrash(crash(), "notify").decisions[0].allowed, true);
  assert.equal(store.recordCrash(crash(), "notify").decisions[0].allowed, false);
  store.removeTrigger("once");
  store.addTrigger(spec, 0);
  assert.equal(store.recordCrash(crash(), "notify").decisions[0].allowed, true);
});

// The schema 1 layout, as lttng-trig 1 wrote it.
const SCHEMA_1 = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE triggers (name TEXT PRIMARY KEY, identity TEXT NOT NULL UNIQUE,
    owner INTEGER NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0, fired INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE crashes (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL,
    pid INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, exec TEXT NOT NULL,
    hostname TEXT NOT NULL, facts TEXT NOT NULL, source TEXT NOT NULL, outcome TEXT NOT NULL,
    results TEXT NOT NULL, detail TEXT, core TEXT);
  CREATE INDEX crashes_pid ON crashes (pid);
  CREATE TABLE firings (trigger TEXT NOT NULL, exec TEXT NOT NULL, time INTEGER NOT NULL);
  CREATE INDEX firings_trigger ON firings (trigger, time);
  INSERT INTO meta (key, value) VALUES ('schema', '1');
`;

Deno.test("TriggerStore.open() migrates a schema 1 store; its shared counts bind every uid", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  const T = Date.UTC(2026, 0, 1);
  {
    const db = new DatabaseSync(path);
    db.exec(SCHEMA_1);
    const add = db.prepare(
      "INSERT INTO triggers (name, identity, owner, spec, created_at, hits, fired) VALUES (?, ?, 0, ?, '2026-01-01T00:00:00.000Z', ?, ?)",
    );
    const spec = (name: string, extra: Partial<TriggerSpec>) =>
      JSON.stringify(snapshotSpec("s", { name, ...extra }));
    add.run("once", "i1", spec("once", { ratePolicy: { kind: "once-after", count: 2 } }), 5, 1);
    add.run("daily", "i2", spec("daily", { maxPerDay: 1 }), 1, 1);
    db.prepare("INSERT INTO firings (trigger, exec, time) VALUES ('daily', 'x', ?)").run(T);
    db.prepare(
      "INSERT INTO crashes (time, pid, uid, gid, exec, hostname, facts, source, outcome, results) VALUES ('2026-01-01T00:00:00.000Z', 1, 0, 0, 'x', 'h', ?, 'notify', 'ok', '[]')",
    ).run(JSON.stringify(crash({ pid: 1 })));
    db.exec("PRAGMA journal_mode = WAL");
    db.close();
  }
  {
    using store = TriggerStore.open(path, { now: () => new Date(T + 1000) });
    assert.deepEqual(store.listTriggers().map((t) => [t.name, t.fired, t.hits]), [
      ["daily", 1, 1],
      ["once", 1, 5],
    ]);
    assert.equal(store.listCrashes().length, 1, "history kept");
    // once-after:2 already fired at hit 2 of 5: it does not fire again for anyone.
    // The day's firing still counts for every uid until it is a day old.
    for (const uid of [0, 1000]) {
      const ds = store.recordCrash(crash({ uid }), "notify", new Date(T + 2000)).decisions;
      assert.deepEqual(ds.map((d) => d.allowed), [false, false], `uid ${uid}`);
    }
    const next = store.recordCrash(crash({ uid: 0 }), "notify", new Date(T + 86_400_001));
    assert.deepEqual(next.decisions.map((d) => [d.trigger.name, d.allowed]), [
      ["daily", true],
      ["once", false],
    ]);
  }
  const db = new DatabaseSync(path);
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get();
    assert.equal(row?.value, "4");
  } finally {
    db.close();
  }
});

Deno.test("TriggerStore.open() leaves a store it cannot migrate as it was", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  {
    const db = new DatabaseSync(path);
    db.exec(SCHEMA_1);
    // A table in the way of the migration.
    db.exec("CREATE TABLE trigger_hits (x INTEGER)");
    db.close();
  }
  assert.throws(() => TriggerStore.open(path), (err: unknown) => {
    assert.ok(err instanceof StoreError, String(err));
    assert.match(err.message, /from schema version 1 to 2/);
    return true;
  });
  const db = new DatabaseSync(path);
  try {
    assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value, "1");
    const cols = db.prepare("PRAGMA table_info(firings)").all().map((c) => c.name);
    assert.deepEqual(cols, ["trigger", "exec", "time"]);
  } finally {
    db.close();
  }
});

// History retention (issue #15)

Deno.test("TriggerStore keeps at most historyMax crashes, deleting the oldest first", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 200 } });
  for (let pid = 1; pid <= 450; pid++) {
    store.recordCrash(crash({ pid }), "notify");
    assert.ok(store.listCrashes({ limit: 1000 }).length <= 200, `over the limit at ${pid}`);
  }
  const pids = store.listCrashes({ limit: 1000 }).map((c) => c.pid);
  // Deleted in batches of 1 % of the limit: between 198 and 200 kept, the newest.
  assert.ok(pids.length >= 198 && pids.length <= 200, `${pids.length}`);
  assert.deepEqual(pids, Array.from({ length: pids.length }, (_, i) => 451 - pids.length + i));
});

Deno.test("TriggerStore drops crashes older than historyMaxAge, on insert and on open", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  const DAY = 86_400_000;
  const T = Date.UTC(2026, 0, 1);
  {
    using store = TriggerStore.open(path, { history: { maxAgeMs: 10 * DAY } });
    for (let d = 0; d < 10; d++) {
      store.recordCrash(crash({ pid: d }), "notify", new Date(T + d * DAY));
    }
    assert.equal(store.listCrashes().length, 10);
    // Day 11.5: days 0 and 1 are older than 10 days.
    store.recordCrash(crash({ pid: 12 }), "notify", new Date(T + 11.5 * DAY));
    assert.deepEqual(store.listCrashes().map((c) => c.pid), [2, 3, 4, 5, 6, 7, 8, 9, 12]);
  }
  // Reopened at day 16 with 5 days: only the crash of day 11.5 stays.
  using store = TriggerStore.open(path, {
    history: { maxAgeMs: 5 * DAY },
    now: () => new Date(T + 16 * DAY),
  });
  assert.deepEqual(store.listCrashes().map((c) => c.pid), [12]);
  assert.equal(store.pruneHistory(new Date(T + 100 * DAY)), 1);
  assert.deepEqual(store.listCrashes(), []);
});

Deno.test("TriggerStore history retention keeps the rate limits: firings are not history", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 1 } });
  store.addTrigger(snapshotSpec("s", { name: "daily", maxPerDay: 2, cooldownMs: 60_000 }), 0);
  const T = Date.UTC(2026, 0, 1);
  const allowed = (pid: number, exec: string, ms: number) =>
    store.recordCrash(crash({ pid, execName: exec }), "notify", new Date(T + ms)).decisions[0]
      .allowed;
  assert.equal(allowed(1, "a", 0), true);
  assert.equal(allowed(2, "a", 1000), false, "cooldown holds though crash 1 is gone");
  assert.equal(allowed(3, "b", 2000), true);
  assert.equal(allowed(4, "c", 3000), false, "max-per-day holds though its crashes are gone");
  assert.deepEqual(store.listCrashes().map((c) => c.pid), [4]);
  assert.deepEqual(store.listTriggers().map((t) => [t.fired, t.hits]), [[2, 4]]);
  // A crash deleted before it is finished: finishing it is harmless.
  const { id } = store.recordCrash(crash({ pid: 5 }), "notify", new Date(T + 4000));
  store.recordCrash(crash({ pid: 6 }), "notify", new Date(T + 5000));
  store.finishCrash(id, "ok", []);
  assert.deepEqual(store.listCrashes().map((c) => [c.pid, c.outcome]), [[6, "pending"]]);
});

Deno.test("TriggerStore.open() refuses history limits below 1", async () => {
  await using dir = await tempDir();
  assert.throws(
    () => TriggerStore.open(`${dir.path}/t.db`, { history: { maxCount: 0 } }),
    RangeError,
  );
  assert.throws(
    () => TriggerStore.open(`${dir.path}/t.db`, { history: { maxAgeMs: 0 } }),
    RangeError,
  );
});

Deno.test("TriggerStore.open() compacts a store that is mostly free pages", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  {
    using store = TriggerStore.open(path);
    const big = crash({ cmdline: ["x".repeat(4000)] });
    for (let pid = 0; pid < 2000; pid++) store.recordCrash({ ...big, pid }, "notify");
  }
  const before = (await Deno.stat(path)).size;
  {
    using store = TriggerStore.open(path, { history: { maxCount: 10 } });
    assert.equal(store.listCrashes().length, 10);
  }
  const after = (await Deno.stat(path)).size;
  assert.ok(after < before / 4, `${before} -> ${after}`);
});

Deno.test("TriggerStore.open() leaves the database and its WAL files readable by their owner only", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/t.db`;
  // A file made under a permissive umask, as a daemon started by hand may have.
  Deno.writeFileSync(path, new Uint8Array(), { mode: 0o644 });
  Deno.chmodSync(path, 0o644);
  using store = TriggerStore.open(path);
  store.addTrigger(snapshotSpec("s1"), 0);
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600, file);
  }
});
