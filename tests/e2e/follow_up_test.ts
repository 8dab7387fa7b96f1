/**
 * Follow-up results attach to the right crash (issue 19, item 3), with the race performed
 * for real in pipe mode with `--core-dir`: a victim user's process dumps a big core
 * (2.5 GiB of memory, streamed through the notifier); while it is still being
 * written, an attacker user crashes a process given the same pid in a pid namespace of
 * its own (`ns_last_pid`), so that both crashes are `%p` N. The attacker's crash, core
 * and all, is done first; then the victim's core's fate comes. Each must land on its own
 * crash: the daemon's reply gave each notifier its crash's id, which the core's fate
 * names.
 *
 * Two temporary users (useradd), removed in every path.
 */
import assert from "node:assert/strict";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher } from "../fixtures/crasher.ts";
import { history, type HistoryEntry } from "../fixtures/history.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { crashWithPid } from "../fixtures/pid_namespace.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

type Entry = HistoryEntry & { core?: { kept: boolean; path?: string; reason?: string } };

/** The one finished crash of `pid` and `uid` with its core's fate (waits for it). */
function crashWithCore(pid: number, uid: number): Promise<Entry> {
  return waitFor(async () => {
    const c = (await history() as Entry[]).find((h) => h.pid === pid && h.uid === uid);
    return c?.core !== undefined && c.outcome !== "pending" ? c : undefined;
  }, { timeoutMs: 60_000, what: `the crash of pid ${pid} uid ${uid} and its core's fate` });
}

Deno.test({
  name:
    "end to end: two crashes of pid N, the first one's big core still being written: each core's fate lands on its own crash",
  ignore: requirement(skip),
  async fn() {
    const crasher = await buildCrasher();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-follow-" });
    await Deno.chmod(work, 0o755);
    // Short: the kernel keeps 127 bytes of pattern.
    const cores = `/tmp/ltf${Deno.pid}`;
    try {
      await using victim = await TempUser.create(work);
      await using attacker = await TempUser.create(work);
      await using root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(
        `|${LAUNCHER} notify --core-dir=${cores} --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h`,
      );
      // The victim's crash: 2.5 GiB written, which the kernel streams into the notifier (past
      // the 2 GiB a kept core may have: not kept, so no report decompresses it).
      const big = new Deno.Command("prlimit", {
        args: [
          "--core=unlimited",
          "setpriv",
          `--reuid=${victim.uid}`,
          `--regid=${victim.gid}`,
          "--clear-groups",
          crasher,
          String(2560 * 2 ** 20),
          "touch",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const n = big.pid;
      const reader = big.stdout.getReader();
      let said = "";
      while (!said.includes("crashing")) {
        const { value, done } = await reader.read();
        if (done) break;
        said += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      assert.match(said, /crashing/, "the victim's process did not get to its fault");
      // At once, while its core is being written: the attacker's crash, pid N in its own
      // pid namespace, with a small core.
      await crashWithPid(attacker, n, { coreLimit: "unlimited" });
      await big.status;
      const mine = await crashWithCore(n, victim.uid);
      // The attacker's crash is recorded as its own uid (pipe mode: the kernel's %u).
      const theirs = await crashWithCore(n, attacker.uid);
      assert.notEqual(mine.id, theirs.id);
      // The race happened: the attacker's crash was recorded before the victim's core's
      // fate came in (the daemon logs both, in order).
      const log = root.daemon.log;
      const theirCrash = log.indexOf(`crash pid=${n} uid=${attacker.uid} `);
      const myCore = log.indexOf(`core of pid ${n} (crash ${mine.id})`);
      assert.ok(theirCrash >= 0 && myCore >= 0, `log:\n${log.slice(-3000)}`);
      assert.ok(
        theirCrash < myCore,
        `the race was not reproduced: the victim's core was done before the attacker's crash came:\n${
          log.slice(-3000)
        }`,
      );
      // Each core's fate is its own: the attacker's small core kept under its own uid...
      assert.ok(theirs.core?.kept, JSON.stringify(theirs.core));
      assert.match(theirs.core!.path!, new RegExp(`/core\\.crasher\\.${attacker.uid}\\.${n}\\.`));
      assert.ok((theirs.core as { bytes: number }).bytes < 64 << 20, JSON.stringify(theirs.core));
      // ...the victim's big one, too large to keep, on the victim's crash.
      assert.equal(mine.core?.kept, false, JSON.stringify(mine.core));
      assert.ok((mine.core as { bytes: number }).bytes > 1 << 30, JSON.stringify(mine.core));
    } finally {
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
