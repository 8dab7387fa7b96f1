/**
 * The crash report's building blocks on real crashes: a two-thread program crashes for
 * real (core_pattern set to a plain file in a temporary directory, under the
 * core_pattern lock, restored after), then computeBacktrace() reads its core with
 * eu-stack; a real LTTng session with the vpid and vtid contexts records it, and
 * readLastEvents() finds the crashing thread's 7777-byte malloc in the snapshot.
 */
import assert from "node:assert/strict";
import { requirement } from "../fixtures/require.ts";
import { computeBacktrace, innermostNamedFrame } from "../../lib/report/backtrace.ts";
import { readLastEvents } from "../../lib/report/events.ts";
import { readCoreFacts } from "../../lib/daemon/elf_core.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { lttng, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { buildMtCrasher, type MtCrashRun, runMtCrasher } from "../fixtures/mt_crasher.ts";

async function unavailable(): Promise<string | undefined> {
  if (Deno.uid() !== 0) {
    return "needs root (it sets core_pattern)"; // a reason for requirement(), never a silent pass
  }
  for (const tool of ["eu-stack", "gcc", "strip", "lttng", "babeltrace2"]) {
    const found = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$1"', "sh", tool],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!found.success) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = await unavailable();
if (skip !== undefined) console.error(`report blocks e2e: skipped: ${skip}`);

const LIMITS = { timeoutMs: 30_000, maxBytes: 1 << 20 };

/** Crash `exe`; resolves to the run and the core the kernel wrote (named %p.%i). */
async function crashForCore(dir: string, exe: string): Promise<MtCrashRun & { core: string }> {
  const run = await runMtCrasher(exe);
  assert.equal(run.signal, "SIGSEGV");
  const core = `${dir}/core.${run.pid}.${run.tid}`;
  assert.ok((await Deno.stat(core)).size > 0, `no core ${core}`);
  return { ...run, core };
}

Deno.test({
  name: "report blocks: backtraces and events of a real multithreaded crash",
  ignore: requirement(skip),
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-report-" });
    await Deno.chmod(work, 0o755);
    try {
      const exe = await buildMtCrasher(work);
      const stripped = await buildMtCrasher(work, "mt_stripped", { strip: true });
      const doomed = await buildMtCrasher(work, "mt_doomed");
      await using _sessiond = await SessionDaemon.ensure();
      await using session = await SnapshotSession.create({
        buffers: "uid",
        output: `${work}/snapshots`,
        contexts: ["vpid", "vtid"],
        events: "lttng_ust_libc:*",
      });
      const name = session.name;
      {
        let symbolized: MtCrashRun & { core: string };
        let strippedRun: MtCrashRun & { core: string };
        let doomedRun: MtCrashRun & { core: string };
        {
          await using _pattern = await CorePatternGuard.set(`${work}/core.%p.%i`);
          symbolized = await crashForCore(work, exe);
          strippedRun = await crashForCore(work, stripped);
          doomedRun = await crashForCore(work, doomed);
        }
        await Deno.remove(doomed);

        await t.step("the core's first NT_PRSTATUS is the crashing thread (%i)", async () => {
          using f = await Deno.open(symbolized.core);
          const { facts } = await readCoreFacts(f);
          assert.equal(facts.pid, symbolized.pid);
          assert.equal(facts.tid, symbolized.tid);
          assert.notEqual(facts.tid, facts.pid, "the worker, not the main thread");
        });

        await t.step("the crashing thread's backtrace names crash_in_worker", async () => {
          const r = await computeBacktrace(symbolized.core, {
            exe,
            tid: symbolized.tid,
            ...LIMITS,
          });
          assert.equal(r.state, "ready", r.reason);
          assert.deepEqual(r.missing, []);
          assert.equal(r.threads[0].tid, symbolized.tid);
          assert.ok(r.threads.some((th) => th.tid === symbolized.pid), "the main thread too");
          const top = innermostNamedFrame(r)!;
          assert.equal(top.function, "crash_in_worker");
          assert.equal(top.module, "mt_crasher");
          assert.match(top.pc, /^0x[0-9a-f]+$/);
          assert.match(top.offset!, /^0x[0-9a-f]+$/);
          assert.deepEqual(r.threads[0].frames.slice(0, 2).map((f) => f.function), [
            "crash_in_worker",
            "worker",
          ]);
        });

        await t.step("a stripped executable gives a partial report saying so", async () => {
          const r = await computeBacktrace(strippedRun.core, {
            exe: stripped,
            tid: strippedRun.tid,
            ...LIMITS,
          });
          assert.equal(r.state, "ready", r.reason);
          assert.equal(r.threads[0].frames[0].function, undefined);
          assert.equal(r.threads[0].frames[0].module, "mt_stripped");
          assert.ok(
            r.missing.includes(
              `symbols: the executable ${stripped} is stripped (no function names in its frames)`,
            ),
            JSON.stringify(r.missing),
          );
        });

        await t.step("a deleted executable gives a partial report saying so", async () => {
          const r = await computeBacktrace(doomedRun.core, {
            exe: doomed,
            tid: doomedRun.tid,
            ...LIMITS,
          });
          assert.equal(r.state, "ready", r.reason);
          assert.equal(r.threads[0].tid, doomedRun.tid);
          assert.equal(r.threads[0].frames[0].function, undefined);
          assert.equal(
            r.missing[0],
            `executable: ${doomed} no longer exists (its frames have no function names)`,
          );
          // libc's frames keep their names: the report is partial, not empty.
          assert.ok(r.threads[0].frames.some((f) => f.function === "start_thread"));
        });

        await t.step("the snapshot holds the crashing thread's 7777-byte malloc", async () => {
          await lttng("snapshot", "record", `--session=${name}`);
          const snapshots = [...Deno.readDirSync(`${work}/snapshots`)];
          assert.equal(snapshots.length, 1);
          const snapshot = `${work}/snapshots/${snapshots[0].name}`;
          const r = await readLastEvents(snapshot, {
            pid: symbolized.pid,
            tid: symbolized.tid,
            count: 20,
          });
          assert.equal(r.matchedBy, "vtid");
          assert.ok(r.events.every((e) => e.vtid === symbolized.tid));
          const malloc = r.events.findLast((e) => e.name === "lttng_ust_libc:malloc");
          assert.ok(malloc !== undefined, JSON.stringify(r.events));
          assert.match(malloc.fields, /size = 7777\b/);
          assert.equal(malloc.vpid, symbolized.pid);
        });
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
