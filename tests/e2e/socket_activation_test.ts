/**
 * Socket mode with the coredump socket held for the daemon (issue #21, item 3), for
 * real: `systemd-socket-activate` emulates lttng-trig.socket. A real traced program
 * crashes while no daemon runs: the kernel's connection waits in the socket's backlog,
 * starts the daemon (which takes the socket as fd 3, LISTEN_FDS), and the crash is in
 * the history with its snapshot. The activator (then the daemon it became) is stopped
 * by pid.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { awaitListening } from "../fixtures/daemon.ts";
import { readTrace, SessionDaemon } from "../fixtures/lttng.ts";
import { snapshotTrigger } from "../fixtures/snapshot_trigger.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";
import { kernelOlderThan, kernelRequirement, requirement } from "../fixtures/require.ts";

// What core_pattern names: the kernel follows no symlink (/var/run -> /run).
const REAL_SOCKET = `${await Deno.realPath("/var/run")}/lttng/coredump-lttng-trig`;
const tooOld = kernelOlderThan(6, 16);
const skip = tooOld ? undefined : await e2eUnavailable() ??
  await new Deno.Command("systemd-socket-activate", { args: ["--version"], stdout: "null" })
    .output().then(() => undefined, () => "systemd-socket-activate is not installed (systemd)");

Deno.test({
  name: "socket mode: a crash while the daemon is down waits in the held socket's backlog",
  ignore: kernelRequirement("socket mode", 6, 16) || requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "ltt-sockact-" });
    await Deno.chmod(work, 0o755);
    const state = `${work}/state`;
    try {
      await using root = await RootDaemon.start(state);
      await using _pattern = await CorePatternGuard.set("core");
      await using trigger = await snapshotTrigger(`${work}/out`, "sockact-e2e");
      // Without the unit, install --socket says what a restart costs.
      const installed = await runLauncher(["install", "--socket", `--state-dir=${state}`]);
      assert.equal(installed.code, 0, installed.stderr);
      assert.match(
        installed.stdout,
        /^Without the socket unit lttng-trig\.socket \(dist\/systemd, 'systemctl enable --now lttng-trig\.socket'\), the daemon holds the coredump socket itself: while it is down or restarting, the kernel drops every crash and nothing records it\.$/m,
      );
      const own = await runLauncher(["status", `--state-dir=${state}`]);
      assert.match(own.stdout, /^Warning: coredump socket: held by the daemon itself: /m);
      assert.equal(
        (await Deno.readTextFile("/proc/sys/kernel/core_pattern")).trim(),
        `@${REAL_SOCKET}`,
      );

      // The daemon goes down; the socket unit, emulated, holds the socket.
      await root.daemon.stop();
      const activator = new Deno.Command("systemd-socket-activate", {
        args: ["-l", REAL_SOCKET, "--fdname=coredump", LAUNCHER, "daemon", `--state-dir=${state}`],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      try {
        await waitFor(() => Deno.lstat(REAL_SOCKET).then((s) => s.isSocket, () => false), {
          timeoutMs: 10_000,
          what: "the activator's socket",
        });
        // No daemon runs: the crash waits in the backlog, and its connection starts one.
        const crashed = crash({ lastAlloc: 97531 });
        const daemon = await awaitListening(activator, 30_000);
        root.daemon = daemon; // stopped by pid at the end, like the fixture's own
        const run = await crashed;
        assert.equal(run.signal, "SIGSEGV");
        const entry = await crashEntry(run.pid, 30_000);
        assert.equal(entry.source, "socket");
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        const events = (await readTrace(entry.results[0].snapshot!)).filter((e) =>
          e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${run.pid} `)
        );
        assert.match(events.at(-1) ?? "", /size = 97531\b/);
        assert.match(
          daemon.log,
          /coredump socket: fd 3 passed by systemd: crashes wait in its backlog/,
        );
        const held = await runLauncher(["status", `--state-dir=${state}`]);
        assert.match(
          held.stdout,
          /^coredump socket: held by lttng-trig\.socket: crashes wait in its backlog while the daemon restarts$/m,
        );
        void trigger;
      } finally {
        try {
          activator.kill("SIGTERM");
        } catch { /* exited */ }
        await activator.status;
        await Deno.remove(REAL_SOCKET).catch(() => {});
      }
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
