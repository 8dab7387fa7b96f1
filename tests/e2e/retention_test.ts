/**
 * Snapshot retention for real (issue #21, item 5): a real lttng-sessiond, a snapshot
 * trigger with --max-snapshots=2, four real traced crashes. Two snapshot directories are
 * left, the two newest; history and show say the others were removed, and why.
 */
import assert from "node:assert/strict";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, NOTIFY_PATTERN, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon } from "../fixtures/lttng.ts";
import { snapshotTrigger } from "../fixtures/snapshot_trigger.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry, history } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const skip = await e2eUnavailable();

async function snapshotDirs(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith("core-")) names.push(e.name);
  return names.sort();
}

Deno.test({
  name: "set --max-snapshots=2: four crashes leave the two newest snapshots, history says why",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "ltt-retain-" });
    await Deno.chmod(work, 0o755);
    try {
      await using root = await RootDaemon.start(`${work}/state`);
      await using _pattern = await CorePatternGuard.set(NOTIFY_PATTERN);
      const out = `${work}/out`;
      await using _trigger = await snapshotTrigger(out, "retain-e2e", ["--max-snapshots=2"]);
      const pids: number[] = [];
      const snapshots: string[] = [];
      for (const size of [1111, 2222, 3333, 4444]) {
        const run = await crash({ lastAlloc: size });
        const entry = await crashEntry(run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        pids.push(run.pid);
        snapshots.push(entry.results[0].snapshot!);
      }
      const removed = await waitFor(async () => {
        const mine = (await history()).filter((h) => pids.includes(h.pid));
        const gone = mine.filter((h) =>
          (h.results[0] as { removed?: { reason: string } }).removed !== undefined
        );
        return gone.length === 2 ? gone : undefined;
      }, { timeoutMs: 20_000, what: "two snapshots recorded as removed" });
      assert.deepEqual(removed.map((h) => h.pid), pids.slice(0, 2));
      for (const h of removed) {
        assert.equal(
          (h.results[0] as { removed?: { reason: string } }).removed?.reason,
          "trigger retain-e2e keeps its 2 newest snapshot(s) (--max-snapshots=2)",
        );
      }
      assert.deepEqual(
        await snapshotDirs(out),
        snapshots.slice(2).map((s) => s.slice(s.lastIndexOf("/") + 1)).sort(),
      );
      const shown = await runLauncher(["show", String(pids[0])]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        /snapshot: +\S+ \(removed [^:]+:\d\d:\d\dZ?: trigger retain-e2e keeps its 2 newest snapshot\(s\) \(--max-snapshots=2\)\)/,
      );
      assert.match(shown.stdout, /^No events: the snapshot was removed by retention: /m);
      const listed = await runLauncher(["history"]);
      assert.match(listed.stdout, new RegExp(`\\b${pids[0]}\\b.*\\(removed\\)`));
      assert.match(
        root.daemon.log,
        /snapshot retention: removed \S+ \(crash \d+\): trigger retain-e2e keeps/,
      );
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
