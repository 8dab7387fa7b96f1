/**
 * Issue #21, item 1: a crash whose core is kept must not stall lttng-sessiond for the
 * programs that start after it. Ten traced programs crash in a row, for real, through
 * core_pattern as `install --core-dir` writes it, with `ulimit -c unlimited`; the root
 * daemon takes each snapshot through liblttng-ctl (its default). Each next program must
 * register with the session daemon in time: it runs with lttng-ust's registration
 * timeout below the session daemon's 5 s app socket timeout, so a program that waited
 * for a stalled session daemon would run untraced, and its own snapshot would lack its
 * events. Each snapshot, read back with babeltrace2, holds its own process's last
 * allocation; each core is kept.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

/**
 * lttng-ust's wait for the session daemon's registration (its default is 3 s): above what
 * a loaded machine needs, below the 5 s a stalled session daemon makes a program wait.
 */
const REGISTER_TIMEOUT_MS = 4000;

Deno.test({
  name: "end to end: ten traced crashes in a row with kept cores, none stalls lttng-sessiond",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-kept-" });
    await Deno.chmod(work, 0o755);
    const state = `${work}/state`;
    // Short: the whole core_pattern, --tid=%i included, fits the kernel's 127 bytes.
    const cores = await Deno.makeTempDir({ prefix: "lk" });
    try {
      await using _root = await RootDaemon.start(state);
      await using _pattern = await CorePatternGuard.set("core");
      const installed = await runLauncher([
        "install",
        `--core-dir=${cores}`,
        `--state-dir=${state}`,
      ]);
      assert.equal(installed.code, 0, installed.stderr);
      await using session = await SnapshotSession.create({
        buffers: "pid",
        output: `${work}/out`,
        contexts: ["vpid", "vtid"],
      });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "-n",
        "kept",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);

      const starts: string[] = [];
      for (let i = 0; i < 10; i++) {
        const size = 5000 + i;
        const run = await crash({
          lastAlloc: size,
          coreLimit: "unlimited",
          registerTimeoutMs: REGISTER_TIMEOUT_MS,
        });
        assert.equal(run.signal, "SIGSEGV");
        starts.push(run.startMs.toFixed(0));
        const entry = await crashEntry(run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        assert.equal(entry.core?.kept, true, JSON.stringify(entry));
        assert.ok((await Deno.stat(entry.core!.path!)).isFile, entry.core!.path);
        const snapshot = entry.results.find((r) => r.trigger === "kept")?.snapshot ?? "";
        assert.ok(
          snapshot.startsWith(`${work}/out/core-crasher-${run.pid}-`),
          JSON.stringify(entry),
        );
        const mallocs = (await readTrace(snapshot)).filter((e) =>
          e.includes("lttng_ust_libc:malloc") && new RegExp(`vpid = ${run.pid}\\b`).test(e)
        );
        assert.ok(
          mallocs.length > 0,
          `crash ${
            i + 1
          }: pid ${run.pid} ran untraced (no event of it in ${snapshot}): it did not register within ${REGISTER_TIMEOUT_MS} ms`,
        );
        assert.match(mallocs[mallocs.length - 1], new RegExp(`size = ${size}\\b`));
      }
      console.error(`start of each traced program (ms): ${starts.join(" ")}`);
    } finally {
      await Deno.remove(work, { recursive: true });
      await Deno.remove(cores, { recursive: true });
    }
  },
});
