/**
 * `install --core-dir --core-limit=honour|ignore` for real (issue #21, item 6): a real
 * process with `ulimit -c 0` crashes under the real core_pattern that install wrote;
 * honour keeps no core and the history says why, ignore keeps it, as systemd-coredump
 * would. The root daemon records both.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

function coreOf(pid: number): Promise<NonNullable<HistoryEntry["core"]>> {
  return waitFor(async () => (await history()).find((h) => h.pid === pid)?.core, {
    timeoutMs: 20_000,
    what: `the core of pid ${pid} in history`,
  });
}

Deno.test({
  name: "install --core-limit: under ulimit -c 0, honour keeps no core and ignore keeps it",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-e2e-" });
    // The kernel keeps 127 bytes of pattern: a short core directory.
    const cores = `/tmp/lc${Deno.pid}`;
    try {
      await Deno.mkdir(cores, { mode: 0o700 });
      await using _root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set("core");
      for (const limit of ["honour", "ignore"] as const) {
        await t.step(`--core-limit=${limit}`, async () => {
          const r = await runLauncher([
            "install",
            `--state-dir=${work}/install-${limit}`,
            `--core-dir=${cores}`,
            `--core-limit=${limit}`,
          ]);
          assert.equal(r.code, 0, r.stderr);
          const expected = limit === "ignore"
            ? /^Cores: every crash's core is kept in \/tmp\/lc\d+ whatever its ulimit -c, as systemd-coredump keeps them \(--core-limit=ignore\)\.$/m
            : /^Cores: a crash's core is kept in \/tmp\/lc\d+ only when its ulimit -c is not 0, .*--core-limit=ignore to keep every core as systemd-coredump does\.$/m;
          assert.match(r.stdout, expected);
          const status = await runLauncher(["status", `--state-dir=${work}/install-${limit}`]);
          assert.match(
            status.stdout,
            limit === "ignore"
              ? /^cores: every crash's core/m
              : /^cores: a crash's core is kept .* only when its ulimit -c is not 0/m,
          );
          const run = await crash({ coreLimit: 0 });
          assert.equal(run.signal, "SIGSEGV");
          const core = await coreOf(run.pid);
          if (limit === "honour") {
            assert.deepEqual(core, {
              kept: false,
              reason: "the process's core size limit (ulimit -c) is 0",
              bytes: 0,
            });
          } else {
            assert.equal(core.kept, true, JSON.stringify(core));
            assert.ok(core.path?.startsWith(`${cores}/core.crasher.0.${run.pid}.`), core.path);
            assert.ok((await Deno.stat(core.path!)).size > 0);
          }
        });
      }
    } finally {
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
