/**
 * `install --core-limit=honour|ignore` (issue #21, item 6): the option, the pattern it
 * writes, what the notifier makes of it, and what install and status say.
 */
import assert from "node:assert/strict";
import { installCommand } from "../../lib/cli/install.ts";
import { parseInstallArgs } from "../../lib/cli/install_args.ts";
import { gatherStatus, statusLines } from "../../lib/cli/status.ts";
import { CORE_PATTERN_PATH } from "../../lib/install/kernel_files.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";
import { coreKeepingOf, coreKeepingText } from "../../lib/install/core_limit.ts";
import { parseNotifyArgs } from "../../lib/notify/args.ts";
import { keepCore } from "../../lib/notify/core_keeper.ts";
import { capture, EXE, FakeKernel, onFake } from "../fixtures/install.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

Deno.test("install --core-limit takes honour or ignore, with --core-dir only", () => {
  assert.equal(parseInstallArgs(["--core-dir=/c", "--core-limit=ignore"]).coreLimit, "ignore");
  assert.equal(parseInstallArgs(["--core-dir=/c", "--core-limit=honour"]).coreLimit, "honour");
  assert.equal(parseInstallArgs(["--core-dir=/c"]).coreLimit, undefined);
  assert.throws(
    () => parseInstallArgs(["--core-dir=/c", "--core-limit=never"]),
    /^UsageError: invalid --core-limit "never": honour or ignore$/,
  );
  assert.throws(
    () => parseInstallArgs(["--core-limit=ignore"]),
    /^UsageError: --core-limit goes with --core-dir$/,
  );
  assert.throws(
    () => parseInstallArgs(["--socket", "--core-limit=ignore"]),
    /^UsageError: --core-limit applies to the notifier, not to --socket/,
  );
});

Deno.test("corePatternFor() writes --core-limit=ignore after --core-dir, and nothing for honour", () => {
  assert.equal(
    corePatternFor({ exe: "/usr/bin/lttng-trig", coreDir: "/c", coreLimit: "ignore" }),
    "|/usr/bin/lttng-trig notify --core-dir=/c --core-limit=ignore --tid=%i --facts=%P:%s:%t:%c:%d:%E %p %u %g %e %h",
  );
  assert.equal(
    corePatternFor({ exe: "/usr/bin/lttng-trig", coreDir: "/c", coreLimit: "honour" }),
    corePatternFor({ exe: "/usr/bin/lttng-trig", coreDir: "/c" }),
  );
});

Deno.test("the notifier reads --core-limit and ignores a bad value with a warning", () => {
  const words = ["--core-dir=/c", "--core-limit=ignore", "--facts=1:11:5:0:1:!x", "1", "0", "0"];
  const args = parseNotifyArgs([...words, "x", "h"], false);
  assert.equal(args.coreLimit, "ignore");
  assert.equal(args.facts?.coreLimit, 0);
  const bad = parseNotifyArgs(["--core-limit=sometimes", "1", "0", "0", "x", "h"], false);
  assert.equal(bad.coreLimit, undefined);
  assert.deepEqual(bad.warnings, ["ignored option --core-limit"]);
});

Deno.test("coreKeepingOf() reads the pattern's --core-dir and --core-limit", () => {
  assert.deepEqual(
    coreKeepingOf(corePatternFor({ exe: "/x/lttng-trig", coreDir: "/c", coreLimit: "ignore" })),
    { dir: "/c", limit: "ignore" },
  );
  assert.deepEqual(coreKeepingOf(corePatternFor({ exe: "/x/lttng-trig", coreDir: "/c" })), {
    dir: "/c",
    limit: "honour",
  });
  assert.equal(coreKeepingOf("|/x/lttng-trig notify --facts=%c %p --core-dir=/c"), undefined);
  assert.equal(coreKeepingOf("core"), undefined);
});

Deno.test("keepCore() keeps nothing under ulimit -c 0, and the notifier's ignore passes no limit", async () => {
  await using dir = await tempDir("ltc-");
  const core = () => ReadableStream.from([new Uint8Array(4096)]);
  const options = { dir: `${dir.path}/cores`, execName: "x", uid: 0, pid: 7, time: 1 };
  const refused = await keepCore(core(), { ...options, coreLimit: 0 });
  assert.deepEqual(refused, {
    kept: false,
    text: "the process's core size limit (ulimit -c) is 0",
    bytes: 0,
  });
  // What lib/notify/cli.ts passes under --core-limit=ignore: no limit.
  const kept = await keepCore(core(), { ...options, coreLimit: undefined });
  assert.equal(kept.kept, true, JSON.stringify(kept));
});

Deno.test("install --core-dir says what becomes of cores under ulimit -c 0, and status too", async () => {
  await using state = await tempDir("ltt-");
  // A short directory: the kernel keeps 127 bytes of pattern.
  const cores = { path: `/tmp/lc${Deno.pid}` };
  await Deno.mkdir(cores.path, { mode: 0o700 });
  await using _cores = { [Symbol.asyncDispose]: () => Deno.remove(cores.path) };
  for (const limit of ["honour", "ignore"] as const) {
    const kernel = new FakeKernel("core");
    const c = capture();
    const argv = [`--state-dir=${state.path}`, `--core-dir=${cores.path}`];
    if (limit === "ignore") argv.push("--core-limit=ignore");
    assert.equal(await installCommand(argv, c.ctx, onFake(kernel)), 0, c.err.join("\n"));
    const said = c.out.find((l) => l.startsWith("Cores: "));
    const expected = limit === "ignore"
      ? `Cores: every crash's core is kept in ${cores.path} whatever its ulimit -c, as systemd-coredump keeps them (--core-limit=ignore).`
      : `Cores: a crash's core is kept in ${cores.path} only when its ulimit -c is not 0, and cut at that limit (--core-limit=honour): most shells and services start with ulimit -c 0, so set 'ulimit -c unlimited' (LimitCORE=infinity for a service), or install with --core-limit=ignore to keep every core as systemd-coredump does.`;
    assert.equal(said, expected);
    const pattern = kernel.text(CORE_PATTERN_PATH);
    assert.equal(pattern.includes("--core-limit=ignore"), limit === "ignore");
    assert.ok(pattern.startsWith(`|${EXE} notify --core-dir=${cores.path} `), pattern);
    const lines = statusLines(
      await gatherStatus({ socket: `${state.path}/none`, stateDir: state.path, kernel }),
    );
    const keeping = coreKeepingOf(pattern)!;
    assert.ok(lines.includes(`cores: ${coreKeepingText(keeping)}`), lines.join("\n"));
    await Deno.remove(`${state.path}/install.json`);
  }
});
