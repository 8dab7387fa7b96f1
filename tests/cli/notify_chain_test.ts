/**
 * `lttng-trig notify --chain=...` as the kernel runs it: the chained handler named in
 * STATE_DIR/notifier.json runs with the crash's values and the core on its stdin, also
 * with no daemon running; an install made before notifier.json (install.json alone)
 * still chains.
 */
import assert from "node:assert/strict";
import { cli, makeDirs, notifyArgs, show, type TestDirs } from "./_helpers.ts";

/** A handler that writes its arguments, then its stdin, to `out`. */
async function handler(dirs: TestDirs): Promise<{ program: string; out: string }> {
  const program = `${dirs.scratch}/handler.sh`;
  const out = `${dirs.scratch}/handled`;
  await Deno.writeTextFile(program, `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}\ncat >> ${out}\n`);
  await Deno.chmod(program, 0o755);
  return { program, out };
}

async function notifyChained(dirs: TestDirs): Promise<void> {
  const r = await cli(
    notifyArgs(dirs, "--chain=Ps:4242:11", "42", "0", "0", "my app", "box"),
    { stdin: new TextEncoder().encode("CORE") },
  );
  // No daemon runs: journaled, exit 1; the chained handler runs all the same.
  assert.equal(r.code, 1, show(r));
}

for (
  const [file, content] of [
    ["notifier.json", (chain: unknown) => ({ version: 1, chain })],
    ["install.json", (chain: unknown) => ({ version: 1, chain })],
  ] as const
) {
  Deno.test(`notify --chain runs the handler that ${file} names, with the crash's values and the core`, async () => {
    await using dirs = await makeDirs();
    const { program, out } = await handler(dirs);
    const chain = {
      program,
      command: `${program} %P %s %e %p`,
      specifiers: "Psep",
      timeoutMs: 10_000,
    };
    await Deno.writeTextFile(`${dirs.state}/${file}`, JSON.stringify(content(chain)));
    await Deno.chmod(`${dirs.state}/${file}`, 0o600);
    await notifyChained(dirs);
    assert.equal(await Deno.readTextFile(out), "4242\n11\nmy app\n42\nCORE");
    const log = await Deno.readTextFile(`${dirs.state}/chain.log`);
    assert.equal(JSON.parse(log.trimEnd()).outcome, "ok", log);
  });
}

Deno.test("notify --chain with neither file journals a missing handler", async () => {
  await using dirs = await makeDirs();
  await notifyChained(dirs);
  const entry = JSON.parse((await Deno.readTextFile(`${dirs.state}/chain.log`)).trimEnd());
  assert.equal(entry.outcome, "missing");
  assert.equal(
    entry.reason,
    `cannot find the chained handler: neither notifier.json nor install.json is in ${dirs.state}`,
  );
});
