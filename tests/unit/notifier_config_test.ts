/**
 * STATE_DIR/notifier.json: `install --chain` writes the chained handler there for the
 * notifier, beside install.json; `uninstall` removes it; the notifier reads it (and, for
 * an install made before it, install.json's chain). On a pretend kernel, without root.
 */
import assert from "node:assert/strict";
import { installCommand } from "../../lib/cli/install.ts";
import { uninstallCommand } from "../../lib/cli/uninstall.ts";
import { loadChain } from "../../lib/notify/chain.ts";
import type { InstallState } from "../../lib/install/state.ts";
import type { ChainState, NotifierConfig } from "../../lib/core/notifier_config.ts";
import { capture, EXE, FakeKernel, onFake, UID } from "../fixtures/install.ts";
import { tempDir, trustedTempDir } from "../fixtures/temp_dir.ts";

const HANDLER = "|/usr/bin/true %P %s";
const CHAIN: ChainState = {
  program: "/usr/bin/true",
  command: "/usr/bin/true %P %s",
  specifiers: "Ps",
  timeoutMs: 60_000,
};

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/** `install --chain --minimal` over {@linkcode HANDLER}, through a short link to the launcher. */
async function installChained(dir: string, kernel: FakeKernel): Promise<string[]> {
  const exe = `${dir}/lttng-trig`;
  await Deno.symlink(EXE, exe).catch((err) => {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  });
  const c = capture();
  const code = await installCommand(
    ["--chain", "--minimal", `--exe=${exe}`, `--state-dir=${dir}`],
    c.ctx,
    onFake(kernel),
  );
  assert.equal(code, 0, c.err.join("\n"));
  return c.out;
}

Deno.test("install --chain writes the chain to notifier.json beside install.json; uninstall removes both", async () => {
  await using dir = await trustedTempDir("ltc");
  const kernel = new FakeKernel(HANDLER, "0");
  await installChained(dir.path, kernel);
  const state = await readJson<InstallState>(`${dir.path}/install.json`);
  assert.deepEqual(state.chain, CHAIN);
  assert.deepEqual(await readJson<NotifierConfig>(`${dir.path}/notifier.json`), {
    version: 1,
    chain: CHAIN,
  });
  assert.equal((await Deno.stat(`${dir.path}/notifier.json`)).mode! & 0o777, 0o600);
  assert.deepEqual(await loadChain(dir.path, [UID]), CHAIN);

  const c = capture();
  assert.equal(await uninstallCommand([`--state-dir=${dir.path}`], c.ctx, onFake(kernel)), 0);
  assert.equal(kernel.text("/proc/sys/kernel/core_pattern"), HANDLER);
  const left = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assert.deepEqual(left, ["lttng-trig"]);
});

Deno.test("install without a chain writes a notifier.json without one", async () => {
  await using state = await tempDir("ltt-");
  const c = capture();
  assert.equal(
    await installCommand([`--state-dir=${state.path}`], c.ctx, onFake(new FakeKernel("core"))),
    0,
  );
  assert.deepEqual(await readJson(`${state.path}/notifier.json`), { version: 1 });
  assert.match(
    await loadChain(state.path, [UID]) as string,
    /^no chained handler in .*notifier\.json$/,
  );
});

Deno.test("an install made before notifier.json still chains, and installing again writes it", async () => {
  await using dir = await trustedTempDir("ltc");
  const kernel = new FakeKernel(HANDLER, "0");
  await installChained(dir.path, kernel);
  // What an older lttng-trig left: install.json alone.
  await Deno.remove(`${dir.path}/notifier.json`);
  assert.deepEqual(await loadChain(dir.path, [UID]), CHAIN);

  const out = await installChained(dir.path, kernel);
  assert.match(out[0], /^lttng-trig is already installed: /);
  assert.deepEqual(await readJson(`${dir.path}/notifier.json`), { version: 1, chain: CHAIN });

  // uninstall of such an install: nothing to remove but install.json.
  await Deno.remove(`${dir.path}/notifier.json`);
  const c = capture();
  assert.equal(await uninstallCommand([`--state-dir=${dir.path}`], c.ctx, onFake(kernel)), 0);
  assert.equal(kernel.text("/proc/sys/kernel/core_pattern"), HANDLER);
});

Deno.test("loadChain() refuses a notifier.json others could write, and says what is missing", async () => {
  await using state = await tempDir("ltt-", 0o700);
  assert.equal(
    await loadChain(state.path, [UID]),
    `neither notifier.json nor install.json is in ${state.path}`,
  );
  const path = `${state.path}/notifier.json`;
  await Deno.writeTextFile(path, JSON.stringify({ version: 1, chain: CHAIN }));
  await Deno.chmod(path, 0o666);
  assert.equal(
    await loadChain(state.path, [UID]),
    `${path} is writable by others (mode 666): run 'chmod go-w ${path}'`,
  );
  await Deno.chmod(path, 0o600);
  assert.deepEqual(await loadChain(state.path, [UID]), CHAIN);
  assert.equal(
    await loadChain(state.path, [UID + 1]),
    `${state.path} belongs to uid ${UID}, not to you: remove it`,
  );
  await Deno.writeTextFile(path, JSON.stringify({ version: 1, chain: { program: "/x" } }));
  assert.equal(
    await loadChain(state.path, [UID]),
    `${path} is not a valid notifier file: run 'lttng-trig install --chain' again`,
  );
  // notifier.json, when there is one, is the notifier's only source.
  await Deno.writeTextFile(`${state.path}/install.json`, JSON.stringify({ chain: CHAIN }));
  await Deno.writeTextFile(path, JSON.stringify({ version: 1 }));
  assert.equal(await loadChain(state.path, [UID]), `no chained handler in ${path}`);
});
