/**
 * Issue #19, item 1: a checkout of root's below a sticky directory that anyone can write
 * (`/tmp/x`, mode 1777), where a temporary user plants a workspace deno.json with an
 * import map, or one that turns on a node_modules of theirs, or a package.json with a
 * node_modules, above the tree. Each plant is first shown to work on this Deno with the
 * command line the launcher ran before (so the test cannot pass by a plant that does
 * nothing); then root runs the launcher (the CLI and the notifier) and none of the
 * planted code runs, and `install` refuses the tree, naming the directory and the plant,
 * with core_pattern left alone (under the lock of tests/fixtures/core_pattern.ts).
 */
import assert from "node:assert/strict";
import { CORE_PATTERN_PATH } from "../../lib/install/kernel_files.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { ROOT } from "../fixtures/paths.ts";
import { requirement } from "../fixtures/require.ts";
import { TempUser } from "../fixtures/rel_user.ts";
import { runCommand } from "../fixtures/process.ts";
import type { RunResult } from "../fixtures/launcher.ts";

const SYSTEMD = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h";
const skip = Deno.uid() === 0 ? undefined : "useradd, install and the attack need root";
/** What the planted code prints: it must never appear. */
const PLANTED = "PLANTED CODE RAN";

/** A checkout of this tree at `dir`, root's, with the Deno of this one (`.tools`). */
async function copyCheckout(dir: string): Promise<void> {
  await Deno.mkdir(dir, { mode: 0o755 });
  await Deno.chmod(dir, 0o755);
  const files = ["main.ts", "deno.json", "deno.lock", "lib", "bin"].map((f) => `${ROOT}/${f}`);
  const r = await runCommand("cp", ["-a", "--", ...files, `${dir}/`]);
  assert.equal(r.code, 0, r.stderr);
  await Deno.symlink(`${ROOT}/.tools`, `${dir}/.tools`);
}

/** Write `files` (path to text) as `user`, as an attacker would: through their own shell. */
async function plant(user: TempUser, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const r = await user.runAs("/bin/sh", [
      "-c",
      'mkdir -p -- "$(dirname -- "$1")" && printf %s "$2" > "$1"',
      "sh",
      path,
      text,
    ]);
    assert.equal(r.code, 0, `planting ${path}: ${r.stderr}`);
    assert.equal((await Deno.lstat(path)).uid, user.uid);
  }
}

/** Remove what `user` planted in `base` (all but the checkout and the user's home). */
async function unplant(base: string, keep: string[]): Promise<void> {
  for await (const e of Deno.readDir(base)) {
    if (!keep.includes(e.name)) await Deno.remove(`${base}/${e.name}`, { recursive: true });
  }
}

/** The command line bin/lttng-trig ran before issue #19, on a deno.json of no workspace. */
async function runAsBefore(checkout: string): Promise<RunResult> {
  const json = await Deno.readTextFile(`${checkout}/deno.json`);
  const config = JSON.parse(json);
  delete config.workspace;
  await Deno.writeTextFile(`${checkout}/deno.json`, JSON.stringify(config));
  try {
    return await runCommand(`${ROOT}/.tools/node_modules/@deno/linux-x64-glibc/deno`, [
      "run",
      "--quiet",
      "--no-prompt",
      "--cached-only",
      "--config",
      `${checkout}/deno.json`,
      "-P=lttng-trig",
      `${checkout}/main.ts`,
      "--version",
    ], { cwd: "/", clearEnv: true, env: { DENO_DIR: `${ROOT}/.tools/deno-dir` } });
  } finally {
    await Deno.writeTextFile(`${checkout}/deno.json`, json);
  }
}

/** The launcher of `checkout`, run as the kernel runs it: cwd /, no environment. */
function launch(checkout: string, args: string[]): Promise<RunResult> {
  return runCommand(`${checkout}/bin/lttng-trig`, args, { cwd: "/", clearEnv: true, env: {} });
}

/** The plants, each a set of files in `base` above the checkout `base/lttng-trig`. */
function plants(base: string): Record<string, Record<string, string>> {
  const tree = `${base}/lttng-trig`;
  const evil = `console.log(${JSON.stringify(PLANTED)}, Deno.uid());\n`;
  const pkg = {
    [`${base}/node_modules/picomatch/package.json`]: JSON.stringify({
      name: "picomatch",
      version: "4.0.7",
      main: "index.js",
    }),
    [`${base}/node_modules/picomatch/index.js`]: `console.log(${
      JSON.stringify(PLANTED)
    }); module.exports = () => () => true;\n`,
  };
  return {
    "a workspace deno.json whose import map replaces main.ts and the notifier": {
      [`${base}/evil.ts`]: evil,
      [`${base}/deno.json`]: JSON.stringify({
        workspace: ["./lttng-trig"],
        imports: {
          [`file://${tree}/main.ts`]: `file://${base}/evil.ts`,
          [`file://${tree}/lib/notify/cli.ts`]: `file://${base}/evil.ts`,
        },
      }),
    },
    "a workspace deno.jsonc that points at an import map file": {
      [`${base}/evil.ts`]: evil,
      [`${base}/import_map.json`]: JSON.stringify({
        imports: { [`file://${tree}/main.ts`]: `file://${base}/evil.ts` },
      }),
      [`${base}/deno.jsonc`]: `// planted\n${
        JSON.stringify({ workspace: ["./lttng-trig"], importMap: "./import_map.json" })
      }`,
    },
    "a workspace deno.json that turns on a planted node_modules": {
      ...pkg,
      [`${base}/deno.json`]: JSON.stringify({
        workspace: ["./lttng-trig"],
        nodeModulesDir: "manual",
      }),
      [`${base}/package.json`]: JSON.stringify({ dependencies: { picomatch: "4.0.7" } }),
    },
    "a package.json and node_modules alone": {
      ...pkg,
      [`${base}/package.json`]: JSON.stringify({ dependencies: { picomatch: "4.0.7" } }),
    },
  };
}

Deno.test({
  name:
    "root's launcher runs no code planted above a checkout in a sticky /tmp, and install refuses that tree",
  ignore: requirement(skip),
  async fn(t) {
    const base = await Deno.makeTempDir({ prefix: "lttng-trig-attack-" });
    await Deno.chmod(base, 0o1777);
    const checkout = `${base}/lttng-trig`;
    try {
      await copyCheckout(checkout);
      await using user = await TempUser.create(base);
      const keep = ["lttng-trig", user.home.slice(base.length + 1)];
      const state = await Deno.makeTempDir({ dir: `${ROOT}/.tools`, prefix: "attack-state-" });
      try {
        const live: string[] = [];
        for (const [name, files] of Object.entries(plants(base))) {
          await t.step(name, async () => {
            await unplant(base, keep);
            await plant(user, files);
            const before = await runAsBefore(checkout);
            if (before.stdout.includes(PLANTED)) live.push(name);

            const version = await launch(checkout, ["--version"]);
            const shown = `exit ${version.code}\n${version.stdout}${version.stderr}`;
            assert.equal(version.code, 0, shown);
            assert.match(version.stdout, /^lttng-trig \d+\.\d+\.\d+\n$/, shown);
            const help = await launch(checkout, ["--help"]);
            assert.equal(help.code, 0, help.stderr);
            assert.match(help.stdout, /^Usage: lttng-trig COMMAND/);
            assert.doesNotMatch(help.stdout + help.stderr, new RegExp(PLANTED));
            // The notifier, as the kernel starts it (no daemon answers in `run`).
            const notify = await launch(checkout, [
              "notify",
              `--run-dir=${state}/run`,
              `--state-dir=${state}`,
              "4242",
              "0",
              "0",
              "attack",
              "host",
            ]);
            assert.doesNotMatch(notify.stdout + notify.stderr, new RegExp(PLANTED));
          });
        }
        // Three of the four plants ran root's code before the fix, on this very Deno; a
        // package.json with node_modules alone never did.
        assert.deepEqual(live, Object.keys(plants(base)).slice(0, 3));

        await t.step(
          "install refuses the tree, naming the sticky parent and the plant",
          async () => {
            await unplant(base, keep);
            await plant(
              user,
              plants(base)["a workspace deno.json that turns on a planted node_modules"],
            );
            await using _guard = await CorePatternGuard.set(SYSTEMD);
            const r = await launch(checkout, [
              "install",
              "--force",
              `--exe=${checkout}/bin/lttng-trig`,
              `--state-dir=${state}`,
            ]);
            const shown = `exit ${r.code}\n${r.stdout}${r.stderr}`;
            assert.equal(r.code, 1, shown);
            assert.match(r.stderr, /^Error: cannot name \S+ in core_pattern: /, shown);
            const real = await Deno.realPath(base);
            assert.ok(r.stderr.includes(`${real} (mode 1777, writable by others)`), shown);
            assert.ok(r.stderr.includes(`${real}/deno.json (above the tree`), shown);
            assert.ok(r.stderr.includes("not below /tmp"), shown);
            assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PLANTED));
            assert.equal(await Deno.readTextFile(CORE_PATTERN_PATH), `${SYSTEMD}\n`);
          },
        );
      } finally {
        await Deno.remove(state, { recursive: true });
      }
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
