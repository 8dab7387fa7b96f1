import assert from "node:assert/strict";
import {
  closePidfd,
  holdByPidfd,
  parsePidfdInfo,
  pidfdAlive,
  pidfdOpen,
  pidfdPids,
  readThroughPidfd,
} from "../../lib/sys/pidfd.ts";

Deno.test("parsePidfdInfo reads Pid and NSpid, and -1 once reaped", () => {
  const info = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1234\nPid:\t4242\nNSpid:\t4242\t7\n";
  assert.deepEqual(parsePidfdInfo(info), { pid: 4242, nsPids: [4242, 7] });
  assert.deepEqual(parsePidfdInfo("Pid:\t-1\nNSpid:\t-1\n"), { pid: -1, nsPids: [] });
  assert.deepEqual(parsePidfdInfo("Pid:\t12\n"), { pid: 12, nsPids: [] });
  assert.equal(parsePidfdInfo("pos:\t0\nflags:\t02\n"), undefined);
  assert.equal(parsePidfdInfo("Pid:\tabc\n"), undefined);
});

Deno.test("pidfdOpen on a live child: its pid in the fdinfo, alive, then gone once reaped", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" })
    .spawn();
  const fd = pidfdOpen(child.pid);
  assert.equal(typeof fd, "number", String(fd));
  try {
    const pids = pidfdPids(fd as number);
    assert.deepEqual(pids, { pid: child.pid, nsPids: [child.pid] });
    assert.equal(pidfdAlive(fd as number), true);
    const read = readThroughPidfd(fd as number, (pid) => `read ${pid}`);
    assert.deepEqual(read, { pids, value: `read ${child.pid}` });
    child.kill("SIGKILL");
    await child.status; // reaped
    assert.equal(pidfdAlive(fd as number), false);
    assert.deepEqual(pidfdPids(fd as number), { pid: -1, nsPids: [] });
    assert.equal(readThroughPidfd(fd as number, () => 1), "the process is gone (reaped)");
  } finally {
    closePidfd(fd as number);
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

Deno.test("pidfdOpen says why without a process; pidfdPids refuses an fd that is no pidfd", () => {
  assert.equal(pidfdOpen(0), "not a process id: 0");
  assert.equal(pidfdOpen(-5), "not a process id: -5");
  // pid_max is at most 2^22: no such process.
  assert.equal(pidfdOpen(2 ** 22 + 1), "no such process");
  assert.match(pidfdPids(0) as string, /fd 0 is not a pidfd|cannot read/);
  assert.match(pidfdPids(999_999) as string, /cannot read \/proc\/self\/fdinfo\/999999/);
  assert.equal(pidfdAlive(999_999), false);
});

Deno.test("readThroughPidfd drops what it read when the process was reaped during the reads", () => {
  let alive = true;
  const deps = { pids: () => ({ pid: 42, nsPids: [42, 1] }), alive: () => alive };
  const reads: number[] = [];
  const ok = readThroughPidfd(7, (pid) => {
    reads.push(pid);
    return "status";
  }, deps);
  assert.deepEqual(ok, { pids: { pid: 42, nsPids: [42, 1] }, value: "status" });
  const gone = readThroughPidfd(7, (pid) => {
    reads.push(pid);
    alive = false; // reaped, and the number perhaps reused, while it was read
    return "another process's status";
  }, deps);
  assert.equal(gone, "the process 42 was reaped while it was read");
  assert.deepEqual(reads, [42, 42]);
  const outside = readThroughPidfd(7, () => 1, { ...deps, pids: () => ({ pid: 0, nsPids: [] }) });
  assert.equal(outside, "the process is in no pid namespace of ours");
  assert.equal(readThroughPidfd(7, () => 1, { ...deps, pids: () => "no pidfd" }), "no pidfd");
});

Deno.test("holdByPidfd holds a live process, says when it is gone, and has none for no process", async () => {
  assert.equal(holdByPidfd(2 ** 22 + 1), undefined);
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  const held = holdByPidfd(child.pid)!;
  try {
    assert.equal(held.alive(), true);
    child.kill("SIGKILL");
    await child.status;
    assert.equal(held.alive(), false);
  } finally {
    held.close();
  }
});
