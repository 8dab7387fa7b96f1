/** Every client command, with no daemon on the run directory, says so and exits 1. */
import assert from "node:assert/strict";
import { assertExit, cli, client, makeDirs, show } from "./_helpers.ts";

const COMMANDS: [string, string[]][] = [
  ["set", ["-s", "s", "OnAnyCoreDump", "snapshot"]],
  ["set", ["-n", "x", "-s", "s", "onanycoredump", "stop"]],
  ["list", []],
  ["list", ["--json"]],
  ["remove", ["trigger-1"]],
  ["history", []],
  ["history", ["--json", "-n", "5"]],
];

Deno.test("client commands with no daemon running: Error: no lttng-trig daemon answers, exit 1", async () => {
  await using dirs = await makeDirs();
  for (const [command, args] of COMMANDS) {
    const r = await client(dirs, command, args);
    assertExit(r, 1);
    assert.equal(r.stdout, "", show(r));
    assert.ok(
      r.stderr.startsWith(`Error: no lttng-trig daemon answers on ${dirs.run}/client-lttng-trig`),
      show(r),
    );
    assert.match(r.stderr, /lttng-trig daemon/, show(r));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, show(r));
  }
  // Nothing was created in the run directory.
  assert.deepEqual([...Deno.readDirSync(dirs.run)], []);
});

Deno.test("client commands with a stale socket file or a missing run directory: exit 1", async () => {
  await using dirs = await makeDirs();
  // A socket file with no one listening, as a daemon killed with -9 leaves it.
  const listener = Deno.listen({ transport: "unix", path: `${dirs.run}/client-lttng-trig` });
  listener.close();
  await Deno.lstat(`${dirs.run}/client-lttng-trig`).catch(async () => {
    // This Deno removed it on close: leave a plain file in its place.
    await Deno.writeTextFile(`${dirs.run}/client-lttng-trig`, "");
  });
  const missing = `${dirs.scratch}/does-not-exist`;
  for (const [command, args] of COMMANDS) {
    const r = await client(dirs, command, args);
    assertExit(r, 1);
    assert.match(r.stderr, /^Error: no lttng-trig daemon answers on /, show(r));
    const r2 = await cli([command, `--run-dir=${missing}`, ...args]);
    assertExit(r2, 1);
    assert.ok(
      r2.stderr.startsWith(`Error: no lttng-trig daemon answers on ${missing}/client-lttng-trig`),
      show(r2),
    );
  }
});
