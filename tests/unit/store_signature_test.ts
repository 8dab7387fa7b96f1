import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { TriggerStore } from "../../lib/store/trigger_store.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import type { ReportRecord } from "../../lib/protocol/records.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const FACTS: CrashFacts = {
  pid: 42,
  uid: 1000,
  gid: 1000,
  execName: "mt_crasher",
  hostname: "h",
  signal: 11,
  exePath: "/t/mt_crasher",
};

function ready(fn: string, pc: string): ReportRecord {
  return {
    state: "ready",
    crashingTid: 43,
    threads: [{
      tid: 43,
      frames: [
        { pc, function: fn, offset: "0x11ad", module: "mt_crasher" },
        { pc: "0x7f0c6e2a8134", function: "start_thread", module: "libc.so.6" },
      ],
    }],
    missing: [],
  };
}

// sha256('signal SIGSEGV\nexe "/t/mt_crasher"\n'), its first 32 hex digits.
const BY_SIGNAL = "c8f28b1a28ff20e45b218ce8a973570b";
// sha256('frame "mt_crasher" "crash_in_worker"\nframe "libc.so.6" "start_thread"\n').
const IN_WORKER = "4a1d76267257ee01104c3bd7fa81709d";

Deno.test("TriggerStore signs a crash by its signal, then by its report's frames", async () => {
  await using dir = await tempDir("lttng-trig-sig-");
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const { id } = store.recordCrash(FACTS, "notify");
  assert.equal(store.crashSignature(id), BY_SIGNAL);
  store.setReport(id, { state: "pending" });
  assert.equal(store.crashSignature(id), undefined, "pending: not known yet");
  assert.equal(store.listCrashes()[0].signature, undefined);
  store.setReport(id, ready("crash_in_worker", "0x5581d2e011ad"));
  assert.equal(store.crashSignature(id), IN_WORKER);
  assert.equal(store.listCrashes()[0].signature, IN_WORKER);
  store.setReport(id, { state: "failed", reason: "eu-stack: no core" });
  assert.equal(store.crashSignature(id), BY_SIGNAL);
});

Deno.test("TriggerStore.signatureGroups() counts a crash loop as one group", async () => {
  await using dir = await tempDir("lttng-trig-sig-");
  using store = TriggerStore.open(`${dir.path}/t.db`);
  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 3, 0, s));
  const ids: number[] = [];
  for (const [i, pc] of ["0x5581d2e011ad", "0x563a0c9f51ad", "0x55aa000011ad"].entries()) {
    const { id } = store.recordCrash({ ...FACTS, pid: 100 + i }, "notify", at(i));
    store.setReport(id, ready("crash_in_worker", pc));
    ids.push(id);
  }
  const other = store.recordCrash({ ...FACTS, pid: 200 }, "notify", at(10)).id;
  store.setReport(other, ready("crash_elsewhere", "0x5581d2e011f0"));
  const bare = store.recordCrash({ ...FACTS, pid: 300 }, "notify", at(20)).id;
  const pending = store.recordCrash({ ...FACTS, pid: 400 }, "notify", at(30)).id;
  store.setReport(pending, { state: "pending" });

  const groups = store.signatureGroups();
  assert.deepEqual(groups.map((g) => [g.signature, g.count, g.example]), [
    [IN_WORKER, 3, ids[2]],
    [groups[1].signature, 1, other],
    [BY_SIGNAL, 1, bare],
  ]);
  assert.notEqual(groups[1].signature, IN_WORKER);
  assert.deepEqual(groups[0], {
    signature: IN_WORKER,
    count: 3,
    first: "2026-12-04T03:00:00.000Z",
    last: "2026-12-04T03:00:02.000Z",
    example: ids[2],
    execName: "mt_crasher",
    function: "crash_in_worker",
  });
  assert.equal(groups[2].function, undefined, "no report: no function");
  assert.deepEqual(
    store.signatureGroups({ since: "2026-12-04T03:00:05.000Z" }).map((g) => g.count),
    [1, 1],
  );
});

Deno.test("TriggerStore.open() migrates a schema 3 store: its crashes have no signature", async () => {
  await using dir = await tempDir("lttng-trig-sig-");
  const path = `${dir.path}/t.db`;
  {
    using store = TriggerStore.open(path);
    store.recordCrash(FACTS, "notify");
  }
  // Back to schema 3, as lttng-trig wrote it before signatures.
  const db = new DatabaseSync(path);
  db.exec("DROP INDEX crashes_signature; ALTER TABLE crashes DROP COLUMN signature");
  db.exec("UPDATE meta SET value = '3' WHERE key = 'schema'");
  db.close();
  using store = TriggerStore.open(path);
  assert.equal(store.listCrashes()[0].signature, undefined);
  assert.deepEqual(store.signatureGroups(), []);
  const { id } = store.recordCrash({ ...FACTS, pid: 43 }, "notify");
  assert.equal(store.crashSignature(id), BY_SIGNAL);
  const check = new DatabaseSync(path);
  try {
    assert.equal(
      check.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value,
      "4",
    );
  } finally {
    check.close();
  }
});
