/**
 * A crash whose exec name, hostname (`unshare -u`) and executable path (a directory named
 * with an escape sequence) hold ESC sequences and C1 controls, through bin/lttng-trig and a
 * real daemon: `history`, `show` and `watch` print none of those bytes.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { cli, client, daemon, makeDirs, notifyArgs, show, type TestDirs } from "./_helpers.ts";
import type { DaemonProcess } from "../fixtures/daemon.ts";
import { UNPRINTABLE } from "../../lib/core/unprintable.ts";

/** Assert that no line of `text` holds a character a terminal acts on. */
function assertPrintable(text: string, message: string): void {
  for (const line of text.split("\n")) assert.doesNotMatch(line, UNPRINTABLE, message);
}

const EXEC = "ex\x1b]0;pwned\x07";
const HOST = "h\x1b[2J\u009b31m\u0085";
/** `%E` writes "/" as "!": /tmp/ESC[31mevil CSI 2J */
const EXE_FACT = "!tmp!\x1b[31mevil\u009b2J";

/** `watch` on the daemon `d` of `dirs`, once the daemon says it follows crashes. */
async function startWatch(dirs: TestDirs, d: DaemonProcess, args: string[] = []) {
  const watcher = new Deno.Command(LAUNCHER, {
    args: ["watch", ...args, `--run-dir=${dirs.run}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const watched = new Response(watcher.stdout).text();
  const watchErr = new Response(watcher.stderr).text();
  const deadline = Date.now() + 20_000;
  while (!/watch: a client follows crashes/.test(d.log)) {
    if (Date.now() > deadline) {
      watcher.kill("SIGKILL");
      await Promise.all([watcher.status, watched, watchErr]);
      throw new Error("watch never connected");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { watcher, watched, watchErr };
}

Deno.test("history, show and watch print no control byte from a crash's strings", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const { watcher, watched, watchErr } = await startWatch(dirs, d);
  try {
    const n = await cli(
      notifyArgs(
        dirs,
        `--facts=7401:11:1700000000:0:1:${EXE_FACT}`,
        "7401",
        "1000",
        "1000",
        EXEC,
        HOST,
      ),
    );
    assert.equal(n.code, 0, show(n));

    const h = await client(dirs, "history");
    assert.equal(h.code, 0, show(h));
    assertPrintable(h.stdout, show(h));
    assert.match(h.stdout, /ex\\x1b\]0;pwned\\x07/, show(h));

    const s = await client(dirs, "show", ["7401"]);
    assert.equal(s.code, 0, show(s));
    assertPrintable(s.stdout + s.stderr, show(s));
    assert.match(s.stdout, /host: +h\\x1b\[2J\\u009b31m\\u0085$/m, show(s));
    assert.match(s.stdout, /\(\/tmp\/\\x1b\[31mevil\\u009b2J\)$/m, show(s));

    // The JSON output keeps the values and escapes them as JSON.
    const j = await client(dirs, "history", ["--json"]);
    assertPrintable(j.stdout, show(j));
    const crash = JSON.parse(j.stdout).crashes[0];
    assert.equal(crash.execName, EXEC);
    assert.equal(crash.hostname, HOST);

    const wait = Date.now() + 20_000;
    while (!(await client(dirs, "history", ["--json"])).stdout.includes('"outcome":"no-trigger"')) {
      if (Date.now() > wait) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    watcher.kill("SIGINT");
  }
  assert.equal((await watcher.status).code, 0, await watchErr);
  const w = await watched;
  assert.match(w, /crash +pid 7401 .*exec "ex\\x1b\]0;pwned\\x07"/, w);
  assertPrintable(w, w);
});

/** The comm of the issue: the bytes c2 9b 33 31 6d, U+009B (a CSI by itself) then "31m". */
const C1_EXEC = "\u009b31m";

Deno.test("status, list, show and watch --json print no control byte from a crash or a trigger", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const { watcher, watched, watchErr } = await startWatch(dirs, d, ["--json"]);
  try {
    const set = await client(dirs, "set", [
      "-n",
      "c1",
      "-s",
      "esc-session",
      `--exec=${C1_EXEC}*`,
      "OnAnyCoreDump",
      "stop",
    ]);
    assert.equal(set.code, 0, show(set));
    const n = await cli(notifyArgs(dirs, "7402", "1000", "1000", C1_EXEC, HOST));
    assert.equal(n.code, 0, show(n));

    const s = await client(dirs, "status", [`--state-dir=${dirs.state}`, "--json"]);
    assertPrintable(s.stdout, show(s));
    assert.ok(s.stdout.includes('"execName":"\\u009b31m"'), show(s));
    assert.equal(JSON.parse(s.stdout).lastCrash.execName, C1_EXEC);
    const human = await client(dirs, "status", [`--state-dir=${dirs.state}`]);
    assertPrintable(human.stdout + human.stderr, show(human));
    assert.match(human.stdout, /^last crash: .* exec \\u009b31m: /m, show(human));

    const l = await client(dirs, "list", ["--json"]);
    assert.equal(l.code, 0, show(l));
    assertPrintable(l.stdout, show(l));
    assert.equal(JSON.parse(l.stdout).triggers[0].condition.exec, `${C1_EXEC}*`);
    const table = await client(dirs, "list");
    assertPrintable(table.stdout, show(table));
    assert.ok(table.stdout.includes("\\u009b31m*"), show(table));

    // A daemon's error that names what the user typed: the console escapes it too.
    const r = await client(dirs, "remove", [`x${C1_EXEC}\x1b[2J`]);
    assert.equal(r.code, 1, show(r));
    assertPrintable(r.stdout + r.stderr, show(r));
    assert.ok(r.stderr.includes("x\\u009b31m\\x1b[2J"), show(r));

    const j = await client(dirs, "show", ["--json", "7402"]);
    assert.equal(j.code, 0, show(j));
    assertPrintable(j.stdout, show(j));
    assert.equal(JSON.parse(j.stdout).execName, C1_EXEC);
  } finally {
    watcher.kill("SIGINT");
  }
  assert.equal((await watcher.status).code, 0, await watchErr);
  const w = await watched;
  assertPrintable(w, w);
  assert.ok(w.includes('"execName":"\\u009b31m"'), w);
});
