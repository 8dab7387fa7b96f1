/** `lttng-trig daemon` as a subprocess: sockets, pid file, exclusivity, restarts, refusals. */
import { COREDUMP_SOCKET_NAME } from "../../lib/core/paths.ts";
import assert from "node:assert/strict";
import { startDaemon } from "../fixtures/daemon.ts";
import {
  addTrigger,
  assertExit,
  cli,
  client,
  daemon,
  listTriggers,
  makeDirs,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";
import { requirement } from "../fixtures/require.ts";

const NOTIFY = "notify-lttng-sessiond";
const CONTROL = "client-lttng-trig";
const PID_FILE = "lttng-trig.pid";
const LOCK_FILE = "lttng-trig.lock";

async function tracingGid(): Promise<number | undefined> {
  const text = await Deno.readTextFile("/etc/group").catch(() => "");
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === "tracing" && /^\d+$/.test(gid ?? "")) return Number(gid);
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function runDaemonCli(dirs: TestDirs, extra: string[] = []) {
  // A daemon expected to refuse: it must exit by itself, well within the deadline.
  return cli(["daemon", `--run-dir=${dirs.run}`, `--state-dir=${dirs.state}`, ...extra], {
    timeoutMs: 20_000,
  });
}

Deno.test("daemon creates its sockets with their final modes, and a pid file", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  const notify = await Deno.lstat(`${dirs.run}/${NOTIFY}`);
  assert.ok(notify.isSocket);
  assert.equal(notify.uid, Deno.uid());
  assert.equal(notify.mode! & 0o7777, 0o600);

  const control = await Deno.lstat(`${dirs.run}/${CONTROL}`);
  assert.ok(control.isSocket);
  assert.equal(control.uid, Deno.uid());
  const tracing = Deno.uid() === 0 ? await tracingGid() : undefined;
  if (tracing === undefined) {
    assert.equal(control.mode! & 0o7777, 0o600);
  } else {
    assert.equal(control.mode! & 0o7777, 0o660);
    assert.equal(control.gid, tracing);
  }

  assert.equal(await Deno.readTextFile(`${dirs.run}/${PID_FILE}`), `${d.pid}\n`);
  // Nothing else is left in the run directory (no temporary bind directory).
  const names = [...Deno.readDirSync(dirs.run)].map((e) => e.name).sort();
  // Root's daemon also listens on the coredump socket, root-only too.
  const coredump = Deno.uid() === 0 ? [COREDUMP_SOCKET_NAME] : [];
  assert.deepEqual(names, [CONTROL, LOCK_FILE, PID_FILE, NOTIFY, ...coredump].sort());
  for (const name of coredump) {
    const st = await Deno.lstat(`${dirs.run}/${name}`);
    assert.ok(st.isSocket);
    assert.equal(st.mode! & 0o7777, 0o600);
  }
  // The store is in the state directory.
  assert.ok(await exists(`${dirs.state}/lttng-trig.db`));
  for (const dir of [dirs.run, dirs.state]) {
    assert.equal((await Deno.lstat(`${dir}/${LOCK_FILE}`)).mode! & 0o777, 0o600);
  }
  assert.match(d.log, new RegExp(`listening on ${dirs.run}/${NOTIFY} and ${dirs.run}/${CONTROL}`));
});

Deno.test("a second daemon on the same run directory refuses to start, and the first keeps serving", async () => {
  await using dirs = await makeDirs();
  await using first = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);
  const inodes = async () => [
    (await Deno.lstat(`${dirs.run}/${NOTIFY}`)).ino,
    (await Deno.lstat(`${dirs.run}/${CONTROL}`)).ino,
  ];
  const before = await inodes();

  await using other = await makeDirs();
  for (const stateDir of [dirs.state, other.state]) {
    const r = await cli(["daemon", `--run-dir=${dirs.run}`, `--state-dir=${stateDir}`], {
      timeoutMs: 20_000,
    });
    assertExit(r, 1);
    assert.match(
      r.stderr,
      new RegExp(`^Error: another lttng-trig daemon answers on ${dirs.run}/${CONTROL}`, "m"),
      show(r),
    );
  }
  assert.deepEqual(await inodes(), before);
  assert.equal(await Deno.readTextFile(`${dirs.run}/${PID_FILE}`), `${first.pid}\n`);
  assert.deepEqual((await listTriggers(dirs)).map((t) => t.session), [session]);
  assert.equal(first.status, undefined);
});

Deno.test("daemons started at once on one run directory: exactly one runs", async () => {
  await using dirs = await makeDirs();
  const starts = await Promise.allSettled(
    Array.from({ length: 5 }, () => daemon(dirs)),
  );
  const running = starts.filter((s) => s.status === "fulfilled");
  try {
    assert.equal(running.length, 1, starts.map((s) => s.status).join(", "));
    for (const s of starts) {
      if (s.status === "rejected") {
        assert.match(String(s.reason), /Error: another lttng-trig daemon (answers|uses)/);
      }
    }
    const [only] = running;
    assert.equal(await Deno.readTextFile(`${dirs.run}/${PID_FILE}`), `${only.value.pid}\n`);
    assert.deepEqual(await listTriggers(dirs), []);
  } finally {
    for (const s of running) await s.value.stop();
  }
});

Deno.test("a second daemon on the same state directory (another run directory) refuses", async () => {
  await using dirs = await makeDirs();
  await using other = await makeDirs();
  await using first = await daemon(dirs);
  const r = await cli(["daemon", `--run-dir=${other.run}`, `--state-dir=${dirs.state}`], {
    timeoutMs: 20_000,
  });
  assertExit(r, 1);
  assert.match(
    r.stderr,
    new RegExp(`^Error: another lttng-trig daemon uses the state directory ${dirs.state}`, "m"),
    show(r),
  );
  // It left nothing behind but its (released) lock file.
  const names = [...Deno.readDirSync(other.run)].map((e) => e.name);
  assert.deepEqual(names, [LOCK_FILE]);
  // Once the first is gone, the lock files it leaves do not stop a new daemon.
  await first.stop();
  await using _second = await startOn(other.run, dirs.state);
  assertExit(await cli(["list", `--run-dir=${other.run}`]), 0);
});

function startOn(runDir: string, stateDir: string) {
  return startDaemon({ runDir, stateDir });
}

Deno.test("SIGINT stops the daemon as SIGTERM does, with exit 0", async () => {
  await using dirs = await makeDirs();
  const d = await daemon(dirs);
  d.child.kill("SIGINT");
  const status = await d.stop();
  assert.equal(status.code, 0, d.log);
  assert.equal(await exists(`${dirs.run}/${CONTROL}`), false);
  assert.equal(await exists(`${dirs.run}/${NOTIFY}`), false);
});

Deno.test("SIGTERM stops the daemon with exit 0 and removes its sockets and pid file", async () => {
  await using dirs = await makeDirs();
  const d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const status = await d.stop();
  assert.equal(status.code, 0, d.log);
  assert.equal(status.signal, null, d.log);
  assert.ok(status.success);
  for (const name of [NOTIFY, CONTROL, PID_FILE]) {
    assert.equal(await exists(`${dirs.run}/${name}`), false, `${name} is left behind`);
  }
  assert.match(d.log, /daemon stopped/);
  const r = await client(dirs, "list");
  assertExit(r, 1);
  assert.match(r.stderr, /^Error: no lttng-trig daemon answers on /);
});

Deno.test("triggers survive a clean restart", async () => {
  await using dirs = await makeDirs();
  const session = uniqueSession();
  let before;
  {
    await using _d = await daemon(dirs);
    await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);
    await addTrigger(dirs, [
      "-n",
      "filtered",
      "--exec=web*",
      "--uid=1000",
      "--rate-policy=every:3",
      "--max-size=1M",
      "--url=net://collector.example",
      "-s",
      session,
      "OnAnyCoreDump",
      "snapshot",
    ]);
    await addTrigger(dirs, ["-n", "stopper", "-s", session, "OnAnyCoreDump", "stop"]);
    await client(dirs, "remove", ["stopper"]).then((r) => assertExit(r, 0));
    before = await listTriggers(dirs);
  }
  await using _again = await daemon(dirs);
  const after = await listTriggers(dirs);
  assert.deepEqual(after, before);
  assert.deepEqual(after.map((t) => t.name).sort(), ["filtered", "trigger-1"]);
  // Still refuses an identical trigger after the restart.
  const r = await client(dirs, "set", ["-s", session, "OnAnyCoreDump", "snapshot"]);
  assertExit(r, 1);
  assert.match(r.stderr, /^Error: an identical trigger exists already: `trigger-1`/m);
});

Deno.test("triggers acknowledged just before kill -9 survive, and the stale sockets are replaced", async () => {
  await using dirs = await makeDirs();
  const session = uniqueSession();
  const names: string[] = [];
  const d = await daemon(dirs);
  for (let i = 0; i < 3; i++) {
    names.push(
      await addTrigger(dirs, [
        "-n",
        `durable-${i}`,
        "-s",
        `${session}-${i}`,
        `OnAnyCoreDump`,
        i % 2 ? "stop" : "snapshot",
      ]),
    );
  }
  const removed = await client(dirs, "remove", ["durable-1"]);
  assertExit(removed, 0);
  // Right after `set` returned: no time for anything to be flushed later.
  const last = await addTrigger(dirs, [
    "-n",
    "last",
    "-s",
    uniqueSession(),
    "OnAnyCoreDump",
    "stop",
  ]);
  await d.kill9();
  assert.equal(d.status?.signal, "SIGKILL");

  // kill -9 leaves the socket files behind, with no one listening.
  const stale = await Deno.lstat(`${dirs.run}/${CONTROL}`);
  assert.ok(stale.isSocket);
  assert.ok((await Deno.lstat(`${dirs.run}/${NOTIFY}`)).isSocket);
  const r = await client(dirs, "list");
  assertExit(r, 1);
  assert.match(r.stderr, /^Error: no lttng-trig daemon answers on /, show(r));

  await using again = await daemon(dirs);
  assert.notEqual((await Deno.lstat(`${dirs.run}/${CONTROL}`)).ino, stale.ino);
  assert.equal(await Deno.readTextFile(`${dirs.run}/${PID_FILE}`), `${again.pid}\n`);
  const listed = (await listTriggers(dirs)).map((t) => t.name).sort();
  assert.deepEqual(listed, ["durable-0", "durable-2", last].sort());
  assert.ok(names.includes("durable-1"));
  // The new daemon works: add and remove.
  await addTrigger(dirs, ["-n", "after", "-s", session, "OnAnyCoreDump", "stop"]);
  assertExit(await client(dirs, "remove", ["after"]), 0);
});

Deno.test("stale files of any kind at the socket paths are replaced by a new daemon", async () => {
  await using dirs = await makeDirs();
  // A socket nobody listens on (Deno may or may not unlink on close) and a plain file.
  const l = Deno.listen({ transport: "unix", path: `${dirs.run}/${NOTIFY}` });
  l.close();
  await Deno.writeTextFile(`${dirs.run}/${NOTIFY}`, "").catch(() => {});
  await Deno.writeTextFile(`${dirs.run}/${CONTROL}`, "not a socket");
  await Deno.writeTextFile(`${dirs.run}/${PID_FILE}`, "999999999\n");
  await using d = await daemon(dirs);
  assert.ok((await Deno.lstat(`${dirs.run}/${NOTIFY}`)).isSocket);
  assert.ok((await Deno.lstat(`${dirs.run}/${CONTROL}`)).isSocket);
  assert.equal(await Deno.readTextFile(`${dirs.run}/${PID_FILE}`), `${d.pid}\n`);
  assert.deepEqual(await listTriggers(dirs), []);
});

Deno.test("a run or state directory writable by others is refused with a message naming it", async () => {
  for (const which of ["run", "state"] as const) {
    for (const mode of [0o777, 0o1777, 0o720]) {
      await using dirs = await makeDirs();
      await Deno.chmod(dirs[which], mode);
      const r = await runDaemonCli(dirs);
      assertExit(r, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^Error: /, show(r));
      assert.ok(r.stderr.includes(dirs[which]), show(r));
      assert.match(r.stderr, /writable by others/, show(r));
      assert.ok(r.stderr.includes(`chmod go-w ${dirs[which]}`), show(r));
      // Nothing listens, nothing was created in the run directory.
      assert.deepEqual([...Deno.readDirSync(dirs.run)], [], show(r));
    }
  }
});

Deno.test({
  name: "a run or state directory that another user owns is refused",
  // Only root can give a directory away.
  ignore: requirement(Deno.uid() === 0 ? undefined : "needs root (it chowns a directory)"),
  fn: async () => {
    for (const which of ["run", "state"] as const) {
      await using dirs = await makeDirs();
      await Deno.chown(dirs[which], 65534, 65534);
      const r = await runDaemonCli(dirs);
      assertExit(r, 1);
      assert.ok(r.stderr.includes(dirs[which]), show(r));
      assert.match(r.stderr, /belongs to uid 65534/, show(r));
      assert.deepEqual([...Deno.readDirSync(dirs.run)], []);
    }
  },
});

Deno.test("a run directory path that is not a directory is refused", async () => {
  await using dirs = await makeDirs();
  const file = `${dirs.scratch}/file`;
  await Deno.writeTextFile(file, "");
  const link = `${dirs.scratch}/link`;
  await Deno.symlink(dirs.run, link);
  for (const runDir of [file, link]) {
    const r = await cli(["daemon", `--run-dir=${runDir}`, `--state-dir=${dirs.state}`], {
      timeoutMs: 20_000,
    });
    assertExit(r, 1);
    assert.ok(r.stderr.includes(runDir), show(r));
  }
  assert.deepEqual([...Deno.readDirSync(dirs.run)], []);
});

Deno.test("a corrupt store file makes the daemon refuse to start, naming the file, untouched", async () => {
  await using dirs = await makeDirs();
  const db = `${dirs.state}/lttng-trig.db`;
  const garbage = crypto.getRandomValues(new Uint8Array(16 * 1024));
  await Deno.writeFile(db, garbage, { mode: 0o600 });
  const r = await runDaemonCli(dirs);
  assertExit(r, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^Error: /, show(r));
  assert.ok(r.stderr.includes(db), show(r));
  // Never silently replaced, and nothing listens.
  assert.deepEqual(await Deno.readFile(db), garbage);
  for (const name of [NOTIFY, CONTROL, PID_FILE]) {
    assert.equal(await exists(`${dirs.run}/${name}`), false, name);
  }
  const list = await client(dirs, "list");
  assertExit(list, 1);
});

Deno.test("daemon usage errors exit 2 before touching anything", async () => {
  await using dirs = await makeDirs();
  for (
    const extra of [["--bogus"], ["extra"], ["--action-timeout=5"], ["--action-timeout=soon"]]
  ) {
    const r = await runDaemonCli(dirs, extra);
    assertExit(r, 2);
    assert.match(r.stderr, /^Error: /, show(r));
    assert.match(r.stderr, /^Usage: lttng-trig daemon/m, show(r));
    assert.deepEqual([...Deno.readDirSync(dirs.run)], []);
  }
});
