/**
 * Issue #21, item 1, its cause: a traced program that crashes within microseconds of its
 * registration with LTTng can die between lttng-ust's "registration done" and its reply,
 * and lttng-sessiond then waits for that reply, holding its session list lock, until the
 * socket closes or its app timeout (5 s) ends: the crash's own snapshot, every other
 * LTTng command and every new traced program wait with it, and with per-user buffers
 * the crash's events are overwritten meanwhile. The root daemon ends that wait.
 *
 * For real: the root daemon, core_pattern as `install --core-dir` writes it (the core is
 * held while the snapshot runs), a per-user, then a per-process, snapshot session (4 x 4 MiB), four busy traced neighbours
 * (under load the window is hit now and then on 2 CPUs), and traced
 * crashes until the daemon has ended lttng-sessiond's wait on two of them (at most 80).
 * Each of those crashes' snapshot, read back with babeltrace2, holds its own last
 * allocation, and none took the session daemon's app timeout.
 *
 * A measurement, not a test of the suite: whether a crash falls in the window depends on
 * the machine's load (3 of about 40 crashes in most runs here, none of 60 in one), so it
 * cannot pass or fail on its own. Run it as root:
 * `deno test -P=tests bench/sessiond_waits.ts`. The suite's own check of the scenario is
 * tests/e2e/kept_cores_test.ts; of the mechanism, tests/unit/sessiond_waits_test.ts.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../tests/fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../tests/fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../tests/fixtures/lttng.ts";
import { CorePatternGuard } from "../tests/fixtures/core_pattern.ts";
import { buildCrasher, busyNeighbour, crash } from "../tests/fixtures/crasher.ts";
import { crashEntry } from "../tests/fixtures/history.ts";
import { requirement } from "../tests/fixtures/require.ts";

const skip = await e2eUnavailable();

/** lttng-sessiond's app socket timeout (LTTNG_APP_SOCKET_TIMEOUT's default), in ms. */
const SESSIOND_APP_TIMEOUT_MS = 5000;
const WANTED = 2;
const MOST = 80;

for (const buffers of ["uid", "pid"] as const) {
  Deno.test({
    name:
      `end to end, per-${buffers} buffers: a crash during its registration with LTTng does not hold lttng-sessiond: the daemon ends its wait, and the snapshot keeps the crash's events`,
    ignore: requirement(skip),
    async fn() {
      await buildCrasher();
      await using _sessiond = await SessionDaemon.ensure();
      const work = await Deno.makeTempDir({ prefix: "lttng-trig-waits-" });
      await Deno.chmod(work, 0o755);
      const state = `${work}/state`;
      const cores = await Deno.makeTempDir({ prefix: "lw" });
      try {
        await using root = await RootDaemon.start(state);
        await using _pattern = await CorePatternGuard.set("core");
        const installed = await runLauncher([
          "install",
          `--core-dir=${cores}`,
          `--state-dir=${state}`,
        ]);
        assert.equal(installed.code, 0, installed.stderr);
        await using session = await SnapshotSession.create({
          buffers,
          output: `${work}/out`,
          contexts: ["vpid"],
          // 4 x 4 MiB per CPU: the neighbours take about 100 ms to come round, far less than
          // the 5 s of a wait left to its timeout, far more than a snapshot freed at once.
          subbufSize: 4 * 1024 * 1024,
          numSubbuf: 4,
        });
        const set = await runLauncher([
          "set",
          "-s",
          session.name,
          "-n",
          "waits",
          "--exec=crasher",
          "OnAnyCoreDump",
          "snapshot",
        ]);
        assert.equal(set.code, 0, set.stderr);
        await using _n1 = await busyNeighbour();
        await using _n2 = await busyNeighbour();

        const ended: { pid: number; size: number; snapshot: string }[] = [];
        let crashes = 0;
        while (ended.length < WANTED && crashes < MOST) {
          const size = 7000 + crashes++;
          const run = await crash({ lastAlloc: size, coreLimit: "unlimited" });
          assert.equal(run.signal, "SIGSEGV");
          const entry = await crashEntry(run.pid);
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          const result = entry.results.find((r) => r.trigger === "waits") as
            | { durationMs?: number; snapshot?: string }
            | undefined;
          assert.ok(
            (result?.durationMs ?? Infinity) < SESSIOND_APP_TIMEOUT_MS,
            `crash ${crashes}: the snapshot waited lttng-sessiond's app timeout: ${
              JSON.stringify(result)
            }`,
          );
          const line = root.daemon.log.split("\n").find((l) =>
            l.includes(`was waiting on crashed pid ${run.pid},`)
          );
          if (line !== undefined) {
            console.error(
              `crash ${crashes}, pid ${run.pid}: ${line.slice(line.indexOf(": ") + 2)}`,
            );
            ended.push({ pid: run.pid, size, snapshot: result?.snapshot ?? "" });
          }
        }
        assert.equal(
          ended.length,
          WANTED,
          `in ${crashes} crashes under load, lttng-sessiond waited on only ${ended.length} crashed processes (${WANTED} wanted): the window was not hit`,
        );
        for (const e of ended) {
          const mallocs = (await readTrace(e.snapshot)).filter((line) =>
            line.includes("lttng_ust_libc:malloc") && new RegExp(`vpid = ${e.pid}\\b`).test(line)
          );
          assert.match(
            mallocs.at(-1) ?? "no malloc of it",
            new RegExp(`size = ${e.size}\\b`),
            `pid ${e.pid}: its snapshot ${e.snapshot} lacks its last allocation`,
          );
        }
        console.error(`lttng-sessiond's wait ended on ${WANTED} of ${crashes} crashes`);
      } finally {
        await Deno.remove(work, { recursive: true });
        await Deno.remove(cores, { recursive: true });
      }
    },
  });
}
