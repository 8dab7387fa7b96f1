import assert from "node:assert/strict";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { CrashHandler } from "../../lib/daemon/crash_handler.ts";
import type { SessionActions } from "../../lib/daemon/trigger_actions.ts";
import { ON_ANY_CORE_DUMP, type SnapshotAction, type TriggerSpec } from "../../lib/core/trigger.ts";
import type { SnapshotResult } from "../../lib/lttng/control.ts";
import { tempStore } from "../fixtures/temp_dir.ts";

/** Session actions whose snapshots finish when the test says. */
class GatedActions implements SessionActions {
  calls: string[] = [];
  gate = Promise.withResolvers<void>();
  async snapshot(session: string, name: string, _a: SnapshotAction): Promise<SnapshotResult> {
    this.calls.push(`snapshot ${session} ${name}`);
    await this.gate.promise;
    return { location: `/traces/${session}/${name}` };
  }
  stop(session: string): Promise<void> {
    this.calls.push(`stop ${session}`);
    return Promise.resolve();
  }
}

function trigger(name: string, extra: Partial<TriggerSpec> = {}): TriggerSpec {
  return {
    name,
    session: "s1",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...extra,
  };
}

// What /proc told the early path, and what the notifier then tells (%p %u %g %e %h %s).
const EARLY = {
  pid: 42,
  globalPid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "web1",
  exePath: "/usr/sbin/apache2",
};
const HELPER: CrashFacts = {
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "apache2",
  hostname: "web1",
  signal: 11,
  globalPid: 42,
};

let clock = Date.parse("2024-03-04T05:06:07.000Z");
const now = () => new Date(clock++);

Deno.test("CrashHandler.handleEarly() starts the snapshot before any helper arrives", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web"), 0);
  const actions = new GatedActions();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const early = handler.handleEarly(EARLY, () => true);
  assert.deepEqual(actions.calls, ["snapshot s1 core-apache2-42"]);
  const [row] = t.store.listCrashes();
  assert.equal(row.source, "connector");
  assert.equal(row.outcome, "pending");
  actions.gate.resolve();
  assert.equal((await early).outcome, "ok");
  // A helper may still join while the process is pinned: the record waits for it, or for
  // the pin to go.
  assert.equal(t.store.listCrashes()[0].outcome, "pending");
  handler.forgetEarly(42);
  assert.equal(t.store.listCrashes()[0].outcome, "ok");
});

Deno.test("listeners hear an early crash once, whether its helper joins after its actions or never", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web"), 0);
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const heard: string[] = [];
  handler.listen((c) => heard.push(`${c.id} ${c.source} ${c.outcome}`));
  // The helper comes once the early snapshot is done (pipe mode: the notifier starts late).
  const early = await handler.handleEarly(EARLY, () => true);
  assert.deepEqual(heard, []);
  const joined = await handler.handle(HELPER, "notify");
  assert.equal(joined.id, early.id);
  handler.forgetEarly(42);
  assert.deepEqual(heard, [`${early.id} notify ok`]);
  // No helper at all (connector only, or a dump that reaches another handler).
  const alone = await handler.handleEarly({ ...EARLY, pid: 43, globalPid: 43 }, () => true);
  assert.equal(heard.length, 1);
  handler.forgetEarly(43);
  assert.deepEqual(heard, [`${early.id} notify ok`, `${alone.id} connector ok`]);
  assert.equal(t.store.listCrashes().length, 2);
});

Deno.test("a helper that joins an early crash fires nothing twice and records one crash with both times", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web", { ratePolicy: { kind: "every", count: 2 } }), 0);
  t.store.addTrigger(trigger("any"), 0);
  const actions = new GatedActions();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const early = handler.handleEarly(EARLY, () => true);
  let released: { fired: number; failed: number } | undefined;
  const joined = handler.handle(HELPER, "notify", (r) => released = r);
  await Promise.resolve();
  assert.equal(released, undefined, "released before the early snapshot finished");
  actions.gate.resolve();
  const out = await joined;
  await early;
  assert.deepEqual(released, { fired: 1, failed: 0 });
  assert.deepEqual(actions.calls, ["snapshot s1 core-apache2-42"]);
  const rows = t.store.listCrashes();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, out.id);
  assert.equal(rows[0].source, "notify");
  assert.equal(rows[0].outcome, "ok");
  assert.equal(rows[0].signal, 11);
  assert.equal(rows[0].exePath, "/usr/sbin/apache2");
  assert.equal(typeof rows[0].connectorAt, "string");
  assert.equal(typeof rows[0].helperAt, "string");
  assert.ok(rows[0].connectorAt! < rows[0].helperAt!);
  // The rate policy counted the crash once: every:2 skipped this first hit.
  assert.deepEqual(
    t.store.listTriggers().map((x) => [x.name, x.hits]),
    [["any", 1], ["web", 1]],
  );
  assert.deepEqual(rows[0].results.map((r) => [r.trigger, r.outcome]), [
    ["any", "ok"],
    ["web", "skipped"],
  ]);
});

Deno.test("a --signal trigger waits for the helper's signal, and fires once", async () => {
  await using t = await tempStore();
  t.store.addTrigger(
    trigger("segv", { condition: { type: ON_ANY_CORE_DUMP, signals: [11] } }),
    0,
  );
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const early = handler.handleEarly(EARLY, () => true);
  assert.deepEqual(actions.calls, []);
  assert.equal((await early).outcome, "no-trigger");
  const out = await handler.handle(HELPER, "notify");
  assert.equal(out.outcome, "ok");
  assert.deepEqual(actions.calls, ["snapshot s1 core-apache2-42"]);
  assert.equal(t.store.listCrashes().length, 1);
});

Deno.test("a helper whose early crash's pin is gone is a crash of its own", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web"), 0);
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now });
  await handler.handleEarly(EARLY, () => false);
  await handler.handle(HELPER, "notify");
  assert.equal(actions.calls.length, 2);
  assert.deepEqual(t.store.listCrashes().map((r) => r.source), ["connector", "notify"]);
});

Deno.test("a helper of another pid does not join an early crash", async () => {
  await using t = await tempStore();
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now });
  await handler.handleEarly(EARLY, () => true);
  await handler.handle({ ...HELPER, pid: 43, globalPid: 43 }, "notify");
  assert.equal(t.store.listCrashes().length, 2);
  assert.equal(handler.earlyInFlight, 1);
  handler.forgetEarly(42);
  assert.equal(handler.earlyInFlight, 0);
});

Deno.test("CrashHandler stamps when each action began on the monotonic clock it is given", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web"), 0);
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now, monotonicNs: () => 4242 });
  const out = await handler.handle(HELPER, "notify");
  assert.equal(out.results[0].startedNs, 4242);
});

Deno.test("a socket-mode helper whose uid is unproved keeps the uid the early pin proved", async () => {
  await using t = await tempStore();
  const actions = new GatedActions();
  actions.gate.resolve();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const early = handler.handleEarly(EARLY, () => true);
  await handler.handle({
    ...HELPER,
    uid: 0xffff_ffff,
    gid: 0xffff_ffff,
    uidVerified: false,
    uidNote: "not known",
  }, "socket");
  await early;
  const [row] = t.store.listCrashes();
  assert.equal(row.uid, 1000);
  assert.equal(row.uidVerified, undefined);
  assert.equal(row.source, "socket");
});

Deno.test("the connector's word on a crash its helper already brought is not a second crash", async () => {
  await using t = await tempStore();
  t.store.addTrigger(trigger("web"), 0);
  const actions = new GatedActions();
  const handler = new CrashHandler({ store: t.store, actions, now });
  const helper = handler.handle(HELPER, "socket");
  const early = await handler.handleEarly(EARLY, () => true);
  assert.equal(early.outcome, "helper-first");
  actions.gate.resolve();
  await helper;
  assert.deepEqual(actions.calls, ["snapshot s1 core-apache2-42"]);
  assert.equal(t.store.listCrashes().length, 1);
  assert.equal(handler.earlyInFlight, 0);
});
