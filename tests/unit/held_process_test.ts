import assert from "node:assert/strict";
import {
  lookAtHeldProcess,
  mapIdInside,
  parseStatus,
  type ProcReader,
  UNKNOWN_ID,
  withHeldProcess,
} from "../../lib/daemon/held_process.ts";
import type { CrashFacts } from "../../lib/core/crash_facts.ts";
import { libc } from "../../lib/daemon/libc.ts";

const HOST_UTS = "uts:[4026531838]";
const SOCKET = { source: "socket" } as const;
const NOTIFY = { source: "notify" } as const;

function status(name: string, dumping: string, nspid: string, uid = 1000): string {
  return `Name:\t${name}\nUmask:\t0022\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n` +
    `NSpid:\t${nspid}\nCoreDumping:\t${dumping}\n`;
}

/** A /proc of one process `pid`, and the daemon's own UTS link. */
function fakeProc(
  pid: number,
  p: { status?: string; uts?: string; cmdline?: string; exe?: string; uidMap?: string },
): ProcReader {
  const files = new Map<string, string | undefined>([
    [`/proc/${pid}/status`, p.status],
    [`/proc/${pid}/cmdline`, p.cmdline],
    [`/proc/${pid}/uid_map`, p.uidMap],
  ]);
  const links = new Map<string, string | undefined>([
    [`/proc/${pid}/ns/uts`, p.uts],
    [`/proc/${pid}/exe`, p.exe],
    ["/proc/self/ns/uts", HOST_UTS],
  ]);
  return { readFile: (f) => files.get(f), readLink: (l) => links.get(l) };
}

const HELD = {
  status: status("crasher", "1", "4242"),
  uts: HOST_UTS,
  cmdline: "/opt/app/crasher\0--port\0\0last arg\0",
  exe: "/opt/app/crasher",
};
const CRASH = { pid: 4242, uid: 1000, execName: "crasher" };
const CMDLINE = ["/opt/app/crasher", "--port", "", "last arg"];

Deno.test("parseStatus reads Name, the real Uid, CoreDumping and NSpid", () => {
  assert.deepEqual(parseStatus(status("crasher", "1", "4242\t7")), {
    name: "crasher",
    uid: 1000,
    coreDumping: "1",
    nsPids: [4242, 7],
  });
  assert.deepEqual(parseStatus("Name:\tmy prog\n"), { name: "my prog" });
  assert.deepEqual(parseStatus(""), {});
});

Deno.test("lookAtHeldProcess: the held process in the daemon's namespaces", () => {
  for (const options of [SOCKET, NOTIFY]) {
    assert.deepEqual(lookAtHeldProcess(CRASH, fakeProc(4242, HELD), options), {
      globalPid: 4242,
      uid: 1000,
      cmdline: CMDLINE,
      exePath: "/opt/app/crasher",
      uts: "same",
    });
  }
});

Deno.test("parseStatus reads the State letter and the real Gid", () => {
  const s = parseStatus("State:\tZ (zombie)\nUid:\t5\t6\t7\t8\nGid:\t9\t10\t11\t12\n");
  assert.deepEqual(s, { state: "Z", uid: 5, gid: 9 });
});

Deno.test("mapIdInside maps a global id into a user namespace through its uid_map", () => {
  const map = "         0       1000          1\n      1234          0          1\n";
  assert.equal(mapIdInside(map, 1000), 0);
  assert.equal(mapIdInside(map, 0), 1234);
  assert.equal(mapIdInside(map, 1001), undefined);
  assert.equal(mapIdInside("         0          0 4294967295\n", 4242), 4242);
  assert.equal(mapIdInside("", 0), undefined);
  assert.equal(mapIdInside("garbage\n1 2\n", 2), undefined);
});

Deno.test("lookAtHeldProcess: in socket mode a core's uid is its user namespace's, mapped to the global one", () => {
  // unshare -U --map-root-user by uid 1000: the core names uid 0.
  const inNs = { ...CRASH, uid: 0 };
  const proc = fakeProc(4242, { ...HELD, uidMap: "         0       1000          1\n" });
  const seen = lookAtHeldProcess(inNs, proc, SOCKET);
  assert.equal(seen.uid, 1000);
  assert.equal(seen.globalPid, 4242);
  const facts = withHeldProcess({ ...inNs, gid: 0, hostname: "box" }, seen, SOCKET);
  assert.equal(facts.uid, 1000);
  assert.equal(facts.uidVerified, undefined);
  assert.match(facts.uidNote!, /core's uid 0 is its user namespace's/);
  // A uid_map that does not lead to the core's uid: not the process.
  for (const uidMap of [undefined, "         0       1001          1\n"]) {
    const other = lookAtHeldProcess(inNs, fakeProc(4242, { ...HELD, uidMap }), SOCKET);
    assert.equal(other.uid, undefined);
    assert.equal(other.elsewhere, true);
  }
  // Pipe mode: %u is already global; a uid_map never excuses a mismatch.
  const pipe = lookAtHeldProcess(inNs, proc, NOTIFY);
  assert.equal(pipe.uid, undefined);
  assert.equal(pipe.globalPid, undefined);
});

Deno.test("lookAtHeldProcess: a process no longer dumping but not reaped still proves its uid", () => {
  const zombie = status("crasher", "1", "4242").replace(
    "CoreDumping:\t1\n",
    "State:\tZ (zombie)\n",
  );
  const seen = lookAtHeldProcess(CRASH, fakeProc(4242, { ...HELD, status: zombie }), SOCKET);
  assert.equal(seen.uid, 1000);
  assert.equal(seen.globalPid, undefined);
  assert.match(seen.note!, /no longer dumping core/);
  const running = status("crasher", "0", "4242").replace("Name:", "State:\tS (sleeping)\nName:");
  const reused = lookAtHeldProcess(CRASH, fakeProc(4242, { ...HELD, status: running }), SOCKET);
  assert.equal(reused.uid, undefined);
});

Deno.test("withHeldProcess: in socket mode an unproved uid is unknown and unverified", () => {
  const core: CrashFacts = { ...CRASH, uid: 0, gid: 0, hostname: "box" };
  for (
    const seen of [
      { uts: "unknown", elsewhere: true, note: "/proc/4242 is another process here" } as const,
      { uts: "unknown", note: "libc cannot be loaded" } as const,
    ]
  ) {
    const facts = withHeldProcess(core, seen, SOCKET);
    assert.equal(facts.uid, UNKNOWN_ID);
    assert.equal(facts.gid, UNKNOWN_ID);
    assert.equal(facts.uidVerified, false);
    assert.match(facts.uidNote!, /^not known: the core names uid 0 gid 0 .*\(.*\)$/);
    assert.ok(facts.uidNote!.includes(seen.note));
  }
  // A core that names no uid (its notes not parsed, or a 32-bit core's 0xffff) says so.
  const nameless = withHeldProcess(
    { ...core, pid: 0, uid: UNKNOWN_ID, gid: UNKNOWN_ID, coreNote: "big-endian 32-bit core" },
    { uts: "unknown", note: "no process to look at (pid 0)" },
    SOCKET,
  );
  assert.equal(nameless.uid, UNKNOWN_ID);
  assert.equal(nameless.uidVerified, false);
  assert.match(nameless.uidNote!, /^not known: the core names no uid, .*\(no process to look at/);
  assert.equal(nameless.coreNote, "big-endian 32-bit core");
  // Pipe mode keeps the kernel's %u whatever /proc says.
  const piped = withHeldProcess(core, { uts: "unknown", note: "x" }, NOTIFY);
  assert.equal(piped.uid, 0);
  assert.equal(piped.uidVerified, undefined);
});

Deno.test("lookAtHeldProcess: pipe mode looks at %P, which must lead to the pid %p names", () => {
  const proc = fakeProc(4242, { ...HELD, status: status("crasher", "1", "4242\t7") });
  // %p 7 in its container, %P 4242 here.
  const seen = lookAtHeldProcess({ ...CRASH, pid: 7, globalPid: 4242 }, proc, NOTIFY);
  assert.equal(seen.globalPid, 4242);
  assert.equal(seen.exePath, "/opt/app/crasher");
  // Without %P, /proc/7 here is not it.
  const other = lookAtHeldProcess({ ...CRASH, pid: 7 }, proc, NOTIFY);
  assert.equal(other.globalPid, undefined);
});

Deno.test("lookAtHeldProcess: pipe mode's %e may be the crashing thread's own name", () => {
  const crash = { ...CRASH, execName: "worker-3" }; // the main thread is "crasher"
  assert.equal(lookAtHeldProcess(crash, fakeProc(4242, HELD), NOTIFY).globalPid, 4242);
  // The core's name is the main thread's: socket mode insists on it.
  assert.equal(lookAtHeldProcess(crash, fakeProc(4242, HELD), SOCKET).elsewhere, true);
});

Deno.test("lookAtHeldProcess: another UTS namespace is told", () => {
  const seen = lookAtHeldProcess(
    CRASH,
    fakeProc(4242, { ...HELD, uts: "uts:[4026532001]" }),
    SOCKET,
  );
  assert.equal(seen.uts, "other");
  assert.equal(seen.globalPid, 4242);
  assert.match(seen.note!, /another UTS namespace/);
});

Deno.test("lookAtHeldProcess: /proc/PID is another process, or none, when the crash is in another pid namespace", () => {
  // The core says pid 7: /proc/7 here is someone else, or nothing.
  const cases: [string | undefined, RegExp][] = [
    [status("systemd", "1", "7"), /another process here/], // another name
    [status("crasher", "1", "7", 0), /another process here/], // another uid
    [status("crasher", "1", "7\t1"), /another process here/], // in a child pid namespace
    [undefined, /does not exist here/],
  ];
  for (const [text, why] of cases) {
    const seen = lookAtHeldProcess(
      { ...CRASH, pid: 7 },
      fakeProc(7, { ...HELD, status: text }),
      SOCKET,
    );
    assert.deepEqual(Object.keys(seen).sort(), ["elsewhere", "note", "uts"], text);
    assert.equal(seen.elsewhere, true, text);
    assert.match(seen.note!, why, text);
  }
});

Deno.test("lookAtHeldProcess: a process no longer dumping core was not held", () => {
  const proc = fakeProc(4242, { ...HELD, status: status("crasher", "0", "4242") });
  const seen = lookAtHeldProcess(CRASH, proc, SOCKET);
  assert.deepEqual(seen, {
    uts: "unknown",
    note: "/proc/4242 is no longer dumping core: it was not held",
  });
});

Deno.test("lookAtHeldProcess: an exec name with a backslash or a newline matches the kernel's escaping", () => {
  const proc = fakeProc(9, { ...HELD, status: status("a\\\\b\\nc", "1", "9") });
  const crash = { pid: 9, uid: 1000, execName: "a\\b\nc" };
  assert.equal(lookAtHeldProcess(crash, proc, SOCKET).uts, "same");
});

Deno.test("lookAtHeldProcess: unknown, with the reason, when /proc cannot be read", () => {
  let seen = lookAtHeldProcess(
    CRASH,
    fakeProc(4242, { ...HELD, uts: undefined, exe: undefined }),
    SOCKET,
  );
  assert.equal(seen.uts, "unknown");
  assert.equal(seen.globalPid, 4242);
  assert.equal(seen.exePath, undefined);
  assert.match(seen.note!, /cannot read \/proc\/4242\/ns\/uts/);
  seen = lookAtHeldProcess(CRASH, "libc cannot be loaded (nowhere)", SOCKET);
  assert.deepEqual(seen, { uts: "unknown", note: "libc cannot be loaded (nowhere)" });
  const throwing: ProcReader = {
    readFile: () => {
      throw new Error("boom");
    },
    readLink: () => undefined,
  };
  assert.match(lookAtHeldProcess(CRASH, throwing, SOCKET).note!, /boom/);
  assert.match(lookAtHeldProcess({ ...CRASH, pid: 0 }, throwing, SOCKET).note!, /no process/);
});

Deno.test("withHeldProcess: the kernel's facts win in pipe mode; socket mode takes the hostname on proof only", () => {
  const kernel: CrashFacts = { ...CRASH, gid: 0, hostname: "box", exePath: "/from/kernel" };
  const seen = lookAtHeldProcess(kernel, fakeProc(4242, HELD), NOTIFY);
  assert.deepEqual(withHeldProcess(kernel, seen, NOTIFY), {
    ...kernel,
    globalPid: 4242,
    cmdline: CMDLINE,
  });
  const core: CrashFacts = { ...CRASH, gid: 0, hostname: "box", cmdline: ["/opt/app/cra"] };
  assert.deepEqual(withHeldProcess(core, seen, SOCKET), {
    ...core,
    globalPid: 4242,
    cmdline: CMDLINE,
    exePath: "/opt/app/crasher",
  });
  const other = withHeldProcess(core, { uts: "other", globalPid: 4242, note: "another" }, SOCKET);
  assert.equal(other.hostname, "");
  assert.equal(other.hostnameNote, "not known: another");
  const away = withHeldProcess(core, { uts: "unknown", elsewhere: true, note: "away" }, SOCKET);
  assert.equal(away.hostname, "");
  assert.equal(away.hostnameNote, "not known: away");
  const unknown = withHeldProcess(core, { uts: "unknown", note: "why" }, SOCKET);
  assert.equal(unknown.hostname, "box");
  assert.equal(unknown.hostnameNote, "the daemon's; the process's own is not known (why)");
  assert.equal(withHeldProcess(kernel, { uts: "other", note: "x" }, NOTIFY).hostname, "box");
});

Deno.test("libc() reads this process's own /proc entries", () => {
  const reader: ProcReader | string = libc();
  if (typeof reader === "string") throw new Error(reader);
  assert.equal(libc(), reader, "opened once");
  const s = parseStatus(reader.readFile(`/proc/${Deno.pid}/status`)!);
  assert.deepEqual(s.nsPids?.at(-1), Deno.pid);
  assert.equal(s.uid, Deno.uid());
  assert.equal(s.coreDumping, "0");
  assert.match(reader.readLink("/proc/self/ns/uts")!, /^uts:\[\d+\]$/);
  assert.equal(reader.readLink(`/proc/${Deno.pid}/ns/uts`), reader.readLink("/proc/self/ns/uts"));
  assert.equal(reader.readLink(`/proc/${Deno.pid}/exe`), Deno.execPath());
  assert.ok(reader.readFile(`/proc/${Deno.pid}/cmdline`)!.includes("\0"));
  assert.equal(reader.readFile("/proc/nonexistent/status"), undefined);
  assert.equal(reader.readLink("/proc/nonexistent/ns/uts"), undefined);
});

Deno.test("lookAtHeldProcess: what /proc said is dropped when the pidfd says the process was reaped meanwhile", () => {
  const asked: string[] = [];
  const proc = fakeProc(4242, HELD);
  const counting: ProcReader = {
    readFile: (f) => (asked.push(f), proc.readFile(f)),
    readLink: (l) => proc.readLink(l),
  };
  const alive = lookAtHeldProcess(CRASH, counting, { ...SOCKET, alive: () => true });
  assert.equal(alive.uid, 1000);
  assert.equal(alive.globalPid, 4242);
  const reaped = lookAtHeldProcess(CRASH, counting, {
    ...SOCKET,
    alive: () => asked.length === 0, // asked after the reads: by then reaped
  });
  assert.deepEqual(reaped, {
    uts: "unknown",
    note: "the process 4242 was reaped while /proc was read: what it said may be another process's",
  });
  assert.equal(
    withHeldProcess({ ...CRASH, gid: 1000, hostname: "h" }, reaped, SOCKET).uid,
    UNKNOWN_ID,
  );
});
