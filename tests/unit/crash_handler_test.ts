import assert from "node:assert/strict";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { CrashHandler } from "../../lib/daemon/crash_handler.ts";
import type { SessionActions } from "../../lib/daemon/trigger_actions.ts";
import type { TriggerStore } from "../../lib/store/trigger_store.ts";
import { ON_ANY_CORE_DUMP, type SnapshotAction, type TriggerSpec } from "../../lib/core/trigger.ts";
import type { SnapshotResult } from "../../lib/lttng/control.ts";
import { tempStore } from "../fixtures/temp_dir.ts";

/** Session actions that log their calls and fail for the sessions told to. */
class FakeActions implements SessionActions {
  calls: string[] = [];
  failing = new Map<string, Error>();
  snapshot(session: string, name: string, action: SnapshotAction): Promise<SnapshotResult> {
    this.calls.push(`snapshot ${session} ${name} ${JSON.stringify(action)}`);
    const err = this.failing.get(session);
    if (err !== undefined) return Promise.reject(err);
    return Promise.resolve({ location: `/traces/${session}/${name}-20240101-000000-0` });
  }
  stop(session: string): Promise<void> {
    this.calls.push(`stop ${session}`);
    const err = this.failing.get(session);
    return err === undefined ? Promise.resolve() : Promise.reject(err);
  }
}

const CRASH: CrashFacts = {
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "web1",
};

function trigger(name: string, session: string, extra: Partial<TriggerSpec> = {}): TriggerSpec {
  return {
    name,
    session,
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...extra,
  };
}

const NOW = new Date("2024-03-04T05:06:07.000Z");

Deno.test("CrashHandler.handle() snapshots a matching trigger's session as core-<exec>-<pid>", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1"), 0);
  const actions = new FakeActions();
  const handler = new CrashHandler({ store: t.store, actions, now: () => NOW });
  const out = await handler.handle(CRASH, "notify");
  assert.deepEqual(actions.calls, ['snapshot s1 core-apache2-42 {"type":"snapshot"}']);
  assert.equal(out.outcome, "ok");
  assert.equal(out.fired, 1);
  assert.equal(out.failed, 0);
  assert.equal(out.results.length, 1);
  const [r] = out.results;
  assert.equal(r.trigger, "web");
  assert.equal(r.session, "s1");
  assert.equal(r.action, "snapshot");
  assert.equal(r.outcome, "ok");
  assert.equal(r.snapshot, "/traces/s1/core-apache2-42-20240101-000000-0");
  assert.equal(typeof r.durationMs, "number");
  const [row] = t.store.listCrashes();
  assert.equal(row.id, out.id);
  assert.equal(row.outcome, "ok");
  assert.equal(row.time, NOW.toISOString());
  assert.equal(row.source, "notify");
  assert.deepEqual(row.results, out.results);
  assert.deepEqual(t.store.listTriggers().map((x) => [x.hits, x.fired]), [[1, 1]]);
});

Deno.test("CrashHandler.handle() passes the snapshot options and a safe name", async () => {
  await using t = await tempStore();
  const action: SnapshotAction = { type: "snapshot", maxSize: 1 << 20, url: "net://relay" };
  t.store.addTrigger(trigger("net", "s1", { action }), 0);
  const actions = new FakeActions();
  const handler = new CrashHandler({ store: t.store, actions });
  await handler.handle({ ...CRASH, execName: "../evil name", pid: 7 }, "notify");
  assert.deepEqual(actions.calls, [`snapshot s1 core-__evil_name-7 ${JSON.stringify(action)}`]);
});

Deno.test("CrashHandler.handle() stops the session of a stop trigger", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("halt", "s2", { action: { type: "stop" } }), 0);
  const actions = new FakeActions();
  const out = await new CrashHandler({ store: t.store, actions }).handle(CRASH, "notify");
  assert.deepEqual(actions.calls, ["stop s2"]);
  assert.equal(out.outcome, "ok");
  assert.equal(out.results[0].action, "stop");
  assert.ok(!("snapshot" in out.results[0]));
});

Deno.test("CrashHandler.handle() reports no-trigger when no trigger exists", async () => {
  await using t = await tempStore();
  const actions = new FakeActions();
  const out = await new CrashHandler({ store: t.store, actions }).handle(CRASH, "notify");
  assert.deepEqual(out, { id: out.id, fired: 0, failed: 0, results: [], outcome: "no-trigger" });
  assert.deepEqual(actions.calls, []);
  assert.equal(t.store.listCrashes()[0].outcome, "no-trigger");
});

Deno.test("CrashHandler.handle() reports no-trigger when no trigger matches", async () => {
  await using t = await tempStore();
  t.store.addTrigger({
    ...trigger("nginx", "s1"),
    condition: { type: ON_ANY_CORE_DUMP, exec: "nginx*" },
  }, 0);
  t.store.addTrigger({
    ...trigger("root-only", "s1"),
    condition: { type: ON_ANY_CORE_DUMP, uids: [0] },
  }, 0);
  const actions = new FakeActions();
  const out = await new CrashHandler({ store: t.store, actions }).handle(CRASH, "notify");
  assert.equal(out.outcome, "no-trigger");
  assert.deepEqual(actions.calls, []);
});

Deno.test("CrashHandler.handle() skips an action its rate policy holds back, with the reason", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("every2", "s1", { ratePolicy: { kind: "every", count: 2 } }), 0);
  const actions = new FakeActions();
  const handler = new CrashHandler({ store: t.store, actions });
  const first = await handler.handle(CRASH, "notify");
  assert.equal(first.outcome, "skipped");
  assert.equal(first.fired, 0);
  assert.equal(first.results[0].outcome, "skipped");
  assert.match(
    first.results[0].reason ?? "",
    /rate policy every:2 \(matching crash 1 of uid 1000\)/,
  );
  assert.deepEqual(actions.calls, []);
  assert.equal(t.store.listCrashes()[0].outcome, "skipped");
  const second = await handler.handle({ ...CRASH, pid: 43 }, "notify");
  assert.equal(second.outcome, "ok");
  assert.equal(second.fired, 1);
  assert.deepEqual(actions.calls, ['snapshot s1 core-apache2-43 {"type":"snapshot"}']);
});

Deno.test("CrashHandler.handle() reports a failing action with its reason and records it", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "gone"), 0);
  const actions = new FakeActions();
  actions.failing.set("gone", new Error('session "gone" not found'));
  const out = await new CrashHandler({ store: t.store, actions }).handle(CRASH, "notify");
  assert.equal(out.outcome, "failed");
  assert.equal(out.fired, 1);
  assert.equal(out.failed, 1);
  assert.equal(out.results[0].outcome, "failed");
  assert.equal(out.results[0].reason, 'session "gone" not found');
  const [row] = t.store.listCrashes();
  assert.equal(row.outcome, "failed");
  assert.equal(row.results[0].reason, 'session "gone" not found');
});

Deno.test("CrashHandler.handle() runs every matching trigger; one failure fails the crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("a", "good"), 0);
  t.store.addTrigger(trigger("b", "bad", { action: { type: "stop" } }), 0);
  const actions = new FakeActions();
  actions.failing.set("bad", new Error("stop failed"));
  const out = await new CrashHandler({ store: t.store, actions }).handle(CRASH, "notify");
  assert.equal(out.outcome, "failed");
  assert.equal(out.fired, 2);
  assert.equal(out.failed, 1);
  assert.deepEqual(
    out.results.map((r) => [r.trigger, r.outcome]).sort(),
    [["a", "ok"], ["b", "failed"]],
  );
  assert.deepEqual(actions.calls.sort(), [
    'snapshot good core-apache2-42 {"type":"snapshot"}',
    "stop bad",
  ]);
});

Deno.test("CrashHandler.handle() skips crashes of LTTng's own daemons", async () => {
  for (const execName of ["lttng-sessiond", "lttng-consumerd", "lttng-relayd"]) {
    await using t = await tempStore();
    t.store.addTrigger(trigger("all", "s1"), 0);
    const actions = new FakeActions();
    const out = await new CrashHandler({ store: t.store, actions }).handle(
      { ...CRASH, execName },
      "notify",
    );
    assert.deepEqual(actions.calls, [], execName);
    assert.equal(out.outcome, "skipped");
    assert.equal(out.fired, 0);
    assert.match(out.results[0].reason ?? "", new RegExp(execName));
  }
});

Deno.test("CrashHandler.handle() acts on processes merely named like LTTng tools", async () => {
  for (const execName of ["lttng", "lttng-sessiond2", "my-lttng-relayd"]) {
    await using t = await tempStore();
    t.store.addTrigger(trigger("all", "s1"), 0);
    const actions = new FakeActions();
    const out = await new CrashHandler({ store: t.store, actions }).handle(
      { ...CRASH, execName },
      "notify",
    );
    assert.equal(out.outcome, "ok", execName);
    assert.equal(actions.calls.length, 1);
  }
});

Deno.test("CrashHandler tells its listeners of every finished crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1"), 0);
  const handler = new CrashHandler({ store: t.store, actions: new FakeActions() });
  const seen: unknown[] = [];
  handler.listen(() => {
    throw new Error("a broken listener");
  });
  const stop = handler.listen((c) => seen.push(c));
  const out = await handler.handle(CRASH, "socket");
  // No signal, no path, no report: signed by the exec name (lib/report/signature.ts).
  const signature = "a0686ca54d4cfab8fe1379b505ab6b63";
  assert.deepEqual(seen, [{ ...CRASH, ...out, source: "socket", signature }]);
  stop();
  await handler.handle({ ...CRASH, pid: 43 }, "socket");
  assert.equal(seen.length, 1, "an unsubscribed listener hears nothing");
});

Deno.test("CrashHandler.handle() takes one snapshot per session at a time", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1"), 0);
  const gates: PromiseWithResolvers<void>[] = [];
  let running = 0;
  let maxRunning = 0;
  const actions: SessionActions = {
    async snapshot(_session, name) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const g = Promise.withResolvers<void>();
      gates.push(g);
      await g.promise;
      running--;
      return { location: name };
    },
    stop: () => Promise.resolve(),
  };
  const handler = new CrashHandler({ store: t.store, actions });
  const p1 = handler.handle({ ...CRASH, pid: 1 }, "notify");
  const p2 = handler.handle({ ...CRASH, pid: 2 }, "notify");
  const p3 = handler.handle({ ...CRASH, pid: 3 }, "notify");
  while (gates.length < 1) await new Promise((r) => setTimeout(r, 1));
  // Crash 1's snapshot runs; 2 and 3 are queued and identical, so they share one snapshot.
  gates[0].resolve();
  while (gates.length < 2) await new Promise((r) => setTimeout(r, 1));
  gates[1].resolve();
  const [o1, o2, o3] = await Promise.all([p1, p2, p3]);
  await handler.idle();
  assert.equal(maxRunning, 1);
  assert.equal(gates.length, 2);
  assert.equal(o1.results[0].snapshot, "core-apache2-1");
  assert.equal(o2.results[0].snapshot, "core-apache2-2");
  assert.equal(o3.results[0].snapshot, "core-apache2-2");
  assert.deepEqual([o1.outcome, o2.outcome, o3.outcome], ["ok", "ok", "ok"]);
});

Deno.test("CrashHandler.handle() still acts when the store refuses to record the crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1"), 0);
  const failures: unknown[] = [];
  // A full disk: every write fails, reads still work.
  t.store.recordCrash = () => {
    throw new Error("database or disk is full");
  };
  const actions = new FakeActions();
  const handler = new CrashHandler({
    store: t.store,
    actions,
    onStoreFailure: (err) => failures.push(err),
  });
  const out = await handler.handle(CRASH, "notify");
  assert.equal(out.outcome, "ok");
  assert.equal(out.fired, 1);
  assert.equal(out.id, 0);
  assert.equal(actions.calls.length, 1);
  assert.equal(failures.length, 1);
});

/** A handler over a store that refuses every write, as on a full disk; reads still work. */
function fullDiskHandler(store: TriggerStore, actions: SessionActions, clock: { now: Date }) {
  const failures: unknown[] = [];
  store.recordCrash = () => {
    throw new Error("database or disk is full");
  };
  const handler = new CrashHandler({
    store,
    actions,
    now: () => clock.now,
    onStoreFailure: (err) => failures.push(err),
  });
  return { handler, failures };
}

Deno.test("CrashHandler.handle() honours --cooldown when the store refuses to record the crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1", { cooldownMs: 60_000 }), 0);
  const actions = new FakeActions();
  const clock = { now: NOW };
  const { handler, failures } = fullDiskHandler(t.store, actions, clock);
  const at = (s: number) => new Date(NOW.getTime() + s * 1000);
  const outcomes: string[] = [];
  for (
    const [s, pid, execName] of [[0, 1, "apache2"], [10, 2, "apache2"], [20, 3, "nginx"]] as const
  ) {
    clock.now = at(s);
    outcomes.push((await handler.handle({ ...CRASH, pid, execName }, "notify")).outcome);
  }
  clock.now = at(61);
  outcomes.push((await handler.handle({ ...CRASH, pid: 4 }, "notify")).outcome);
  // One crash loop of apache2: fired once per minute; nginx has a window of its own.
  assert.deepEqual(outcomes, ["ok", "skipped", "ok", "ok"]);
  assert.deepEqual(actions.calls.map((c) => c.split(" ")[2]), [
    "core-apache2-1",
    "core-nginx-3",
    "core-apache2-4",
  ]);
  clock.now = at(62);
  const held = await handler.handle({ ...CRASH, pid: 5 }, "notify");
  assert.match(
    held.results[0].reason ?? "",
    /^cooldown 1m: "apache2" of uid 1000 fired it 1 s ago$/,
  );
  assert.equal(failures.length, 5);
});

Deno.test("CrashHandler.handle() honours --max-per-day when the store refuses to record the crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("capped", "s1", { action: { type: "stop" }, maxPerDay: 2 }), 0);
  const actions = new FakeActions();
  const clock = { now: NOW };
  const { handler } = fullDiskHandler(t.store, actions, clock);
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock.now = new Date(NOW.getTime() + i * 3_600_000);
    outcomes.push((await handler.handle({ ...CRASH, pid: 100 + i }, "notify")).outcome);
  }
  assert.deepEqual(outcomes, ["ok", "ok", "skipped", "skipped", "skipped"]);
  assert.equal(actions.calls.length, 2);
  clock.now = new Date(NOW.getTime() + 86_400_000 + 1);
  const next = await handler.handle({ ...CRASH, pid: 200 }, "notify");
  assert.equal(next.outcome, "ok", "a day after the first, a slot is free again");
});

Deno.test("CrashHandler.handle() counts the firings the store kept before it filled up", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", "s1", { cooldownMs: 60_000 }), 0);
  const actions = new FakeActions();
  // The first crash is recorded, with its firing; then the disk is full.
  await new CrashHandler({ store: t.store, actions, now: () => NOW }).handle(CRASH, "notify");
  const clock = { now: new Date(NOW.getTime() + 5000) };
  const { handler } = fullDiskHandler(t.store, actions, clock);
  const out = await handler.handle({ ...CRASH, pid: 43 }, "notify");
  assert.equal(out.outcome, "skipped");
  assert.match(out.results[0].reason ?? "", /^cooldown 1m/);
  assert.equal(actions.calls.length, 1);
});

Deno.test("CrashHandler.handle() keeps the rate policy's count when the store refuses to record", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("every3", "s1", { ratePolicy: { kind: "every", count: 3 } }), 0);
  const actions = new FakeActions();
  const { handler } = fullDiskHandler(t.store, actions, { now: NOW });
  const outcomes: string[] = [];
  for (let pid = 1; pid <= 6; pid++) {
    outcomes.push((await handler.handle({ ...CRASH, pid }, "notify")).outcome);
  }
  assert.deepEqual(outcomes, ["skipped", "skipped", "ok", "skipped", "skipped", "ok"]);
});
