/**
 * One user cannot block everyone's crash handling through core_pipe_limit (issue #19,
 * item 4), with real crashes. core_pipe_limit is 6 (restored by the core_pattern guard),
 * the notifier keeps cores (`--core-dir`). A temporary user (useradd, userdel whatever
 * happens) crashes 6 processes at once, each with a core of 1.5 GiB (an untouched mapping
 * that the kernel pipes as zeros, seconds to keep). The user's share is 4 helpers
 * (HELD_PER_UID): 4 crashes are held until their cores are kept, the 2 others are released
 * at once and recorded so. Meanwhile root's crash still gets its notification, its
 * snapshot and its history record: the kernel did not skip it as over core_pipe_limit.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { RootJournal } from "../fixtures/rel_journal.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { armBigCrasher, buildBigCrasher, buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry, history, type HistoryEntry } from "../fixtures/history.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();
const CORE_PIPE_LIMIT = "/proc/sys/kernel/core_pipe_limit";
const ATTACKS = 6;
const HELD = 4; // HELD_PER_UID, written here: the test states what it expects
const CORE_MIB = 1536;

Deno.test({
  name: "end to end: one user's crashes hold at most their share; root's crash gets through",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    const big = await buildBigCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-held-" });
    await Deno.chmod(work, 0o755);
    const cores = `/tmp/lths${Deno.pid}`;
    try {
      await using user = await TempUser.create(work);
      await using _root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(
        `|${LAUNCHER} notify --core-dir=${cores} %p %u %g %e %h`,
      );
      await Deno.writeTextFile(CORE_PIPE_LIMIT, String(ATTACKS));
      await using journal = await RootJournal.open();
      await using session = await SnapshotSession.create({ buffers: "uid", output: `${work}/out` });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "-n",
        "root-only",
        "--uid=0",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);

      const armed = await Promise.all(
        Array.from({ length: ATTACKS }, () => armBigCrasher(big, CORE_MIB, user)),
      );
      journal.own(...armed.map((a) => a.pid));
      try {
        // All at once: each gets its byte, then its stdin closes.
        await Promise.all(armed.map((a) => a.go()));
        // The crashes past the user's share are released at once: their processes are
        // reaped while the user's 4 held crashes are still being kept.
        await waitFor(() => armed.filter((a) => a.reaped).length >= ATTACKS - HELD, {
          timeoutMs: 20_000,
          intervalMs: 20,
          what: `${ATTACKS - HELD} of the user's crashes released at once`,
        });
        const held = armed.filter((a) => !a.reaped).length;
        assert.equal(held, HELD, "the user's share of held crashes is still held");

        // Root's crash now: the kernel has a helper free for it.
        const mine = await crash();
        journal.own(mine.pid);
        assert.equal(mine.signal, "SIGSEGV");
        const ours = await crashEntry(mine.pid, 30_000);
        assert.equal(ours.uid, 0);
        assert.equal(ours.outcome, "ok", JSON.stringify(ours));
        const result = ours.results.find((r) => r.trigger === "root-only");
        assert.match(result?.snapshot ?? "", new RegExp(`core-crasher-${mine.pid}`));
        assert.ok((await Deno.stat(result!.snapshot!)).isDirectory);

        for (const a of armed) assert.equal((await a.status).signal, "SIGSEGV");
        // The user's 6 crashes are all in history: 4 with their core kept, 2 released.
        const theirs = await waitFor(async () => {
          const all = (await history()).filter((c) =>
            c.uid === user.uid
          ) as (HistoryEntry & { released?: true })[];
          const settled = all.filter((c) => c.released === true || c.core !== undefined);
          return settled.length === ATTACKS ? all : undefined;
        }, { timeoutMs: 30_000, what: "the user's crashes and their cores in history" });
        const released = theirs.filter((c) => c.released === true);
        assert.equal(released.length, ATTACKS - HELD, JSON.stringify(theirs));
        assert.ok(released.every((c) => c.core === undefined), "no core kept for them");
        const kept = theirs.filter((c) => c.core?.kept === true);
        assert.equal(kept.length, HELD, JSON.stringify(theirs.map((c) => c.core)));
        const shown = await runLauncher(["show", String(released[0].pid)]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /held: +no: released at once, its user held its share/);
      } finally {
        for (const a of armed) await a.stop();
      }
    } finally {
      await Deno.remove(cores, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
});
