/**
 * Faults of LTTng itself, for real: the session destroyed, the session destroyed and
 * created again under the same name (with another output), and lttng-sessiond restarted
 * (only when the test started it: a session daemon of someone else's is never touched).
 * Each time the crash is recorded (with LTTng's reason when it fails), released, and the
 * daemon keeps serving.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

Deno.test({
  name: "end to end: a destroyed, re-created session and a restarted lttng-sessiond",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-faults-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(`|${LAUNCHER} notify %p %u %g %e %h`);
      const name = `trigfault-${crypto.randomUUID().slice(0, 8)}`;
      const set = await runLauncher([
        "set",
        "-s",
        name,
        "-n",
        "fault",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);
      let session: SnapshotSession | undefined = await SnapshotSession.create({
        name,
        buffers: "uid",
        output: `${work}/first`,
      });
      try {
        await t.step("a crash while the session exists is snapshotted", async () => {
          const run = await crash();
          const e = await crashEntry(run.pid);
          assert.equal(e.outcome, "ok", JSON.stringify(e));
          assert.ok(e.results[0].snapshot?.startsWith(`${work}/first/`));
        });

        await t.step("the session destroyed: a recorded failure with LTTng's reason", async () => {
          await session![Symbol.asyncDispose]();
          session = undefined;
          const run = await crash();
          assert.ok(run.releaseMs < 5000, `held ${run.releaseMs} ms`);
          const e = await crashEntry(run.pid);
          assert.equal(e.outcome, "failed");
          assert.match(e.results[0].reason ?? "", /Session name not found/);
        });

        await t.step(
          "re-created under the same name, elsewhere: the snapshot goes there",
          async () => {
            session = await SnapshotSession.create({
              name,
              buffers: "uid",
              output: `${work}/second`,
            });
            const run = await crash();
            const e = await crashEntry(run.pid);
            assert.equal(e.outcome, "ok", JSON.stringify(e));
            assert.ok(
              e.results[0].snapshot?.startsWith(`${work}/second/core-crasher-${run.pid}-`),
              e.results[0].snapshot,
            );
          },
        );

        await t.step({
          name: "lttng-sessiond restarted: the next crash is snapshotted again",
          ignore: requirement(
            sessiond.ours
              ? undefined
              : "lttng-sessiond was running already: tests never restart one they did not start",
          ),
          fn: async () => {
            await session![Symbol.asyncDispose]();
            session = undefined;
            assert.equal(await sessiond.restart(), true);
            session = await SnapshotSession.create({
              name,
              buffers: "pid",
              output: `${work}/third`,
            });
            const run = await crash();
            const e = await crashEntry(run.pid);
            assert.equal(e.outcome, "ok", JSON.stringify(e));
            assert.ok(e.results[0].snapshot?.startsWith(`${work}/third/`));
          },
        });
        const listed = await runLauncher(["list"]);
        assert.match(listed.stdout, /^fault\s/m);
      } finally {
        await session?.[Symbol.asyncDispose]();
        await runLauncher(["remove", "fault"]);
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
