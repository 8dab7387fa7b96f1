import assert from "node:assert/strict";
import {
  answerControlFrame,
  type ControlContext,
  controlDenial,
  handleControl,
  watchEvents,
} from "../../lib/daemon/control_handler.ts";
import type { CrashListener, ReceivedListener } from "../../lib/daemon/crash_handler.ts";
import { ControlCommand, ControlStatus, decodeControlReply } from "../../lib/wire/control.ts";
import { HEADER_SIZE } from "../../lib/wire/header.ts";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import { ON_ANY_CORE_DUMP } from "../../lib/core/trigger.ts";
import type { SessionInfo } from "../../lib/lttng/control.ts";
import type { StatusReply } from "../../lib/protocol/control.ts";

interface TestContext extends ControlContext, AsyncDisposable {
  sessions: SessionInfo[] | Error;
}

function statusFacts(triggers: number): StatusReply {
  return {
    pid: 123,
    uid: 1000,
    runDir: "/run",
    stateDir: "/state",
    store: "/state/t.db",
    startedAt: "2026-01-01T00:00:00.000Z",
    triggers,
    coredumpSocket: null,
  };
}

/** A context with a real store in a temporary directory and scripted sessions. */
async function context(sessions: SessionInfo[] | Error = []): Promise<TestContext> {
  const dir = await Deno.makeTempDir({ prefix: "lttng-trig-control-" });
  const store = TriggerStore.open(`${dir}/t.db`);
  const ctx: TestContext = {
    store,
    uid: 1000,
    // Root's CLI on the other end; the tests of controlDenial() change it.
    peer: { pid: 1, uid: 0, gid: 0 },
    sessions,
    listSessions() {
      return ctx.sessions instanceof Error
        ? Promise.reject(ctx.sessions)
        : Promise.resolve(ctx.sessions);
    },
    status: () => statusFacts(store.listTriggers().length),
    async [Symbol.asyncDispose]() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return ctx;
}

function session(name: string, snapshotMode = true): SessionInfo {
  return { name, path: "", enabled: true, snapshotMode };
}

function setRequest(overrides: Record<string, unknown> = {}) {
  return {
    session: "s1",
    condition: { type: ON_ANY_CORE_DUMP },
    action: { type: "snapshot" },
    ...overrides,
  };
}

Deno.test("handleControl() SET stores the trigger and replies with it, no warning", async () => {
  await using ctx = await context([session("s1")]);
  const reply = await handleControl(ControlCommand.SET, setRequest({ name: "web" }), ctx);
  assert.equal(reply.status, ControlStatus.OK);
  assert.equal(reply.error, "");
  const payload = reply.payload;
  assert.ok(payload !== null);
  assert.equal(payload.trigger.name, "web");
  assert.equal(payload.trigger.owner, 1000);
  assert.deepEqual(payload.warnings, []);
  assert.deepEqual(ctx.store.listTriggers().map((t) => t.name), ["web"]);
});

Deno.test("handleControl() SET warns when the session does not exist yet", async () => {
  await using ctx = await context([session("other")]);
  const reply = await handleControl(ControlCommand.SET, setRequest(), ctx);
  assert.equal(reply.status, ControlStatus.OK);
  assert.ok(reply.payload !== null);
  const { warnings } = reply.payload;
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /session "s1" does not exist/);
  assert.match(warnings[0], /lttng create s1 --snapshot/);
  assert.equal(ctx.store.listTriggers().length, 1, "the trigger is still set");
});

Deno.test("handleControl() SET warns when a snapshot session is not in snapshot mode", async () => {
  await using ctx = await context([session("s1", false)]);
  const reply = await handleControl(ControlCommand.SET, setRequest(), ctx);
  assert.equal(reply.status, ControlStatus.OK);
  assert.ok(reply.payload !== null);
  const { warnings } = reply.payload;
  assert.deepEqual(warnings.length, 1);
  assert.match(warnings[0], /not in snapshot mode/);
});

Deno.test("handleControl() SET does not ask for snapshot mode for a stop trigger", async () => {
  await using ctx = await context([session("s1", false)]);
  const reply = await handleControl(
    ControlCommand.SET,
    setRequest({ action: { type: "stop" } }),
    ctx,
  );
  assert.deepEqual(reply.payload?.warnings, []);
});

Deno.test("handleControl() SET warns, and still sets, when sessions cannot be listed", async () => {
  await using ctx = await context(new Error("lttng-sessiond is not running"));
  const reply = await handleControl(ControlCommand.SET, setRequest(), ctx);
  assert.equal(reply.status, ControlStatus.OK);
  assert.ok(reply.payload !== null);
  const { warnings } = reply.payload;
  assert.match(warnings[0], /cannot check session "s1": lttng-sessiond is not running/);
  assert.equal(ctx.store.listTriggers().length, 1);
});

Deno.test("handleControl() SET of root warns that an exec-name filter can be fired by any user", async () => {
  await using ctx = await context([session("s1")]);
  ctx.uid = 0;
  const on = async (condition: Record<string, unknown>, name: string) => {
    const reply = await handleControl(
      ControlCommand.SET,
      setRequest({ name, condition: { type: ON_ANY_CORE_DUMP, ...condition } }),
      ctx,
    );
    assert.equal(reply.status, ControlStatus.OK, reply.error);
    return reply.payload?.warnings ?? [];
  };
  const [w, ...more] = await on({ exec: "nginx" }, "comm");
  assert.deepEqual(more, []);
  assert.match(w, /any user can fire this trigger by naming a process "nginx"/);
  assert.match(w, /--exec=\/usr\/sbin\/nginx/);
  assert.deepEqual(await on({ exec: "/usr/sbin/nginx" }, "path"), []);
  assert.deepEqual(await on({ exec: "nginx", uids: [0] }, "uid"), []);
  assert.equal(ctx.store.listTriggers().length, 3, "warned, and still set");
});

Deno.test("handleControl() SET replies EXISTS for a taken name or an identical trigger", async () => {
  await using ctx = await context([session("s1"), session("s2")]);
  await handleControl(ControlCommand.SET, setRequest({ name: "web" }), ctx);
  const sameName = await handleControl(
    ControlCommand.SET,
    setRequest({ name: "web", session: "s2" }),
    ctx,
  );
  assert.equal(sameName.status, ControlStatus.EXISTS);
  assert.match(sameName.error, /web/);
  assert.equal(sameName.payload, null);
  const identical = await handleControl(ControlCommand.SET, setRequest({ name: "other" }), ctx);
  assert.equal(identical.status, ControlStatus.EXISTS);
  assert.match(identical.error, /identical/);
  assert.deepEqual(ctx.store.listTriggers().map((t) => t.name), ["web"]);
});

Deno.test("handleControl() SET replies INVALID for a bad spec and stores nothing", async () => {
  await using ctx = await context([session("s1")]);
  for (
    const request of [
      null,
      "OnAnyCoreDump",
      setRequest({ session: "-s" }),
      setRequest({ name: "bad name" }),
      setRequest({ action: { type: "snapshot", path: "rel" } }),
      setRequest({ condition: { type: ON_ANY_CORE_DUMP, uids: [-1] } }),
      setRequest({ ratePolicy: { kind: "every", count: 0 } }),
    ]
  ) {
    const reply = await handleControl(ControlCommand.SET, request, ctx);
    assert.equal(reply.status, ControlStatus.INVALID, JSON.stringify(request));
    assert.notEqual(reply.error, "");
    assert.equal(reply.payload, null);
  }
  assert.deepEqual(ctx.store.listTriggers(), []);
});

Deno.test("handleControl() SET joins every problem in one error", async () => {
  await using ctx = await context();
  const reply = await handleControl(
    ControlCommand.SET,
    { session: "-s", condition: {}, action: {} },
    ctx,
  );
  assert.equal(reply.status, ControlStatus.INVALID);
  assert.equal(reply.error.split("; ").length, 3);
});

Deno.test("handleControl() LIST returns the stored triggers", async () => {
  await using ctx = await context();
  assert.deepEqual(await handleControl(ControlCommand.LIST, null, ctx), {
    status: ControlStatus.OK,
    error: "",
    payload: { triggers: [] },
  });
  await handleControl(ControlCommand.SET, setRequest({ name: "a" }), ctx);
  const reply = await handleControl(ControlCommand.LIST, null, ctx);
  assert.ok(reply.payload !== null);
  const { triggers } = reply.payload;
  assert.deepEqual(triggers.map((t) => t.name), ["a"]);
});

Deno.test("handleControl() REMOVE removes a trigger by name", async () => {
  await using ctx = await context();
  await handleControl(ControlCommand.SET, setRequest({ name: "a" }), ctx);
  const reply = await handleControl(ControlCommand.REMOVE, { name: "a" }, ctx);
  assert.deepEqual(reply, { status: ControlStatus.OK, error: "", payload: { removed: "a" } });
  assert.deepEqual(ctx.store.listTriggers(), []);
});

Deno.test("handleControl() REMOVE replies NOT_FOUND for an unknown name", async () => {
  await using ctx = await context();
  const reply = await handleControl(ControlCommand.REMOVE, { name: "nope" }, ctx);
  assert.equal(reply.status, ControlStatus.NOT_FOUND);
  assert.match(reply.error, /no trigger named `nope`/);
});

Deno.test("handleControl() REMOVE replies INVALID without a name", async () => {
  await using ctx = await context();
  for (const request of [null, {}, { name: "" }, { name: 3 }, "a"]) {
    const reply = await handleControl(ControlCommand.REMOVE, request, ctx);
    assert.equal(reply.status, ControlStatus.INVALID, JSON.stringify(request));
  }
});

Deno.test("handleControl() HISTORY returns the newest crashes up to the limit", async () => {
  await using ctx = await context();
  for (let pid = 1; pid <= 4; pid++) {
    ctx.store.recordCrash({ pid, uid: 0, gid: 0, execName: "e", hostname: "h" }, "notify");
  }
  const all = await handleControl(ControlCommand.HISTORY, null, ctx);
  assert.equal(all.status, ControlStatus.OK);
  assert.deepEqual(all.payload?.crashes.map((c) => c.pid), [
    1,
    2,
    3,
    4,
  ]);
  const two = await handleControl(ControlCommand.HISTORY, { limit: 2 }, ctx);
  assert.deepEqual(two.payload?.crashes.map((c) => c.pid), [
    3,
    4,
  ]);
});

Deno.test("handleControl() HISTORY rejects a limit that is not a positive integer", async () => {
  await using ctx = await context();
  for (const limit of [0, -1, 1.5, "10", null, Number.MAX_VALUE, Number.NaN]) {
    const reply = await handleControl(ControlCommand.HISTORY, { limit }, ctx);
    assert.equal(reply.status, ControlStatus.INVALID, String(limit));
    assert.match(reply.error, /positive integer/);
  }
});

Deno.test("handleControl() HISTORY bySignature groups the crashes, exec filter applied", async () => {
  await using ctx = await context();
  for (const [pid, execName] of [[1, "a"], [2, "a"], [3, "b"]] as const) {
    ctx.store.recordCrash({ pid, uid: 0, gid: 0, execName, hostname: "h", signal: 11 }, "notify");
  }
  const all = await handleControl(ControlCommand.HISTORY, { bySignature: true }, ctx);
  assert.equal(all.status, ControlStatus.OK);
  assert.deepEqual(all.payload?.crashes, []);
  assert.deepEqual(all.payload?.signatures?.map((g) => [g.execName, g.count, g.example]), [
    ["a", 2, 2],
    ["b", 1, 3],
  ]);
  const b = await handleControl(ControlCommand.HISTORY, { bySignature: true, exec: "b" }, ctx);
  assert.deepEqual(b.payload?.signatures?.map((g) => g.count), [1]);
  const bad = await handleControl(ControlCommand.HISTORY, { bySignature: "yes" }, ctx);
  assert.equal(bad.status, ControlStatus.INVALID);
  assert.match(bad.error, /bySignature must be a boolean/);
});

Deno.test("handleControl() STATUS returns the daemon's facts", async () => {
  await using ctx = await context();
  const reply = await handleControl(ControlCommand.STATUS, null, ctx);
  assert.deepEqual(reply, {
    status: ControlStatus.OK,
    error: "",
    payload: statusFacts(0),
  });
});

Deno.test("handleControl() replies UNKNOWN_COMMAND for an unknown command", async () => {
  await using ctx = await context();
  for (const cmd of [0, 6, 99, 0x8000_0001]) {
    const reply = await handleControl(cmd, null, ctx);
    assert.equal(reply.status, ControlStatus.UNKNOWN_COMMAND);
    assert.equal(reply.error, `unknown command ${cmd}`);
  }
});

Deno.test("handleControl() replies STORE_FAILED when the store cannot be used", async () => {
  await using ctx = await context([session("s1")]);
  ctx.store.close();
  const list = await handleControl(ControlCommand.LIST, null, ctx);
  assert.equal(list.status, ControlStatus.STORE_FAILED);
  const set = await handleControl(ControlCommand.SET, setRequest(), ctx);
  assert.equal(set.status, ControlStatus.STORE_FAILED);
});

/** A crash source for WATCH whose listeners the test calls. */
function crashSource() {
  const received = new Set<ReceivedListener>();
  const done = new Set<CrashListener>();
  return {
    received,
    done,
    listenReceived(l: ReceivedListener) {
      received.add(l);
      return () => received.delete(l);
    },
    listen(l: CrashListener) {
      done.add(l);
      return () => done.delete(l);
    },
  };
}

const crash = { pid: 7, uid: 1000, gid: 1000, execName: "boom", hostname: "h" };

Deno.test("watchEvents() yields crashes and outcomes in order, and ends when the daemon stops", async () => {
  const crashes = crashSource();
  const stop = new AbortController();
  const events = watchEvents({ crashes, stopping: stop.signal });
  const first = events.next();
  for (const l of crashes.received) l({ ...crash, id: 1, source: "notify", time: "t" });
  assert.deepEqual((await first).value, {
    type: "crash",
    ...crash,
    id: 1,
    source: "notify",
    time: "t",
  });
  for (const l of crashes.done) {
    l({ ...crash, id: 1, fired: 0, failed: 0, results: [], outcome: "no-trigger", source: "n" });
  }
  assert.equal((await events.next()).value?.type, "outcome");
  const end = events.next();
  stop.abort();
  assert.equal((await end).done, true);
  assert.equal(crashes.received.size + crashes.done.size, 0);
});

Deno.test("watchEvents() tells a slow watcher how many events it lost, and sends heartbeats", async () => {
  const crashes = crashSource();
  const stop = new AbortController();
  const events = watchEvents({ crashes, stopping: stop.signal, maxQueued: 2, heartbeatMs: 10 });
  const first = events.next(); // subscribes
  for (let id = 1; id <= 4; id++) {
    for (const l of crashes.received) l({ ...crash, id, source: "notify", time: "t" });
  }
  // Crashes 1 and 2 fell out of the queue of 2 before the watcher woke.
  assert.deepEqual((await first).value, { type: "dropped", count: 2 });
  assert.equal((await events.next()).value?.type, "crash");
  const fourth = (await events.next()).value;
  assert.ok(fourth?.type === "crash");
  assert.equal(fourth.id, 4);
  assert.equal((await events.next()).value?.type, "heartbeat");
  stop.abort();
  await events.return(undefined);
});

Deno.test("answerControlFrame() answers WATCH with watching, and a bad payload with INVALID", async () => {
  await using ctx = await context();
  const stop = new AbortController();
  const watch = await answerControlFrame(ControlCommand.WATCH, new Uint8Array(0), {
    ...ctx,
    crashes: crashSource(),
    stopping: stop.signal,
  });
  assert.ok(watch.reply !== undefined && watch.stream !== undefined);
  const reply = decodeControlReply(watch.reply.subarray(HEADER_SIZE));
  assert.deepEqual(reply.payload, { type: "watching", pid: Deno.pid });
  stop.abort();
  const bad = await answerControlFrame(ControlCommand.LIST, new Uint8Array([0xff]), {
    ...ctx,
    crashes: crashSource(),
    stopping: stop.signal,
  });
  assert.equal(bad.close, true);
  assert.ok(bad.reply !== undefined);
  assert.equal(decodeControlReply(bad.reply.subarray(HEADER_SIZE)).status, ControlStatus.INVALID);
});

Deno.test("controlDenial() lets anyone the socket admits read, and only root or the daemon's uid change", () => {
  const member = { pid: 9, uid: 1001, gid: 1001 };
  const reads = [
    ControlCommand.LIST,
    ControlCommand.HISTORY,
    ControlCommand.STATUS,
    ControlCommand.WATCH,
  ];
  for (const cmd of reads) {
    assert.equal(controlDenial(cmd, member, 0), undefined);
    assert.equal(controlDenial(cmd, undefined, 0), undefined);
  }
  for (const cmd of [ControlCommand.SET, ControlCommand.REMOVE]) {
    assert.match(
      controlDenial(cmd, member, 0)!,
      /^only root can change this daemon's triggers, and this is uid 1001: /,
    );
    assert.match(controlDenial(cmd, undefined, 0)!, /a client whose uid is unknown/);
    assert.match(controlDenial(cmd, member, 1000)!, /^only uid 1000 and root can change/);
    assert.equal(controlDenial(cmd, { pid: 1, uid: 0, gid: 0 }, 0), undefined);
    assert.equal(controlDenial(cmd, { pid: 1, uid: 0, gid: 0 }, 1000), undefined);
    assert.equal(controlDenial(cmd, { pid: 2, uid: 1000, gid: 5 }, 1000), undefined);
  }
});

Deno.test("handleControl() refuses SET and REMOVE from a member of tracing on root's daemon, changing nothing, and answers its LIST", async () => {
  await using ctx = await context();
  ctx.uid = 0;
  const spec = { session: "s", condition: { type: "OnAnyCoreDump" }, action: { type: "stop" } };
  const added = await handleControl(ControlCommand.SET, { ...spec, name: "root-trig" }, ctx);
  assert.equal(added.status, ControlStatus.OK);
  ctx.peer = { pid: 4242, uid: 1001, gid: 990 };
  const set = await handleControl(ControlCommand.SET, { ...spec, name: "theirs" }, ctx);
  assert.equal(set.status, ControlStatus.DENIED);
  assert.match(set.error, /^only root can change this daemon's triggers, and this is uid 1001: /);
  const removed = await handleControl(ControlCommand.REMOVE, { name: "root-trig" }, ctx);
  assert.equal(removed.status, ControlStatus.DENIED);
  const list = await handleControl(ControlCommand.LIST, {}, ctx);
  assert.equal(list.status, ControlStatus.OK);
  assert.deepEqual(list.payload?.triggers.map((t) => t.name), ["root-trig"]);
  assert.equal((await handleControl(ControlCommand.HISTORY, {}, ctx)).status, ControlStatus.OK);
  assert.equal((await handleControl(ControlCommand.STATUS, {}, ctx)).status, ControlStatus.OK);
});
