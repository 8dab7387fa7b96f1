/**
 * The README's "Using it" recipe, run as written: the first ```sh block under "## Using it"
 * goes to bash unchanged, on the machine's lttng-sessiond (started only if none runs), with
 * the root daemon and core_pattern as `lttng-trig install` writes it. Then a traced program
 * crashes, and `show` must print that process's own last malloc, filtered by its vpid: the
 * recipe cannot drift from what LTTng and lttng-trig do. The session it creates is destroyed,
 * its snapshot output removed.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { LAUNCHER } from "../fixtures/paths.ts";
import { runLauncher } from "../fixtures/launcher.ts";
import { e2eUnavailable, RootDaemon } from "../fixtures/root_daemon.ts";
import { lttng, SessionDaemon } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { runCommand } from "../fixtures/process.ts";
import { requirement } from "../fixtures/require.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";

const skip = await e2eUnavailable();

/** The first ```sh block under `heading` in README.md. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  assert.ok(section !== undefined, `README.md has no "## ${heading}"`);
  const m = /^```sh\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(m !== null, `no sh block under "## ${heading}"`);
  return m[1];
}

Deno.test({
  name:
    "README's Using it recipe, run as written, lets show print the crashed process's own events",
  ignore: requirement(skip),
  async fn() {
    const recipe = await readmeBlock("Using it");
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    const work = await Deno.makeTempDir({ prefix: "lttng-trig-readme-" });
    await Deno.chmod(work, 0o755);
    // The user's home: .lttngrc (the current session) goes there, not in root's.
    const home = `${work}/home`;
    const bin = `${work}/bin`;
    await Deno.mkdir(home, { mode: 0o700 });
    await Deno.mkdir(bin);
    await Deno.symlink(LAUNCHER, `${bin}/lttng-trig`);
    const env = {
      HOME: home,
      PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    };
    let session: string | undefined;
    let trigger: string | undefined;
    let output: string | undefined;
    try {
      await using _root = await RootDaemon.start(`${work}/state`);
      // What `lttng-trig install` writes.
      await using _pattern = await CorePatternGuard.set(
        corePatternFor({ exe: await Deno.realPath(LAUNCHER), facts: true }),
      );
      const r = await runCommand("bash", ["-e", "-c", recipe], { clearEnv: true, env });
      session = /^session=(.+)$/m.exec(
        await Deno.readTextFile(`${home}/.lttngrc`).catch(() => ""),
      )?.[1];
      trigger = /^Added trigger `([^`]+)`/m.exec(r.stdout)?.[1];
      assert.equal(r.code, 0, `${recipe}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
      assert.ok(session !== undefined && trigger !== undefined, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(
          `^Added trigger \`${trigger}\` on session \`${session}\` \\(the current session\\)\\.$`,
          "m",
        ),
      );
      // The recipe's session is fit for show: set has nothing to warn about.
      assert.equal(r.stderr.includes("Warning:"), false, r.stderr);

      const run = await crash({ lastAlloc: 24601 });
      assert.equal(run.signal, "SIGSEGV");
      const entry = await crashEntry(run.pid);
      assert.equal(entry.outcome, "ok", JSON.stringify(entry));
      const snapshot = entry.results.find((x) => x.trigger === trigger)?.snapshot;
      assert.ok(snapshot !== undefined, JSON.stringify(entry));
      output = dirname(snapshot);

      const shown = await runLauncher(["show", String(run.pid)]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        new RegExp(
          `^Last \\d+ events of (the crashing thread \\d+ of )?pid ${run.pid} \\(babeltrace2 `,
          "m",
        ),
        shown.stdout,
      );
      const mallocs = shown.stdout.split("\n").filter((l) => l.includes("lttng_ust_libc:malloc"));
      assert.ok(mallocs.length > 0, shown.stdout);
      assert.ok(mallocs.every((l) => l.includes(`vpid = ${run.pid}, vtid = `)), shown.stdout);
      assert.match(mallocs.at(-1)!, /size = 24601\b/, shown.stdout);
    } finally {
      if (trigger !== undefined) await runLauncher(["remove", trigger]);
      if (session !== undefined) await lttng("destroy", session).catch(() => {});
      // The session's snapshot output, named after it by LTTng.
      if (output !== undefined && session !== undefined && output.includes(`/${session}-`)) {
        await Deno.remove(output, { recursive: true }).catch(() => {});
      }
      await Deno.remove(work, { recursive: true });
    }
  },
});
