/**
 * `install` and `uninstall` in process, on a pretend kernel and a temporary state
 * directory, without root: the kernel's files and the owners root would trust are
 * injected (`InstallCommandOptions`). What the real kernel will not do on demand: keep
 * something else than what was written, hold a pattern that is not UTF-8. The real
 * /proc/sys/kernel/core_pattern is in tests/e2e/install_test.ts.
 */
import assert from "node:assert/strict";
import { installCommand } from "../../lib/cli/install.ts";
import { uninstallCommand } from "../../lib/cli/uninstall.ts";
import { CORE_PATTERN_PATH, CORE_PIPE_LIMIT_PATH } from "../../lib/install/kernel_files.ts";
import { corePatternFor, kernelHasPidfdSpecifier } from "../../lib/install/pattern.ts";

/** install passes the kernel's pidfd (%F) where the kernel has it (Linux 6.16+). */
const PIDFD = kernelHasPidfdSpecifier(Deno.osRelease());
import type { InstallState } from "../../lib/install/state.ts";
import { runCli } from "../../lib/cli/main.ts";
import { capture, EXE, FakeKernel, onFake, UID } from "../fixtures/install.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

async function readState(stateDir: string): Promise<InstallState> {
  return JSON.parse(await Deno.readTextFile(`${stateDir}/install.json`)) as InstallState;
}

Deno.test("install and uninstall as another user than root: a clear error, exit 1", async () => {
  await using work = await tempDir("ltt-");
  for (const command of ["install", "uninstall"]) {
    const c = capture(1000);
    assert.equal(await runCli([command, `--state-dir=${work.path}`], c.ctx), 1);
    assert.deepEqual(c.err, [
      `Error: ${command} writes /proc/sys/kernel/core_pattern, which needs root: run 'sudo lttng-trig ${command}'`,
    ]);
  }
  assert.deepEqual([...Deno.readDirSync(work.path)], []);
});

Deno.test({
  name: "install puts everything back when the kernel does not keep the pattern",
  async fn() {
    await using state = await tempDir("ltt-");
    const kernel = new FakeKernel("core");
    kernel.mangle = (kept) => kept.slice(0, 20);
    const c = capture();
    await assert.rejects(
      installCommand([`--state-dir=${state.path}`], c.ctx, onFake(kernel)),
      /^CommandError: install failed: the kernel kept '.{20}' instead of '.*': core_pattern is back to 'core'$/,
    );
    assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
    assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "0");
    assert.deepEqual([...Deno.readDirSync(state.path)], []);
  },
});

Deno.test({
  name: "install and uninstall restore an empty or non-UTF-8 core_pattern exactly",
  async fn() {
    await using state = await tempDir("ltt-");
    for (const previous of [new Uint8Array(0), Uint8Array.from([0x63, 0xff, 0x20, 0x25])]) {
      const kernel = new FakeKernel(previous, "3");
      const c = capture();
      assert.equal(await installCommand([`--state-dir=${state.path}`], c.ctx, onFake(kernel)), 0);
      assert.equal(
        kernel.text(CORE_PATTERN_PATH),
        corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD }),
      );
      assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "3");
      assert.equal(await uninstallCommand([`--state-dir=${state.path}`], c.ctx, onFake(kernel)), 0);
      assert.deepEqual(kernel.files.get(CORE_PATTERN_PATH), previous);
      assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "3");
    }
  },
});

Deno.test({
  name: "install over lttng-trig's pattern written by hand: remembers the kernel default",
  async fn() {
    await using state = await tempDir("ltt-");
    const kernel = new FakeKernel("|/usr/bin/lttng-trig notify %p %u %g %e %h", "0");
    const c = capture();
    assert.equal(await installCommand([`--state-dir=${state.path}`], c.ctx, onFake(kernel)), 0);
    assert.match(c.err[0], /^Warning: core_pattern already runs lttng-trig, but /);
    assert.deepEqual((await readState(state.path)).previous, {
      corePattern: "core\n",
      corePipeLimit: "0\n",
    });
  },
});

Deno.test({
  name: "install and uninstall refuse an install.json that others could have written",
  async fn() {
    await using state = await tempDir("ltt-");
    const kernel = new FakeKernel("core");
    assert.equal(
      await installCommand([`--state-dir=${state.path}`], capture().ctx, onFake(kernel)),
      0,
    );
    await Deno.chmod(`${state.path}/install.json`, 0o666);
    for (const run of [installCommand, uninstallCommand]) {
      await assert.rejects(
        run([`--state-dir=${state.path}`], capture().ctx, onFake(kernel)),
        /install\.json is writable by others \(mode 666\): run 'chmod go-w /,
      );
    }
    assert.equal(
      kernel.text(CORE_PATTERN_PATH),
      corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD }),
    );
  },
});

Deno.test({
  name: "install refuses an executable that is not lttng-trig, and a --core-dir others can write",
  async fn() {
    await using state = await tempDir("ltt-");
    const kernel = new FakeKernel("core");
    await assert.rejects(
      installCommand([`--state-dir=${state.path}`, "--exe=/bin/sh"], capture().ctx, onFake(kernel)),
      /cannot name \/bin\/sh in core_pattern: it is not named lttng-trig/,
    );
    await assert.rejects(
      installCommand(
        [`--state-dir=${state.path}`, "--core-dir=/tmp"],
        capture().ctx,
        onFake(kernel),
      ),
      /--core-dir \/tmp can be written by someone other than root/,
    );
    await assert.rejects(
      installCommand(
        [`--state-dir=${state.path}`, "--core-dir=/nonexistent"],
        capture().ctx,
        onFake(kernel),
      ),
      /--core-dir \/nonexistent does not exist: create it first/,
    );
    assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
    assert.deepEqual([...Deno.readDirSync(state.path)], []);
  },
});

Deno.test("install and uninstall refuse a state directory that another uid owns", async () => {
  await using state = await tempDir("ltt-");
  const kernel = new FakeKernel("core");
  const other = UID + 1;
  await assert.rejects(
    installCommand([`--state-dir=${state.path}`], capture().ctx, {
      kernel,
      trustedOwners: [other],
    }),
    new RegExp(`^CommandError: ${state.path} belongs to uid ${UID}, not to you: remove it$`),
  );
  assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
  assert.deepEqual([...Deno.readDirSync(state.path)], []);
  assert.equal(
    await installCommand([`--state-dir=${state.path}`], capture().ctx, onFake(kernel)),
    0,
  );
  await assert.rejects(
    uninstallCommand([`--state-dir=${state.path}`], capture().ctx, {
      kernel,
      trustedOwners: [other],
    }),
    /belongs to uid \d+, not to you: remove it$/,
  );
  assert.equal(
    kernel.text(CORE_PATTERN_PATH),
    corePatternFor({ exe: EXE, facts: true, pidfd: PIDFD }),
  );
});

Deno.test({
  name: "install --core-dir warns when --tid=%i does not fit in 127 bytes, and says what is lost",
  async fn() {
    await using state = await tempDir("ltt-");
    const kernel = new FakeKernel("core", "0");
    // The same choice as under --chain (whose line is longer still): a --core-dir long enough
    // that the whole line passes 127 bytes, short enough that it fits without the tid.
    const fit = (dir: string) => ({
      full: corePatternFor({ exe: EXE, coreDir: dir, facts: true, pidfd: PIDFD }).length,
      noTid: corePatternFor({ exe: EXE, coreDir: dir, facts: true, tid: false, pidfd: PIDFD })
        .length,
    });
    await using cores = await tempDir("c");
    let coreDir = `${cores.path}/c`;
    while (fit(coreDir).full <= 127) coreDir += "c";
    assert.ok(fit(coreDir).noTid <= 127, `no --core-dir fits without the tid beside ${EXE}`);
    await Deno.mkdir(coreDir, { mode: 0o700 });
    const c = capture();
    const code = await installCommand(
      [`--core-dir=${coreDir}`, `--state-dir=${state.path}`],
      c.ctx,
      onFake(kernel),
    );
    assert.equal(code, 0, c.err.join("\n"));
    const written = `|${EXE} notify --core-dir=${coreDir} --facts=%P:%s:%t:%c:%d${
      PIDFD ? ":%F" : ""
    }:%E %p %u %g %e %h`;
    assert.equal(kernel.text(CORE_PATTERN_PATH), written);
    assert.deepEqual(c.err, [
      `Warning: the core_pattern with the crashing thread's id would be 128 bytes, over the kernel's limit of 127: installing it without --tid=%i ('${written}'): the crash report then finds the crashing thread in the core (the kernel writes it first), and a crash whose core is not kept names no thread, so that show gives the process's last events instead of the thread's: to keep the thread id, use a shorter --core-dir, or name lttng-trig by a shorter path, e.g. 'ln -s ${EXE} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
    ]);

    // With room for it, no warning: the whole line.
    await using state2 = await tempDir("ltt-");
    const kernel2 = new FakeKernel("core", "0");
    const roomy = capture();
    assert.equal(
      await installCommand(
        [`--core-dir=${cores.path}`, `--state-dir=${state2.path}`],
        roomy.ctx,
        onFake(kernel2),
      ),
      0,
    );
    assert.deepEqual(roomy.err, []);
    assert.match(kernel2.text(CORE_PATTERN_PATH), / --tid=%i /);
  },
});

Deno.test({
  name: "install --chain --core-dir warns when --tid=%i does not fit, and keeps the chain",
  async fn() {
    // A short directory with a link named lttng-trig, as users name it /usr/bin/lttng-trig.
    // Two characters under /run (the line must fit without the tid; install refuses a link
    // below the sticky /tmp), one no one else has.
    let dir = "";
    for (let i = 0; dir === ""; i++) {
      const name = `/run/${Math.floor(Math.random() * 36 * 36).toString(36).padStart(2, "0")}`;
      try {
        await Deno.mkdir(name, { mode: 0o700 });
        dir = name;
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists) || i > 100) throw err;
      }
    }
    await Deno.chmod(dir, 0o700);
    try {
      const exe = `${dir}/lttng-trig`;
      await Deno.symlink(EXE, exe);
      const base = { exe, chainSpecifiers: "P", stateDir: dir, facts: true, pidfd: PIDFD };
      const facts = `--facts=%P:%s:%t:%c:%d${PIDFD ? ":%F" : ""}:%E`;
      let coreDir = `${dir}/c`;
      while (corePatternFor({ ...base, coreDir }).length <= 127) coreDir += "c";
      const written = corePatternFor({ ...base, coreDir, tid: false });
      assert.ok(written.length <= 127, written);
      await Deno.mkdir(coreDir, { mode: 0o700 });
      const full =
        `|${exe} notify --core-dir=${coreDir} --state-dir=${dir} --chain=P:%P --tid=%i ${facts} %p %u %g %e %h`;
      const kernel = new FakeKernel("|/usr/bin/true %P", "0");
      const c = capture();
      const code = await installCommand(
        ["--chain", `--core-dir=${coreDir}`, `--exe=${exe}`, `--state-dir=${dir}`],
        c.ctx,
        onFake(kernel),
      );
      assert.equal(code, 0, c.err.join("\n"));
      assert.equal(
        kernel.text(CORE_PATTERN_PATH),
        `|${exe} notify --core-dir=${coreDir} --state-dir=${dir} --chain=P:%P ${facts} %p %u %g %e %h`,
      );
      assert.deepEqual(c.err.filter((l) => l.includes("--tid")), [
        `Warning: the core_pattern with the crashing thread's id would be ${full.length} bytes, over the kernel's limit of 127: installing it without --tid=%i ('${written}'): the crash report then finds the crashing thread in the core (the kernel writes it first), and a crash whose core is not kept names no thread, so that show gives the process's last events instead of the thread's: to keep the thread id, use a shorter --core-dir, or name lttng-trig by a shorter path, e.g. 'ln -s ${exe} /usr/bin/lttng-trig' and --exe=/usr/bin/lttng-trig`,
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
