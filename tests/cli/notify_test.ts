/** `lttng-trig notify %p %u %g %e %h` as a subprocess, as the kernel runs it. */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { waitFor } from "../fixtures/wait.ts";
import {
  addTrigger,
  assertExit,
  cli,
  client,
  daemon,
  listTriggers,
  makeDirs,
  notifyArgs,
  parseTable,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";

interface Crash {
  pid: number;
  uid: number;
  gid: number;
  execName: string;
  hostname: string;
  outcome: string;
  results: { trigger: string; session: string; outcome: string; reason?: string }[];
}

async function crashes(dirs: TestDirs): Promise<Crash[]> {
  const r = await client(dirs, "history", ["--json"]);
  const list = (JSON.parse(r.stdout) as { crashes: Crash[] }).crashes;
  // Like coredumpctl, history exits 1 when there is nothing to show.
  assertExit(r, list.length === 0 ? 1 : 0);
  return list;
}

async function journal(
  dirs: TestDirs,
): Promise<{ pid: number; exec: string; failures: string[] }[]> {
  const text = await Deno.readTextFile(`${dirs.state}/notifier.log`);
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

Deno.test("notify fires the trigger, and history shows the crash and the failed action", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-s", session, "OnAnyCoreDump", "snapshot"]);

  const r = await cli(notifyArgs(dirs, "1234", "0", "0", "crasher", "host"));
  assertExit(r, 0);
  assert.equal(r.stdout, "", show(r));

  // The reply comes once the actions are done: the outcome is recorded already.
  const [crash, ...more] = await crashes(dirs);
  assert.equal(more.length, 0);
  assert.equal(crash.pid, 1234);
  assert.equal(crash.uid, 0);
  assert.equal(crash.gid, 0);
  assert.equal(crash.execName, "crasher");
  assert.equal(crash.hostname, "host");
  assert.equal(crash.outcome, "failed");
  assert.equal(crash.results.length, 1);
  assert.equal(crash.results[0].trigger, "trigger-1");
  assert.equal(crash.results[0].session, session);
  assert.equal(crash.results[0].outcome, "failed");
  // No session daemon, or no such session: either way the reason names the session.
  assert.ok(crash.results[0].reason?.includes(session), JSON.stringify(crash));

  const h = await client(dirs, "history");
  assertExit(h, 0);
  const rows = parseTable(h.stdout);
  assert.equal(rows.length, 1, show(h));
  const row = rows[0];
  assert.match(row.TIME, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  assert.equal(row.PID, "1234");
  assert.equal(row.UID, "0");
  assert.equal(row.EXEC, "crasher");
  assert.equal(row.FIRED, "trigger-1:failed");
  assert.equal(row.OUTCOME, "failed");
  assert.match(row.SNAPSHOT, new RegExp(`^\\(.*${session}.*\\)$`));

  const [t] = await listTriggers(dirs);
  assert.equal(t.hits, 1);
  // A notifier that was answered journals nothing.
  assert.equal(
    await Deno.lstat(`${dirs.state}/notifier.log`).then(() => true, () => false),
    false,
  );
});

Deno.test("notify with no matching trigger records a no-trigger crash", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["--exec=nginx*", "-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const r = await cli(notifyArgs(dirs, "77", "0", "0", "crasher", "host"));
  assertExit(r, 0);
  const [crash] = await crashes(dirs);
  assert.equal(crash.pid, 77);
  assert.equal(crash.outcome, "no-trigger");
  assert.deepEqual(crash.results, []);
});

Deno.test("notify takes exec names and hostnames as data, never as options or shell words", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  const marker = `${dirs.scratch}/pwned`;
  const names = [
    "--help",
    "a b",
    "-s",
    "--run-dir=/nowhere",
    `$(touch ${marker})`,
    "été;`id`",
    "-",
  ];
  for (const [i, name] of names.entries()) {
    const r = await cli(notifyArgs(dirs, String(5000 + i), "0", "0", name, "--version"));
    assertExit(r, 0);
    assert.equal(r.stdout, "", show(r));
  }
  const got = await crashes(dirs);
  assert.deepEqual(
    got.map((c) => [c.pid, c.execName, c.hostname]),
    names.map((n, i) => [5000 + i, n, "--version"]),
  );
  for (const c of got) assert.equal(c.outcome, "failed");
  assert.equal(await Deno.lstat(marker).then(() => true, () => false), false);

  const h = await client(dirs, "history");
  assertExit(h, 0);
  const rows = parseTable(h.stdout);
  assert.deepEqual(rows.slice(0, 2).map((r) => [r.PID, r.EXEC]), [["5000", "--help"], [
    "5001",
    "a b",
  ]]);
});

Deno.test("a crash of another uid reaches the root daemon too", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["--uid=65534", "-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  const r = await cli(notifyArgs(dirs, "6000", "65534", "65534", "nobodys", "host"));
  assertExit(r, 0);
  const [crash] = await crashes(dirs);
  assert.deepEqual([crash.pid, crash.uid, crash.gid, crash.execName], [
    6000,
    65534,
    65534,
    "nobodys",
  ]);
  assert.equal(crash.results.length, 1);
  assert.equal(crash.outcome, "failed");
});

Deno.test("notify works with an empty environment and cwd /, as the kernel runs it", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  const r = await cli(notifyArgs(dirs, "4321", "0", "0", "crasher", "host"), {
    clearEnv: true,
    cwd: "/",
  });
  assertExit(r, 0);
  const [crash] = await crashes(dirs);
  assert.equal(crash.pid, 4321);
  assert.equal(crash.execName, "crasher");
  assert.equal(crash.results[0]?.outcome, "failed");
});

Deno.test("notify with no daemon exits promptly, non-zero, and journals 'no root daemon'", async () => {
  await using dirs = await makeDirs();
  for (const options of [{}, { clearEnv: true, cwd: "/" }]) {
    const started = performance.now();
    const r = await cli(notifyArgs(dirs, "1234", "0", "0", "crasher", "host"), options);
    const elapsed = performance.now() - started;
    assert.notEqual(r.code, 0, show(r));
    assert.ok(elapsed < 5000, `notify took ${Math.round(elapsed)} ms with no daemon`);
  }
  const entries = await journal(dirs);
  assert.equal(entries.length, 2);
  for (const e of entries) {
    assert.equal(e.pid, 1234);
    assert.equal(e.exec, "crasher");
    assert.ok(e.failures.some((f) => f.startsWith("no root daemon")), JSON.stringify(e));
  }
  const st = await Deno.lstat(`${dirs.state}/notifier.log`);
  assert.equal(st.mode! & 0o777, 0o600);
});

Deno.test("notify refuses a run directory that others can write, or a link to one", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  const link = `${dirs.scratch}/run-link`;
  await Deno.symlink(dirs.run, link);
  const viaLink = await cli([
    "notify",
    `--run-dir=${link}`,
    `--state-dir=${dirs.state}`,
    "1",
    "0",
    "0",
    "viaLink",
    "host",
  ]);
  assert.notEqual(viaLink.code, 0, show(viaLink));

  await Deno.chmod(dirs.run, 0o777);
  try {
    const r = await cli(notifyArgs(dirs, "2", "0", "0", "worldWritable", "host"));
    assert.notEqual(r.code, 0, show(r));
  } finally {
    await Deno.chmod(dirs.run, 0o700);
  }
  assert.deepEqual(await crashes(dirs), []);
  const entries = await journal(dirs);
  assert.deepEqual(entries.map((e) => e.exec), ["viaLink", "worldWritable"]);
  assert.match(entries[0].failures.join("\n"), /link|not a directory/);
  assert.match(entries[1].failures.join("\n"), /writable by others/);
});

Deno.test("notify leaves a big core on stdin unread and does not hang on it", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "snapshot"]);
  // Far more than a pipe holds: a notifier that waited for the writer would hang.
  const core = new Uint8Array(4 * 1024 * 1024).fill(0xcc);
  const started = performance.now();
  const r = await cli(notifyArgs(dirs, "31337", "0", "0", "bigcore", "host"), {
    stdin: core,
    timeoutMs: 20_000,
  });
  assertExit(r, 0);
  assert.ok(performance.now() - started < 15_000);
  const [crash] = await crashes(dirs);
  assert.equal(crash.pid, 31337);
  assert.equal(crash.execName, "bigcore");
});

Deno.test("notify notifies without waiting for the end of the core, then releases it", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  await addTrigger(dirs, ["-s", uniqueSession(), "OnAnyCoreDump", "stop"]);
  // The kernel keeps writing the core until the helper releases it: stdin stays open.
  const child = new Deno.Command(LAUNCHER, {
    args: notifyArgs(dirs, "999", "0", "0", "held", "host"),
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new Uint8Array(4096).fill(0x7f));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    child.output().then((o) => ({ code: o.code, stderr: new TextDecoder().decode(o.stderr) })),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 20_000)),
  ]);
  clearTimeout(timer);
  if (result === undefined) {
    child.kill("SIGKILL");
    await child.status;
  }
  // Our end of the pipe: the notifier has closed its end (released the dump).
  await writer.write(new Uint8Array(1)).catch(() => {});
  await writer.close().catch(() => {});
  assert.ok(result !== undefined, "notify hung while stdin stayed open");
  assert.equal(result.code, 0, result.stderr);
  const [crash] = await crashes(dirs);
  assert.equal(crash.pid, 999);
  assert.equal(crash.execName, "held");
});

Deno.test("notify is answered before a stop action finishes; its outcome is recorded after", async () => {
  await using dirs = await makeDirs();
  await using _d = await daemon(dirs);
  const session = uniqueSession();
  await addTrigger(dirs, ["-n", "stopper", "-s", session, "OnAnyCoreDump", "stop"]);
  const r = await cli(notifyArgs(dirs, "2222", "0", "0", "stopped", "host"));
  assertExit(r, 0);
  // The crash is recorded at once; the stop's failure lands in the history shortly.
  const crash = await waitFor(async () => {
    const [c] = await crashes(dirs);
    return c !== undefined && c.outcome !== "pending" ? c : undefined;
  }, { what: "the stop action's outcome in the history" });
  assert.equal(crash.pid, 2222);
  assert.equal(crash.outcome, "failed");
  assert.deepEqual(crash.results.map((x) => [x.trigger, x.session, x.outcome]), [[
    "stopper",
    session,
    "failed",
  ]]);
  assert.ok(crash.results[0].reason?.includes(session), JSON.stringify(crash));
});
