/**
 * Who may do what, with real users: the root daemon under RootDaemon, core_pattern
 * pointing at bin/lttng-trig's notifier exactly as users write it, real crashes of
 * processes of several users, and a per-user daemon run by a temporary system user
 * (created with useradd, removed with userdel whatever happens).
 *
 * - Another user (nobody, and the temporary user) can connect to neither socket of the
 *   root daemon.
 * - A user's daemon serves $HOME/.lttng; the root notifier delivers that user's crashes
 *   to it (and to the root daemon), and never another user's.
 * - The notifier never delivers through a symlink planted in the user's run directory,
 *   nor into a run directory that others can write; its journal says why.
 * - An action runs with the rights of the trigger's owner: the user's trigger on a root
 *   session fails, and the history says why.
 *
 * The kernel-run notifier journals into /var/lib/lttng-trig/notifier.log: the test reads
 * it and removes only the lines of its own crashes (tests/fixtures/rel_journal.ts).
 */
import assert from "node:assert/strict";
import { runLauncher, trig } from "../fixtures/launcher.ts";
import { e2eUnavailable, serveCrashes } from "../fixtures/root_daemon.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { buildCrasher, buildUconnect, connectAs, crash } from "../fixtures/crasher.ts";
import type { DaemonProcess } from "../fixtures/daemon.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const ROOT_NOTIFY = "/var/run/lttng/notify-lttng-sessiond";
const ROOT_CONTROL = "/var/run/lttng/client-lttng-trig";

const skip = await e2eUnavailable();

interface Entry {
  pid: number;
  uid: number;
  outcome: string;
  results: { trigger: string; outcome: string; reason?: string; snapshot?: string }[];
}

function parseHistory(stdout: string): Entry[] {
  return stdout.trim() === "" ? [] : (JSON.parse(stdout) as { crashes: Entry[] }).crashes;
}

async function rootHistory(): Promise<Entry[]> {
  return parseHistory((await runLauncher(["history", "--json", "-n", "100000"])).stdout);
}

async function userHistory(user: TempUser): Promise<Entry[]> {
  const r = await user.trig("history", "--json", "-n", "100000");
  // Like coredumpctl, history exits 1 when there is nothing to show.
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return parseHistory(r.stdout);
}

/** The one finished entry of `pid` in `read()`'s history (waits for it). */
function entryOf(read: () => Promise<Entry[]>, pid: number, where: string): Promise<Entry> {
  return waitFor(async () => {
    const found = (await read()).filter((c) => c.pid === pid);
    assert.ok(found.length <= 1, `${where}: pid ${pid} recorded ${found.length} times`);
    return found[0] !== undefined && found[0].outcome !== "pending" ? found[0] : undefined;
  }, { timeoutMs: 20_000, what: `pid ${pid} in the ${where} history` });
}

async function tracingGid(): Promise<number | undefined> {
  const text = await Deno.readTextFile("/etc/group");
  const entry = text.split("\n").map((l) => l.split(":")).find((f) => f[0] === "tracing");
  return entry === undefined ? undefined : Number(entry[2]);
}

Deno.test({
  name: "end to end: who may do what, with a second real user",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    const uconnect = await buildUconnect();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-users-" });
    // The user's home is in here: it must be able to reach it.
    await Deno.chmod(work, 0o755);
    try {
      await using user = await TempUser.create(work);
      await using served = await serveCrashes(`${work}/state`);
      const { journal } = served;
      await using session = await SnapshotSession.create({ buffers: "uid", output: `${work}/out` });
      await trig(
        "set",
        "-s",
        session.name,
        "-n",
        "root-snap",
        `--uid=${user.uid}`,
        "OnAnyCoreDump",
        "snapshot",
      );
      const userCrash = async () => {
        const run = await crash({ asUid: user.uid, asGid: user.gid });
        journal.own(run.pid);
        assert.equal(run.signal, "SIGSEGV");
        return run;
      };
      let userDaemon: DaemonProcess | undefined;
      try {
        await t.step("other users can connect to neither socket of the root daemon", async () => {
          for (const path of [ROOT_NOTIFY, ROOT_CONTROL]) {
            assert.equal(await connectAs(65534, path), "Permission denied", `nobody: ${path}`);
            const r = await user.runAs(uconnect, [path]);
            assert.equal(r.stdout.trim(), "Permission denied", `${user.name}: ${path}`);
            assert.equal(await connectAs(0, path), "connected", `root: ${path}`);
          }
          const notify = await Deno.lstat(ROOT_NOTIFY);
          assert.deepEqual([notify.uid, notify.mode! & 0o777], [0, 0o600]);
          // The control socket is root's, shared with group tracing (which nobody is not in).
          const control = await Deno.lstat(ROOT_CONTROL);
          assert.equal(control.uid, 0);
          const tracing = await tracingGid();
          if (tracing === undefined) {
            assert.equal(control.mode! & 0o777, 0o600);
          } else {
            assert.deepEqual([control.gid, control.mode! & 0o777], [tracing, 0o660]);
          }
        });

        await t.step("a user's daemon serves $HOME/.lttng, private to that user", async () => {
          userDaemon = await user.startDaemon();
          assert.match(
            userDaemon.log,
            new RegExp(`listening on ${user.runDir}/notify-lttng-sessiond`),
          );
          const dir = await Deno.lstat(user.runDir);
          assert.ok(dir.isDirectory);
          assert.deepEqual([dir.uid, dir.mode! & 0o777], [user.uid, 0o700]);
          for (const name of ["notify-lttng-sessiond", "client-lttng-trig"]) {
            const st = await Deno.lstat(`${user.runDir}/${name}`);
            assert.ok(st.isSocket, name);
            assert.deepEqual([st.uid, st.mode! & 0o777], [user.uid, 0o600], name);
          }
          assert.equal(
            await Deno.lstat(`${user.runDir}/coredump-lttng-trig`).then(() => true, () => false),
            false,
            "a user's daemon has no coredump socket",
          );
          const listed = await user.trig("list");
          assert.equal(listed.code, 0, listed.stderr);
          assert.equal(listed.stdout, "No triggers.\n");
          assert.equal(
            await connectAs(65534, `${user.runDir}/client-lttng-trig`),
            "Permission denied",
          );
        });

        await t.step(
          "a user's crash reaches the root daemon and that user's daemon; the user's action runs with the user's rights",
          async () => {
            const set = await user.trig(
              "set",
              "-s",
              session.name,
              "-n",
              "user-snap",
              "OnAnyCoreDump",
              "snapshot",
            );
            assert.equal(set.code, 0, set.stderr);
            // The user's lttng sees no session daemon of its own: it cannot see root's sessions.
            assert.match(set.stderr, /^Warning: /m);

            const run = await userCrash();
            const inRoot = await entryOf(rootHistory, run.pid, "root");
            assert.equal(inRoot.uid, user.uid);
            assert.equal(inRoot.outcome, "ok", JSON.stringify(inRoot));
            assert.deepEqual(inRoot.results.map((r) => [r.trigger, r.outcome]), [[
              "root-snap",
              "ok",
            ]]);

            const inUser = await entryOf(() => userHistory(user), run.pid, "user");
            assert.equal(inUser.uid, user.uid);
            assert.equal(inUser.outcome, "failed", JSON.stringify(inUser));
            assert.deepEqual(inUser.results.map((r) => [r.trigger, r.outcome]), [[
              "user-snap",
              "failed",
            ]]);
            assert.equal(
              inUser.results[0].reason,
              `Cannot snapshot session "${session.name}": No session daemon is available`,
            );
            const shown = await user.trig("history");
            assert.equal(shown.code, 0, shown.stderr);
            assert.match(shown.stdout, /No session daemon is available/);
          },
        );

        await t.step(
          "crashes of nobody's and root's processes never reach the user's daemon",
          async () => {
            const byNobody = await crash({ asUid: 65534, asGid: 65534 });
            const byRoot = await crash();
            journal.own(byNobody.pid, byRoot.pid);
            assert.equal((await entryOf(rootHistory, byNobody.pid, "root")).uid, 65534);
            assert.equal((await entryOf(rootHistory, byRoot.pid, "root")).uid, 0);
            // Delivered in parallel and answered before the release: nothing is on its way.
            const seen = (await userHistory(user)).map((c) => c.pid);
            assert.ok(!seen.includes(byNobody.pid), "nobody's crash reached the user's daemon");
            assert.ok(!seen.includes(byRoot.pid), "root's crash reached the user's daemon");
            assert.ok((await userHistory(user)).every((c) => c.uid === user.uid));
          },
        );

        await t.step(
          "a run directory that others can write is refused, and the journal says so",
          async () => {
            await Deno.chmod(user.runDir, 0o777);
            try {
              const run = await userCrash();
              await entryOf(rootHistory, run.pid, "root");
              assert.ok(
                !(await userHistory(user)).some((c) => c.pid === run.pid),
                "delivered into a world-writable directory",
              );
              const [line] = await waitFor(
                () => journal.linesOf(run.pid).then((l) => l.length ? l : undefined),
                {
                  what: `the journal line of pid ${run.pid}`,
                },
              );
              assert.match(
                line.failures.join("\n"),
                new RegExp(
                  `user daemon at ${user.runDir}/notify-lttng-sessiond: ${user.runDir} is writable by others`,
                ),
              );
            } finally {
              await Deno.chmod(user.runDir, 0o700);
            }
          },
        );

        await t.step(
          "the notifier never connects through a symlink: the root daemon gets the crash once",
          async () => {
            const status = await userDaemon!.stop();
            userDaemon = undefined;
            assert.equal(status.code, 0);
            const link = `${user.runDir}/notify-lttng-sessiond`;
            // The user plants the link itself, to the root daemon's socket.
            const ln = await user.runAs("ln", ["-s", ROOT_NOTIFY, link]);
            assert.equal(ln.code, 0, ln.stderr);
            try {
              const st = await Deno.lstat(link);
              assert.ok(st.isSymlink);
              assert.equal(st.uid, user.uid);
              const run = await userCrash();
              await entryOf(rootHistory, run.pid, "root");
              const [line] = await waitFor(
                () => journal.linesOf(run.pid).then((l) => l.length ? l : undefined),
                {
                  what: `the journal line of pid ${run.pid}`,
                },
              );
              assert.match(
                line.failures.join("\n"),
                new RegExp(`user daemon at ${link}: ${link} is not a socket \\(a link\\?\\)`),
              );
              // Exactly once, now that the notifier has finished for good.
              const times = (await rootHistory()).filter((c) => c.pid === run.pid).length;
              assert.equal(times, 1, `the root daemon recorded pid ${run.pid} ${times} times`);
            } finally {
              await Deno.remove(link).catch(() => {});
            }
          },
        );
      } finally {
        await userDaemon?.stop();
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
