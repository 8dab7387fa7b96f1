/**
 * `lttng-trig install` and `uninstall` on the real /proc/sys/kernel/core_pattern, through
 * bin/lttng-trig with the project's permission set. Under the lock and save/restore of
 * tests/fixtures/core_pattern.ts: whatever happens, the machine's core_pattern and
 * core_pipe_limit are put back. State directories are temporary, never
 * /var/lib/lttng-trig.
 *
 * Then, in process with a pretend kernel, what the real one will not do on demand: keep
 * something else than what was written, hold a pattern that is not UTF-8.
 */
import assert from "node:assert/strict";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  corePatternFor,
  installCommand,
  type InstallState,
  type KernelFiles,
  uninstallCommand,
} from "../../lib/cli/install.ts";
import { runCli } from "../../lib/cli/main.ts";
import type { CommandContext } from "../../lib/cli/common.ts";
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
    const ours = corePatternFor({ exe: EXE });
    try {
      await t.step("install refuses to replace systemd-coredump without --force", async () => {
        const r = await trig("install", `--state-dir=${state}`);
        assert.equal(r.code, 1, show(r));
        assert.equal(r.stdout, "", show(r));
        assert.equal(
          r.stderr,
          `Error: core_pattern is handled by /lib/systemd/systemd-coredump ('${SYSTEMD}'): pass --force to replace it (uninstall will restore it)\n`,
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
        // No temporary file is left beside it.
        assert.deepEqual([...Deno.readDirSync(state)].map((e) => e.name), ["install.json"]);
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
        r = await trig("install", "--facts", `--state-dir=${state}`);
        assert.equal(r.code, 0, show(r));
        // The kernel accepts the --facts form (read back by install and here).
        const facts = corePatternFor({ exe: EXE, facts: true });
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
            `${corePatternFor({ exe: EXE, facts: true })}\n`,
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
          const expected = corePatternFor({ exe: EXE, coreDir });
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

// -------------------------------------------------------------------------------------
// In process.

function capture(uid = 0): { ctx: CommandContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    ctx: {
      io: { out: (l) => out.push(l), err: (l) => err.push(l) },
      env: { uid, get: (name) => name === "LTTNG_TRIG_EXE" ? EXE : undefined },
    },
  };
}

Deno.test("install and uninstall as another user than root: a clear error, exit 1", async () => {
  const work = await Deno.makeTempDir({ prefix: "ltt-" });
  try {
    for (const command of ["install", "uninstall"]) {
      const c = capture(1000);
      assert.equal(await runCli([command, `--state-dir=${work}`], c.ctx), 1);
      assert.deepEqual(c.err, [
        `Error: ${command} writes /proc/sys/kernel/core_pattern, which needs root: run 'sudo lttng-trig ${command}'`,
      ]);
    }
    assert.deepEqual([...Deno.readDirSync(work)], []);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

/**
 * A pretend /proc/sys/kernel: keeps what is written up to the first newline and 127
 * bytes, reads it back with a newline, ignores an empty write, as the kernel does.
 */
class FakeKernel implements KernelFiles {
  files = new Map<string, Uint8Array>();
  /** Rewrite what core_pattern keeps, to play a kernel that changes it. */
  mangle?: (kept: Uint8Array) => Uint8Array;

  constructor(pattern: string | Uint8Array, limit = "0") {
    const enc = new TextEncoder();
    this.files.set(CORE_PATTERN_PATH, typeof pattern === "string" ? enc.encode(pattern) : pattern);
    this.files.set(CORE_PIPE_LIMIT_PATH, enc.encode(limit));
  }

  text(path: string): string {
    return new TextDecoder().decode(this.files.get(path));
  }

  read(path: string): Promise<Uint8Array> {
    const v = this.files.get(path);
    if (v === undefined) return Promise.reject(new Deno.errors.NotFound(path));
    return Promise.resolve(Uint8Array.from([...v, 0x0a]));
  }

  write(path: string, data: Uint8Array): Promise<void> {
    if (data.byteLength === 0) return Promise.resolve();
    const nl = data.indexOf(0x0a);
    let kept: Uint8Array = data.slice(0, Math.min(nl < 0 ? data.byteLength : nl, 127));
    if (path === CORE_PATTERN_PATH && this.mangle) kept = this.mangle(kept);
    this.files.set(path, kept);
    return Promise.resolve();
  }
}

Deno.test({
  name: "install puts everything back when the kernel does not keep the pattern",
  ignore: requirement(skip),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      kernel.mangle = (kept) => kept.slice(0, 20);
      const c = capture();
      await assert.rejects(
        installCommand([`--state-dir=${state}`], c.ctx, kernel),
        /^CommandError: install failed: the kernel kept '.{20}' instead of '.*': core_pattern is back to 'core'$/,
      );
      assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
      assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "0");
      assert.deepEqual([...Deno.readDirSync(state)], []);
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "install and uninstall restore an empty or non-UTF-8 core_pattern exactly",
  ignore: requirement(skip),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      for (const previous of [new Uint8Array(0), Uint8Array.from([0x63, 0xff, 0x20, 0x25])]) {
        const kernel = new FakeKernel(previous, "3");
        const c = capture();
        assert.equal(await installCommand([`--state-dir=${state}`], c.ctx, kernel), 0);
        assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE }));
        assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "3");
        assert.equal(await uninstallCommand([`--state-dir=${state}`], c.ctx, kernel), 0);
        assert.deepEqual(kernel.files.get(CORE_PATTERN_PATH), previous);
        assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "3");
      }
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "install over lttng-trig's pattern written by hand: remembers the kernel default",
  ignore: requirement(skip),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("|/usr/bin/lttng-trig notify %p %u %g %e %h", "0");
      const c = capture();
      assert.equal(await installCommand([`--state-dir=${state}`], c.ctx, kernel), 0);
      assert.match(c.err[0], /^Warning: core_pattern already runs lttng-trig, but /);
      assert.deepEqual((await readState(state)).previous, {
        corePattern: "core\n",
        corePipeLimit: "0\n",
      });
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "install and uninstall refuse an install.json that others could have written",
  ignore: requirement(skip),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      assert.equal(await installCommand([`--state-dir=${state}`], capture().ctx, kernel), 0);
      await Deno.chmod(`${state}/install.json`, 0o666);
      for (const run of [installCommand, uninstallCommand]) {
        await assert.rejects(
          run([`--state-dir=${state}`], capture().ctx, kernel),
          /install\.json is writable by others \(mode 666\): run 'chmod go-w /,
        );
      }
      assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE }));
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "install refuses an executable that is not lttng-trig, and a --core-dir others can write",
  ignore: requirement(skip),
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      await assert.rejects(
        installCommand([`--state-dir=${state}`, "--exe=/bin/sh"], capture().ctx, kernel),
        /cannot name \/bin\/sh in core_pattern: it is not named lttng-trig/,
      );
      await assert.rejects(
        installCommand([`--state-dir=${state}`, "--core-dir=/tmp"], capture().ctx, kernel),
        /--core-dir \/tmp can be written by someone other than root/,
      );
      await assert.rejects(
        installCommand([`--state-dir=${state}`, "--core-dir=/nonexistent"], capture().ctx, kernel),
        /--core-dir \/nonexistent does not exist: create it first/,
      );
      assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
      assert.deepEqual([...Deno.readDirSync(state)], []);
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});
