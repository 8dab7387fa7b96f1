import assert from "node:assert/strict";
import { parseLinks, parseStatus, peerNamespaces } from "../../lib/daemon/peer_namespaces.ts";
import type { ProcessResult, ProcessRunner } from "../../lib/lttng/process.ts";

/** A runner that answers `grep` and `stat` from canned output, and records the calls. */
function fakeRunner(answers: { grep: Partial<ProcessResult>; stat: Partial<ProcessResult> }) {
  const calls: string[][] = [];
  const runner: ProcessRunner = {
    run(command, args, options) {
      calls.push([command, ...args]);
      if (command === "stat") assert.deepEqual(options.env, { QUOTING_STYLE: "literal" });
      const a = command === "grep" ? answers.grep : answers.stat;
      return Promise.resolve({ code: 0, stdout: "", stderr: "", timedOut: false, ...a });
    },
  };
  return { runner, calls };
}

const HOST_UTS = "uts:[4026531838]";

function status(name: string, dumping: string, nspid: string): string {
  return `Name:\t${name}\nNSpid:\t${nspid}\nCoreDumping:\t${dumping}\n`;
}

function links(pid: number, theirs: string, ours = HOST_UTS): string {
  return `/proc/${pid}/ns/uts -> ${theirs}\n/proc/self/ns/uts -> ${ours}\n`;
}

Deno.test("parseStatus reads Name, CoreDumping and NSpid", () => {
  assert.deepEqual(parseStatus(status("crasher", "1", "4242\t7")), {
    name: "crasher",
    coreDumping: "1",
    nsPids: [4242, 7],
  });
  assert.deepEqual(parseStatus("Name:\tmy prog\n"), { name: "my prog" });
  assert.deepEqual(parseStatus(""), {});
});

Deno.test("parseLinks maps each path to its namespace", () => {
  const l = parseLinks(links(12, "uts:[1]"));
  assert.equal(l.get("/proc/12/ns/uts"), "uts:[1]");
  assert.equal(l.get("/proc/self/ns/uts"), HOST_UTS);
  assert.equal(parseLinks("stat: cannot statx\n").size, 0);
});

Deno.test("peerNamespaces: the held process in the daemon's namespaces", async () => {
  const { runner, calls } = fakeRunner({
    grep: { stdout: status("crasher", "1", "4242") },
    stat: { stdout: links(4242, HOST_UTS) },
  });
  assert.deepEqual(await peerNamespaces(4242, "crasher", runner), {
    globalPid: 4242,
    uts: "same",
  });
  // No shell, and only the held process's files and the daemon's own link.
  assert.deepEqual(calls, [
    ["grep", "-s", "-E", "^(Name|CoreDumping|NSpid):", "/proc/4242/status"],
    ["stat", "-c", "%N", "/proc/4242/ns/uts", "/proc/self/ns/uts"],
  ]);
});

Deno.test("peerNamespaces: another UTS namespace is told", async () => {
  const { runner } = fakeRunner({
    grep: { stdout: status("crasher", "1", "4242") },
    stat: { stdout: links(4242, "uts:[4026532001]") },
  });
  const r = await peerNamespaces(4242, "crasher", runner);
  assert.equal(r.uts, "other");
  assert.equal(r.globalPid, 4242);
  assert.match(r.note!, /another UTS namespace/);
});

Deno.test("peerNamespaces: /proc/PID is another process when the crash is in another pid namespace", async () => {
  // The core says pid 7: /proc/7 here is someone else, or nothing.
  const cases: [string, RegExp][] = [
    [status("systemd", "0", "7"), /another process here/],
    [status("crasher", "0", "7"), /another process here/], // same name, not dumping
    [status("crasher", "1", "7\t1"), /another process here/], // in a child pid namespace
    ["", /does not exist here/],
  ];
  for (const [grep, why] of cases) {
    const { runner } = fakeRunner({ grep: { stdout: grep, code: grep ? 0 : 2 }, stat: {} });
    const r = await peerNamespaces(7, "crasher", runner);
    assert.equal(r.uts, "unknown", grep);
    assert.equal(r.globalPid, undefined, grep);
    assert.match(r.note!, why, grep);
  }
});

Deno.test("peerNamespaces: an exec name with a backslash or a newline matches the kernel's escaping", async () => {
  const { runner } = fakeRunner({
    grep: { stdout: status("a\\\\b\\nc", "1", "9") },
    stat: { stdout: links(9, HOST_UTS) },
  });
  assert.equal((await peerNamespaces(9, "a\\b\nc", runner)).uts, "same");
});

Deno.test("peerNamespaces: unknown, with the reason, when the tools fail", async () => {
  let r = await peerNamespaces(
    5,
    "x",
    fakeRunner({ grep: { spawnError: "grep: not found", code: -1 }, stat: {} }).runner,
  );
  assert.equal(r.uts, "unknown");
  assert.match(r.note!, /grep: not found/);
  r = await peerNamespaces(
    5,
    "x",
    fakeRunner({
      grep: { stdout: status("x", "1", "5") },
      stat: { code: 1, stderr: "stat: cannot statx '/proc/5/ns/uts': Permission denied\n" },
    }).runner,
  );
  assert.deepEqual(r.uts, "unknown");
  assert.equal(r.globalPid, 5);
  assert.match(r.note!, /Permission denied/);
  const throwing: ProcessRunner = { run: () => Promise.reject(new Error("boom")) };
  r = await peerNamespaces(5, "x", throwing);
  assert.equal(r.uts, "unknown");
  assert.match(r.note!, /boom/);
  r = await peerNamespaces(0, "x", throwing);
  assert.match(r.note!, /no process/);
});
