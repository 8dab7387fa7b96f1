import assert from "node:assert/strict";
import { type PidfdIdentityDeps, withPidfdIdentity } from "../../lib/notify/identity.ts";
import type { NotifyArgs } from "../../lib/notify/args.ts";
import { closePidfd, pidfdInfo, pidfdOpen } from "../../lib/sys/pidfd.ts";

const ARGS: NotifyArgs = {
  pid: 7,
  uid: 1000,
  gid: 1000,
  execName: "crasher",
  hostname: "h",
  facts: { globalPid: 4242, signal: 11 },
  pidfd: 3,
  warnings: [],
};

const STATUS = "Name:\tcrasher\nUid:\t1001\t1001\t1001\t1001\nGid:\t1002\t1002\t1002\t1002\n";

function deps(over: Partial<PidfdIdentityDeps> = {}): PidfdIdentityDeps {
  return {
    info: () => "PIDFD_GET_INFO failed (an older kernel, in this test)",
    pids: () => ({ pid: 5151, nsPids: [5151, 7] }),
    alive: () => true,
    read: (path) => path === "/proc/5151/status" ? { text: STATUS } : `cannot read ${path}`,
    ...over,
  };
}

Deno.test("withPidfdIdentity takes the global pid from the pidfd, the uid and gid through it", () => {
  assert.deepEqual(withPidfdIdentity(ARGS, deps()), {
    ...ARGS,
    uid: 1001,
    gid: 1002,
    facts: { globalPid: 5151, signal: 11, identity: "pidfd" },
  });
  // No %F: the kernel's words, untouched.
  const { pidfd: _, ...without } = ARGS;
  assert.equal(withPidfdIdentity(without, deps()), without);
});

Deno.test("withPidfdIdentity keeps the kernel's words, with a warning, when the pidfd proves nothing", () => {
  const cases: [Partial<PidfdIdentityDeps>, RegExp][] = [
    [{ alive: () => false }, /reaped while it was read/],
    [{ pids: () => ({ pid: -1, nsPids: [] }) }, /gone/],
    [{ pids: () => "fd 3 is not a pidfd" }, /fd 3 is not a pidfd/],
    [
      { pids: () => ({ pid: 5151, nsPids: [5151, 8] }) },
      /pid 8 in its namespace, the crash is pid 7/,
    ],
    [{ read: () => ({ text: "Name:\tx\n" }) }, /no Uid or Gid/],
    [{ read: () => "cannot read /proc/5151/status: no such process" }, /no such process/],
  ];
  for (const [over, why] of cases) {
    const out = withPidfdIdentity(ARGS, deps(over));
    assert.equal(out.uid, 1000);
    assert.equal(out.facts?.globalPid, 4242);
    assert.equal(out.facts?.identity, undefined);
    assert.match(out.warnings.at(-1)!, /^the crash's identity is not proved by its pidfd: /);
    assert.match(out.warnings.at(-1)!, why);
  }
});

Deno.test("withPidfdIdentity takes PIDFD_GET_INFO's answer first, in one call", () => {
  const info = { pid: 6161, ppid: 1, uid: 1003, gid: 1004, euid: 0, egid: 0 };
  const untouched = () => {
    throw new Error("not asked when PIDFD_GET_INFO answered");
  };
  const out = withPidfdIdentity(ARGS, {
    info: () => info,
    pids: untouched,
    alive: untouched,
    read: untouched,
  });
  assert.deepEqual(out, {
    ...ARGS,
    uid: 1003,
    gid: 1004,
    facts: { globalPid: 6161, signal: 11, identity: "pidfd" },
  });
});

Deno.test("pidfdInfo and withPidfdIdentity through a real pidfd: a child, then reaped", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  const fd = pidfdOpen(child.pid) as number;
  try {
    const info = pidfdInfo(fd);
    assert.equal(typeof info, "object", String(info));
    const i = info as Exclude<typeof info, string>;
    assert.deepEqual([i.pid, i.ppid, i.uid, i.gid], [child.pid, Deno.pid, Deno.uid(), Deno.gid()]);
    const out = withPidfdIdentity({ ...ARGS, pid: child.pid, pidfd: fd });
    assert.deepEqual(out.warnings, []);
    assert.equal(out.facts?.globalPid, child.pid);
    assert.equal(out.uid, Deno.uid());
    assert.equal(out.gid, Deno.gid());
    assert.equal(out.facts?.identity, "pidfd");
    child.kill("SIGKILL");
    await child.status;
    assert.match(pidfdInfo(fd) as string, /PIDFD_GET_INFO failed/);
    const gone = withPidfdIdentity({ ...ARGS, pid: child.pid, pidfd: fd });
    assert.equal(gone.facts?.identity, undefined);
    assert.match(gone.warnings[0], /not proved by its pidfd: the process is gone/);
  } finally {
    closePidfd(fd);
    try {
      child.kill("SIGKILL");
    } catch { /* reaped */ }
  }
});
