/**
 * The report queue (lib/daemon/report_queue.ts) with an injected backtrace and a real
 * zstd core, and the store's round trip of a crash report.
 */
import assert from "node:assert/strict";
import { CORE_BYTES, MemoryStore, tempDir, zstdCore } from "../fixtures/report_jobs.ts";
import { type ReportNotice, ReportQueue } from "../../lib/daemon/report_queue.ts";
import { boundReport } from "../../lib/daemon/report_maker.ts";
import { decompressZstd } from "../../lib/daemon/report_core.ts";
import type { BacktraceOptions, CrashReport } from "../../lib/report/backtrace.ts";
import type { ReportRecord } from "../../lib/protocol/records.ts";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import { reportState } from "../../lib/daemon/control_handler.ts";

function ready(tid: number): CrashReport {
  return {
    state: "ready",
    crashingTid: tid,
    threads: [
      {
        tid,
        frames: [
          { pc: "0x1", offset: "0x1", module: "libc.so.6" },
          { pc: "0x2", function: "crash_in_worker", offset: "0x11ad", module: "mt" },
        ],
      },
      { tid: 1, frames: [{ pc: "0x3", function: "main", module: "mt" }] },
    ],
    missing: [],
    durationMs: 3,
  };
}

Deno.test("ReportQueue stores pending, then the report, and tells its listeners", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const store = new MemoryStore();
  const seen: { core: string; bytes: Uint8Array; mode: number; options: BacktraceOptions }[] = [];
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    log: () => {},
    compute: async (path, options) => {
      seen.push({
        core: path,
        bytes: await Deno.readFile(path),
        mode: (await Deno.stat(path)).mode! & 0o777,
        options,
      });
      return ready(43);
    },
  });
  const notices: ReportNotice[] = [];
  q.listen((n) => notices.push(n));
  assert.equal(q.submit({ id: 7, pid: 42, core, exe: "/bin/mt (deleted)", tid: 43 }), true);
  assert.equal(store.reports.get(7)?.[0].state, "pending");
  await q.idle();
  const stored = store.reports.get(7)!;
  assert.equal(stored.length, 2);
  assert.equal(stored[1].state, "ready");
  assert.equal(stored[1].threads?.[0].frames[1].function, "crash_in_worker");
  assert.deepEqual(seen[0].bytes, CORE_BYTES, "the core decompressed for eu-stack");
  assert.equal(seen[0].mode, 0o600);
  assert.equal(seen[0].options.exe, "/bin/mt");
  assert.equal(seen[0].options.tid, 43);
  assert.equal(seen[0].options.timeoutMs, 15_000);
  assert.deepEqual(notices, [{
    id: 7,
    pid: 42,
    state: "ready",
    frame: { pc: "0x2", function: "crash_in_worker", offset: "0x11ad", module: "mt" },
  }]);
  // The private temporary directory and the decompressed core are gone.
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["core.zst"]);
});

Deno.test("ReportQueue makes one report at a time, in order", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const q = new ReportQueue({
    store: new MemoryStore(),
    tempParent: dir.path,
    log: () => {},
    compute: async (_path, options) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      order.push(options.tid!);
      running--;
      return ready(options.tid!);
    },
  });
  for (let i = 1; i <= 4; i++) q.submit({ id: i, pid: 100 + i, core, tid: i });
  await q.idle();
  assert.equal(most, 1);
  assert.deepEqual(order, [1, 2, 3, 4]);
});

Deno.test("ReportQueue records a failure with its reason, never throws", async () => {
  await using dir = await tempDir();
  const store = new MemoryStore();
  const notices: ReportNotice[] = [];
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    log: () => {},
    compute: () => Promise.reject(new Error("eu-stack exploded")),
  });
  q.listen((n) => notices.push(n));
  q.submit({ id: 1, pid: 1, core: `${dir.path}/missing.zst` });
  await Deno.writeFile(`${dir.path}/garbage.zst`, new Uint8Array([1, 2, 3, 4]));
  q.submit({ id: 2, pid: 2, core: `${dir.path}/garbage.zst` });
  q.submit({ id: 3, pid: 3, core: await zstdCore(dir.path) });
  await q.idle();
  const last = (id: number) => store.reports.get(id)!.at(-1)!;
  assert.equal(last(1).state, "failed");
  assert.match(last(1).reason!, /^cannot decompress the core .*missing\.zst: /);
  assert.equal(last(2).state, "failed");
  assert.match(last(2).reason!, /^cannot decompress the core .*garbage\.zst: /);
  assert.deepEqual(last(3), { state: "failed", reason: "eu-stack exploded", time: last(3).time });
  assert.deepEqual(notices.map((n) => [n.id, n.state]), [[1, "failed"], [2, "failed"], [
    3,
    "failed",
  ]]);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), [
    "core.zst",
    "garbage.zst",
  ]);
});

Deno.test("ReportQueue refuses past maxQueued and after close, storing failed", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const store = new MemoryStore();
  const gate = Promise.withResolvers<void>();
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    maxQueued: 1,
    log: () => {},
    compute: async (_p, o) => {
      await gate.promise;
      return ready(o.tid ?? 1);
    },
  });
  assert.equal(q.submit({ id: 1, pid: 1, core }), true);
  await new Promise((r) => setTimeout(r, 20)); // the first runs: the queue is empty
  assert.equal(q.submit({ id: 2, pid: 2, core }), true);
  assert.equal(q.submit({ id: 3, pid: 3, core }), false);
  assert.match(store.reports.get(3)![0].reason!, /too many crash reports waiting/);
  const closed = q.close();
  assert.equal(q.submit({ id: 4, pid: 4, core }), false);
  gate.resolve();
  await closed;
  assert.equal(store.reports.get(1)!.at(-1)!.state, "ready");
  assert.match(store.reports.get(2)!.at(-1)!.reason!, /the daemon stopped before/);
  assert.equal(store.reports.get(4)![0].state, "failed");
});

Deno.test("decompressZstd() refuses more than maxBytes and never overwrites a file", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  await assert.rejects(decompressZstd(core, `${dir.path}/a`, 100), /more than 100 bytes/);
  await Deno.writeTextFile(`${dir.path}/b`, "x");
  await assert.rejects(decompressZstd(core, `${dir.path}/b`, 1 << 20));
  assert.equal(await Deno.readTextFile(`${dir.path}/b`), "x");
});

Deno.test("boundReport() drops the other threads first, then outer frames, and says so", () => {
  const big = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ pc: `0x${i}`, function: "f".repeat(200) }));
  const r: ReportRecord = {
    state: "ready",
    crashingTid: 5,
    threads: [{ tid: 5, frames: big(10) }, { tid: 6, frames: big(10) }, {
      tid: 7,
      frames: big(10),
    }],
    missing: [],
  };
  const b = boundReport(r, 4000);
  assert.deepEqual(b.threads!.map((t) => t.tid), [5]);
  assert.ok(JSON.stringify(b).length <= 4000);
  assert.deepEqual(b.missing, ["threads: 2 more threads not kept (report size)"]);
  assert.equal(boundReport(r, 1 << 20), r);
  const tiny = boundReport(r, 1000);
  assert.ok(tiny.threads![0].frames.length < 10 && tiny.threads![0].frames.length >= 1);
});

Deno.test("TriggerStore keeps a crash's report: setReport() then listCrashes()", async () => {
  await using dir = await tempDir();
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const now = new Date();
  const { id } = store.recordCrash(
    { pid: 42, uid: 0, gid: 0, execName: "mt", hostname: "h", tid: 43 },
    "notify",
    now,
  );
  assert.equal(store.listCrashes()[0].report, undefined);
  assert.equal(store.crashById(id)?.pid, 42);
  assert.equal(store.crashById(id + 1), undefined);
  assert.equal(store.listCrashes()[0].tid, 43);
  assert.equal(store.setReport(id, { state: "pending" }), true);
  assert.deepEqual(store.listCrashes()[0].report, { state: "pending" });
  const report: ReportRecord = { ...ready(43), time: now.toISOString() };
  assert.equal(store.setReport(id, report), true);
  const back = store.listCrashes({ id })[0];
  assert.deepEqual(back.report, report);
  // history carries only the state; show asks for the whole report.
  assert.deepEqual(reportState(back).report, { state: "ready" });
  store.setReport(id, { state: "failed", reason: "no eu-stack" });
  assert.deepEqual(reportState(store.listCrashes()[0]).report, {
    state: "failed",
    reason: "no eu-stack",
  });
  assert.equal(store.setReport(id + 1, { state: "pending" }), false);
});

Deno.test("ReportQueue starts a report only once no crash has come for settleMs", async () => {
  await using dir = await tempDir();
  const store = new MemoryStore();
  const started: number[] = [];
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    settleMs: 200,
    log: () => {},
    compute: () => {
      started.push(performance.now());
      return Promise.resolve(ready(1));
    },
  });
  const first = performance.now();
  q.submit({ id: 1, pid: 10, core: await zstdCore(dir.path, "a.zst") });
  // A second crash before the first report may start: the first waits for quiet again.
  await new Promise((r) => setTimeout(r, 100));
  const second = performance.now();
  q.submit({ id: 2, pid: 11, core: await zstdCore(dir.path, "b.zst") });
  await q.idle();
  assert.equal(started.length, 2);
  assert.ok(
    started[0] - first >= 200,
    `the first report started ${started[0] - first} ms after it`,
  );
  assert.ok(
    started[0] - second >= 199,
    `the first report started ${started[0] - second} ms after the second crash`,
  );
  assert.deepEqual(store.reports.get(1)?.map((r) => r.state), ["pending", "ready"]);
  assert.deepEqual(store.reports.get(2)?.map((r) => r.state), ["pending", "ready"]);
});
