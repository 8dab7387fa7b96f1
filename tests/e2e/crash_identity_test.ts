/**
 * The kernel names the crash (issue 19, item 2), with the attack performed for real.
 *
 * Socket mode: a victim user has a process whose pid, in the daemon's pid namespace, is
 * N: a zombie named `crasher`, which the old check took as proof (it does not dump core,
 * but exited and not reaped it keeps its ids). An attacker user, inside
 * `unshare -Urpf --mount-proc`, writes N-1 to `ns_last_pid` and crashes `crasher` under
 * `unshare -U --map-user=VICTIM`: its core says pid N, uid VICTIM. The daemon must take
 * the crash's identity from the connection the kernel made as the crashing task
 * (`SO_PEERCRED`/`SO_PEERPIDFD`): the crash is the attacker's, and the victim's `--uid`
 * trigger does not fire.
 *
 * Pipe mode: with `%F` in `--facts=`, the notifier takes the crash's global pid, uid and
 * gid through the kernel's pidfd of the crashed process, and the history says so.
 *
 * Two temporary users (useradd), removed in every path; their processes are stopped by
 * pid before.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashWithPid } from "../fixtures/pid_namespace.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { kernelOlderThan, kernelRequirement, requirement } from "../fixtures/require.ts";

// What core_pattern names: the kernel follows no symlink (/var/run -> /run).
const REAL_SOCKET = `${await Deno.realPath("/var/run")}/lttng/coredump-lttng-trig`;
const skip = kernelOlderThan(6, 16) ? undefined : await e2eUnavailable();

type Entry = HistoryEntry & { gid: number; uidVerified?: boolean; uidNote?: string };

/** Field `key` of /proc/PID/status, or undefined once the process is gone. */
async function statusField(pid: number, key: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/status`);
    return new RegExp(`^${key}:\\s*(.*)$`, "m").exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * A zombie of `user` named `crasher`: `sh` starts a copy of true(1) called `crasher`,
 * then execs sleep(1), which never reaps it. Resolves to the sleeper (to stop) and the
 * zombie's pid.
 */
async function victimZombie(
  user: TempUser,
  dir: string,
): Promise<{ sleeper: Deno.ChildProcess; zombie: number }> {
  const fake = `${dir}/crasher`;
  await Deno.copyFile("/usr/bin/true", fake);
  await Deno.chmod(fake, 0o755);
  const sleeper = new Deno.Command("setpriv", {
    args: [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      "--clear-groups",
      "sh",
      "-c",
      '"$0" & exec sleep 120',
      fake,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const zombie = await waitFor(async () => {
      const children = await Deno.readTextFile(`/proc/${sleeper.pid}/task/${sleeper.pid}/children`)
        .catch(() => "");
      const pid = Number(children.trim().split(/\s+/)[0]);
      if (!(pid > 0)) return undefined;
      const state = await statusField(pid, "State");
      return state?.startsWith("Z") && (await statusField(pid, "Name")) === "crasher"
        ? pid
        : undefined;
    }, { what: "the victim's zombie named crasher" });
    return { sleeper, zombie };
  } catch (err) {
    sleeper.kill("SIGKILL");
    await sleeper.status;
    throw err;
  }
}

Deno.test({
  name:
    "end to end: socket mode: a crash given the pid of another user's process stays the attacker's",
  ignore: kernelRequirement("socket mode", 6, 16) || requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-ident-" });
    await Deno.chmod(work, 0o755);
    try {
      await using victim = await TempUser.create(work);
      await using attacker = await TempUser.create(work);
      await using _root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(`@${REAL_SOCKET}`);
      await using session = await SnapshotSession.create({ buffers: "uid", output: `${work}/out` });
      for (const [name, uid] of [["victim-trig", victim.uid], ["attacker-trig", attacker.uid]]) {
        const set = await runLauncher([
          "set",
          "-s",
          session.name,
          "-n",
          String(name),
          `--uid=${uid}`,
          "OnAnyCoreDump",
          "snapshot",
        ]);
        assert.equal(set.code, 0, set.stderr);
      }
      const { sleeper, zombie } = await victimZombie(victim, work);
      try {
        // The attacker: a pid namespace and a user namespace of its own, where the next
        // pid is the victim's zombie's; the crash then runs as the victim's uid inside.
        await crashWithPid(attacker, zombie, { mapUser: victim.uid });
        const entry = await waitFor(async () => {
          const found = (await history()).filter((h) => h.pid === zombie) as Entry[];
          return found.length > 0 && found.every((e) => e.outcome !== "pending")
            ? found
            : undefined;
        }, { timeoutMs: 20_000, what: `the attacker's crash, pid ${zombie} in its namespace` });
        assert.equal(entry.length, 1, JSON.stringify(entry));
        const crash = entry[0];
        assert.equal(crash.source, "socket");
        // The kernel's name for it: its global pid is not the victim's zombie's.
        assert.notEqual(crash.globalPid, zombie, JSON.stringify(crash));
        assert.notEqual(crash.uid, victim.uid, JSON.stringify(crash));
        assert.equal(crash.uid, attacker.uid, JSON.stringify(crash));
        assert.equal((crash as { identity?: string }).identity, "pidfd");
        assert.match(crash.uidNote ?? "", new RegExp(`core's uid ${victim.uid} is its user`));
        const fired = crash.results.map((r) => r.trigger);
        assert.ok(!fired.includes("victim-trig"), `the victim's trigger fired: ${fired}`);
        assert.deepEqual(fired, ["attacker-trig"]);
      } finally {
        sleeper.kill("SIGKILL");
        await sleeper.status;
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "end to end: pipe mode: with %F the crash's pid, uid and gid come from the kernel's pidfd",
  ignore: kernelRequirement("%F", 6, 16) || requirement(skip),
  async fn() {
    await buildCrasher();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-ident-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      const facts = (pidfd: string) =>
        `|${LAUNCHER} notify --facts=%P:%s:%t:%c:%d${pidfd}:%E %p %u %g %e %h`;
      await using pattern = await CorePatternGuard.set(facts(":%F"));
      const run = await crash({ lastAlloc: 2468, asUid: 65534, asGid: 65534 });
      assert.equal(run.signal, "SIGSEGV");
      const entry = await waitFor(async () => {
        const e = (await history()).find((h) => h.pid === run.pid) as
          | Entry & { identity?: string }
          | undefined;
        return e?.outcome === "pending" ? undefined : e;
      }, { what: `the crash of pid ${run.pid}` });
      assert.equal(entry.identity, "pidfd", JSON.stringify(entry));
      assert.equal(entry.globalPid, run.pid);
      assert.equal(entry.uid, 65534);
      assert.equal(entry.gid, 65534);
      assert.equal(entry.exePath, await Deno.realPath(await buildCrasher()));
      // The line of before, without %F: the kernel's words, and no claim of a pidfd.
      await pattern.rewrite(facts(""));
      const before = await crash({ lastAlloc: 1357, asUid: 65534, asGid: 65534 });
      const plain = await waitFor(async () => {
        const e = (await history()).find((h) => h.pid === before.pid) as
          | Entry & { identity?: string }
          | undefined;
        return e?.outcome === "pending" ? undefined : e;
      }, { what: `the crash of pid ${before.pid}` });
      assert.equal(plain.identity, undefined, JSON.stringify(plain));
      assert.equal(plain.uid, 65534);
      assert.equal(plain.globalPid, before.pid);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
