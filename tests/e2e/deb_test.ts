/**
 * End to end, for real: the Debian package of scripts/deb.sh, installed with apt-get,
 * runs a crash through /usr/bin/lttng-trig (daemon, set, install, a traced program that
 * crashes, history, uninstall); its man pages and completion are where man and bash look;
 * lintian finds no error; its removal gives core_pattern back (prerm), and its purge
 * leaves nothing behind.
 *
 * The package is installed and purged under the end-to-end lock (its purge removes
 * lttng-trig's files in /var/run/lttng) and the core_pattern lock; what /var/lib/lttng-trig
 * held before is put back.
 */
import assert from "node:assert/strict";
import { e2eUnavailable, exists, RootDaemon } from "../fixtures/root_daemon.ts";
import { runProgram, type RunResult } from "../fixtures/launcher.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { ROOT } from "../fixtures/paths.ts";
import { requirement } from "../fixtures/require.ts";
import { tempDir } from "../fixtures/temp_dir.ts";
import { waitFor } from "../fixtures/wait.ts";

const EXE = "/usr/bin/lttng-trig";
const LIB = "/usr/lib/lttng-trig";
const STATE = "/var/lib/lttng-trig";
const CORE_PATTERN = "/proc/sys/kernel/core_pattern";

/** Run `cmd` to completion (bounded), from the repository, with an argument array. */
function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return runProgram(cmd, args, {
    cwd: ROOT,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    timeoutMs,
  });
}

async function ok(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function packageInstalled(): Promise<boolean> {
  const r = await run("dpkg-query", ["-W", "-f=${Status}", "lttng-trig"]);
  return r.code === 0 && r.stdout.includes("install ok installed");
}

// apt and dpkg wait for each other's lock (another test or helper may be installing).
const APT = ["-o", "DPkg::Lock::Timeout=300", "-y", "-q"];

async function unavailable(): Promise<string | undefined> {
  const e2e = await e2eUnavailable();
  if (e2e !== undefined) return e2e;
  for (const tool of ["dpkg-deb", "apt-get", "lintian", "man"]) {
    if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0) {
      return `${tool} is missing (scripts/setup.sh --tests installs lintian)`;
    }
  }
  if (await packageInstalled() || await exists(EXE) || await exists(LIB)) {
    return `lttng-trig is installed on this machine (${EXE}): the test would replace and purge it`;
  }
  return undefined;
}

const skip = await unavailable();

/** What /var/lib/lttng-trig held, put back after the purge removed it. */
async function saveState(work: string): Promise<AsyncDisposable> {
  const saved = `${work}/var-lib-lttng-trig`;
  const had = await exists(STATE);
  if (had) await ok("cp", ["-a", STATE, saved]);
  return {
    async [Symbol.asyncDispose]() {
      if (!had) return;
      await run("rm", ["-rf", STATE]);
      await ok("cp", ["-a", saved, STATE]);
    },
  };
}

Deno.test({
  name: "end to end: the Debian package installs, handles a real crash, and purges cleanly",
  ignore: requirement(skip),
  async fn(t) {
    await buildCrasher();
    const built = await ok("bash", ["scripts/deb.sh"], 300_000);
    const deb = built.trim().split("\n").at(-1)!;
    assert.match(deb, /\/dist\/lttng-trig_0\.1\.0_(amd64|arm64)\.deb$/);
    // lintian reads the package while the rest runs.
    const lintian = run("lintian", ["--tag-display-limit", "0", deb], 300_000);
    await using _sessiond = await SessionDaemon.ensure();
    await using work = await tempDir("lttng-trig-deb-", 0o755);
    const savedPattern = await Deno.readTextFile(CORE_PATTERN);

    let purged = false;
    const purge = async () => {
      if (purged || !await packageInstalled()) return;
      purged = true;
      await ok("apt-get", [...APT, "purge", "lttng-trig"], 300_000);
    };
    try {
      // Installed under the end-to-end lock: no other test runs while /usr/bin/lttng-trig
      // is the package's.
      await using root = await RootDaemon.start(`${work.path}/state`, [], {
        launcher: EXE,
        beforeStart: async () => {
          await ok("apt-get", [...APT, "install", `./dist/${deb.split("/").pop()}`], 300_000);
        },
      });
      await using _state = await saveState(work.path);
      await using _pattern = await CorePatternGuard.set("core");
      // First to be disposed: the daemon stops and the package goes while both locks
      // are held (a failed step leaves core_pattern to prerm, then to the guard).
      await using _purge = {
        async [Symbol.asyncDispose]() {
          await root.daemon.stop();
          await purge();
        },
      };

      await t.step("the package holds what it should, root's only", async () => {
        assert.equal(await Deno.realPath(EXE), `${LIB}/bin/lttng-trig`);
        assert.equal((await ok(EXE, ["--version"])).trim(), "lttng-trig 0.1.0");
        const files = (await ok("dpkg-query", ["-L", "lttng-trig"])).split("\n");
        for (
          const f of [
            `${LIB}/main.ts`,
            `${LIB}/deno.json`,
            `${LIB}/.tools/node_modules/@deno/linux-x64-glibc/deno`,
            `${LIB}/.tools/deno-dir/npm/registry.npmjs.org/picomatch/registry.json`,
            "/usr/share/man/man1/lttng-trig.1.gz",
            "/usr/share/man/man1/lttng-trig-daemon.1.gz",
            "/usr/share/bash-completion/completions/lttng-trig",
            "/lib/systemd/system/lttng-trig.service",
            "/usr/share/doc/lttng-trig/copyright",
          ]
        ) {
          assert.ok(files.includes(f), `${f} not in the package`);
        }
        // postinst warmed Deno's cache for the installed paths.
        assert.ok(await exists(`${LIB}/.tools/deno-dir/gen/file${LIB}/main.ts.js`));
        assert.ok(await exists(`${LIB}/.tools/deno-dir/gen/file${LIB}/lib/notify/cli.ts.js`));
        // Every file and directory of the package is root's and writable by root only.
        const loose = await ok("find", [LIB, "(", "!", "-user", "0", "-o", "-perm", "/022", ")"]);
        assert.equal(loose, "");
        assert.equal(
          await ok("man", ["-w", "lttng-trig"]),
          "/usr/share/man/man1/lttng-trig.1.gz\n",
        );
        const complete = await ok("bash", [
          "-c",
          "source /usr/share/bash-completion/completions/lttng-trig && complete -p lttng-trig",
        ]);
        assert.match(complete, /^complete .* lttng-trig$/m);
      });

      await t.step("a crash runs end to end through /usr/bin/lttng-trig", async () => {
        await using session = await SnapshotSession.create({
          buffers: "uid",
          output: `${work.path}/out`,
        });
        await ok(EXE, [
          "set",
          "-s",
          session.name,
          "--name",
          "deb-e2e",
          "OnAnyCoreDump",
          "snapshot",
        ]);
        await ok(EXE, ["install"]);
        const installed = (await Deno.readTextFile(CORE_PATTERN)).trim();
        assert.ok(installed.startsWith(`|${EXE} notify `), installed);
        const run = await crash({ lastAlloc: 5151 });
        assert.equal(run.signal, "SIGSEGV");
        const entry = await waitFor(async () => {
          const h = JSON.parse(await ok(EXE, ["history", "--json", "-n", "100000"])) as {
            crashes: { pid: number; outcome: string; results: { snapshot?: string }[] }[];
          };
          const c = h.crashes.find((c) => c.pid === run.pid);
          return c !== undefined && c.outcome !== "pending" ? c : undefined;
        }, { timeoutMs: 30_000, what: `the crash of pid ${run.pid} in the history` });
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        const snapshot = entry.results[0].snapshot!;
        assert.ok(snapshot.startsWith(`${work.path}/out/core-crasher-${run.pid}-`), snapshot);
        assert.ok((await Deno.stat(snapshot)).isDirectory);
        await ok(EXE, ["uninstall"]);
        assert.equal(await Deno.readTextFile(CORE_PATTERN), "core\n");
        await ok(EXE, ["remove", "deb-e2e"]);
      });

      await t.step("the package's files are as it shipped them", async () => {
        assert.equal(await ok("dpkg", ["--verify", "lttng-trig"]), "");
      });

      await t.step(
        "an upgrade keeps core_pattern; removal gives it back (prerm), purge leaves nothing",
        async () => {
          await ok(EXE, ["install"]);
          const installed = await Deno.readTextFile(CORE_PATTERN);
          assert.ok(installed.startsWith(`|${EXE} notify `), installed);
          // Reinstalling is an upgrade to dpkg (prerm upgrade, postinst configure OLD).
          await ok("apt-get", [...APT, "install", "--reinstall", `./dist/${deb.split("/").pop()}`]);
          assert.equal(await Deno.readTextFile(CORE_PATTERN), installed);
          assert.ok(await exists(`${LIB}/.tools/deno-dir/gen/file${LIB}/main.ts.js`));
          await root.daemon.stop();
          await purge();
          assert.equal(await Deno.readTextFile(CORE_PATTERN), "core\n");
          assert.equal(await packageInstalled(), false);
          for (
            const path of [
              LIB,
              EXE,
              STATE,
              "/usr/share/man/man1/lttng-trig.1.gz",
              "/usr/share/bash-completion/completions/lttng-trig",
              "/lib/systemd/system/lttng-trig.service",
              "/usr/share/doc/lttng-trig",
            ]
          ) {
            assert.equal(await exists(path), false, `${path} is left after the purge`);
          }
        },
      );
    } finally {
      // Only with the package installed if the daemon could not start (postrm leaves the
      // files of a daemon that holds its lock alone).
      if (!purged && await packageInstalled()) {
        await run("apt-get", [...APT, "purge", "lttng-trig"], 300_000);
      }
    }
    assert.equal(await Deno.readTextFile(CORE_PATTERN), savedPattern);

    const lint = await lintian;
    const errors = `${lint.stdout}${lint.stderr}`.split("\n").filter((l) => l.startsWith("E:"));
    assert.deepEqual(errors, [], `lintian:\n${lint.stdout}${lint.stderr}`);
  },
});
