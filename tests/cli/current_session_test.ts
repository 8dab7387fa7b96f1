/** `set` without -s uses the current session of $LTTNG_HOME/.lttngrc, as `lttng` does. */
import assert from "node:assert/strict";
import {
  assertExit,
  assertUsageError,
  client,
  daemon,
  listTriggers,
  makeDirs,
  show,
} from "./_helpers.ts";

/** An environment with only these variables (no inherited LTTNG_HOME or HOME). */
function onlyEnv(env: Record<string, string>) {
  return { clearEnv: true, env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env } };
}

Deno.test("set without -s uses the session of $HOME/.lttngrc when LTTNG_HOME is unset", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await Deno.writeTextFile(`${dirs.scratch}/.lttngrc`, "session=mysess\n");
  const r = await client(dirs, "set", ["OnAnyCoreDump", "stop"], onlyEnv({ HOME: dirs.scratch }));
  assertExit(r, 0);
  // It names the session it chose, as the daemon stored it.
  assert.equal(r.stdout, "Added trigger `trigger-1` on session `mysess` (the current session).\n");
  assert.match(r.stderr, /"mysess"/, show(r));
  const triggers = await listTriggers(dirs);
  assert.deepEqual(triggers.map((t) => [t.name, t.session]), [["trigger-1", "mysess"]]);
});

Deno.test("set without -s: $LTTNG_HOME/.lttngrc wins over $HOME/.lttngrc", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const home = `${dirs.scratch}/home`;
  const lttngHome = `${dirs.scratch}/lttng-home`;
  await Deno.mkdir(home);
  await Deno.mkdir(lttngHome);
  await Deno.writeTextFile(`${home}/.lttngrc`, "session=from-home\n");
  // lttng writes the file as "session=NAME"; tolerate spaces around it too.
  await Deno.writeTextFile(
    `${lttngHome}/.lttngrc`,
    "# current session\n session = from-lttng-home \n",
  );
  const r = await client(
    dirs,
    "set",
    ["onanycoredump", "snapshot"],
    onlyEnv({ HOME: home, LTTNG_HOME: lttngHome }),
  );
  assertExit(r, 0);
  // -s still wins over both.
  const explicit = await client(
    dirs,
    "set",
    ["-s", "explicit", "OnAnyCoreDump", "stop"],
    onlyEnv({ HOME: home, LTTNG_HOME: lttngHome }),
  );
  assertExit(explicit, 0);
  const sessions = (await listTriggers(dirs)).map((t) => t.session).sort();
  assert.deepEqual(sessions, ["explicit", "from-lttng-home"]);
});

Deno.test("set without -s and without a current session exits 2 and adds nothing", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  // No .lttngrc at all.
  const r = await client(dirs, "set", ["OnAnyCoreDump", "stop"], onlyEnv({ HOME: dirs.scratch }));
  assertUsageError(r, /no session given.*-s SESSION/);
  // A .lttngrc that names no session.
  await Deno.writeTextFile(`${dirs.scratch}/.lttngrc`, "# nothing here\n");
  const r2 = await client(dirs, "set", ["OnAnyCoreDump", "stop"], onlyEnv({ HOME: dirs.scratch }));
  assertUsageError(r2, /-s SESSION/);
  // Neither HOME nor LTTNG_HOME.
  const r3 = await client(dirs, "set", ["OnAnyCoreDump", "stop"], onlyEnv({}));
  assertUsageError(r3, /-s SESSION/);
  assert.deepEqual(await listTriggers(dirs), []);
});
