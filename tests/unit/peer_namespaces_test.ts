import assert from "node:assert/strict";
import {
  libcProcReader,
  parseStatus,
  peerNamespaces,
  type ProcReader,
} from "../../lib/daemon/peer_namespaces.ts";

const HOST_UTS = "uts:[4026531838]";

function status(name: string, dumping: string, nspid: string): string {
  return `Name:\t${name}\nUmask:\t0022\nNSpid:\t${nspid}\nCoreDumping:\t${dumping}\n`;
}

/** A /proc of one process `pid` with this status and UTS link, and the daemon's link. */
function fakeProc(pid: number, statusText: string | undefined, uts?: string): ProcReader {
  const files = new Map<string, string | undefined>([[`/proc/${pid}/status`, statusText]]);
  const links = new Map<string, string | undefined>([
    [`/proc/${pid}/ns/uts`, uts],
    ["/proc/self/ns/uts", HOST_UTS],
  ]);
  return { readFile: (p) => files.get(p), readLink: (p) => links.get(p) };
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

Deno.test("peerNamespaces: the held process in the daemon's namespaces", () => {
  const proc = fakeProc(4242, status("crasher", "1", "4242"), HOST_UTS);
  assert.deepEqual(peerNamespaces(4242, "crasher", proc), { globalPid: 4242, uts: "same" });
});

Deno.test("peerNamespaces: another UTS namespace is told", () => {
  const proc = fakeProc(4242, status("crasher", "1", "4242"), "uts:[4026532001]");
  const r = peerNamespaces(4242, "crasher", proc);
  assert.equal(r.uts, "other");
  assert.equal(r.globalPid, 4242);
  assert.match(r.note!, /another UTS namespace/);
});

Deno.test("peerNamespaces: /proc/PID is another process, or none, when the crash is in another pid namespace", () => {
  // The core says pid 7: /proc/7 here is someone else, or nothing.
  const cases: [string | undefined, RegExp][] = [
    [status("systemd", "0", "7"), /another process here/],
    [status("crasher", "0", "7"), /another process here/], // the same name, not dumping
    [status("crasher", "1", "7\t1"), /another process here/], // in a child pid namespace
    [undefined, /does not exist here/],
  ];
  for (const [text, why] of cases) {
    const r = peerNamespaces(7, "crasher", fakeProc(7, text, HOST_UTS));
    assert.equal(r.uts, "unknown", text);
    assert.equal(r.globalPid, undefined, text);
    assert.match(r.note!, why, text);
  }
});

Deno.test("peerNamespaces: an exec name with a backslash or a newline matches the kernel's escaping", () => {
  const proc = fakeProc(9, status("a\\\\b\\nc", "1", "9"), HOST_UTS);
  assert.equal(peerNamespaces(9, "a\\b\nc", proc).uts, "same");
});

Deno.test("peerNamespaces: unknown, with the reason, when /proc cannot be read", () => {
  let r = peerNamespaces(5, "x", fakeProc(5, status("x", "1", "5"), undefined));
  assert.equal(r.uts, "unknown");
  assert.equal(r.globalPid, 5);
  assert.match(r.note!, /cannot read \/proc\/5\/ns\/uts/);
  r = peerNamespaces(5, "x", "libc cannot be loaded (nowhere)");
  assert.deepEqual(r, { uts: "unknown", note: "libc cannot be loaded (nowhere)" });
  const throwing: ProcReader = {
    readFile: () => {
      throw new Error("boom");
    },
    readLink: () => undefined,
  };
  assert.match(peerNamespaces(5, "x", throwing).note!, /boom/);
  assert.match(peerNamespaces(0, "x", throwing).note!, /no process/);
});

Deno.test("libcProcReader reads this process's own /proc entries", () => {
  const reader = libcProcReader();
  if (typeof reader === "string") throw new Error(reader);
  const s = parseStatus(reader.readFile(`/proc/${Deno.pid}/status`)!);
  assert.deepEqual(s.nsPids?.at(-1), Deno.pid);
  assert.equal(s.coreDumping, "0");
  assert.match(reader.readLink("/proc/self/ns/uts")!, /^uts:\[\d+\]$/);
  assert.equal(reader.readLink(`/proc/${Deno.pid}/ns/uts`), reader.readLink("/proc/self/ns/uts"));
  assert.equal(reader.readFile("/proc/nonexistent/status"), undefined);
  assert.equal(reader.readLink("/proc/nonexistent/ns/uts"), undefined);
});
