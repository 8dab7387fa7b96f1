/**
 * A crash while the daemon is down (issue #21, item 3), for real: pipe mode, the root
 * daemon stopped, a real traced program crashes; the notifier journals it; at the
 * daemon's next start the history lists it, outcome missed, saying why no trigger ran,
 * once (a second restart does not list it twice).
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { startDaemon } from "../fixtures/daemon.ts";
import { SessionDaemon } from "../fixtures/lttng.ts";
import { snapshotTrigger } from "../fixtures/snapshot_trigger.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { history } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

Deno.test({
  name: "pipe mode: a crash while the daemon is down is in the history after its next start",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "ltt-missed-" });
    await Deno.chmod(work, 0o755);
    const stateDir = `${work}/state`;
    try {
      await using root = await RootDaemon.start(stateDir);
      // The notifier journals in the daemon's state directory.
      await using _pattern = await CorePatternGuard.set(
        `|${LAUNCHER} notify --state-dir=${stateDir} %p %u %g %e %h`,
      );
      await using _trigger = await snapshotTrigger(`${work}/out`, "missed-e2e");

      await root.daemon.stop();
      const run = await crash({ lastAlloc: 4242 });
      assert.equal(run.signal, "SIGSEGV");
      const journal = await Deno.readTextFile(`${stateDir}/notifier.log`);
      const line = JSON.parse(journal.trim().split("\n").at(-1)!);
      assert.equal(line.pid, run.pid);
      assert.equal(line.rootMissed, true);

      root.daemon = await startDaemon({ stateDir });
      const entry = await waitFor(
        async () => (await history()).find((h) => h.pid === run.pid),
        { timeoutMs: 20_000, what: `the missed crash of pid ${run.pid} in history` },
      ) as Awaited<ReturnType<typeof history>>[number] & { detail?: string };
      assert.equal(entry.outcome, "missed");
      assert.equal(entry.execName, "crasher");
      assert.equal(entry.source, "notifier.log");
      assert.deepEqual(entry.results, []);
      assert.match(
        entry.detail ?? "",
        /^no trigger ran: no lttng-trig daemon was running when it crashed \(the notifier journaled: no root daemon: /,
      );
      assert.match(
        root.daemon.log,
        /1 crash\(es\) the notifier journaled while no daemon ran are now in the history/,
      );
      const listed = await runLauncher(["history"]);
      assert.match(
        listed.stdout,
        new RegExp(`\\b${run.pid}\\b.*crasher.*missed.*\\(no daemon ran: no trigger fired\\)`),
      );
      const shown = await runLauncher(["show", "--id", String(entry.id)]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        /outcome: +missed \(no trigger ran: no lttng-trig daemon was running/,
      );

      // Once: another restart imports nothing again.
      await root.restart();
      await waitFor(
        async () => (await runLauncher(["status"])).stdout.includes("daemon: running"),
        {
          timeoutMs: 20_000,
        },
      );
      const again = (await history()).filter((h) => h.pid === run.pid);
      assert.equal(again.length, 1, JSON.stringify(again));
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
