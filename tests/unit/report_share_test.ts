/**
 * The report queue's per-uid shares, its free-space check and its work as the crashing
 * user (lib/daemon/report_queue.ts, report_core.ts, lib/report/as_user.ts), with a real
 * zstd core; the decompression as another user runs the real prlimit, setpriv and zstd.
 */
import assert from "node:assert/strict";
import { CORE_BYTES, MemoryStore, tempDir, zstdCore } from "../fixtures/report_jobs.ts";
import { ReportQueue } from "../../lib/daemon/report_queue.ts";
import { decompressZstd, noRoomFor } from "../../lib/daemon/report_core.ts";
import { asUser, NOBODY, type RunAs, runAsFor } from "../../lib/report/as_user.ts";
import type { CrashReport } from "../../lib/report/backtrace.ts";

const GiB = 1024 ** 3;

function ready(tid: number): CrashReport {
  return {
    state: "ready",
    crashingTid: tid,
    threads: [{ tid, frames: [{ pc: "0x1", function: "f", module: "m" }] }],
    missing: [],
    durationMs: 1,
  };
}

// uid 1000 owns the subordinate uids 100000-165535.
const ownerOf = (uid: number) => uid >= 100000 && uid < 165536 ? 1000 : uid;

Deno.test("ReportQueue: one uid's stuck report does not delay another uid's", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const store = new MemoryStore();
  const stuck = Promise.withResolvers<void>();
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    log: () => {},
    ownerOf,
    runAs: () => undefined,
    compute: async (_p, o) => {
      if (o.tid === 1) await stuck.promise; // uid 1000's FIFO
      return ready(o.tid!);
    },
  });
  q.submit({ id: 1, pid: 1, core, tid: 1, uid: 1000 });
  q.submit({ id: 2, pid: 2, core, tid: 2, uid: 100005 }); // 1000's subordinate: waits
  q.submit({ id: 3, pid: 3, core, tid: 3, uid: 2000 });
  const done = Promise.withResolvers<void>();
  q.listen((n) => n.id === 3 && done.resolve());
  await done.promise;
  assert.equal(store.last(3)?.state, "ready");
  assert.equal(store.last(1)?.state, "pending");
  assert.equal(store.last(2)?.state, "pending", "the subordinate uid waits in its owner's turn");
  assert.equal(q.queued, 1);
  stuck.resolve();
  await q.idle();
  assert.deepEqual([1, 2, 3].map((id) => store.last(id)?.state), ["ready", "ready", "ready"]);
});

Deno.test("ReportQueue serves the uids in turn, maxRunning at once", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const order: number[] = [];
  let running = 0;
  let most = 0;
  const q = new ReportQueue({
    store: new MemoryStore(),
    tempParent: dir.path,
    log: () => {},
    maxRunning: 1,
    runAs: () => undefined,
    compute: async (_p, o) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 2));
      order.push(o.tid!);
      running--;
      return ready(o.tid!);
    },
  });
  // uid 1 floods first; uid 2's single report is served second, not last.
  for (let i = 1; i <= 4; i++) q.submit({ id: i, pid: i, core, tid: i, uid: 1 });
  q.submit({ id: 9, pid: 9, core, tid: 9, uid: 2 });
  await q.idle();
  assert.equal(most, 1);
  assert.deepEqual(order, [1, 9, 2, 3, 4]);
});

Deno.test("ReportQueue refuses a core that would not fit in the free space, and says why", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const store = new MemoryStore();
  let decompressed = 0;
  const q = new ReportQueue({
    store,
    tempParent: dir.path,
    log: () => {},
    runAs: () => undefined,
    space: () => ({ size: 100 * GiB, free: 2 * GiB }),
    decompress: () => {
      decompressed++;
      return Promise.resolve();
    },
    compute: () => Promise.resolve(ready(1)),
  });
  q.submit({ id: 1, pid: 1, core, bytes: 1.5 * GiB, uid: 1000 });
  await q.idle();
  assert.equal(store.last(1)?.state, "failed");
  assert.equal(
    store.last(1)?.reason,
    `not enough free space to decompress the core: it needs ${1.5 * GiB} bytes, ${dir.path} has ${
      2 * GiB
    } free and keeps ${GiB} free`,
  );
  assert.equal(decompressed, 0);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), ["core.zst"]);
  assert.equal(noRoomFor(GiB, "/x", { size: 10 * GiB, free: 2 * GiB }), undefined);
});

Deno.test("ReportQueue makes another user's report as that user, in a directory of theirs", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const who: RunAs = { uid: 4242, gid: 4343, account: false };
  const seen: { as?: RunAs; owner?: number; cwd?: string }[] = [];
  const q = new ReportQueue({
    store: new MemoryStore(),
    tempParent: dir.path,
    log: () => {},
    runAs: (uid, gid) => uid === 4242 && gid === 4343 ? who : undefined,
    decompress: async (_s, target, _m, as) => {
      const st = await Deno.stat(target.slice(0, target.lastIndexOf("/")));
      seen.push({ as, owner: st.uid ?? -1 });
      await Deno.writeFile(target, CORE_BYTES);
    },
    compute: (_p, o) => {
      seen.push({ as: o.as, cwd: o.cwd });
      return Promise.resolve(ready(1));
    },
  });
  q.submit({ id: 1, pid: 1, core, uid: 4242, gid: 4343 });
  await q.idle();
  assert.deepEqual(seen[0], { as: who, owner: 4242 });
  assert.equal(seen[1].as, who);
  assert.match(seen[1].cwd ?? "", /\/report-/);
});

Deno.test("ReportQueue makes a setuid process's report (dump mode 2) as root, never as its user", async () => {
  await using dir = await tempDir();
  const core = await zstdCore(dir.path);
  const asked: number[] = [];
  const seen: (RunAs | undefined)[] = [];
  const q = new ReportQueue({
    store: new MemoryStore(),
    tempParent: dir.path,
    log: () => {},
    runAs: (uid) => {
      asked.push(uid ?? -1);
      return { uid: uid ?? 0, gid: uid ?? 0, account: false };
    },
    decompress: async (_s, target, _m, as) => {
      seen.push(as);
      await Deno.writeFile(target, CORE_BYTES);
    },
    compute: (_p, o) => {
      seen.push(o.as);
      return Promise.resolve(ready(1));
    },
  });
  q.submit({ id: 1, pid: 1, core, uid: 4242, gid: 4343, dumpMode: 2 });
  await q.idle();
  assert.deepEqual(asked, []);
  assert.deepEqual(seen, [undefined, undefined]);
  // Dump mode 1 (the user's own process): made as the user.
  q.submit({ id: 2, pid: 2, core, uid: 4242, gid: 4343, dumpMode: 1 });
  await q.idle();
  assert.deepEqual(asked, [4242]);
});

Deno.test("runAsFor() drops to the crashing uid only in a root daemon, and never for root", () => {
  assert.equal(runAsFor(1000, 1000, 1000), undefined, "a user's daemon cannot change users");
  assert.equal(runAsFor(0, 0, 0), undefined);
  assert.deepEqual(runAsFor(0xffff_ffff, 0xffff_ffff, 0), {
    uid: NOBODY,
    gid: NOBODY,
    account: false,
  });
  assert.deepEqual(runAsFor(0x7fff_0000, 12, 0), { uid: 0x7fff_0000, gid: 12, account: false });
  assert.deepEqual(asUser("eu-stack", ["-a"], { uid: 5, gid: 6, account: true }), {
    program: "setpriv",
    args: ["--reuid=5", "--regid=6", "--init-groups", "--no-new-privs", "--", "eu-stack", "-a"],
  });
});

Deno.test({
  name: "decompressZstd() as another user: zstd writes the user's file, within maxBytes",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using dir = await tempDir();
    const core = await zstdCore(dir.path);
    const own = `${dir.path}/theirs`;
    await Deno.mkdir(own, { mode: 0o700 });
    await Deno.chown(own, NOBODY, NOBODY);
    const as: RunAs = { uid: NOBODY, gid: NOBODY, account: false };
    await decompressZstd(core, `${own}/core`, 1 << 20, as);
    assert.deepEqual(await Deno.readFile(`${own}/core`), CORE_BYTES);
    assert.equal((await Deno.stat(`${own}/core`)).uid, NOBODY);
    await assert.rejects(decompressZstd(core, `${own}/small`, 100, as), /more than 100 bytes/);
    // The user cannot write where they have no right: root's directory.
    await assert.rejects(decompressZstd(core, `${dir.path}/core`, 1 << 20, as), /zstd as uid/);
  },
});
