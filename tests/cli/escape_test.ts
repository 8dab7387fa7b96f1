/**
 * A crash whose exec name, hostname (`unshare -u`) and executable path (a directory named
 * with an escape sequence) hold ESC sequences and C1 controls, through bin/lttng-trig and a
 * real daemon: `history`, `show` and `watch` print none of those bytes.
 */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { cli, client, daemon, makeDirs, notifyArgs, show } from "./_helpers.ts";

/** ESC, BEL, DEL and C1 controls: what a terminal acts on (U+009B is a CSI of its own). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;

const EXEC = "ex\x1b]0;pwned\x07";
const HOST = "h\x1b[2J\u009b31m\u0085";
/** `%E` writes "/" as "!": /tmp/ESC[31mevil CSI 2J */
const EXE_FACT = "!tmp!\x1b[31mevil\u009b2J";

Deno.test("history, show and watch print no control byte from a crash's strings", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const watcher = new Deno.Command(LAUNCHER, {
    args: ["watch", `--run-dir=${dirs.run}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const watched = new Response(watcher.stdout).text();
  const watchErr = new Response(watcher.stderr).text();
  try {
    const deadline = Date.now() + 20_000;
    while (!/watch: a client follows crashes/.test(d.log)) {
      if (Date.now() > deadline) throw new Error("watch never connected");
      await new Promise((r) => setTimeout(r, 20));
    }
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
    assert.doesNotMatch(h.stdout, CONTROL, show(h));
    assert.match(h.stdout, /ex\\x1b\]0;pwned\\x07/, show(h));

    const s = await client(dirs, "show", ["7401"]);
    assert.equal(s.code, 0, show(s));
    assert.doesNotMatch(s.stdout + s.stderr, CONTROL, show(s));
    assert.match(s.stdout, /host: +h\\x1b\[2J\\u009b31m\\u0085$/m, show(s));
    assert.match(s.stdout, /\(\/tmp\/\\x1b\[31mevil\\u009b2J\)$/m, show(s));

    // The JSON output keeps the values and escapes them as JSON.
    const j = await client(dirs, "history", ["--json"]);
    assert.doesNotMatch(j.stdout, CONTROL, show(j));
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
  assert.doesNotMatch(w, CONTROL, w);
});
