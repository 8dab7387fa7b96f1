/**
 * End to end, the early path: the root daemon hears of a real crash from the kernel's
 * process connector and starts its snapshot before the notifier (pipe mode) has even
 * started; the notifier then joins the crash already in flight. A busy traced neighbour
 * writes into the same per-uid ring buffers at full speed the whole time: the snapshot,
 * read back with babeltrace2, must still hold the crashed process's last allocation.
 * The buffers here (4 x 4 MiB per CPU) hold tens of milliseconds of the neighbour's
 * events, so that the test asserts what the early path promises on a loaded CI machine
 * too; the benchmark's "evidence under load" (bench/evidence.ts) measures the issue's
 * tighter 4 x 512 KiB against the C and shell helpers, 20 crashes a row.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, busyNeighbour, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { requirement } from "../fixtures/require.ts";

const PATTERN = `|${LAUNCHER} notify %p %u %g %e %h`;

const skip = await e2eUnavailable();

/** The sizes of the malloc events of `pid` in the snapshot, in order (babeltrace2). */
async function mallocSizes(snapshot: string, pid: number): Promise<number[]> {
  const events = await readTrace(snapshot);
  return events
    .filter((e) => e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${pid} `))
    .map((e) => Number(/size = (\d+)/.exec(e)?.[1]));
}

Deno.test({
  name: "end to end: the early path snapshots a crash from the kernel's process connector",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-early-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      await using pattern = await CorePatternGuard.set(PATTERN);
      await using session = await SnapshotSession.create({
        buffers: "uid",
        output: `${work}/out`,
        subbufSize: 4 * 1024 * 1024,
        numSubbuf: 4,
      });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "--name",
        "early",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);

      await t.step("status says the early path is in use", async () => {
        const r = await runLauncher(["status", "--json"]);
        const status = JSON.parse(r.stdout) as { daemon: { earlyPath?: { listening: boolean } } };
        assert.equal(status.daemon.earlyPath?.listening, true, r.stdout);
        const text = await runLauncher(["status"]);
        assert.match(text.stdout, /^crash path: early \(process connector\), then the helper/m);
      });

      await t.step(
        "pipe mode, a busy neighbour: one record with both arrival times, and the snapshot holds the last allocation",
        async () => {
          await using _neighbour = await busyNeighbour();
          const size = 31337;
          const run = await crash({ lastAlloc: size });
          assert.equal(run.signal, "SIGSEGV");
          const entry = await crashEntry(run.pid);
          assert.equal(entry.source, "notify", JSON.stringify(entry));
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          assert.ok(entry.connectorAt !== undefined, JSON.stringify(entry));
          assert.ok(entry.helperAt !== undefined, JSON.stringify(entry));
          assert.ok(entry.connectorAt <= entry.helperAt, JSON.stringify(entry));
          assert.equal(entry.results.length, 1, "one trigger, fired once");
          const snapshot = entry.results[0].snapshot;
          assert.ok(snapshot !== undefined, JSON.stringify(entry));
          const sizes = await mallocSizes(snapshot, run.pid);
          assert.equal(
            sizes.at(-1),
            size,
            `the crash's mallocs in the snapshot: ${sizes.join(" ")}`,
          );
        },
      );

      await t.step(
        "a crash whose dump reaches no helper (RLIMIT_CORE 0, a file pattern) is recorded from the connector and snapshotted",
        async () => {
          await pattern.rewrite(`${work}/core.%p`);
          const run = await crash({ lastAlloc: 27183, coreLimit: 0 });
          assert.equal(run.signal, "SIGSEGV");
          const entry = await crashEntry(run.pid);
          assert.equal(entry.source, "connector", JSON.stringify(entry));
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          assert.equal(entry.helperAt, undefined);
          assert.ok(entry.results[0]?.snapshot?.includes(`core-`), JSON.stringify(entry));
          const cores = (await Array.fromAsync(Deno.readDir(work))).filter((e) =>
            e.name.startsWith("core.")
          );
          assert.deepEqual(cores, [], "RLIMIT_CORE 0 wrote no core");
        },
      );
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
