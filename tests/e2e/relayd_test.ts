/**
 * Snapshots of a crash collected by a central lttng-relayd (a real one, on loopback),
 * and an unreachable relayd: a recorded failure, never a hang.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { findDirs, Relayd } from "../fixtures/relayd.ts";
import { crashEntry } from "../fixtures/history.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

async function set(...args: string[]): Promise<void> {
  const r = await runLauncher(["set", ...args]);
  assert.equal(r.code, 0, `set ${args.join(" ")}: ${r.stderr}`);
}

Deno.test({
  name: "end to end: snapshots go to a central lttng-relayd",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-relayd-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(
        `|${LAUNCHER} notify %p %u %g %e %h`,
      );
      await using session = await SnapshotSession.create({
        buffers: "uid",
        output: `${work}/local`,
      });

      await t.step("a crash's snapshot lands in the relayd's output directory", async () => {
        await using relayd = await Relayd.start(`${work}/relayd`);
        await set(
          "-s",
          session.name,
          "-n",
          "to-relayd",
          `--url=${relayd.url}`,
          "OnAnyCoreDump",
          "snapshot",
        );
        try {
          const run = await crash({ lastAlloc: 55555 });
          const entry = await crashEntry(run.pid);
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          assert.match(entry.results[0].snapshot ?? "", /^net:\/\/127\.0\.0\.1:/);
          const dirs = await findDirs(relayd.output, `core-crasher-${run.pid}-`);
          assert.equal(dirs.length, 1, `snapshots in ${relayd.output}: ${dirs}`);
          // Organised by host, then session.
          assert.ok(dirs[0].startsWith(`${relayd.output}/${Deno.hostname()}/${session.name}`));
          const events = (await readTrace(dirs[0])).filter((e) =>
            e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${run.pid} `)
          );
          assert.match(events[events.length - 1], /size = 55555\b/);
          // Nothing was written locally.
          assert.deepEqual(await findDirs(`${work}`, `core-crasher-${run.pid}-`), dirs);
        } finally {
          await runLauncher(["remove", "to-relayd"]);
        }
      });

      await t.step(
        "an unreachable relayd is a recorded failure, and the crash is released promptly",
        async () => {
          // Ports nothing listens on (taken and released by the OS just now).
          const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const b = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const [ctrl, data] = [a, b].map((l) => (l.addr as Deno.NetAddr).port);
          a.close();
          b.close();
          await set(
            "-s",
            session.name,
            "-n",
            "to-nowhere",
            `--url=net://127.0.0.1:${ctrl}:${data}`,
            "OnAnyCoreDump",
            "snapshot",
          );
          try {
            const run = await crash();
            assert.ok(run.releaseMs < 5000, `released after ${run.releaseMs} ms`);
            const entry = await crashEntry(run.pid);
            assert.equal(entry.outcome, "failed");
            assert.equal(entry.results[0].outcome, "failed");
            assert.match(entry.results[0].reason ?? "", /Unable to connect to lttng-relayd/);
            console.log(
              `unreachable relayd: released after ${run.releaseMs.toFixed(0)} ms; reason: ${
                entry.results[0].reason
              }`,
            );
          } finally {
            await runLauncher(["remove", "to-nowhere"]);
          }
        },
      );
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
