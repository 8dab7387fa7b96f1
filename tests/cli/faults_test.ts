/**
 * Faults around the action: no session daemon, no `lttng` binary, an `lttng` that
 * hangs, the daemon killed in the middle of an action, a crash of LTTng's own daemons.
 * For each: the crash is recorded with the failure and a readable reason, the crashed
 * process (here, the notifier subprocess, whose stdin stays open as the kernel's core
 * pipe does) is released in under 5 s, and the daemon keeps serving.
 *
 * Fakes (these are not end-to-end tests): tests/fixtures/rel_fake_lttng.ts puts a shell
 * script called `lttng` first on the daemon's PATH. It appends its arguments to a file,
 * and on `snapshot record` either exits 0 ("ok"), or writes its pid to a file and
 * `exec`s a long sleep ("hang"), or writes its pid and its child's and waits on a sleeping
 * child that holds its stdout and stderr ("hang-with-child"). Every other invocation
 * exits 0 at once. The fixture stops, by pid, whatever sleeper is left at the end.
 * The "no lttng" PATH holds only links to what bin/lttng-trig needs.
 */
import assert from "node:assert/strict";
import { controlRequest, sendNotification } from "../../lib/client/client.ts";
import { ControlCommand } from "../../lib/wire/control.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import {
  fakeAlive,
  fakeLttng,
  pathWithoutLttng,
  startDaemonOnPath,
} from "../fixtures/rel_fake_lttng.ts";
import { startDaemonAs } from "../fixtures/rel_user.ts";
import { waitFor } from "../fixtures/wait.ts";
import {
  addTrigger,
  assertExit,
  client,
  listTriggers,
  makeDirs,
  notifyArgs,
  parseTable,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";

/** The bound: a crashed process is released in under 5 s, whatever failed. */
const RELEASE_BOUND_MS = 5000;

interface CrashEntry {
  pid: number;
  execName: string;
  outcome: string;
  detail?: string;
  results: { trigger: string; outcome: string; reason?: string }[];
}

async function crashOf(runDir: string, pid: number): Promise<CrashEntry> {
  return await waitFor(async () => {
    const reply = await controlRequest(`${runDir}/client-lttng-trig`, ControlCommand.HISTORY, {
      pid,
    }, { timeoutMs: 3000 });
    const c = reply.crashes.at(-1);
    return c !== undefined && c.outcome !== "pending" ? c : undefined;
  }, { what: `the outcome of the crash of pid ${pid}` });
}

/** What a notifier run looked like from the crashed process's side. */
interface Held {
  /** Exit code of the notifier. */
  code: number;
  /** Milliseconds from its start until it closed the core pipe (the release). */
  releasedMs: number;
  /** Its LTTNG_TRIG_DEBUG report. */
  run?: {
    deliveries: { outcome: string; status?: number; fired?: number; reason?: string }[];
    failures: string[];
    heldMs: number;
  };
  stderr: string;
}

/**
 * Run `notify` as the kernel would, with a core pipe on stdin that stays open: we keep
 * writing the "core" until the notifier closes its end, which is the moment the crashed
 * process is released. Killed after 20 s, so that a hang fails the test instead of
 * hanging it.
 */
async function heldNotify(dirs: TestDirs, pid: number, exec: string): Promise<Held> {
  const started = performance.now();
  const child = new Deno.Command(LAUNCHER, {
    args: notifyArgs(dirs, String(pid), "0", "0", exec, "fault-host"),
    env: { LTTNG_TRIG_DEBUG: "1" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, 20_000);
  const released = (async () => {
    const writer = child.stdin.getWriter();
    const chunk = new Uint8Array(4096).fill(0xcc);
    try {
      // More than a pipe holds: this blocks until the notifier closes its end.
      for (;;) await writer.write(chunk);
    } catch { /* EPIPE: released */ }
    return performance.now() - started;
  })();
  try {
    const [out, releasedMs] = await Promise.all([child.output(), released]);
    const stderr = new TextDecoder().decode(out.stderr);
    const last = stderr.trim().split("\n").at(-1) ?? "";
    let run: Held["run"];
    try {
      run = JSON.parse(last);
    } catch { /* no report */ }
    return { code: out.code, releasedMs, run, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function assertReleased(h: Held, what: string): void {
  assert.ok(
    h.releasedMs < RELEASE_BOUND_MS,
    `${what}: the crash was held ${Math.round(h.releasedMs)} ms\n${h.stderr}`,
  );
}

async function assertServes(dirs: TestDirs, trigger: string): Promise<void> {
  const r = await client(dirs, "list");
  assertExit(r, 0);
  assert.match(r.stdout, new RegExp(`^${trigger}\\s`, "m"), show(r));
}

Deno.test("no lttng binary: the crash is recorded as failed because lttng is not installed, and released at once", async () => {
  await using dirs = await makeDirs();
  await using noLttng = await pathWithoutLttng();
  await using d = await startDaemonOnPath(dirs, noLttng.path);
  const set = await client(dirs, "set", [
    "-n",
    "snap",
    "-s",
    uniqueSession(),
    "OnAnyCoreDump",
    "snapshot",
  ]);
  assertExit(set, 0);
  assert.match(set.stderr, /^Warning: .*lttng is not installed/m, show(set));
  for (const pid of [1001, 1002]) {
    const h = await heldNotify(dirs, pid, "app");
    assertReleased(h, `pid ${pid}`);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.run?.deliveries[0].outcome, "replied", h.stderr);
    const crash = await crashOf(dirs.run, pid);
    assert.equal(crash.outcome, "failed");
    assert.equal(crash.results[0].outcome, "failed");
    assert.match(
      crash.results[0].reason ?? "",
      /lttng is not installed or not on PATH \(install lttng-tools\)/,
    );
  }
  assert.equal(d.status, undefined, d.log);
  await assertServes(dirs, "snap");
});

Deno.test("an lttng that hangs is killed at --action-timeout: the reason says so and the crash is released well under 5 s", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("hang");
  await using d = await startDaemonOnPath(dirs, fake.path, ["--action-timeout=500"]);
  const session = uniqueSession("hang");
  await addTrigger(dirs, ["-n", "snap", "-s", session, "OnAnyCoreDump", "snapshot"]);
  const figures: string[] = [];
  // Twice: the session's action queue is not stuck behind the killed action.
  for (const pid of [2001, 2002]) {
    const h = await heldNotify(dirs, pid, "app");
    assertReleased(h, `pid ${pid}`);
    figures.push(`${Math.round(h.releasedMs)} ms (held ${h.run?.heldMs} ms)`);
    assert.equal(h.run?.deliveries[0].outcome, "replied", h.stderr);
    const crash = await crashOf(dirs.run, pid);
    assert.equal(crash.outcome, "failed");
    assert.match(
      crash.results[0].reason ?? "",
      new RegExp(
        `^Cannot snapshot session "${session}": lttng did not finish within 500 ms and was killed$`,
      ),
    );
  }
  console.log(`hung lttng: crash released after ${figures.join(", ")}`);
  const pids = await fake.pids();
  assert.equal(pids.length, 2, "one hung lttng per crash");
  for (const pid of pids) assert.equal(await fakeAlive(pid), false, `lttng pid ${pid} still runs`);
  assert.equal(d.status, undefined, d.log);
  await assertServes(dirs, "snap");
});

Deno.test("an lttng that hangs with a child holding its output is abandoned at --action-timeout too", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("hang-with-child");
  await using d = await startDaemonOnPath(dirs, fake.path, ["--action-timeout=500"]);
  const session = uniqueSession("hangc");
  await addTrigger(dirs, ["-n", "snap", "-s", session, "OnAnyCoreDump", "snapshot"]);
  const h = await heldNotify(dirs, 2101, "app");
  console.log(`hung lttng with a child: crash released after ${Math.round(h.releasedMs)} ms`);
  assertReleased(h, "pid 2101");
  const crash = await crashOf(dirs.run, 2101);
  assert.equal(crash.outcome, "failed");
  assert.match(crash.results[0].reason ?? "", /lttng did not finish within 500 ms and was killed/);
  // The lttng process that was started (the script) is gone.
  const [script] = await fake.pids();
  assert.equal(await fakeAlive(script), false, `lttng pid ${script} still runs`);
  assert.equal(d.status, undefined, d.log);
  await assertServes(dirs, "snap");
});

Deno.test("the daemon killed -9 in the middle of an action: the notifier is released, and after a restart the crash is interrupted, with a reason", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("hang");
  const start = () => startDaemonOnPath(dirs, fake.path);
  let d = await start();
  try {
    await addTrigger(dirs, [
      "-n",
      "snap",
      "-s",
      uniqueSession("kill"),
      "OnAnyCoreDump",
      "snapshot",
    ]);
    const held = heldNotify(dirs, 3001, "victim");
    await waitFor(async () => (await fake.pids()).length > 0, {
      what: "the snapshot action to start",
    });
    const killed = performance.now();
    await d.kill9();
    const h = await held;
    const afterKill = performance.now() - killed;
    assert.ok(afterKill < RELEASE_BOUND_MS, `released ${Math.round(afterKill)} ms after the kill`);
    assertReleased(h, "pid 3001");
    // Not answered: the notifier journals it, as it journals every failed delivery.
    assert.match(h.run?.failures.join("\n") ?? "", /closed without replying/, h.stderr);

    d = await start();
    assert.match(d.log, /1 crash\(es\) left pending by a previous daemon marked interrupted/);
    const crash = await crashOf(dirs.run, 3001);
    assert.equal(crash.outcome, "interrupted");
    assert.equal(crash.detail, "the daemon stopped before the actions finished");
    const r = await client(dirs, "history");
    assertExit(r, 0);
    const [row] = parseTable(r.stdout);
    assert.deepEqual([row.PID, row.OUTCOME], ["3001", "interrupted"], show(r));
    await assertServes(dirs, "snap");
  } finally {
    await d.stop();
  }
});

Deno.test("a crash of lttng-sessiond, lttng-consumerd or lttng-relayd is recorded and skipped with a reason, and no action runs", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("ok");
  await using d = await startDaemonOnPath(dirs, fake.path);
  const session = uniqueSession("own");
  await addTrigger(dirs, ["-n", "snap", "-s", session, "OnAnyCoreDump", "snapshot"]);
  const before = (await fake.calls()).length;
  const replies: unknown[] = [];
  for (const [i, exec] of ["lttng-sessiond", "lttng-consumerd", "lttng-relayd"].entries()) {
    const h = await heldNotify(dirs, 5001 + i, exec);
    assertReleased(h, exec);
    assert.equal(h.code, 0, h.stderr);
    const crash = await crashOf(dirs.run, 5001 + i);
    assert.equal(crash.execName, exec);
    assert.equal(crash.outcome, "skipped");
    assert.equal(crash.results[0].outcome, "skipped");
    assert.match(
      crash.results[0].reason ?? "",
      new RegExp(`LTTng's own ${exec}: acting could block`),
    );
    replies.push(h.run?.deliveries.map((x) => [x.outcome, x.fired]));
  }
  assert.deepEqual((await fake.calls()).slice(before), [], "lttng ran for LTTng's own crash");
  // The reply's `fired` counts the triggers whose action ran (docs/PROTOCOL.md): none.
  assert.deepEqual(replies, [[["replied", 0]], [["replied", 0]], [["replied", 0]]]);
  // The trigger matched three times and acted on none: its counters say so.
  const [t] = await listTriggers(dirs);
  assert.deepEqual([t.hits, t.fired], [3, 0], "a skipped action counted as fired");

  // The same trigger acts on any other crash: the fake does record actions.
  const h = await heldNotify(dirs, 5010, "lttng-sessiond2");
  assertReleased(h, "lttng-sessiond2");
  assert.equal((await crashOf(dirs.run, 5010)).outcome, "ok");
  assert.ok((await fake.calls()).slice(before).some((c) => c.includes("snapshot record")));
  assert.equal(d.status, undefined, d.log);
  await assertServes(dirs, "snap");
});

Deno.test("a crash in a thread of lttng-sessiond (the kernel's %e is the thread's name) is skipped when the executable is known", async () => {
  await using dirs = await makeDirs();
  await using fake = await fakeLttng("ok");
  await using d = await startDaemonOnPath(dirs, fake.path);
  await addTrigger(dirs, ["-n", "snap", "-s", uniqueSession("thr"), "OnAnyCoreDump", "snapshot"]);
  const before = (await fake.calls()).length;
  // lttng-sessiond names its threads ("Client manageme", "Notification", ...): %e is the
  // crashing thread's name, %E (with --facts) the executable.
  const r = await new Deno.Command(LAUNCHER, {
    args: notifyArgs(
      dirs,
      "--facts=5020:11:1700000000:0:1:!usr!bin!lttng-sessiond",
      "5020",
      "0",
      "0",
      "Client manageme",
      "fault-host",
    ),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const crash = await crashOf(dirs.run, 5020);
  assert.equal(crash.outcome, "skipped", JSON.stringify(crash));
  assert.match(crash.results[0].reason ?? "", /LTTng's own/);
  assert.deepEqual((await fake.calls()).slice(before), [], "lttng ran for lttng-sessiond's crash");
  assert.equal(d.status, undefined, d.log);
});

Deno.test("no session daemon (a user's daemon, no sessiond of its own): the reason says so, the reply comes at once", async () => {
  // nobody (uid 65534) has no session daemon and is not in group tracing: its lttng
  // finds none, whatever root runs.
  const base = await Deno.makeTempDir({ prefix: "lttng-trig-nobody-" });
  await Deno.chmod(base, 0o755);
  const [run, state, home] = [`${base}/run`, `${base}/state`, `${base}/home`];
  for (const dir of [run, state, home]) {
    await Deno.mkdir(dir, { mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    await Deno.chown(dir, 65534, 65534);
  }
  try {
    await using d = await startDaemonAs({
      setpriv: ["--reuid=65534", "--regid=65534", "--clear-groups"],
      args: [`--run-dir=${run}`, `--state-dir=${state}`],
      env: { HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      cwd: home,
    });
    const session = uniqueSession("nosd");
    const set = await controlRequest(`${run}/client-lttng-trig`, ControlCommand.SET, {
      name: "snap",
      session,
      condition: { type: "OnAnyCoreDump" },
      action: { type: "snapshot" },
    }) as { warnings: string[] };
    assert.match(set.warnings.join("\n"), /No session daemon is available/);
    for (const pid of [6001, 6002]) {
      const sent = performance.now();
      const reply = await sendNotification(`${run}/notify-lttng-sessiond`, {
        pid,
        uid: 65534,
        gid: 65534,
        execName: "app",
        hostname: "fault-host",
      }, { timeoutMs: 20_000 });
      const ms = performance.now() - sent;
      assert.ok(ms < RELEASE_BOUND_MS, `replied after ${Math.round(ms)} ms`);
      assert.deepEqual(reply, { status: 1, fired: 1, failed: 1 });
      const crash = await crashOf(run, pid);
      assert.equal(crash.outcome, "failed");
      assert.equal(
        crash.results[0].reason,
        `Cannot snapshot session "${session}": No session daemon is available`,
      );
    }
    assert.equal(d.status, undefined, d.log);
    const listed = await controlRequest(`${run}/client-lttng-trig`, ControlCommand.LIST, {});
    assert.deepEqual(listed.triggers.map((t) => t.name), ["snap"]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
