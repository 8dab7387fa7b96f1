/**
 * `install` and `uninstall` in process, on a pretend kernel and a temporary state
 * directory, without root: the kernel's files and the owners root would trust are
 * injected (`InstallCommandOptions`). What the real kernel will not do on demand: keep
 * something else than what was written, hold a pattern that is not UTF-8. The real
 * /proc/sys/kernel/core_pattern is in tests/e2e/install_test.ts.
 */
import assert from "node:assert/strict";
import {
  installCommand,
  type InstallCommandOptions,
  uninstallCommand,
} from "../../lib/cli/install.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  type KernelFiles,
} from "../../lib/install/kernel_files.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";
import type { InstallState } from "../../lib/install/state.ts";
import { runCli } from "../../lib/cli/main.ts";
import type { CommandContext } from "../../lib/cli/common.ts";
import { LAUNCHER } from "../fixtures/paths.ts";

/** The path the launcher names itself by (it resolves its own links). */
const EXE = await Deno.realPath(LAUNCHER);
/** This test's uid: the owner root's checks are told to trust. */
const UID = Deno.uid() ?? 0;

async function readState(stateDir: string): Promise<InstallState> {
  return JSON.parse(await Deno.readTextFile(`${stateDir}/install.json`)) as InstallState;
}

/** Install on `kernel`, trusting what this test's uid owns as root trusts root's. */
function onFake(kernel: KernelFiles): InstallCommandOptions {
  return { kernel, trustedOwners: [UID] };
}

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
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      kernel.mangle = (kept) => kept.slice(0, 20);
      const c = capture();
      await assert.rejects(
        installCommand([`--state-dir=${state}`], c.ctx, onFake(kernel)),
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
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      for (const previous of [new Uint8Array(0), Uint8Array.from([0x63, 0xff, 0x20, 0x25])]) {
        const kernel = new FakeKernel(previous, "3");
        const c = capture();
        assert.equal(await installCommand([`--state-dir=${state}`], c.ctx, onFake(kernel)), 0);
        assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE, facts: true }));
        assert.equal(kernel.text(CORE_PIPE_LIMIT_PATH), "3");
        assert.equal(await uninstallCommand([`--state-dir=${state}`], c.ctx, onFake(kernel)), 0);
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
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("|/usr/bin/lttng-trig notify %p %u %g %e %h", "0");
      const c = capture();
      assert.equal(await installCommand([`--state-dir=${state}`], c.ctx, onFake(kernel)), 0);
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
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      assert.equal(
        await installCommand([`--state-dir=${state}`], capture().ctx, onFake(kernel)),
        0,
      );
      await Deno.chmod(`${state}/install.json`, 0o666);
      for (const run of [installCommand, uninstallCommand]) {
        await assert.rejects(
          run([`--state-dir=${state}`], capture().ctx, onFake(kernel)),
          /install\.json is writable by others \(mode 666\): run 'chmod go-w /,
        );
      }
      assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE, facts: true }));
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test({
  name: "install refuses an executable that is not lttng-trig, and a --core-dir others can write",
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "ltt-" });
    try {
      const kernel = new FakeKernel("core");
      await assert.rejects(
        installCommand([`--state-dir=${state}`, "--exe=/bin/sh"], capture().ctx, onFake(kernel)),
        /cannot name \/bin\/sh in core_pattern: it is not named lttng-trig/,
      );
      await assert.rejects(
        installCommand([`--state-dir=${state}`, "--core-dir=/tmp"], capture().ctx, onFake(kernel)),
        /--core-dir \/tmp can be written by someone other than root/,
      );
      await assert.rejects(
        installCommand(
          [`--state-dir=${state}`, "--core-dir=/nonexistent"],
          capture().ctx,
          onFake(kernel),
        ),
        /--core-dir \/nonexistent does not exist: create it first/,
      );
      assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
      assert.deepEqual([...Deno.readDirSync(state)], []);
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});

Deno.test("install and uninstall refuse a state directory that another uid owns", async () => {
  const state = await Deno.makeTempDir({ prefix: "ltt-" });
  try {
    const kernel = new FakeKernel("core");
    const other = UID + 1;
    await assert.rejects(
      installCommand([`--state-dir=${state}`], capture().ctx, {
        kernel,
        trustedOwners: [other],
      }),
      new RegExp(`^CommandError: ${state} belongs to uid ${UID}, not to you: remove it$`),
    );
    assert.equal(kernel.text(CORE_PATTERN_PATH), "core");
    assert.deepEqual([...Deno.readDirSync(state)], []);
    assert.equal(await installCommand([`--state-dir=${state}`], capture().ctx, onFake(kernel)), 0);
    await assert.rejects(
      uninstallCommand([`--state-dir=${state}`], capture().ctx, { kernel, trustedOwners: [other] }),
      /belongs to uid \d+, not to you: remove it$/,
    );
    assert.equal(kernel.text(CORE_PATTERN_PATH), corePatternFor({ exe: EXE, facts: true }));
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
