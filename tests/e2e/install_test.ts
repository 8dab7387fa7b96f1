/**
 * `lttng-trig install` and `uninstall` on the real /proc/sys/kernel/core_pattern, through
 * bin/lttng-trig with the project's permission set. Under the lock and save/restore of
 * tests/fixtures/core_pattern.ts: whatever happens, the machine's core_pattern and
 * core_pipe_limit are put back. State directories are temporary, never
 * /var/lib/lttng-trig.
 *
 * What the real kernel will not do on demand (keep something else than what was written,
 * hold a pattern that is not UTF-8) is in tests/unit/install_test.ts, with a pretend one.
 */
import assert from "node:assert/strict";
import { CORE_PATTERN_PATH, CORE_PIPE_LIMIT_PATH } from "../../lib/install/kernel_files.ts";
import { corePatternFor, kernelHasPidfdSpecifier } from "../../lib/install/pattern.ts";

/** install passes the kernel's pidfd (%F) where the kernel has it (Linux 6.16+). */
const PIDFD = kernelHasPidfdSpecifier(Deno.osRelease());
import type { InstallState } from "../../lib/install/state.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { startDaemon } from "../fixtures/daemon.ts";
import { runLauncher, type RunResult } from "../fixtures/launcher.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import { requirement } from "../fixtures/require.ts";

const SYSTEMD = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h";
const skip = Deno.uid() === 0 ? undefined : "install writes core_pattern: needs root";

/** The path the launcher names itself by (it resolves its own links). */
const EXE = await Deno.realPath(LAUNCHER);

function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

async function trig(...args: string[]): Promise<RunResult> {
  return await runLauncher(args, { timeoutMs: 30_000 });
}

const readPattern = () => Deno.readTextFile(CORE_PATTERN_PATH);
const readLimit = () => Deno.readTextFile(CORE_PIPE_LIMIT_PATH);

async function writeSysctl(path: string, value: string): Promise<void> {
  await Deno.writeTextFile(path, value);
  assert.equal(await Deno.readTextFile(path), `${value}\n`);
}

async function readState(stateDir: string): Promise<InstallState> {
  return JSON.parse(await Deno.readTextFile(`${stateDir}/install.json`)) as InstallState;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test({
  name: "install and uninstall take over and give back the real core_pattern",
  ignore: requirement(skip),
  async fn(t) {
    await using _guard = await CorePatternGuard.set(SYSTEMD);
    await writeSysctl(CORE_PIPE_LIMIT_PATH, "0");
    const before = await Deno.readFile(CORE_PATTERN_PATH);
    const work = await Deno.makeTempDir({ prefix: "ltt-" });
    const state = `${work}/state`;
    // install passes the crash facts by default.
    const ours = corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD });
    try {
      await t.step("install refuses to replace systemd-coredump without --force", async () => {
        const r = await trig("install", `--state-dir=${state}`);
        assert.equal(r.code, 1, show(r));
        assert.equal(r.stdout, "", show(r));
        assert.equal(
          r.stderr,
          `Error: core_pattern is handled by /lib/systemd/systemd-coredump ('${SYSTEMD}'): pass --chain to keep it and run it after lttng-trig, or --force to replace it (uninstall will restore it)\n`,
        );
        assert.equal(await readPattern(), `${SYSTEMD}\n`);
        assert.equal(await readLimit(), "0\n");
        assert.equal(await exists(state), false);
      });

      await t.step("install --force installs and remembers the previous values", async () => {
        const r = await trig("install", "--force", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, new RegExp(`^Installed: core_pattern is now '\\|${EXE}`, "m"));
        assert.match(r.stdout, /^Replaced \/lib\/systemd\/systemd-coredump/m, show(r));
        assert.match(r.stdout, /^core_pipe_limit: 0 -> 64 /m, show(r));
        assert.equal(await readPattern(), `${ours}\n`);
        assert.equal(await readLimit(), "64\n");
        const st = await Deno.stat(`${state}/install.json`);
        assert.equal(st.mode! & 0o777, 0o600);
        const saved = await readState(state);
        assert.equal(saved.corePattern, ours);
        assert.equal(saved.corePipeLimit, 64);
        assert.deepEqual(saved.previous, { corePattern: `${SYSTEMD}\n`, corePipeLimit: "0\n" });
        // No temporary file is left beside it: only the notifier's own file.
        assert.deepEqual([...Deno.readDirSync(state)].map((e) => e.name).sort(), [
          "install.json",
          "notifier.json",
        ]);
      });

      await t.step("status says installed, and exits 0 with a daemon that answers", async () => {
        const run = `${work}/run`;
        await Deno.mkdir(run, { mode: 0o700 });
        await using _d = await startDaemon({ runDir: run, stateDir: `${work}/daemon-state` });
        const r = await trig("status", `--run-dir=${run}`, `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        const lines = r.stdout.split("\n");
        assert.equal(lines[0], `core_pattern: installed (${ours})`);
        assert.ok(lines.includes("core_pipe_limit: 64"), show(r));
        assert.match(r.stdout, /^previous core_pattern: '\|\/lib\/systemd\/systemd-coredump /m);
        const noDaemon = await trig("status", `--run-dir=${work}`, `--state-dir=${state}`);
        assert.equal(noDaemon.code, 1, show(noDaemon));
      });

      await t.step("installing again keeps the value remembered the first time", async () => {
        let r = await trig("install", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, /already installed/, show(r));
        r = await trig("install", "--minimal", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        // The kernel accepts the bare RFC form too (read back by install and here).
        const bare = corePatternFor({ exe: EXE });
        assert.equal(await readPattern(), `${bare}\n`);
        r = await trig("install", "--facts", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        const facts = corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD });
        assert.equal(await readPattern(), `${facts}\n`);
        const saved = await readState(state);
        assert.equal(saved.corePattern, facts);
        assert.deepEqual(saved.previous, { corePattern: `${SYSTEMD}\n`, corePipeLimit: "0\n" });
        assert.equal(await readLimit(), "64\n");
      });

      await t.step(
        "a --core-dir too long for the kernel is refused and changes nothing",
        async () => {
          const saved = await Deno.readFile(`${state}/install.json`);
          const r = await trig(
            "install",
            `--core-dir=/var/crash/${"x".repeat(90)}`,
            `--state-dir=${state}`,
          );
          assert.equal(r.code, 1, show(r));
          assert.match(
            r.stderr,
            /^Error: the core_pattern would be \d+ bytes, over the kernel's limit of 127/,
          );
          assert.match(r.stderr, /use a shorter --core-dir, or name lttng-trig by a shorter path/);
          assert.equal(
            await readPattern(),
            `${corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD })}\n`,
          );
          assert.deepEqual(await Deno.readFile(`${state}/install.json`), saved);
        },
      );

      await t.step(
        "uninstall restores core_pattern byte for byte, and core_pipe_limit",
        async () => {
          const r = await trig("uninstall", `--state-dir=${state}`);
          assert.equal(r.code, 0, show(r));
          assert.equal(
            r.stdout,
            `Uninstalled: core_pattern is back to '${SYSTEMD}', core_pipe_limit to 0.\n`,
          );
          assert.deepEqual(await Deno.readFile(CORE_PATTERN_PATH), before);
          assert.equal(await readLimit(), "0\n");
          assert.equal(await exists(`${state}/install.json`), false);
        },
      );

      await t.step("uninstall with nothing remembered: not installed, exit 1", async () => {
        const r = await trig("uninstall", `--state-dir=${state}`);
        assert.equal(r.code, 1, show(r));
        assert.equal(
          r.stderr,
          `Error: lttng-trig is not installed (no ${state}/install.json)\n`,
        );
        assert.deepEqual(await Deno.readFile(CORE_PATTERN_PATH), before);
      });

      await t.step("install over a core file pattern needs no --force", async () => {
        await writeSysctl(CORE_PATTERN_PATH, "core");
        await writeSysctl(CORE_PIPE_LIMIT_PATH, "16");
        const r = await trig("install", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        assert.doesNotMatch(r.stdout, /core_pipe_limit: /, show(r));
        assert.equal(await readPattern(), `${ours}\n`);
        // A non-zero limit is left alone.
        assert.equal(await readLimit(), "16\n");
        assert.deepEqual((await readState(state)).previous, {
          corePattern: "core\n",
          corePipeLimit: "16\n",
        });
      });

      await t.step(
        "uninstall refuses when core_pattern was changed since, unless --force",
        async () => {
          await writeSysctl(CORE_PATTERN_PATH, "/var/crash/core.%p");
          let r = await trig("uninstall", `--state-dir=${state}`);
          assert.equal(r.code, 1, show(r));
          assert.match(
            r.stderr,
            /^Error: core_pattern no longer runs lttng-trig: it is '\/var\/crash\/core\.%p' \(changed since the install of .*\): pass --force to restore 'core' anyway/,
          );
          assert.equal(await readPattern(), "/var/crash/core.%p\n");
          assert.ok(await exists(`${state}/install.json`));
          r = await trig("uninstall", "--force", `--state-dir=${state}`);
          assert.equal(r.code, 0, show(r));
          assert.equal(await readPattern(), "core\n");
          assert.equal(await readLimit(), "16\n");
        },
      );

      await t.step("install --core-dir writes a pattern the kernel keeps", async () => {
        const coreDir = await Deno.makeTempDir({ dir: "/tmp", prefix: "ltc" });
        try {
          const fits = (p: string) => new TextEncoder().encode(p).byteLength <= 127;
          let expected = corePatternFor({ exe: EXE, coreDir, pidfd: PIDFD });
          if (!fits(expected)) {
            // Too long with --tid=%i: install drops the tid first, then the pidfd (%F).
            expected = corePatternFor({ exe: EXE, coreDir, tid: false, pidfd: PIDFD });
            if (!fits(expected)) expected = corePatternFor({ exe: EXE, coreDir, tid: false });
          }
          const r = await trig("install", `--core-dir=${coreDir}`, `--state-dir=${state}`);
          if (new TextEncoder().encode(expected).byteLength > 127) {
            // The checkout's path is too long for this form: refused, nothing changed.
            assert.equal(r.code, 1, show(r));
            assert.equal(await readPattern(), "core\n");
            return;
          }
          assert.equal(r.code, 0, show(r));
          assert.equal(await readPattern(), `${expected}\n`);
          const u = await trig("uninstall", `--state-dir=${state}`);
          assert.equal(u.code, 0, show(u));
          assert.equal(await readPattern(), "core\n");
        } finally {
          await Deno.remove(coreDir, { recursive: true });
        }
      });

      await t.step("a relative or spaced --core-dir is a usage error", async () => {
        for (const dir of ["crash", "/var/my crash", "/var/%p"]) {
          const r = await trig("install", `--core-dir=${dir}`, `--state-dir=${state}`);
          assert.equal(r.code, 2, show(r));
          assert.match(r.stderr, /^Error: invalid --core-dir /, show(r));
          assert.match(r.stderr, /^Usage: lttng-trig install /m, show(r));
        }
        assert.equal(await readPattern(), "core\n");
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
