/**
 * `install --chain` on the real kernel: lttng-trig runs the crash handler it replaced, as
 * the kernel would have. Under the core_pattern lock and save/restore of
 * tests/fixtures/core_pattern.ts. lttng-trig is named by a short link and the state
 * directory is short, so that the installed patterns fit the kernel's 127 bytes.
 */
import assert from "node:assert/strict";
import { kernelOlderThan, requirement } from "../fixtures/require.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { runLauncher, type RunResult } from "../fixtures/launcher.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { crashEntry, history, type HistoryEntry } from "../fixtures/history.ts";
import { waitFor } from "../fixtures/wait.ts";

const skip = Deno.uid() === 0 ? undefined : "install writes core_pattern: needs root";
if (skip !== undefined) console.error(`chain e2e: skipped: ${skip}`);

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** A short directory (0700, root's) with a link `lttng-trig` to the launcher. */
async function shortHome(): Promise<
  { dir: string; exe: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const dir = `/tmp/c${Deno.pid}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  const exe = `${dir}/lttng-trig`;
  await Deno.symlink(await Deno.realPath(LAUNCHER), exe);
  return { dir, exe, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function trig(...args: string[]): Promise<RunResult> {
  return await runLauncher(args, { timeoutMs: 30_000 });
}

/** A handler script that records its argv, cwd, environment, fd 3 and stdin in `out`. */
async function recorder(path: string, out: string, exit = 0): Promise<void> {
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
out=${out}
printf '%s\\0' "$@" > $out/argv
readlink /proc/$$/cwd > $out/cwd
cat /proc/$$/environ > $out/env
readlink /proc/$$/fd/3 > $out/fd3 2>/dev/null
cat > $out/core
exit ${exit}
`,
    { mode: 0o755 },
  );
  await Deno.chmod(path, 0o755);
}

/** A crasher whose comm has a space: a copy of it named `my crash`. */
async function spacedCrash(dir: string): Promise<{ pid: number; signal: Deno.Signal | null }> {
  const path = `${dir}/my crash`;
  await Deno.copyFile(await buildCrasher(), path);
  await Deno.chmod(path, 0o755);
  const child = new Deno.Command(path, { args: ["4096"], stdout: "null", stderr: "null" }).spawn();
  const status = await child.status;
  return { pid: child.pid, signal: status.signal };
}

const decoder = new TextDecoder();
const text = async (p: string) => decoder.decode(await Deno.readFile(p));

Deno.test({
  name:
    "install --chain runs the previous handler with the crash's arguments, cwd /, no environment, the core",
  ignore: requirement(skip),
  async fn(t) {
    await using home = await shortHome();
    const out = `${home.dir}/out`;
    await Deno.mkdir(out);
    const handler = `${home.dir}/h`;
    await recorder(handler, out);
    await using guard = await CorePatternGuard.set("core");
    const hostname = Deno.hostname();

    async function chained(pattern: string): Promise<{ pid: number; argv: string[] }> {
      await guard.rewrite(pattern);
      await Deno.writeTextFile("/proc/sys/kernel/core_pipe_limit", "0");
      const r = await trig("install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^Chained: after its own actions, lttng-trig runs /m, show(r));
      try {
        for (const f of ["argv", "cwd", "env", "fd3", "core"]) {
          await Deno.remove(`${out}/${f}`).catch(() => {});
        }
        // No daemon runs: every crash reaches the chained handler all the same.
        const run = await spacedCrash(home.dir);
        assert.equal(run.signal, "SIGSEGV");
        await waitFor(() => Deno.lstat(`${out}/core`).then(() => true, () => false), {
          timeoutMs: 10_000,
        });
        const argv = (await text(`${out}/argv`)).split("\0").slice(0, -1);
        assert.equal((await text(`${out}/cwd`)).trim(), "/");
        assert.equal(await text(`${out}/env`), "");
        const core = await Deno.readFile(`${out}/core`);
        assert.ok(core.byteLength > 4096, `core of ${core.byteLength} bytes`);
        assert.deepEqual([...core.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
        return { pid: run.pid, argv };
      } finally {
        const u = await trig("uninstall", `--state-dir=${home.dir}`);
        assert.equal(u.code, 0, show(u));
        assert.equal(await Deno.readTextFile("/proc/sys/kernel/core_pattern"), `${pattern}\n`);
        assert.equal(await Deno.readTextFile("/proc/sys/kernel/core_pipe_limit"), "0\n");
      }
    }

    await t.step("pids, ids, signal, time, hostname and a spaced %e, glued to text", async () => {
      const before = Math.floor(Date.now() / 1000);
      const { pid, argv } = await chained(`|${handler} -p%p %P %i %I %u %g %d %s %t %h %e`);
      const [p, P, i, I, u, g, d, s, time, h, e] = argv;
      assert.deepEqual([p, P, i, I, u, g, d, s], [
        `-p${pid}`,
        `${pid}`,
        `${pid}`,
        `${pid}`,
        "0",
        "0",
        "1",
        "11",
      ]);
      assert.ok(Number(time) >= before - 1 && Number(time) <= before + 30, time);
      assert.equal(h, hostname);
      assert.equal(e, "my crash");
      assert.equal(argv.length, 11, JSON.stringify(argv));
    });

    await t.step("%f %E %c %C %F %%, an unknown specifier, a pidfd on fd 3", async () => {
      const { argv } = await chained(`|${handler} %f %E %c %C %F 100%% x%e%%y %Z end`);
      const exe = `${home.dir}/my crash`.replaceAll("/", "!");
      const [f, E, c, C, F, pct, glued, unknown, end] = argv;
      assert.equal(f, "my crash");
      assert.equal(E, exe);
      assert.match(c, /^\d+$/);
      assert.match(C, /^\d+$/);
      assert.ok(Number(C) < navigator.hardwareConcurrency, C);
      assert.equal(F, "3");
      assert.deepEqual([pct, glued, unknown, end], ["100%", "xmy crash%y", "", "end"]);
      assert.match(await text(`${out}/fd3`), /pidfd/);
    });

    await t.step("install refuses a chain whose pattern cannot fit in 127 bytes", async () => {
      const pattern = `|${handler} %P %i %I %d %s %t %c %C %F %E %f`;
      await guard.rewrite(pattern);
      const r = await trig("install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`);
      assert.equal(r.code, 1, show(r));
      assert.match(
        r.stderr,
        /over the kernel's limit of 127.*passes on what the chained/s,
        show(r),
      );
      assert.equal(await Deno.readTextFile("/proc/sys/kernel/core_pattern"), `${pattern}\n`);
    });

    await t.step("install refuses to chain a coredump socket, and offers --force", async () => {
      await guard.rewrite("@/run/nothing/coredump.socket");
      const r = await trig("install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /only the kernel can connect to a coredump socket.*--force/, show(r));
    });
  },
});

/** `chain` of a `history --json` entry. */
interface ChainField {
  program: string;
  outcome: string;
  code?: number;
  signal?: string;
  durationMs: number;
  bytes: number;
  reason?: string;
}

/** The history entry of `pid` once the daemon recorded its chained handler's run. */
function chainEntry(pid: number): Promise<HistoryEntry & { chain: ChainField }> {
  return waitFor(async () => {
    const c = (await history()).find((h) => h.pid === pid) as
      | (HistoryEntry & { chain?: ChainField })
      | undefined;
    return c?.chain !== undefined ? c as HistoryEntry & { chain: ChainField } : undefined;
  }, { timeoutMs: 20_000, what: `the chained handler's run of pid ${pid} in the history` });
}

const daemonSkip = skip ?? await e2eUnavailable();

Deno.test({
  name:
    "a chained handler that hangs or fails: the crash is released at the deadline, and the daemon and chain.log record it",
  ignore: requirement(daemonSkip),
  async fn(t) {
    await using home = await shortHome();
    const work = await Deno.makeTempDir({ prefix: "ltt-chain-" });
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      await using guard = await CorePatternGuard.set("core");
      for (const kind of ["hangs", "exits 1"] as const) {
        await t.step(`a handler that ${kind}`, async () => {
          const handler = `${home.dir}/h`;
          await Deno.writeTextFile(
            handler,
            kind === "hangs"
              ? `#!/bin/sh\necho $$ > ${home.dir}/pid\nexec sleep 1000\n`
              : `#!/bin/sh\ncat > /dev/null\nexit 1\n`,
            { mode: 0o755 },
          );
          await guard.rewrite(`|${handler} %p`);
          const r = await trig(
            "install",
            "--chain",
            "--chain-timeout=2",
            `--exe=${home.exe}`,
            `--state-dir=${home.dir}`,
          );
          assert.equal(r.code, 0, show(r));
          try {
            await Deno.remove(`${home.dir}/chain.log`).catch(() => {});
            const run = await crash();
            assert.equal(run.signal, "SIGSEGV");
            await waitFor(
              () => Deno.lstat(`${home.dir}/chain.log`).then(() => true, () => false),
              { timeoutMs: 10_000 },
            );
            const entry = JSON.parse((await text(`${home.dir}/chain.log`)).trim());
            assert.equal(entry.pid, run.pid);
            assert.equal(entry.program, handler);
            // The daemon replied (no trigger matched): it records the run in its history.
            const recorded = await chainEntry(run.pid);
            assert.equal(recorded.outcome, "no-trigger");
            assert.equal(recorded.chain.program, handler);
            const s1 = await trig("show", String(run.pid));
            const h = await trig("history", "-n", "1");
            if (kind === "hangs") {
              assert.equal(entry.outcome, "timeout", JSON.stringify(entry));
              assert.ok(entry.durationMs >= 2000 && entry.durationMs < 5000, JSON.stringify(entry));
              assert.ok(run.releaseMs >= 2000, `released after ${run.releaseMs} ms`);
              const pid = (await text(`${home.dir}/pid`)).trim();
              assert.equal(await Deno.lstat(`/proc/${pid}`).then(() => true, () => false), false);
              assert.equal(recorded.chain.outcome, "timeout", JSON.stringify(recorded.chain));
              assert.equal(recorded.chain.code, undefined);
              assert.ok(recorded.chain.durationMs >= 2000, JSON.stringify(recorded.chain));
              assert.match(
                s1.stdout,
                new RegExp(
                  `^  chained handler: ${handler}: killed after \\d+ ms \\(timeout\\)$`,
                  "m",
                ),
                show(s1),
              );
              assert.match(h.stdout, /no-trigger \(chain: timeout \d+ ms\)/, show(h));
            } else {
              assert.equal(entry.outcome, "failed", JSON.stringify(entry));
              assert.equal(entry.code, 1);
              assert.ok(entry.bytes > 4096, JSON.stringify(entry));
              assert.equal(recorded.chain.outcome, "failed", JSON.stringify(recorded.chain));
              assert.equal(recorded.chain.code, 1);
              assert.equal(recorded.chain.bytes, entry.bytes);
              assert.match(
                s1.stdout,
                new RegExp(`^  chained handler: ${handler}: exit 1 after \\d+ ms$`, "m"),
                show(s1),
              );
              assert.match(h.stdout, /no-trigger \(chain: failed exit 1 \d+ ms\)/, show(h));
            }
            const journal = await text(`${home.dir}/notifier.log`);
            assert.match(journal, new RegExp(`"pid":${run.pid},.*chained handler: `));
            const s = await trig("status", `--state-dir=${home.dir}`);
            assert.match(s.stdout, new RegExp(`^chained handler: ${handler} `, "m"), show(s));
            assert.match(
              s.stdout,
              new RegExp(
                `^chained handler last run: \\S+ pid ${run.pid} exec "crasher": ${
                  kind === "hangs" ? "killed after \\d+ ms \\(timeout\\)" : "exit 1 after \\d+ ms"
                }$`,
                "m",
              ),
              show(s),
            );
          } finally {
            const u = await trig("uninstall", `--state-dir=${home.dir}`);
            assert.equal(u.code, 0, show(u));
          }
        });
      }

      await t.step(
        "crashes that no trigger matches, or that a rate policy skips, reach the handler at once",
        async () => {
          const out = `${home.dir}/out`;
          await Deno.mkdir(out, { recursive: true });
          const handler = `${home.dir}/h`;
          await recorder(handler, out);
          await guard.rewrite(`|${handler} %p`);
          const r = await trig(
            "install",
            "--chain",
            `--exe=${home.exe}`,
            `--state-dir=${home.dir}`,
          );
          assert.equal(r.code, 0, show(r));
          // watch prints the chained handler's run as the daemon records it.
          const watch = new Deno.Command(LAUNCHER, {
            args: ["watch", "--json"],
            stdin: "null",
            stdout: "piped",
            stderr: "null",
          }).spawn();
          const events: Record<string, unknown>[] = [];
          const reading = (async () => {
            let rest = "";
            for await (const chunk of watch.stdout.pipeThrough(new TextDecoderStream())) {
              const lines = (rest + chunk).split("\n");
              rest = lines.pop() ?? "";
              for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line));
            }
          })();
          try {
            for (const policy of [undefined, "once-after:1000"]) {
              if (policy !== undefined) {
                // A trigger on a session that need not exist: the rate policy skips the crash.
                const set = await runLauncher([
                  "set",
                  "-s",
                  `chain-skip-${Deno.pid}`,
                  "--name",
                  "chain-skip",
                  `--rate-policy=${policy}`,
                  "OnAnyCoreDump",
                  "snapshot",
                ]);
                assert.equal(set.code, 0, show(set));
              }
              try {
                await Deno.remove(`${out}/core`).catch(() => {});
                const run = await crash();
                assert.equal(run.signal, "SIGSEGV");
                // The crash is released once the handler ended: it ran without a delay of
                // lttng-trig's beyond the notifier's own.
                assert.ok(run.releaseMs < 2000, `released after ${run.releaseMs} ms`);
                const core = await Deno.readFile(`${out}/core`);
                assert.ok(core.byteLength > 4096, `core of ${core.byteLength} bytes`);
                assert.equal((await text(`${out}/argv`)).split("\0")[0], String(run.pid));
                const recorded = await chainEntry(run.pid);
                assert.equal(recorded.outcome, policy === undefined ? "no-trigger" : "skipped");
                assert.equal(recorded.chain.outcome, "ok", JSON.stringify(recorded.chain));
                assert.equal(recorded.chain.code, 0);
                assert.equal(recorded.chain.bytes, core.byteLength);
                // By the second crash, watch has long been following the daemon.
                if (policy !== undefined) {
                  const event = await waitFor(
                    () => events.find((e) => e.type === "chain" && e.pid === run.pid),
                    { timeoutMs: 10_000, what: "watch's chain event" },
                  );
                  assert.equal(event.id, recorded.id);
                  assert.deepEqual(event.chain, recorded.chain);
                }
              } finally {
                if (policy !== undefined) await runLauncher(["remove", "chain-skip"]);
              }
            }
          } finally {
            try {
              watch.kill("SIGTERM");
            } catch { /* exited */ }
            await watch.status;
            await reading.catch(() => {});
            const u = await trig("uninstall", `--state-dir=${home.dir}`);
            assert.equal(u.code, 0, show(u));
          }
        },
      );
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "status warns when the chained program no longer exists",
  ignore: requirement(skip),
  async fn() {
    await using home = await shortHome();
    await using guard = await CorePatternGuard.set("core");
    const handler = `${home.dir}/gone`;
    await Deno.writeTextFile(handler, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    await guard.rewrite(`|${handler} %p`);
    const r = await trig("install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`);
    assert.equal(r.code, 0, show(r));
    try {
      await Deno.remove(handler);
      const s = await trig("status", `--state-dir=${home.dir}`);
      assert.match(
        s.stdout,
        new RegExp(`^Warning: chained handler: ${handler} no longer exists`, "m"),
        show(s),
      );
    } finally {
      const u = await trig("uninstall", `--state-dir=${home.dir}`);
      assert.equal(u.code, 0, show(u));
    }
  },
});

const SYSTEMD_COREDUMP = "/lib/systemd/systemd-coredump";
/** Debian 12's pattern, as its sysctl file writes it. */
const SYSTEMD_PATTERN = `|${SYSTEMD_COREDUMP} %P %u %g %s %t 9223372036854775808 %h %d`;
const e2eSkip = skip ?? await e2eUnavailable() ??
  (await Deno.lstat(SYSTEMD_COREDUMP).then(() => undefined, () => "no systemd-coredump"));

/** systemd-coredump's socket unit, emulated: one systemd-coredump per connection. */
async function coredumpSocket(): Promise<AsyncDisposable> {
  await Deno.mkdir("/run/systemd", { recursive: true });
  await Deno.remove("/run/systemd/coredump").catch(() => {});
  const child = new Deno.Command("systemd-socket-activate", {
    args: ["--seqpacket", "--accept", "-l", "/run/systemd/coredump", SYSTEMD_COREDUMP],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(() => Deno.lstat("/run/systemd/coredump").then((s) => s.isSocket, () => false));
  return {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await Deno.remove("/run/systemd/coredump").catch(() => {});
    },
  };
}

Deno.test({
  name:
    "install --chain over systemd-coredump: the snapshot and systemd-coredump's core, then its pattern back",
  ignore: requirement(e2eSkip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    await using home = await shortHome();
    const work = await Deno.makeTempDir({ prefix: "ltt-chain-" });
    await Deno.chmod(work, 0o755);
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      await using guard = await CorePatternGuard.set(SYSTEMD_PATTERN);
      await Deno.writeTextFile("/proc/sys/kernel/core_pipe_limit", "16");
      await using _socket = await coredumpSocket();
      await using session = await SnapshotSession.create({ buffers: "uid", output: `${work}/out` });
      const set = await runLauncher([
        "set",
        "-s",
        session.name,
        "--name",
        "chain-e2e",
        "OnAnyCoreDump",
        "snapshot",
      ]);
      assert.equal(set.code, 0, show(set));
      const r = await trig("install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`);
      assert.equal(r.code, 0, show(r));
      // The thread id goes first when the line would pass the kernel's 127 bytes (the
      // directory's name holds this test's pid, of 4 to 7 digits), then the pidfd (%F,
      // which the kernel has from Linux 6.16).
      const pidfd = kernelOlderThan(6, 16) ? "" : ":%F";
      const full =
        `|${home.exe} notify --state-dir=${home.dir} --chain=Pdst:%P:%d:%s:%t --tid=%i --facts=%P:%s:%t:%c:%d${pidfd}:%E %p %u %g %e %h`;
      const noTid = full.replace(" --tid=%i", "");
      assert.equal(
        (await Deno.readTextFile("/proc/sys/kernel/core_pattern")).trim(),
        full.length <= 127 ? full : noTid.length <= 127 ? noTid : noTid.replace(":%F", ""),
      );
      try {
        const run = await crash({ lastAlloc: 24680 });
        assert.equal(run.signal, "SIGSEGV");
        const entry = await crashEntry(run.pid);
        const snapshot = entry.results.find((x) => x.trigger === "chain-e2e")?.snapshot;
        assert.ok(snapshot, JSON.stringify(entry));
        const events = await readTrace(snapshot);
        const mallocs = events.filter((e) =>
          e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${run.pid} `)
        );
        assert.match(mallocs.at(-1) ?? "", /size = 24680\b/);
        // systemd-coredump's name: core.COMM.UID.BOOTID.PID.USEC.zst
        const stored = await waitFor(async () => {
          for await (const e of Deno.readDir("/var/lib/systemd/coredump")) {
            if (new RegExp(`^core\\.crasher\\.0\\.[0-9a-f]+\\.${run.pid}\\.\\d+`).test(e.name)) {
              return e.name;
            }
          }
          return undefined;
        }, { timeoutMs: 20_000, what: "systemd-coredump's core" });
        const st = await Deno.stat(`/var/lib/systemd/coredump/${stored}`);
        assert.ok(st.size > 0);
        // The whole core: systemd-coredump hands the pipe to its service and exits, and
        // the service reads the rest of the core after that.
        const unpacked = await new Deno.Command("zstd", {
          args: ["-dc", `/var/lib/systemd/coredump/${stored}`],
          stdout: "piped",
          stderr: "null",
        }).output().then((o) => o.stdout.byteLength, () => undefined);
        await Deno.remove(`/var/lib/systemd/coredump/${stored}`);
        const log = JSON.parse((await text(`${home.dir}/chain.log`)).trim().split("\n").at(-1)!);
        assert.equal(log.outcome, "ok", JSON.stringify(log));
        assert.equal(log.program, SYSTEMD_COREDUMP);
        const recorded = await chainEntry(run.pid);
        assert.deepEqual(
          [recorded.chain.program, recorded.chain.outcome, recorded.chain.code],
          [SYSTEMD_COREDUMP, "ok", 0],
        );
        if (unpacked !== undefined) assert.equal(unpacked, recorded.chain.bytes);
      } finally {
        const u = await trig("uninstall", `--state-dir=${home.dir}`);
        assert.equal(u.code, 0, show(u));
        assert.equal(
          await Deno.readTextFile("/proc/sys/kernel/core_pattern"),
          `${SYSTEMD_PATTERN}\n`,
        );
        assert.equal(await Deno.readTextFile("/proc/sys/kernel/core_pipe_limit"), "16\n");
        await runLauncher(["remove", "chain-e2e"]);
      }
      void guard;
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
