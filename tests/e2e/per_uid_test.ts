/**
 * A user cannot starve root's triggers (issue #15), with real crashes: root's trigger
 * `--max-per-day=1 --exec=crasher` on the root daemon, a temporary system user (created
 * with useradd, removed with userdel whatever happens) who crashes a process of the same
 * name twice, then root's own crash of that name: it still fires, since the daily maximum
 * is counted per uid. `set` warned that any user can fire such a trigger.
 *
 * The kernel-run notifier journals into /var/lib/lttng-trig/notifier.log: the test removes
 * only the lines of its own crashes (tests/fixtures/rel_journal.ts).
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, serveCrashes } from "../fixtures/root_daemon.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

/** The result of trigger `name` for the finished crash of `pid` (waits for it). */
function resultOf(pid: number, name: string): Promise<HistoryEntry["results"][number]> {
  return waitFor(async () => {
    const entry = (await history()).find((c) => c.pid === pid);
    if (entry === undefined || entry.outcome === "pending") return undefined;
    const r = entry.results.find((x) => x.trigger === name);
    assert.ok(r !== undefined, `pid ${pid} did not match ${name}: ${JSON.stringify(entry)}`);
    return r;
  }, { timeoutMs: 20_000, what: `pid ${pid} in the root daemon's history` });
}

Deno.test({
  name: "end to end: another user's crashes of the same name do not spend root's --max-per-day",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-peruid-" });
    await Deno.chmod(work, 0o755);
    try {
      await using user = await TempUser.create(work);
      await using served = await serveCrashes(`${work}/state`);
      const { journal } = served;
      await using session = await SnapshotSession.create({ buffers: "uid", output: `${work}/out` });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "-n",
        "root-daily",
        "--max-per-day=1",
        "--exec=crasher",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);
      assert.match(
        set.stderr,
        /^Warning: --exec=crasher matches the exec name.*any user can fire this trigger.*--exec=\/usr\/sbin\/crasher/m,
      );

      // The other user names a process like root's target and crashes it, twice.
      const theirs: number[] = [];
      for (let i = 0; i < 2; i++) {
        const run = await crash({ asUid: user.uid, asGid: user.gid });
        journal.own(run.pid);
        assert.equal(run.signal, "SIGSEGV");
        theirs.push(run.pid);
      }
      const first = await resultOf(theirs[0], "root-daily");
      assert.equal(first.outcome, "ok", JSON.stringify(first));
      const second = await resultOf(theirs[1], "root-daily");
      assert.equal(second.outcome, "skipped", JSON.stringify(second));
      assert.match(second.reason ?? "", new RegExp(`max-per-day 1: .*uid ${user.uid}`));

      // Root's own crash of that name still fires: the user spent only their own share.
      const mine = await crash();
      journal.own(mine.pid);
      assert.equal(mine.signal, "SIGSEGV");
      const ours = await resultOf(mine.pid, "root-daily");
      assert.equal(ours.outcome, "ok", JSON.stringify(ours));
      assert.match(ours.snapshot ?? "", new RegExp(`core-crasher-${mine.pid}`));

      // list shows totals over every uid: 2 fired of 3 matching crashes.
      const list = await runLauncher(["list", "--json"]);
      const t =
        (JSON.parse(list.stdout) as { triggers: { name: string; hits: number; fired: number }[] })
          .triggers.find((x) => x.name === "root-daily");
      assert.deepEqual([t?.fired, t?.hits], [2, 3]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
