/**
 * Coredump-socket mode, for real (Linux 6.16+): `lttng-trig install --socket` points
 * core_pattern at the daemon's socket, the kernel streams each core to the daemon with
 * no helper process, and the daemon reads who crashed from the core's notes.
 */
import assert from "node:assert/strict";
import { zstdDecompressSync } from "node:zlib";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, connectAs, crash } from "../fixtures/crasher.ts";
import { crashEntry, history, type HistoryEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { kernelOlderThan, kernelRequirement, requirement } from "../fixtures/require.ts";

const SOCKET = "/var/run/lttng/coredump-lttng-trig";
// What core_pattern names: the kernel follows no symlink (/var/run -> /run).
const REAL_SOCKET = `${await Deno.realPath("/var/run")}/lttng/coredump-lttng-trig`;
const tooOld = kernelOlderThan(6, 16);
const skip = tooOld ? undefined : await e2eUnavailable();

/**
 * Watch /proc, until `stop` resolves, for a process running lttng-trig's notifier: the
 * helper the kernel starts in pipe mode.
 */
async function watchForNotifier(stop: Promise<unknown>): Promise<number> {
  let seen = 0;
  let done = false;
  stop.finally(() => done = true);
  while (!done) {
    for await (const e of Deno.readDir("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
        if (cmd.includes("main.ts\0notify\0") || cmd.includes("lttng-trig\0notify\0")) seen++;
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return seen;
}

Deno.test({
  name: "end to end: coredump-socket mode, with no helper process",
  ignore: kernelRequirement("socket mode", 6, 16) || requirement(skip),
  async fn(t) {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-sock-" });
    await Deno.chmod(work, 0o755);
    const state = `${work}/state`;
    try {
      const cores = `${work}/cores`;
      await using root = await RootDaemon.start(state, [`--core-dir=${cores}`]);
      await using pattern = await CorePatternGuard.set("core");
      await using session = await SnapshotSession.create({ buffers: "pid", output: `${work}/out` });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "-n",
        "sock",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, set.stderr);

      await t.step("the daemon is protected from dumping into its own socket", async () => {
        const s = await runLauncher(["status", "--json", `--state-dir=${state}`]);
        const daemon = JSON.parse(s.stdout).daemon;
        assert.equal(daemon.coredumpSocket, SOCKET);
        assert.equal(daemon.selfDump.protected, true, daemon.selfDump.reason);
      });

      await t.step("install --socket writes @socket, after checking the daemon", async () => {
        const r = await runLauncher(["install", "--socket", `--state-dir=${state}`]);
        assert.equal(r.code, 0, r.stderr);
        const now = (await Deno.readTextFile("/proc/sys/kernel/core_pattern")).trim();
        assert.equal(now, `@${REAL_SOCKET}`);
        const s = await runLauncher(["status", `--state-dir=${state}`]);
        assert.equal(s.code, 0, s.stdout + s.stderr);
      });

      const figures: string[] = [];
      await t.step("a crash goes to the daemon, whose snapshot holds the last events", async () => {
        const crashed = crash({ lastAlloc: 24680 });
        const helpers = await watchForNotifier(crashed);
        const run = await crashed;
        assert.equal(helpers, 0, "a notifier process ran in socket mode");
        const entry = await crashEntry(run.pid);
        assert.equal(entry.source, "socket");
        assert.equal(entry.uid, 0);
        assert.equal(entry.execName, "crasher");
        assert.equal(entry.signal, 11);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        const events = (await readTrace(entry.results[0].snapshot!)).filter((e) =>
          e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${run.pid} `)
        );
        assert.match(events[events.length - 1], /size = 24680\b/);
        figures.push(
          `socket mode crash-to-release ${run.releaseMs.toFixed(0)} ms (the core kept first)`,
        );
        // The daemon kept the core it received, after the snapshot: zstd, an ELF core.
        const kept = await waitFor(async () => {
          const c = (await history()).find((h) => h.pid === run.pid) as
            | HistoryEntry & { core?: { kept: boolean; path?: string; reason?: string } }
            | undefined;
          return c?.core;
        }, { what: "the core's fate in history" });
        assert.ok(kept.kept, kept.reason);
        assert.ok(kept.path!.startsWith(`${cores}/core.crasher.0.${run.pid}.`), kept.path);
        const elf = zstdDecompressSync(await Deno.readFile(kept.path!));
        assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
        assert.equal(elf[16], 4); // ET_CORE
        // /proc/PID, looked at while the dump was held, proved to be the crashed process,
        // in the daemon's pid and UTS namespaces: the pid is global, the hostname its own.
        assert.equal(entry.globalPid, run.pid, JSON.stringify(entry));
        assert.equal(entry.hostname, Deno.hostname());
        assert.equal(entry.hostnameNote, undefined);
        const crasher = await buildCrasher();
        assert.equal(entry.exePath, await Deno.realPath(crasher));
        assert.deepEqual(entry.cmdline, [crasher, "24680"]);
      });

      await t.step(
        "a crash in a UTS namespace of its own: the hostname is not the daemon's",
        async () => {
          const run = await crash({ lastAlloc: 4321, ownUtsNamespace: true });
          const entry = await crashEntry(run.pid);
          assert.equal(entry.outcome, "ok", JSON.stringify(entry));
          assert.equal(entry.hostname, "", JSON.stringify(entry));
          assert.match(entry.hostnameNote ?? "", /another UTS namespace/);
          assert.equal(entry.globalPid, run.pid);
          const shown = await runLauncher(["show", String(run.pid)]);
          assert.equal(shown.code, 0, shown.stderr);
          assert.match(shown.stdout, /host: +unknown \(not known: another UTS namespace/);
        },
      );

      await t.step("another user's crash is recorded with that user's uid", async () => {
        const run = await crash({ lastAlloc: 1357, asUid: 65534, asGid: 65534 });
        const entry = await crashEntry(run.pid);
        assert.equal(entry.uid, 65534);
        assert.equal(entry.source, "socket");
        assert.equal(entry.globalPid, run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        const events = (await readTrace(entry.results[0].snapshot!)).filter((e) =>
          e.includes(`vpid = ${run.pid} `) && e.includes("malloc")
        );
        assert.match(events[events.length - 1], /size = 1357\b/);
      });

      await t.step(
        "a crash in a user namespace is recorded with its global uid, not the core's",
        async () => {
          // As root, unshare -U --map-user=1234: the core's pr_uid is 1234, the uid in
          // the namespace; the process is root's (global uid 0).
          const set = await runLauncher([
            "set",
            "-s",
            session.name,
            "-n",
            "ns-uid",
            "--uid=1234",
            "OnAnyCoreDump",
            "snapshot",
          ]);
          assert.equal(set.code, 0, set.stderr);
          try {
            for (const map of [["--map-user=1234"], ["--map-user=1234", "--map-group=1234"]]) {
              const run = await crash({ userNamespace: map });
              const entry = await crashEntry(run.pid) as HistoryEntry & {
                gid: number;
                uidVerified?: boolean;
                uidNote?: string;
              };
              assert.equal(entry.source, "socket");
              assert.equal(entry.uid, 0, JSON.stringify(entry));
              assert.equal(entry.gid, 0, JSON.stringify(entry));
              assert.equal(entry.uidVerified, undefined);
              assert.match(entry.uidNote ?? "", /core's uid 1234 is its user namespace's/);
              assert.equal(entry.globalPid, run.pid);
              assert.deepEqual(entry.results.map((r) => r.trigger), ["sock"]);
            }
          } finally {
            const rm = await runLauncher(["remove", "ns-uid"]);
            assert.equal(rm.code, 0, rm.stderr);
          }
        },
      );

      await t.step("other users cannot connect to the coredump socket", async () => {
        assert.equal(await connectAs(65534, SOCKET), "Permission denied");
        assert.equal(await connectAs(0, SOCKET), "connected");
      });

      await t.step("fake and truncated cores are refused and touch nothing", async () => {
        const before = (await history()).length;
        const fakes = [
          new TextEncoder().encode("this is not a core at all, just some bytes\n"),
          new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]),
          new Uint8Array(0),
        ];
        for (const fake of fakes) {
          const c = await Deno.connect({ transport: "unix", path: SOCKET });
          await c.write(fake).catch(() => 0);
          await c.closeWrite();
          // The daemon closes a connection it refuses.
          const n = await c.read(new Uint8Array(1)).catch(() => null);
          assert.equal(n, null);
          c.close();
        }
        assert.equal((await history()).length, before);
        await waitFor(() => /refused a connection: Not a core/.test(root.daemon.log), {
          what: `the daemon to log the fake core: ${root.daemon.log.slice(-800)}`,
        });
        await waitFor(() => /refused a connection: Core truncated/.test(root.daemon.log), {
          what: "the daemon to log the truncated core",
        });
      });

      await t.step("pipe mode, for comparison: the notifier does run", async () => {
        await pattern.rewrite(`|${LAUNCHER} notify %p %u %g %e %h`);
        try {
          const crashed = crash();
          const helpers = await watchForNotifier(crashed);
          const run = await crashed;
          assert.ok(helpers > 0, "the /proc watch saw no notifier: it would prove nothing");
          figures.push(`pipe mode crash-to-release ${run.releaseMs.toFixed(0)} ms`);
          await crashEntry(run.pid);
        } finally {
          await pattern.rewrite(`@${REAL_SOCKET}`);
        }
      });

      await t.step("uninstall restores the previous pattern", async () => {
        const r = await runLauncher(["uninstall", `--state-dir=${state}`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await Deno.readTextFile("/proc/sys/kernel/core_pattern")).trim(), "core");
        await pattern.rewrite(`@${REAL_SOCKET}`);
      });

      await t.step("the daemon crashing in socket mode dies at once: no deadlock", async () => {
        const started = performance.now();
        // SIGABRT, as a Rust panic in the runtime would raise (V8 catches SIGSEGV).
        Deno.kill(root.daemon.pid, "SIGABRT");
        const status = await Promise.race([
          root.daemon.statusPromise,
          new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
        ]);
        assert.ok(status !== null, "the daemon is still dumping into its own socket");
        assert.equal(status.signal, "SIGABRT");
        figures.push(`daemon SIGABRT to exit ${(performance.now() - started).toFixed(0)} ms`);
        await root.restart().catch(() => {});
      });
      console.log(`socket figures: ${figures.join("; ")}`);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
