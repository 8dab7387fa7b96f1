import assert from "node:assert/strict";
import { pinCrash, type PinOps, startTicksOf } from "../../lib/daemon/early_pin.ts";
import type { CoredumpEvent } from "../../lib/daemon/proc_event.ts";

const EVENT: CoredumpEvent = {
  type: "coredump",
  pid: 501,
  tgid: 500,
  parentPid: 1,
  parentTgid: 1,
  // 10 s after boot (monotonic); no suspend: boot offset 0.
  timestampNs: 10_000_000_000n,
  cpu: 0,
};

function stat(startTicks: number, name = "crash er)"): string {
  // pid (comm) state, then fields 4..: starttime is field 22.
  const rest = Array.from({ length: 19 }, (_, i) => String(i + 4));
  rest[18] = String(startTicks);
  return `500 (${name}) S ${rest.join(" ")} 0 0 0`;
}

class FakeOps implements PinOps {
  files = new Map<string, string>([
    [
      "/proc/500/status",
      "Name:\tcrasher\nState:\tD (disk sleep)\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nNSpid:\t500\t7\nCoreDumping:\t1\n",
    ],
    ["/proc/500/stat", stat(900)],
    ["/proc/500/task/501/comm", "worker\n"],
    ["/proc/500/task/501/status", "Name:\tworker\nNSpid:\t501\t8\n"],
    ["/proc/500/cmdline", "/usr/bin/crasher\0-x\0"],
  ]);
  links = new Map<string, string>([
    ["/proc/500/exe", "/usr/bin/crasher"],
    ["/proc/500/ns/uts", "uts:[1]"],
    ["/proc/self/ns/uts", "uts:[1]"],
  ]);
  opened: number[] = [];
  closed: number[] = [];
  exited = false;
  readFile(path: string) {
    return this.files.get(path);
  }
  readLink(path: string) {
    return this.links.get(path);
  }
  pidfdOpen(pid: number) {
    if (pid !== 500) return "no such process";
    this.opened.push(40);
    return 40;
  }
  pidfdAlive() {
    return !this.exited;
  }
  closePidfd(fd: number) {
    this.closed.push(fd);
  }
  bootOffsetNs() {
    return 0n;
  }
  clockTicks() {
    return 100;
  }
  monotonicNs() {
    return 10_001_500_000;
  }
}

Deno.test("startTicksOf() reads field 22 past a name with spaces and parentheses", () => {
  assert.equal(startTicksOf(stat(12345)), 12345);
  assert.equal(startTicksOf("garbage"), undefined);
});

Deno.test("pinCrash() pins the announced process and reads the crashing thread's facts", () => {
  const ops = new FakeOps();
  const pin = pinCrash(EVENT, ops, { hostname: "web1" });
  assert.ok(typeof pin !== "string", String(pin));
  assert.equal(pin.pidfd, 40);
  assert.deepEqual(pin.facts, {
    pid: 7,
    globalPid: 500,
    uid: 1000,
    gid: 100,
    execName: "worker",
    hostname: "web1",
    tid: 8,
    exePath: "/usr/bin/crasher",
    cmdline: ["/usr/bin/crasher", "-x"],
  });
  assert.deepEqual(ops.closed, []);
});

Deno.test("pinCrash() refuses a process that is not dumping core, and closes its pidfd", () => {
  const ops = new FakeOps();
  ops.files.set(
    "/proc/500/status",
    "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t500\nCoreDumping:\t0\n",
  );
  const r = pinCrash(EVENT, ops, { hostname: "h" });
  assert.equal(r, "pid 500 is not the announced process: it is not dumping core");
  assert.deepEqual(ops.closed, [40]);
});

Deno.test("pinCrash() refuses a process that started after the announcement (a reused pid)", () => {
  const ops = new FakeOps();
  ops.files.set("/proc/500/stat", stat(1002)); // 10.02 s > 10 s
  const r = pinCrash(EVENT, ops, { hostname: "h" });
  assert.match(String(r), /started after the announcement/);
  assert.deepEqual(ops.closed, [40]);
});

Deno.test("pinCrash() refuses a process reaped while /proc was read", () => {
  const ops = new FakeOps();
  ops.exited = true;
  assert.match(String(pinCrash(EVENT, ops, { hostname: "h" })), /reaped while it was read/);
  assert.deepEqual(ops.closed, [40]);
});

Deno.test("pinCrash() says why a process cannot be pinned", () => {
  const ops = new FakeOps();
  assert.equal(
    pinCrash({ ...EVENT, tgid: 9 }, ops, { hostname: "h" }),
    "pid 9 cannot be pinned: no such process (1.50 ms after the announcement)",
  );
});

Deno.test("pinCrash() records no hostname for another UTS namespace", () => {
  const ops = new FakeOps();
  ops.links.set("/proc/500/ns/uts", "uts:[2]");
  const pin = pinCrash(EVENT, ops, { hostname: "web1" });
  assert.ok(typeof pin !== "string");
  assert.equal(pin.facts.hostname, "");
  assert.equal(pin.facts.hostnameNote, "not known: another UTS namespace than the daemon's");
});

Deno.test("pinCrash() pins a zombie not yet reaped: a dump that reached no helper ends at once", () => {
  const ops = new FakeOps();
  ops.files.set(
    "/proc/500/status",
    "Name:\tcrasher\nState:\tZ (zombie)\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nNSpid:\t500\t7\n",
  );
  const pin = pinCrash(EVENT, ops, { hostname: "h" });
  assert.ok(typeof pin !== "string", String(pin));
  assert.equal(pin.facts.uid, 1000);
});
