import assert from "node:assert/strict";
import { kernelSplitsExecName, parseNotifyArgs } from "../../lib/notify/args.ts";

Deno.test("parseNotifyArgs() takes %p %u %g %e %h positionally", () => {
  assert.deepEqual(parseNotifyArgs(["42", "1000", "100", "apache2", "web1"], false), {
    pid: 42,
    uid: 1000,
    gid: 100,
    execName: "apache2",
    hostname: "web1",
    warnings: [],
  });
});

Deno.test("parseNotifyArgs() accepts uint32 extremes", () => {
  const a = parseNotifyArgs(["4294967295", "0", "4294967295", "e", "h"], false);
  assert.equal(a.pid, 4294967295);
  assert.equal(a.uid, 0);
  assert.equal(a.gid, 4294967295);
  assert.deepEqual(a.warnings, []);
});

Deno.test("parseNotifyArgs() tolerates empty arguments", () => {
  const a = parseNotifyArgs(["", "", "", "", ""], false);
  assert.equal(a.pid, 0);
  assert.equal(a.uid, undefined);
  assert.equal(a.gid, 0);
  assert.equal(a.execName, "");
  assert.equal(a.hostname, "");
  assert.ok(a.warnings.some((w) => /bad pid/.test(w)));
  assert.ok(a.warnings.some((w) => /bad uid/.test(w)));
});

Deno.test("parseNotifyArgs() keeps an empty hostname and still parses the rest", () => {
  const a = parseNotifyArgs(["42", "0", "0", "bash", ""], false);
  assert.equal(a.execName, "bash");
  assert.equal(a.hostname, "");
  assert.equal(a.uid, 0);
  assert.deepEqual(a.warnings, []);
});

Deno.test("parseNotifyArgs() tolerates missing arguments with a warning", () => {
  const none = parseNotifyArgs([], false);
  assert.equal(none.pid, 0);
  assert.equal(none.uid, undefined);
  assert.equal(none.execName, "");
  assert.ok(none.warnings.some((w) => /got 0 argument/.test(w)));
  const three = parseNotifyArgs(["1", "2", "3"], true);
  assert.deepEqual([three.pid, three.uid, three.gid, three.execName], [1, 2, 3, ""]);
  assert.ok(three.warnings.some((w) => /got 3 argument/.test(w)));
});

Deno.test("parseNotifyArgs() rejects non-numeric and out-of-range ids without throwing", () => {
  for (const bad of ["-1", "1e3", "0x10", " 1", "4294967296", "99999999999", "abc"]) {
    const a = parseNotifyArgs([bad, bad, bad, "e", "h"], false);
    assert.equal(a.pid, 0, bad);
    assert.equal(a.uid, undefined, bad);
    assert.equal(a.gid, 0, bad);
  }
});

Deno.test("parseNotifyArgs() ignores extra trailing arguments on new kernels", () => {
  const a = parseNotifyArgs(["42", "1000", "1000", "apache2", "web1", "x", "y"], false);
  assert.equal(a.execName, "apache2");
  assert.equal(a.hostname, "web1");
  assert.ok(a.warnings.some((w) => /ignored 2 extra/.test(w)));
});

Deno.test("parseNotifyArgs() joins an exec name split in several words on old kernels", () => {
  const a = parseNotifyArgs(["42", "1000", "1000", "my", "crashing", "app", "web1"], true);
  assert.equal(a.execName, "my crashing app");
  assert.equal(a.hostname, "web1");
  assert.deepEqual(a.warnings, []);
});

Deno.test("parseNotifyArgs() on old kernels takes five words as they are", () => {
  const a = parseNotifyArgs(["42", "1000", "1000", "app", "web1"], true);
  assert.equal(a.execName, "app");
  assert.equal(a.hostname, "web1");
});

Deno.test("parseNotifyArgs() keeps an exec name that looks like an option as data", () => {
  for (const exec of ["--help", "-x", "--run-dir=/tmp/evil", "a b", "--", "-"]) {
    const a = parseNotifyArgs(["42", "1000", "1000", exec, "host"], false);
    assert.equal(a.execName, exec);
    assert.equal(a.hostname, "host");
    assert.equal(a.runDir, undefined);
    assert.equal(a.pid, 42);
  }
});

Deno.test("parseNotifyArgs() keeps a hostname that looks like an option as data", () => {
  const a = parseNotifyArgs(["42", "0", "0", "e", "--state-dir=/x"], false);
  assert.equal(a.hostname, "--state-dir=/x");
  assert.equal(a.stateDir, undefined);
});

Deno.test("parseNotifyArgs() reads leading --run-dir, --state-dir and --timeout options", () => {
  const a = parseNotifyArgs(
    ["--run-dir=/x", "--state-dir=/y", "--timeout=5", "42", "1000", "1000", "e", "h"],
    false,
  );
  assert.equal(a.runDir, "/x");
  assert.equal(a.stateDir, "/y");
  assert.equal(a.timeoutMs, 5);
  assert.equal(a.pid, 42);
  assert.equal(a.execName, "e");
  assert.deepEqual(a.warnings, []);
});

Deno.test("parseNotifyArgs() ignores unknown options with a warning", () => {
  const a = parseNotifyArgs(["--foo=bar", "42", "1000", "1000", "e", "h"], false);
  assert.equal(a.pid, 42);
  assert.equal(a.execName, "e");
  assert.deepEqual(a.warnings, ["ignored option --foo"]);
});

Deno.test("parseNotifyArgs() ignores relative directories and bad timeouts", () => {
  const a = parseNotifyArgs(
    ["--run-dir=rel", "--state-dir=", "--timeout=-5", "42", "0", "0", "e", "h"],
    false,
  );
  assert.equal(a.runDir, undefined);
  assert.equal(a.stateDir, undefined);
  assert.equal(a.timeoutMs, undefined);
  assert.equal(a.warnings.length, 3);
  assert.equal(a.pid, 42);
});

Deno.test("parseNotifyArgs() stops reading options at the first positional value", () => {
  const a = parseNotifyArgs(["42", "--run-dir=/x", "0", "e", "h"], false);
  assert.equal(a.runDir, undefined);
  assert.equal(a.pid, 42);
  assert.equal(a.uid, undefined);
});

Deno.test("kernelSplitsExecName() is true before Linux 5.3 only", () => {
  assert.equal(kernelSplitsExecName("5.2.0"), true);
  assert.equal(kernelSplitsExecName("4.19.0-17-amd64"), true);
  assert.equal(kernelSplitsExecName("3.10.0"), true);
  assert.equal(kernelSplitsExecName("5.3.0"), false);
  assert.equal(kernelSplitsExecName("5.10.0"), false);
  assert.equal(kernelSplitsExecName("6.18.44-x"), false);
  assert.equal(kernelSplitsExecName("6.1.0\n"), false);
});

Deno.test("kernelSplitsExecName() is false for an unreadable release", () => {
  assert.equal(kernelSplitsExecName(""), false);
  assert.equal(kernelSplitsExecName("linux"), false);
});

Deno.test("parseNotifyArgs() never takes a split %E word after --facts as an option", () => {
  // A kernel before 5.3 splits %E "/tmp/x --timeout=60000" (written with "!") in two.
  const words = [
    "--facts=7:11:1700000000:0:1:!tmp!x",
    "--timeout=60000",
    "--state-dir=/home/alice/x",
    "42",
    "1000",
    "1000",
    "x",
    "h",
  ];
  for (const splits of [true, false]) {
    const a = parseNotifyArgs(words, splits);
    assert.equal(a.timeoutMs, undefined);
    assert.equal(a.stateDir, undefined);
    assert.equal(a.facts?.globalPid, 7);
  }
  // Old kernel: %p %u %g cannot be located among the words: no uid is trusted.
  const old = parseNotifyArgs(words, true);
  assert.equal(old.uid, undefined);
  assert.equal(old.ambiguous, true);
  assert.equal(old.facts?.exe, undefined);
});

Deno.test("parseNotifyArgs() on an old kernel does not let a split %E forge the uid", () => {
  // %E "/tmp/a 1 0 0 z": the words after --facts look like a whole crash of root.
  const a = parseNotifyArgs(
    ["--facts=7:11:1:0:1:!tmp!a", "1", "0", "0", "z", "42", "1000", "1000", "a", "h"],
    true,
  );
  assert.equal(a.uid, undefined);
  assert.ok(a.warnings.some((w) => w.startsWith("ambiguous split")), a.warnings.join());
});

Deno.test("parseNotifyArgs() reads options in the installed order, --facts last", () => {
  const a = parseNotifyArgs(
    ["--core-dir=/c", "--facts=7:11:1:0:1:!usr!bin!x", "42", "1000", "1000", "x", "h"],
    true,
  );
  assert.equal(a.coreDir, "/c");
  assert.equal(a.facts?.exe, "/usr/bin/x");
  assert.equal(a.uid, 1000);
  assert.equal(a.ambiguous, undefined);
  assert.deepEqual(a.warnings, []);
});

Deno.test("parseNotifyArgs() ignores a repeated option", () => {
  const a = parseNotifyArgs(["--timeout=5", "--timeout=60000", "42", "0", "0", "e", "h"], false);
  assert.equal(a.timeoutMs, 5);
  assert.deepEqual(a.warnings, ["ignored repeated option --timeout"]);
});

Deno.test("parseNotifyArgs() reads --tid=%i before --facts", () => {
  const a = parseNotifyArgs([
    "--tid=4243",
    "--facts=1:11:1700000000:0:1:!bin!x",
    "42",
    "0",
    "0",
    "x",
    "h",
  ], false);
  assert.equal(a.tid, 4243);
  assert.equal(a.facts?.exe, "/bin/x");
  assert.deepEqual(a.warnings, []);
  const bad = parseNotifyArgs(["--tid=-1", "42", "0", "0", "x", "h"], false);
  assert.equal(bad.tid, undefined);
  assert.deepEqual(bad.warnings, ["ignored option --tid"]);
});

Deno.test("parseNotifyArgs() reads %F, the kernel's pidfd, before %E in --facts", () => {
  const a = parseNotifyArgs(
    ["--facts=7:11:1:0:1:3:!usr!bin!a:b", "42", "1000", "1000", "a", "h"],
    false,
  );
  assert.equal(a.pidfd, 3);
  assert.equal(a.facts?.exe, "/usr/bin/a:b");
  assert.equal(a.facts?.globalPid, 7);
  // A kernel without %F leaves the field empty: no pidfd, the path still read.
  const old = parseNotifyArgs(["--facts=7:11:1:0:1::!usr!bin!a", "42", "0", "0", "a", "h"], false);
  assert.equal(old.pidfd, undefined);
  assert.equal(old.facts?.exe, "/usr/bin/a");
  // The line of before: a sixth field that starts with "!" is %E, even with a ":" in it.
  const before = parseNotifyArgs(["--facts=7:11:1:0:1:!opt!3:4", "42", "0", "0", "a", "h"], false);
  assert.equal(before.pidfd, undefined);
  assert.equal(before.facts?.exe, "/opt/3:4");
  // An empty %E after %F.
  const noExe = parseNotifyArgs(["--facts=7:11:1:0:1:3:", "42", "0", "0", "a", "h"], false);
  assert.equal(noExe.pidfd, 3);
  assert.equal(noExe.facts?.exe, undefined);
});
