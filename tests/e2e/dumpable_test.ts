/**
 * The daemon makes itself non-dumpable with prctl(PR_SET_DUMPABLE, 0): started here with
 * Deno directly, as root, with its core size limit unlimited and core_pattern a plain
 * `core` file, a SIGABRT leaves no core. The control: the C crasher, in the same
 * directory under the same pattern and limit, does leave one (so the check can fail).
 */
import assert from "node:assert/strict";
import { ROOT } from "../fixtures/paths.ts";
import { awaitListening } from "../fixtures/daemon.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher } from "../fixtures/crasher.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { requirement } from "../fixtures/require.ts";

const skip = Deno.uid() === 0 ? undefined : "needs root (it writes core_pattern)";

async function coresIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith("core")) names.push(e.name);
  return names;
}

Deno.test({
  name: "the daemon is non-dumpable by prctl, with no help from the launcher",
  ignore: requirement(skip),
  async fn() {
    const crasher = await buildCrasher();
    const work = await Deno.makeTempDir({ dir: "/tmp", prefix: "lttng-trig-dumpable-" });
    try {
      await using _pattern = await CorePatternGuard.set("core");
      // Control: a dumpable process leaves its core here.
      const control = await new Deno.Command("prlimit", {
        args: ["--core=unlimited", crasher, "1"],
        cwd: work,
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(control.signal, "SIGSEGV");
      const controlCores = await coresIn(work);
      assert.equal(controlCores.length, 1, `the control left no core in ${work}`);
      await Deno.remove(`${work}/${controlCores[0]}`);

      const run = `${work}/run`;
      await Deno.mkdir(run, { mode: 0o700 });
      const child = new Deno.Command("prlimit", {
        args: [
          "--core=unlimited",
          Deno.execPath(),
          "run",
          "--quiet",
          "--cached-only",
          "--config",
          `${ROOT}/deno.json`,
          "-P=lttng-trig",
          `${ROOT}/main.ts`,
          "daemon",
          `--run-dir=${run}`,
          `--state-dir=${work}/state`,
        ],
        cwd: work,
        env: { DENO_DIR: `${ROOT}/.tools/deno-dir` },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await using daemon = await awaitListening(child);
      const s = await runLauncher([
        "status",
        "--json",
        `--run-dir=${run}`,
        `--state-dir=${work}/state`,
      ]);
      const selfDump = JSON.parse(s.stdout).daemon.selfDump;
      assert.deepEqual(selfDump, {
        protected: true,
        reason: "non-dumpable: prctl(PR_SET_DUMPABLE, 0)",
      });
      Deno.kill(daemon.pid, "SIGABRT");
      const status = await daemon.statusPromise;
      assert.equal(status.signal, "SIGABRT");
      assert.deepEqual(await coresIn(work), [], "the daemon dumped core");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
