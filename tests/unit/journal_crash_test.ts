import assert from "node:assert/strict";
import {
  CRASH_MESSAGE_ID,
  crashEntry,
  REPORT_MESSAGE_ID,
  reportEntry,
} from "../../lib/journal/crash_entry.ts";
import { CrashJournal, type FinishedCrash } from "../../lib/journal/crash_journal.ts";
import { decodeJournalEntry, type JournalField } from "../../lib/journal/encoder.ts";
import { JOURNAL_BUSY, type JournalTransport } from "../../lib/journal/sender.ts";
import { waitFor } from "../fixtures/wait.ts";
import type { CrashRecord } from "../../lib/protocol/records.ts";

const CRASH: CrashRecord = {
  id: 7,
  time: "2026-12-04T03:00:00.000Z",
  pid: 3577,
  globalPid: 13577,
  uid: 1000,
  gid: 1001,
  tid: 3578,
  signal: 11,
  execName: "myapp",
  exePath: "/usr/bin/myapp",
  hostname: "web1",
  source: "notify",
  outcome: "ok",
  results: [
    {
      trigger: "web-crash",
      session: "web",
      action: "snapshot",
      outcome: "ok",
      snapshot: "/var/lib/snap/core-myapp-3577",
    },
    { trigger: "db-stop", session: "db", action: "stop", outcome: "skipped", reason: "once" },
  ],
  core: { kept: true, path: "/var/crash/core.3577.zst", bytes: 4096 },
  signature: "4a1d76267257ee01104c3bd7fa81709d",
};

const values = (f: JournalField[], name: string) => f.filter(([n]) => n === name).map(([, v]) => v);

Deno.test("crashEntry() has lttng-trig's MESSAGE_ID, a readable MESSAGE and every field", () => {
  const f = crashEntry(CRASH);
  assert.deepEqual(values(f, "MESSAGE_ID"), ["f3aeeb645cda4de7b07fada57ba1a13b"]);
  assert.equal(CRASH_MESSAGE_ID, "f3aeeb645cda4de7b07fada57ba1a13b");
  assert.deepEqual(values(f, "MESSAGE"), [
    "Process 3577 (myapp) of user 1000 dumped core (SIGSEGV): snapshot of session web taken; trigger db-stop skipped (once)",
  ]);
  assert.deepEqual(values(f, "PRIORITY"), ["5"]);
  const one = Object.fromEntries(
    [
      "LTTNG_TRIG_PID",
      "LTTNG_TRIG_GLOBAL_PID",
      "LTTNG_TRIG_UID",
      "LTTNG_TRIG_GID",
      "LTTNG_TRIG_SIGNAL",
      "LTTNG_TRIG_EXE",
      "LTTNG_TRIG_COMM",
      "LTTNG_TRIG_HOSTNAME",
      "LTTNG_TRIG_CRASH_ID",
      "LTTNG_TRIG_OUTCOME",
      "LTTNG_TRIG_CORE",
      "LTTNG_TRIG_SIGNATURE",
      "SYSLOG_IDENTIFIER",
    ].map((n) => [n, values(f, n)]),
  );
  assert.deepEqual(one, {
    LTTNG_TRIG_PID: ["3577"],
    LTTNG_TRIG_GLOBAL_PID: ["13577"],
    LTTNG_TRIG_UID: ["1000"],
    LTTNG_TRIG_GID: ["1001"],
    LTTNG_TRIG_SIGNAL: ["SIGSEGV"],
    LTTNG_TRIG_EXE: ["/usr/bin/myapp"],
    LTTNG_TRIG_COMM: ["myapp"],
    LTTNG_TRIG_HOSTNAME: ["web1"],
    LTTNG_TRIG_CRASH_ID: ["7"],
    LTTNG_TRIG_OUTCOME: ["ok"],
    LTTNG_TRIG_CORE: ["/var/crash/core.3577.zst"],
    LTTNG_TRIG_SIGNATURE: ["4a1d76267257ee01104c3bd7fa81709d"],
    SYSLOG_IDENTIFIER: ["lttng-trig"],
  });
  assert.deepEqual(values(f, "LTTNG_TRIG_TRIGGERS"), ["web-crash:ok", "db-stop:skipped"]);
  assert.deepEqual(values(f, "LTTNG_TRIG_SNAPSHOT"), ["/var/lib/snap/core-myapp-3577"]);
});

Deno.test("crashEntry() is an error when an action failed, and omits what is not known", () => {
  const f = crashEntry({
    ...CRASH,
    outcome: "failed",
    results: [{
      trigger: "t",
      session: "web",
      action: "snapshot",
      outcome: "failed",
      reason: "session web is not active",
    }],
    signal: undefined,
    exePath: undefined,
    globalPid: undefined,
    core: { kept: false, reason: "no space", bytes: 0 },
    signature: undefined,
  });
  assert.deepEqual(values(f, "PRIORITY"), ["3"]);
  assert.deepEqual(values(f, "MESSAGE"), [
    "Process 3577 (myapp) of user 1000 dumped core: snapshot of session web failed (session web is not active)",
  ]);
  for (
    const n of ["LTTNG_TRIG_SIGNAL", "LTTNG_TRIG_EXE", "LTTNG_TRIG_GLOBAL_PID", "LTTNG_TRIG_CORE"]
  ) {
    assert.deepEqual(values(f, n), [], n);
  }
  assert.deepEqual(values(crashEntry({ ...CRASH, results: [] }), "MESSAGE"), [
    "Process 3577 (myapp) of user 1000 dumped core (SIGSEGV): no trigger matched",
  ]);
});

Deno.test("reportEntry() carries the crashing thread's top frames, none while pending", () => {
  assert.equal(reportEntry({ ...CRASH, report: { state: "pending" } }), undefined);
  assert.equal(reportEntry(CRASH), undefined);
  const f = reportEntry({
    ...CRASH,
    report: {
      state: "ready",
      crashingTid: 3578,
      threads: [
        { tid: 3577, frames: [{ pc: "0x1", function: "pthread_join", module: "libc.so.6" }] },
        {
          tid: 3578,
          frames: [
            { pc: "0x55d1", function: "crash_in_worker", offset: "0x11ad", module: "myapp" },
            { pc: "0x55d2", offset: "0x126e", module: "myapp" },
          ],
        },
      ],
      missing: [],
    },
  })!;
  assert.deepEqual(values(f, "MESSAGE_ID"), [REPORT_MESSAGE_ID]);
  assert.deepEqual(values(f, "MESSAGE"), [
    "Process 3577 (myapp) of user 1000 crashed in crash_in_worker\n\nStack trace of thread 3578:\n#0 crash_in_worker (myapp+0x11ad)\n#1 ?? (myapp+0x126e)",
  ]);
  assert.deepEqual(values(f, "LTTNG_TRIG_FRAME"), [
    "#0 crash_in_worker (myapp+0x11ad)",
    "#1 ?? (myapp+0x126e)",
  ]);
  assert.deepEqual(values(f, "LTTNG_TRIG_CRASH_ID"), ["7"]);
  assert.deepEqual(values(f, "LTTNG_TRIG_REPORT"), ["ready"]);
  const failed = reportEntry({ ...CRASH, report: { state: "failed", reason: "no eu-stack" } })!;
  assert.deepEqual(values(failed, "LTTNG_TRIG_REPORT_REASON"), ["no eu-stack"]);
  assert.deepEqual(values(failed, "PRIORITY"), ["4"]);
});

/** A fake event source. */
class Events<T extends { id: number }> {
  listeners = new Set<(e: T) => void>();
  listen(l: (e: T) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: T) {
    for (const l of this.listeners) l(e);
  }
}

function setup(transport: () => JournalTransport | string) {
  const crashes = new Events<FinishedCrash>();
  const reports = new Events<{ id: number }>();
  const log: string[] = [];
  const records = new Map<number, CrashRecord>([[7, CRASH]]);
  const journal = CrashJournal.attach({
    socket: "/run/test/socket",
    crashes,
    reports,
    lookup: (id) => records.get(id),
    log: (l) => log.push(l),
    open: transport,
  });
  return { crashes, reports, log, records, journal };
}

Deno.test("CrashJournal sends a finished crash, then its report, as the history has them", () => {
  const sent: Uint8Array[] = [];
  const t = setup(() => ({ send: (e) => void sent.push(e), close() {} }));
  const { time: _, ...finished } = CRASH;
  t.crashes.emit(finished);
  t.records.set(7, { ...CRASH, report: { state: "ready", crashingTid: 1, threads: [] } });
  t.reports.emit({ id: 7 });
  assert.equal(sent.length, 2);
  const ids = sent.map((e) =>
    decodeJournalEntry(e).filter(([n]) => n === "MESSAGE_ID").map(([, v]) =>
      new TextDecoder().decode(v)
    )[0]
  );
  assert.deepEqual(ids, [CRASH_MESSAGE_ID, REPORT_MESSAGE_ID]);
  assert.deepEqual(t.log, []);
  t.journal.close();
  t.crashes.emit(finished);
  assert.equal(sent.length, 2, "closed: no more");
});

Deno.test("CrashJournal sends a crash the store could not record from the event itself", () => {
  const sent: Uint8Array[] = [];
  const t = setup(() => ({ send: (e) => void sent.push(e), close() {} }));
  t.crashes.emit({ ...CRASH, id: 0, time: undefined });
  const f = decodeJournalEntry(sent[0]);
  assert.deepEqual(
    f.filter(([n]) => n === "LTTNG_TRIG_PID").map(([, v]) => new TextDecoder().decode(v)),
    ["3577"],
  );
});

Deno.test("CrashJournal without journald fails nothing and logs once, then once when it answers", () => {
  let up = false;
  let opened = 0;
  const t = setup(() => {
    opened++;
    return {
      send: () => up ? undefined : "No such file or directory",
      close() {},
    };
  });
  const { time: _, ...finished } = CRASH;
  t.crashes.emit(finished);
  t.crashes.emit(finished);
  t.crashes.emit(finished);
  assert.deepEqual(t.log, [
    "journal: no journald takes entries on /run/test/socket (No such file or directory): crashes are not journaled until one does",
  ]);
  up = true;
  t.crashes.emit(finished);
  assert.deepEqual(t.log.slice(1), ["journal: journald answers on /run/test/socket again"]);
  assert.equal(t.journal.sent, 1);
  assert.equal(opened, 1);
});

Deno.test("CrashJournal where libc cannot be opened logs once and throws nothing", () => {
  const t = setup(() => "libc cannot be loaded (x: y)");
  const { time: _, ...finished } = CRASH;
  t.crashes.emit(finished);
  t.crashes.emit(finished);
  assert.equal(t.log.length, 1);
  assert.match(t.log[0], /libc cannot be loaded/);
});

Deno.test("CrashJournal keeps entries journald's full queue refused, and sends them in order", async () => {
  const sent: string[] = [];
  let room = 1;
  const t = setup(() => ({
    send(e) {
      if (room === 0) return JOURNAL_BUSY;
      room--;
      sent.push(new TextDecoder().decode(decodeJournalEntry(e)[0][1]));
      return undefined;
    },
    close() {},
  }));
  for (const m of ["a", "b", "c"]) t.journal.send([["MESSAGE", m]]);
  assert.deepEqual(sent, ["a"]);
  assert.equal(t.journal.waiting, 2);
  room = 10;
  await waitFor(() => t.journal.waiting === 0, { timeoutMs: 5000, what: "the backlog sent" });
  t.journal.send([["MESSAGE", "d"]]);
  assert.deepEqual(sent, ["a", "b", "c", "d"]);
  assert.deepEqual(t.log, [], "a full queue is not a failure to log");
  t.journal.close();
});

Deno.test("CrashJournal.close() tries the waiting entries once and counts those lost", () => {
  const t = setup(() => ({ send: () => JOURNAL_BUSY, close() {} }));
  t.journal.send([["MESSAGE", "a"]]);
  t.journal.send([["MESSAGE", "b"]]);
  assert.equal(t.journal.waiting, 2);
  t.journal.close();
  assert.deepEqual(t.log, ["journal: 2 entries not sent: the daemon stopped first"]);
  assert.equal(t.journal.waiting, 0);
  t.journal.close();
  assert.equal(t.log.length, 1, "idempotent");
});
