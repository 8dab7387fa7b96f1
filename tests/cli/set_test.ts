/** `set`, `list`, `remove` and `history` through bin/lttng-trig against a real daemon. */
import assert from "node:assert/strict";
import {
  addTrigger,
  assertExit,
  assertUsageError,
  cli,
  client,
  daemon,
  listTriggers,
  makeDirs,
  parseTable,
  show,
  uniqueSession,
} from "./_helpers.ts";

Deno.test("set adds trigger-1, warns that the session cannot be used yet, and exits 0", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  const r = await client(dirs, "set", ["-s", session, "OnAnyCoreDump", "snapshot"]);
  assertExit(r, 0);
  assert.equal(r.stdout, "Added trigger `trigger-1`.\n");
  // With a session daemon the session is missing; without one it cannot be checked.
  assert.match(
    r.stderr,
    new RegExp(`^Warning: (session "${session}" does not exist|cannot check session)`),
    show(r),
  );
  const triggers = await listTriggers(dirs);
  assert.equal(triggers.length, 1);
  assert.equal(triggers[0].name, "trigger-1");
  assert.equal(triggers[0].session, session);
  assert.deepEqual(triggers[0].condition, { type: "OnAnyCoreDump" });
  assert.deepEqual(triggers[0].action, { type: "snapshot" });
});

Deno.test("set takes the condition in any case, --name and options, and numbers triggers", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  assert.equal(await addTrigger(dirs, ["-s", session, "onanycoredump", "stop"]), "trigger-1");
  assert.equal(
    await addTrigger(dirs, ["--name", "web-crash", "-s", session, "ONANYCOREDUMP", "snapshot"]),
    "web-crash",
  );
  assert.equal(
    await addTrigger(dirs, [
      "-n",
      "big",
      "-s",
      session,
      "--max-size=64M",
      "--path=/var/crash/traces",
      "--exec=nginx*",
      "--uid=1000,1001",
      "--rate-policy=once-after:3",
      "OnAnyCoreDump",
      "snapshot",
    ]),
    "big",
  );
  const generated = await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  assert.match(generated, /^trigger-\d+$/);
  assert.notEqual(generated, "trigger-1");
  const byName = new Map((await listTriggers(dirs)).map((t) => [t.name, t]));
  assert.deepEqual([...byName.keys()].sort(), ["big", generated, "trigger-1", "web-crash"].sort());
  assert.deepEqual(byName.get("trigger-1")?.action, { type: "stop" });
  assert.deepEqual(byName.get("web-crash")?.action, { type: "snapshot" });
  const big = byName.get("big")!;
  assert.deepEqual(big.action, {
    type: "snapshot",
    maxSize: 64 * 1024 * 1024,
    path: "/var/crash/traces",
  });
  assert.equal(big.condition.exec, "nginx*");
  assert.deepEqual(big.condition.uids, [1000, 1001]);
  assert.deepEqual(big.ratePolicy, { kind: "once-after", count: 3 });
});

Deno.test("set refuses an identical trigger and a taken name with exit 1, changing nothing", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);
  await addTrigger(dirs, ["-n", "taken", "-s", session, "OnAnyCoreDump", "stop"]);
  const before = await listTriggers(dirs);

  // Same trigger, whatever the case of WHAT and even under another name.
  for (
    const args of [
      ["-s", session, "OnAnyCoreDump", "snapshot"],
      ["-s", session, "onanycoredump", "snapshot"],
      ["-n", "other", "-s", session, "OnAnyCoreDump", "snapshot"],
    ]
  ) {
    const r = await client(dirs, "set", args);
    assertExit(r, 1);
    assert.equal(r.stdout, "", show(r));
    assert.match(r.stderr, /^Error: an identical trigger exists already: `trigger-1`/m, show(r));
  }

  const r = await client(dirs, "set", [
    "-n",
    "taken",
    "-s",
    uniqueSession(),
    "OnAnyCoreDump",
    "snapshot",
  ]);
  assertExit(r, 1);
  assert.equal(r.stdout, "", show(r));
  assert.match(r.stderr, /^Error: .*`taken`/m, show(r));

  assert.deepEqual(await listTriggers(dirs), before);
});

Deno.test("list shows name, session, condition, action, rate and fired columns", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const empty = await client(dirs, "list");
  assertExit(empty, 0);
  assert.equal(empty.stdout, "No triggers.\n");

  const s1 = uniqueSession("a");
  const s2 = uniqueSession("b");
  await addTrigger(dirs, ["-s", s1, "OnAnyCoreDump", "snapshot"]);
  await addTrigger(dirs, [
    "-n",
    "stopper",
    "--rate-policy=every:2",
    "-s",
    s2,
    "onanycoredump",
    "stop",
  ]);
  const r = await client(dirs, "list");
  assertExit(r, 0);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 3, show(r));
  assert.match(lines[0], /^NAME\s+SESSION\s+CONDITION\s+ACTION\s/);
  const rows = parseTable(r.stdout);
  const t1 = rows.find((row) => row.NAME === "trigger-1");
  const t2 = rows.find((row) => row.NAME === "stopper");
  assert.ok(t1 !== undefined && t2 !== undefined, show(r));
  assert.deepEqual([t1.SESSION, t1.CONDITION, t1.ACTION], [s1, "OnAnyCoreDump", "snapshot"]);
  assert.deepEqual([t2.SESSION, t2.CONDITION, t2.ACTION], [s2, "OnAnyCoreDump", "stop"]);
  assert.match(t2.RATE ?? "", /every:2/);
});

Deno.test("list --json parses and holds every trigger", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-n", "j1", "-s", session, "OnAnyCoreDump", "snapshot"]);
  await addTrigger(dirs, ["-n", "j2", "-s", session, "OnAnyCoreDump", "stop"]);
  const r = await client(dirs, "list", ["--json"]);
  assertExit(r, 0);
  assert.equal(r.stderr, "");
  const parsed = JSON.parse(r.stdout) as { triggers: { name: string; session: string }[] };
  assert.ok(Array.isArray(parsed.triggers));
  assert.deepEqual(parsed.triggers.map((t) => t.name).sort(), ["j1", "j2"]);
  for (const t of parsed.triggers) assert.equal(t.session, session);
});

Deno.test("remove NAME removes the trigger; an unknown name exits 1 with a message", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-n", "keep", "-s", session, "OnAnyCoreDump", "stop"]);
  await addTrigger(dirs, ["-n", "drop", "-s", session, "OnAnyCoreDump", "snapshot"]);

  const r = await client(dirs, "remove", ["drop"]);
  assertExit(r, 0);
  assert.equal(r.stdout, "Removed trigger `drop`.\n");
  const list = await client(dirs, "list");
  assertExit(list, 0);
  assert.doesNotMatch(list.stdout, /\bdrop\b/);
  assert.match(list.stdout, /^keep\s/m);

  for (const name of ["drop", "no-such-trigger"]) {
    const bad = await client(dirs, "remove", [name]);
    assertExit(bad, 1);
    assert.equal(bad.stdout, "", show(bad));
    assert.match(
      bad.stderr,
      new RegExp(`^Error: no trigger named \`${name}\`.*lttng-trig list`),
      show(bad),
    );
  }
  assert.deepEqual((await listTriggers(dirs)).map((t) => t.name), ["keep"]);

  // The removed trigger's identity is free again.
  const again = await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);
  assert.match(again, /^trigger-\d+$/);
  assert.deepEqual((await listTriggers(dirs)).map((t) => t.name).sort(), [again, "keep"].sort());
});

Deno.test("history with no crash says so and exits 1, as coredumpctl does", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const r = await client(dirs, "history");
  assertExit(r, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "No crashes recorded.\n");
  const j = await client(dirs, "history", ["--json"]);
  assertExit(j, 1);
  assert.deepEqual(JSON.parse(j.stdout), { crashes: [] });
  const filtered = await client(dirs, "history", ["--exec=nginx*", "--since=1h"]);
  assertExit(filtered, 1);
  assert.equal(filtered.stderr, "No crashes match.\n");
});

Deno.test("usage errors exit 2 with Error: and Usage:, and change nothing", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-n", "existing", "-s", session, "OnAnyCoreDump", "snapshot"]);
  const before = await listTriggers(dirs);

  const cases: [string, string[], RegExp][] = [
    ["set", ["--bogus", "-s", session, "OnAnyCoreDump", "stop"], /--bogus/],
    ["set", ["-s", session, "OnAnyCoreDump"], /expected WHAT and ACTION/],
    ["set", ["-s", session], /expected WHAT and ACTION/],
    ["set", ["-s", session, "OnAnyCoreDump", "snapshot", "extra"], /expected WHAT and ACTION/],
    ["set", ["-s", session, "OnSomething", "snapshot"], /unknown condition "OnSomething"/],
    ["set", ["-s", session, "OnAnyCoreDump", "restart"], /unknown action "restart"/],
    [
      "set",
      ["--rate-policy=sometimes", "-s", session, "OnAnyCoreDump", "snapshot"],
      /--rate-policy/,
    ],
    [
      "set",
      ["--rate-policy", "every:0", "-s", session, "OnAnyCoreDump", "snapshot"],
      /--rate-policy/,
    ],
    ["set", ["--max-size=1M", "-s", session, "OnAnyCoreDump", "stop"], /--max-size/],
    ["set", ["--path=/tmp/x", "-s", session, "OnAnyCoreDump", "stop"], /--path/],
    ["set", ["--max-size=lots", "-s", session, "OnAnyCoreDump", "snapshot"], /--max-size/],
    [
      "set",
      ["--path=/tmp/x", "--url=net://collector", "-s", session, "OnAnyCoreDump", "snapshot"],
      /path|url/,
    ],
    ["set", ["--uid=root", "-s", session, "OnAnyCoreDump", "snapshot"], /--uid/],
    ["set", ["--signal=SIGNOPE", "-s", session, "OnAnyCoreDump", "snapshot"], /--signal/],
    ["set", ["-n", "bad name!", "-s", session, "OnAnyCoreDump", "stop"], /name/],
    ["set", ["-s"], /-s|session/],
    ["list", ["--bogus"], /--bogus/],
    ["list", ["extra"], /unexpected argument "extra"/],
    ["remove", [], /expected one trigger name/],
    ["remove", ["existing", "another"], /expected one trigger name/],
    ["remove", ["--all"], /--all/],
    ["history", ["-n", "0"], /--lines/],
    ["history", ["--lines=many"], /--lines/],
    ["history", ["extra"], /unexpected argument/],
    ["history", ["--since=yesterday"], /--since/],
  ];
  for (const [command, args, message] of cases) {
    const r = await client(dirs, command, args);
    assertUsageError(r, message);
    assert.match(r.stderr, new RegExp(`^Usage: lttng-trig ${command}\\b`, "m"), show(r));
  }
  assert.deepEqual(await listTriggers(dirs), before);
  const h = await client(dirs, "history");
  assert.equal(h.stderr, "No crashes recorded.\n", show(h));
});

Deno.test("an unknown command exits 2 with Error: and a Usage: line", async () => {
  for (
    const args of [["frobnicate"], ["trigger", "-s", "x", "OnAnyCoreDump", "snapshot"], ["--bogus"]]
  ) {
    const r = await cli(args);
    assertExit(r, 2);
    assert.equal(r.stdout, "", show(r));
    assert.match(r.stderr, new RegExp(`^Error: unknown command "${args[0]}"`), show(r));
    assert.match(r.stderr, /^Usage: /m, show(r));
  }
  const none = await cli([]);
  assertExit(none, 2);
  assert.match(none.stderr, /^Usage: lttng-trig COMMAND/m, show(none));
});

Deno.test("--help of every command exits 0 and prints its usage on stdout", async () => {
  for (const command of ["daemon", "set", "list", "remove", "history", "notify"]) {
    for (const help of ["--help", "-h"]) {
      const r = await cli([command, help]);
      assertExit(r, 0);
      assert.equal(r.stderr, "", show(r));
      assert.match(r.stdout, new RegExp(`^Usage: lttng-trig ${command}\\b`), show(r));
    }
    const viaHelp = await cli(["help", command]);
    assertExit(viaHelp, 0);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: lttng-trig ${command}\\b`), show(viaHelp));
  }
  // --help wins over other (even wrong) arguments, and touches no daemon.
  const r = await cli(["set", "--bogus", "-s", "x", "--help"]);
  assertExit(r, 0);
  assert.match(r.stdout, /^Usage: lttng-trig set/);
  const main = await cli(["--help"]);
  assertExit(main, 0);
  assert.match(main.stdout, /^Usage: lttng-trig COMMAND/);
  for (const command of ["daemon", "set", "list", "remove", "history", "notify"]) {
    assert.match(main.stdout, new RegExp(`^ {2}${command}\\s`, "m"));
  }
  const version = await cli(["--version"]);
  assertExit(version, 0);
  assert.match(version.stdout, /^lttng-trig \d+\.\d+\.\d+\n$/);
});
