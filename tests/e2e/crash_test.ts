/**
 * End to end, for real: a real lttng-sessiond, real snapshot sessions, a real program
 * that crashes under liblttng-ust-libc-wrapper, core_pattern pointing at bin/lttng-trig
 * exactly as users write it, and the snapshot read back with babeltrace2.
 *
 * The root daemon runs on the root run directory (/var/run/lttng), since the kernel
 * runs the notifier with the default paths; its state is in a temporary directory.
 */
import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry, history, type HistoryEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";

const PATTERN = `|${LAUNCHER} notify %p %u %g %e %h`;

const skip = await e2eUnavailable();

async function set(...args: string[]): Promise<void> {
  const r = await runLauncher(["set", ...args]);
  assert.equal(r.code, 0, `set ${args.join(" ")}: ${r.stderr}`);
}

async function remove(name: string): Promise<void> {
  const r = await runLauncher(["remove", name]);
  assert.equal(r.code, 0, r.stderr);
}

/** The malloc events of `pid` in the snapshot, read with babeltrace2. */
async function mallocsOf(snapshot: string, pid: number): Promise<string[]> {
  const events = await readTrace(snapshot);
  return events.filter((e) => e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${pid} `));
}

Deno.test({
  name: "end to end: a real crash under core_pattern fires lttng-trig's triggers",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-e2e-" });
    await Deno.chmod(work, 0o755);
    const stateDir = `${work}/state`;
    try {
      await using root = await RootDaemon.start(stateDir);
      await using pattern = await CorePatternGuard.set(PATTERN);
      const figures: string[] = [];

      for (const buffers of ["uid", "pid"] as const) {
        await t.step(
          `the snapshot of a per-${buffers} session holds the crashed process's last allocation`,
          async () => {
            await using session = await SnapshotSession.create({
              buffers,
              output: `${work}/out-${buffers}`,
            });
            await set("-s", session.name, "--name", `e2e-${buffers}`, "OnAnyCoreDump", "snapshot");
            try {
              const size = buffers === "uid" ? 31337 : 27183;
              const run = await crash({ lastAlloc: size });
              assert.equal(run.signal, "SIGSEGV");
              const entry = await crashEntry(run.pid);
              assert.equal(entry.execName, "crasher");
              assert.equal(entry.outcome, "ok", JSON.stringify(entry));
              // Read by the daemon from /proc/PID, proved to be the held process.
              const crasher = await buildCrasher();
              assert.equal(entry.globalPid, run.pid, JSON.stringify(entry));
              assert.equal(entry.exePath, await Deno.realPath(crasher));
              assert.deepEqual(entry.cmdline, [crasher, String(size)]);
              const result = entry.results.find((r) => r.trigger === `e2e-${buffers}`);
              assert.ok(result?.snapshot, JSON.stringify(entry));
              const snapshot = result.snapshot;
              assert.ok(
                snapshot.startsWith(`${work}/out-${buffers}/core-crasher-${run.pid}-`),
                snapshot,
              );
              assert.ok((await Deno.stat(snapshot)).isDirectory);
              const mallocs = await mallocsOf(snapshot, run.pid);
              assert.ok(mallocs.length > 0, `no malloc of pid ${run.pid} in ${snapshot}`);
              assert.match(mallocs[mallocs.length - 1], new RegExp(`size = ${size}\\b`));
              figures.push(
                `per-${buffers}: crash-to-release ${run.releaseMs.toFixed(0)} ms, snapshot action ${
                  (result as { durationMs?: number }).durationMs
                } ms`,
              );
            } finally {
              await remove(`e2e-${buffers}`);
            }
          },
        );
      }

      await t.step("a crash of another user's process fires the root trigger", async () => {
        await using session = await SnapshotSession.create({
          buffers: "uid",
          output: `${work}/out-other`,
        });
        await set("-s", session.name, "--name", "e2e-other", "OnAnyCoreDump", "snapshot");
        try {
          const run = await crash({ lastAlloc: 4242, asUid: 65534, asGid: 65534 });
          assert.equal(run.signal, "SIGSEGV");
          const entry = await crashEntry(run.pid);
          assert.equal(entry.uid, 65534);
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          const snapshot = entry.results[0].snapshot!;
          const mallocs = await mallocsOf(snapshot, run.pid);
          assert.ok(mallocs.length > 0, `no malloc of pid ${run.pid} in ${snapshot}`);
          assert.match(mallocs[mallocs.length - 1], /size = 4242\b/);
        } finally {
          await remove("e2e-other");
        }
      });

      await t.step("the stop action stops its session", async () => {
        await using session = await SnapshotSession.create({
          buffers: "uid",
          output: `${work}/out-stop`,
        });
        assert.equal(await session.active(), true);
        await set("-s", session.name, "--name", "e2e-stop", "OnAnyCoreDump", "stop");
        try {
          const run = await crash();
          const entry = await crashEntry(run.pid);
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          assert.equal(await session.active(), false);
        } finally {
          await remove("e2e-stop");
        }
      });

      await t.step(
        "with --facts and --core-dir: signal and exe filters, a kept zstd core, show",
        async () => {
          await using session = await SnapshotSession.create({
            buffers: "pid",
            output: `${work}/out-facts`,
          });
          await set(
            "-s",
            session.name,
            "--name",
            "e2e-facts",
            "--signal=SIGSEGV",
            "--exec=**/build/crasher",
            "OnAnyCoreDump",
            "snapshot",
          );
          // A trigger whose filter does not match this crash.
          await set(
            "-s",
            session.name,
            "--name",
            "e2e-abrt",
            "--signal=SIGABRT",
            "OnAnyCoreDump",
            "stop",
          );
          // The kernel keeps 127 bytes of pattern, and the checkout's path is part of it: a
          // short directory, and a short link to the launcher when the checkout's is long.
          const cores = `/tmp/ltc${Deno.pid}`;
          const factsPattern = (exe: string) =>
            `|${exe} notify --core-dir=${cores} --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h`;
          let link: string | undefined;
          try {
            await Deno.remove(cores, { recursive: true }).catch(() => {});
            if (factsPattern(LAUNCHER).length > 127) {
              link = `/tmp/ltt${Deno.pid}`;
              await Deno.remove(link).catch(() => {});
              await Deno.symlink(LAUNCHER, link);
            }
            await pattern.rewrite(factsPattern(link ?? LAUNCHER));
            const run = await crash({ lastAlloc: 7777, coreLimit: "unlimited" });
            const entry = await waitFor(async () => {
              const c = (await history()).find((h) => h.pid === run.pid) as
                | HistoryEntry & { core?: { kept: boolean; path?: string }; signal?: number }
                | undefined;
              return c?.core !== undefined && c.outcome !== "pending" ? c : undefined;
            }, { timeoutMs: 20_000, what: "the crash and its core in history" });
            assert.equal(entry.signal, 11);
            assert.deepEqual(entry.results.map((r) => r.trigger), ["e2e-facts"]);
            assert.equal(entry.outcome, "ok", JSON.stringify(entry));
            assert.ok(entry.core?.kept, JSON.stringify(entry.core));
            const core = entry.core!.path!;
            assert.ok(core.startsWith(`${cores}/core.crasher.0.${run.pid}.`), core);
            assert.equal((await Deno.stat(core)).mode! & 0o777, 0o600);
            assert.equal((await Deno.stat(cores)).mode! & 0o777, 0o700);
            const elf = zstdDecompressSync(await Deno.readFile(core));
            assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]); // \x7fELF
            assert.equal(elf[16], 4); // e_type ET_CORE
            const shown = await runLauncher(["show", String(run.pid)]);
            assert.equal(shown.code, 0, shown.stderr);
            assert.match(shown.stdout, /signal: +SIGSEGV/);
            assert.match(shown.stdout, /command: +.*\/build\/crasher"? 7777\n/);
            assert.match(shown.stdout, new RegExp(`Last \\d+ events of pid ${run.pid}`));
            assert.match(shown.stdout, /lttng_ust_libc:malloc: .*size = 7777\b/);
          } finally {
            await pattern.rewrite(PATTERN);
            await Deno.remove(cores, { recursive: true }).catch(() => {});
            if (link !== undefined) await Deno.remove(link);
            await remove("e2e-facts");
            await remove("e2e-abrt");
          }
        },
      );

      await t.step("triggers survive a daemon restart and still fire", async () => {
        await using session = await SnapshotSession.create({
          buffers: "uid",
          output: `${work}/out-restart`,
        });
        await set("-s", session.name, "--name", "e2e-restart", "OnAnyCoreDump", "snapshot");
        const status = await root.restart();
        assert.equal(status.code, 0, root.daemon.log);
        const listed = await runLauncher(["list"]);
        assert.match(listed.stdout, /e2e-restart/);
        const run = await crash();
        const entry = await crashEntry(run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        assert.ok(entry.results[0].snapshot?.includes(`core-crasher-${run.pid}-`));
        await remove("e2e-restart");
      });

      console.log(`e2e figures: ${figures.join("; ")}`);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
