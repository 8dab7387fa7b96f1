/**
 * Issue #21, item 7: a session that was created but never started. LTTng refuses its
 * snapshot ("Session needs to be started once"), and says so only when the crash comes;
 * `set` and `status` say it before, with what to do. A real lttng-sessiond, a real
 * session, the daemon on a run directory of its own, the crash notified as the kernel's
 * helper would.
 */
import assert from "node:assert/strict";
import { lttng, SessionDaemon } from "../fixtures/lttng.ts";
import { requirement } from "../fixtures/require.ts";
import { cli, client, daemon, makeDirs, notifyArgs, show, uniqueSession } from "../cli/_helpers.ts";
import { waitFor } from "../fixtures/wait.ts";

const skip = Deno.uid() === 0 ? undefined : "a root lttng-sessiond is needed: run as root";

Deno.test({
  name: "set and status warn of a session never started, and say to start it",
  ignore: requirement(skip),
  async fn() {
    await using _sessiond = await SessionDaemon.ensure();
    await using dirs = await makeDirs();
    await using _d = await daemon(dirs);
    const name = uniqueSession("never");
    await lttng("create", name, "--snapshot", `--output=${dirs.scratch}/out`);
    try {
      await lttng("enable-event", "-u", "-a", `--session=${name}`);
      const warning =
        `session "${name}" is inactive: if it was never started, its snapshot fails on a crash with 'Session needs to be started once', and if it was stopped, it holds no event newer than the stop: start it with 'lttng start ${name}'`;

      const set = await client(dirs, "set", [
        "-s",
        name,
        "-n",
        "snap",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, show(set));
      assert.ok(set.stderr.split("\n").includes(`Warning: ${warning}`), show(set));
      assert.equal(set.stdout, "Added trigger `snap`.\n");

      const status = await client(dirs, "status", [`--state-dir=${dirs.state}`]);
      assert.ok(status.stdout.split("\n").includes(`Warning: snap: ${warning}`), show(status));
      const json = await client(dirs, "status", ["--json", `--state-dir=${dirs.state}`]);
      assert.deepEqual(JSON.parse(json.stdout).inactive, [{ trigger: "snap", warning }]);

      // What the warning foretells: the crash's snapshot fails, in LTTng's words.
      const notify = await cli(notifyArgs(dirs, "424242", "0", "0", "never", "host"), {
        stdin: new Uint8Array(),
      });
      assert.equal(notify.code, 0, show(notify));
      const crash = await waitFor(async () => {
        const h = await client(dirs, "history", ["--json"]);
        const c = JSON.parse(h.stdout).crashes?.[0];
        return c?.outcome !== undefined && c.outcome !== "pending" ? c : undefined;
      }, { timeoutMs: 20_000, what: "the crash in history" });
      assert.match(JSON.stringify(crash.results), /Session needs to be started once/);

      // Started: no warning any more.
      await lttng("start", name);
      const after = await client(dirs, "status", [`--state-dir=${dirs.state}`]);
      assert.ok(!after.stdout.includes("is inactive"), show(after));
      const again = await client(dirs, "set", ["-s", name, "-n", "snap2", "OnAnyCoreDump", "stop"]);
      assert.equal(again.code, 0, show(again));
      assert.ok(!again.stderr.includes("is inactive"), show(again));
    } finally {
      await lttng("destroy", name).catch(() => {});
    }
  },
});
