import assert from "node:assert/strict";
import {
  lookAtHeldProcess,
  parseStatus,
  type ProcReader,
  withHeldProcess,
} from "../../lib/daemon/held_process.ts";
import type { CrashFacts } from "../../lib/trigger.ts";
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
  p: { status?: string; uts?: string; cmdline?: string; exe?: string },
): ProcReader {
  const files = new Map<string, string | undefined>([
    [`/proc/${pid}/status`, p.status],
    [`/proc/${pid}/cmdline`, p.cmdline],
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
      cmdline: CMDLINE,
      exePath: "/opt/app/crasher",
      uts: "same",
    });
  }
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
