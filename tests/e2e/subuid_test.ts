/**
 * A subordinate uid counts as its owner for every per-uid limit (issue #19, item 9), with
 * real crashes: a temporary user (useradd, userdel whatever happens) is given a range of
 * /etc/subuid (usermod --add-subuids, removed in every path). A process of one of those
 * uids, in a user namespace of its own as a rootless container's would be, crashes: it
 * takes its owner's held slot, and spends its owner's --max-per-day, so that the owner's
 * own crash right after is held back as over the daily maximum.
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
import { runCommand } from "../fixtures/process.ts";

const skip = await e2eUnavailable();
const HELD_DIR = "/var/run/lttng/lttng-trig-held";

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

/** Crash the crasher as `uid`, inside a user namespace where it is root; resolves to its pid. */
async function crashInContainer(uid: number, path: string): Promise<number> {
  const child = new Deno.Command("setpriv", {
    args: [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      "--clear-groups",
      "unshare",
      "-U",
      "--map-root-user",
      "--",
      path,
      "4242",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = await child.status;
  assert.equal(status.signal, "SIGSEGV");
  return child.pid;
}

Deno.test({
  name: "end to end: a subordinate uid's crash counts against its owner's limits",
  ignore: requirement(skip),
  async fn() {
    const crasher = await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-subuid-" });
    await Deno.chmod(work, 0o755);
    try {
      await using user = await TempUser.create(work);
      // A range of our own, far from any other (the kernel's ids go to 2^32 - 2).
      const first = 3_000_000_000 + Math.floor(Math.random() * 10_000) * 65536;
      const range = `${first}-${first + 65535}`;
      const added = await runCommand("usermod", [
        "--add-subuids",
        range,
        "--add-subgids",
        range,
        user.name,
      ]);
      assert.equal(added.code, 0, added.stderr);
      try {
        assert.match(
          await Deno.readTextFile("/etc/subuid"),
          new RegExp(`^${user.name}:${first}:65536$`, "m"),
        );
        await using served = await serveCrashes(`${work}/state`);
        const { journal } = served;
        await using session = await SnapshotSession.create({
          buffers: "uid",
          output: `${work}/out`,
        });
        const set = await runLauncher([
          "set",
          "-s",
          session.name,
          "-n",
          "daily",
          "--max-per-day=1",
          "--exec=crasher",
          "OnAnyCoreDump",
          "snapshot",
        ]);
        assert.equal(set.code, 0, set.stderr);

        // A container process of the user's, as subordinate uid first + 1000.
        const sub = first + 1000;
        const contained = await crashInContainer(sub, crasher);
        journal.own(contained);
        const theirs = await resultOf(contained, "daily");
        // It acted (its untraced process may leave the snapshot empty: acted all the same).
        assert.notEqual(theirs.outcome, "skipped", JSON.stringify(theirs));
        const entry = (await history()).find((c) => c.pid === contained)!;
        assert.equal(entry.uid, sub, "recorded with its own (global) uid");
        // It held its owner's slot, not one of its own.
        const slots = [...Deno.readDirSync(HELD_DIR)].map((e) => e.name);
        assert.ok(slots.includes(`uid-${user.uid}.0`), slots.join());
        assert.ok(!slots.some((n) => n.startsWith(`uid-${sub}.`)), slots.join());

        // The owner's own crash: the daily maximum is spent already, by the subordinate.
        const own = await crash({ asUid: user.uid, asGid: user.gid });
        journal.own(own.pid);
        assert.equal(own.signal, "SIGSEGV");
        const mine = await resultOf(own.pid, "daily");
        assert.equal(mine.outcome, "skipped", JSON.stringify(mine));
        assert.equal(
          mine.reason,
          `max-per-day 1: it acted 1 times on crashes of uid ${user.uid} in the last 24 h`,
        );
        // Another subordinate uid is held back too, named as its owner's.
        const again = await crashInContainer(sub + 1, crasher);
        journal.own(again);
        const third = await resultOf(again, "daily");
        assert.equal(third.outcome, "skipped");
        assert.equal(
          third.reason,
          `max-per-day 1: it acted 1 times on crashes of uid ${user.uid} (owner of uid ${
            sub + 1
          }) in the last 24 h`,
        );
      } finally {
        await runCommand("usermod", ["--del-subuids", range, "--del-subgids", range, user.name]);
      }
      assert.doesNotMatch(
        await Deno.readTextFile("/etc/subuid"),
        new RegExp(`^${user.name}:`, "m"),
      );
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
