/**
 * A package upgrade of the chained handler (issue #21, item 2), for real: `install
 * --chain` over Debian's systemd-coredump, then `apt-get install --reinstall
 * systemd-coredump`, whose postinst writes its sysctl file (core_pattern,
 * core_pipe_limit, fs.suid_dumpable). The root daemon notices within seconds, puts
 * lttng-trig's chain back and logs it; the next real crash fires the trigger again.
 * core_pattern, core_pipe_limit and fs.suid_dumpable are put back by the guard.
 */
import assert from "node:assert/strict";
import { requirement } from "../fixtures/require.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { runLauncher, type RunResult } from "../fixtures/launcher.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon } from "../fixtures/lttng.ts";
import { snapshotTrigger } from "../fixtures/snapshot_trigger.ts";
import { crashEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";

const SYSTEMD_COREDUMP = "/lib/systemd/systemd-coredump";
/** Debian 12's pattern, as its sysctl file writes it. */
const SYSTEMD_PATTERN = `|${SYSTEMD_COREDUMP} %P %u %g %s %t 9223372036854775808 %h %d`;
const CORE_PATTERN = "/proc/sys/kernel/core_pattern";

const skip = await e2eUnavailable() ??
  (await Deno.lstat(SYSTEMD_COREDUMP).then(
    () => undefined,
    () => "systemd-coredump is not installed (apt-get install systemd-coredump)",
  ));

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** apt-get reinstalls the real package: from apt's cache, or the network. */
async function reinstallSystemdCoredump(): Promise<void> {
  const out = await new Deno.Command("apt-get", {
    args: [
      "-o",
      "DPkg::Lock::Timeout=120",
      "install",
      "--reinstall",
      "-y",
      "-q",
      "systemd-coredump",
    ],
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `apt-get install --reinstall systemd-coredump:\n${text}`);
}

Deno.test({
  name:
    "apt-get install --reinstall systemd-coredump takes core_pattern back: the daemon re-applies the chain, and crashes reach lttng-trig again",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    // A short directory (0700, root's): the chained pattern, with --state-dir, must fit
    // the kernel's 127 bytes. The daemon's state is the same directory: it watches the
    // install.json that install wrote there.
    // Under /run, not /tmp: install refuses a launcher link below a sticky directory.
    const home = `/run/lu${Deno.pid}`;
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.mkdir(home, { mode: 0o700 });
    const exe = `${home}/lttng-trig`;
    await Deno.symlink(await Deno.realPath(LAUNCHER), exe);
    const work = await Deno.makeTempDir({ prefix: "ltt-upgrade-" });
    await Deno.chmod(work, 0o755);
    try {
      // The end-to-end lock, then the core_pattern lock, as every test takes them.
      await using root = await RootDaemon.start(home);
      await using guard = await CorePatternGuard.set(SYSTEMD_PATTERN);
      await Deno.writeTextFile("/proc/sys/kernel/core_pipe_limit", "16");
      await using _trigger = await snapshotTrigger(`${work}/out`, "upgrade-e2e");
      try {
        const r = await runLauncher(["install", "--chain", `--exe=${exe}`, `--state-dir=${home}`]);
        assert.equal(r.code, 0, show(r));
        const ours = (await Deno.readTextFile(CORE_PATTERN)).trim();
        assert.ok(ours.startsWith(`|${exe} notify `), ours);

        const aptStart = performance.now();
        await reinstallSystemdCoredump();
        const reinstalled = performance.now();
        // The package wrote its own pattern back; the daemon puts ours back, within seconds.
        await waitFor(
          () => root.daemon.log.includes("re-applied lttng-trig's chain"),
          { timeoutMs: 15_000, what: "the daemon's log line saying it re-applied the chain" },
        );
        console.log(
          `e2e figures: apt-get --reinstall took ${
            Math.round(reinstalled - aptStart)
          } ms; the chain was back ${
            Math.round(performance.now() - reinstalled)
          } ms after it returned (0: before; the watch reads core_pattern every second)`,
        );
        assert.equal((await Deno.readTextFile(CORE_PATTERN)).trim(), ours);
        assert.match(
          root.daemon.log,
          new RegExp(
            `core_pattern was set back to /lib/systemd/systemd-coredump's own \\('\\|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d'\\), as a package upgrade does: re-applied lttng-trig's chain`,
          ),
        );
        assert.equal(await Deno.readTextFile("/proc/sys/kernel/core_pipe_limit"), "16\n");
        // The remembered previous pattern is the handler's, unchanged.
        const state = JSON.parse(await Deno.readTextFile(`${home}/install.json`));
        assert.equal(state.previous.corePattern, `${SYSTEMD_PATTERN}\n`);

        const status = await runLauncher(["status", `--state-dir=${home}`]);
        assert.match(status.stdout, /^core_pattern: installed /m, show(status));
        assert.match(
          status.stdout,
          /^core_pattern watch: \S+: \/lib\/systemd\/systemd-coredump took core_pattern back \(a package upgrade\): the daemon re-applied lttng-trig's chain$/m,
        );

        const run = await crash({ lastAlloc: 13579 });
        assert.equal(run.signal, "SIGSEGV");
        const entry = await crashEntry(run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        assert.ok(
          entry.results[0].snapshot?.includes(`core-crasher-${run.pid}-`),
          JSON.stringify(entry),
        );

        // Any other change: not undone, and said in the log and by status (exit 1).
        await guard.rewrite("core");
        await waitFor(() => root.daemon.log.includes("Warning: core_pattern changed to 'core'"), {
          timeoutMs: 15_000,
          what: "the daemon's warning that core_pattern changed",
        });
        const lost = await runLauncher(["status", `--state-dir=${home}`]);
        assert.equal(lost.code, 1, show(lost));
        assert.match(
          lost.stdout,
          /^core_pattern watch: \S+: the daemon saw core_pattern change to 'core': crashes no longer reach lttng-trig$/m,
        );
        assert.match(
          lost.stdout,
          /^chained handler: .*but core_pattern no longer runs lttng-trig/m,
        );
        assert.equal((await Deno.readTextFile(CORE_PATTERN)).trim(), "core");
        // A chain recorded: status suggests --chain, never --force.
        await guard.rewrite(SYSTEMD_PATTERN);
        const back = await runLauncher(["status", `--state-dir=${home}`]);
        assert.doesNotMatch(back.stdout, /--force/);
      } finally {
        await runLauncher(["uninstall", "--force", `--state-dir=${home}`]);
      }
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
