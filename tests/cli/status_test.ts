/**
 * `lttng-trig status` against real daemons in the test's own directories (never
 * /var/run/lttng). The subprocess runs read the machine's core_pattern, held still for
 * the test and expected not to run lttng-trig; the in-process runs use a pretend kernel.
 * Every expected exit code and `installed` is written here, never taken from the output
 * under test.
 */
import assert from "node:assert/strict";
import { sendNotification } from "../../lib/client/client.ts";
import {
  CORE_PATTERN_PATH,
  CORE_PIPE_LIMIT_PATH,
  type KernelFiles,
} from "../../lib/install/kernel_files.ts";
import { corePatternFor } from "../../lib/install/pattern.ts";
import { statusCommand } from "../../lib/cli/status.ts";
import type { StatusReport } from "../../lib/cli/status_report.ts";
import type { CommandContext } from "../../lib/cli/common.ts";
import { LAUNCHER } from "../fixtures/paths.ts";
import {
  addTrigger,
  assertExit,
  assertUsageError,
  cli,
  daemon,
  makeDirs,
  show,
  type TestDirs,
  uniqueSession,
} from "./_helpers.ts";

function status(dirs: TestDirs, ...args: string[]) {
  return cli(["status", `--run-dir=${dirs.run}`, `--state-dir=${dirs.state}`, ...args]);
}

/** The lock tests/fixtures/core_pattern.ts takes, exclusive, to change core_pattern. */
const CORE_PATTERN_LOCK = "/run/lock/lttng-trig-core-pattern.lock";

/** The machine's core_pattern, kept from changing until disposed. */
interface MachinePattern extends AsyncDisposable {
  /** core_pattern, without the newline /proc adds. */
  pattern: string;
}

/**
 * The machine's core_pattern, held still by a shared lock against the tests that change
 * it. These tests need a machine where it does not run lttng-trig: status then says "not
 * installed" and exits 1 whatever the daemon does.
 */
async function machinePattern(): Promise<MachinePattern> {
  await Deno.mkdir("/run/lock", { recursive: true }).catch(() => {});
  const lock = await Deno.open(CORE_PATTERN_LOCK, { read: true, write: true, create: true })
    .catch(() => Deno.open(CORE_PATTERN_LOCK, { read: true }));
  await lock.lock(false);
  const pattern = (await Deno.readTextFile(CORE_PATTERN_PATH)).replace(/\n$/, "");
  assert.doesNotMatch(
    pattern,
    /lttng-trig/,
    "these tests expect a machine where lttng-trig is not installed",
  );
  return {
    pattern,
    async [Symbol.asyncDispose]() {
      await lock.unlock().catch(() => {});
      lock.close();
    },
  };
}

async function writeJournal(dirs: TestDirs, ...entries: object[]): Promise<void> {
  await Deno.writeTextFile(
    `${dirs.state}/notifier.log`,
    entries.map((e) => JSON.stringify(e) + "\n").join(""),
    { mode: 0o600 },
  );
}

const JOURNAL_ENTRY = {
  time: "2025-03-04T05:06:07.890Z",
  pid: 777,
  uid: 1000,
  exec: "boom",
  failures: ["no lttng-trig daemon answers on /var/run/lttng/notify-lttng-sessiond"],
};

Deno.test("status with no daemon: says where it tried and what to do, exit 1", async () => {
  await using dirs = await makeDirs();
  const r = await status(dirs);
  assertExit(r, 1);
  assert.equal(r.stderr, "", show(r));
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^core_pattern: /, show(r));
  assert.match(r.stdout, /^core_pipe_limit: /m, show(r));
  assert.ok(
    lines.includes(
      `daemon: not answering on ${dirs.run}/client-lttng-trig: start it with 'lttng-trig daemon' (or pass --run-dir)`,
    ),
    show(r),
  );
  assert.ok(lines.includes("last crash: unknown (the daemon does not answer)"), show(r));
  assert.ok(lines.includes("last notifier error: none"), show(r));
  assert.doesNotMatch(r.stdout, /^trigger:/m, show(r));
});

Deno.test("status with a daemon: pid, triggers one per line, the last crash", async () => {
  await using machine = await machinePattern();
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);

  // The daemon answers, but core_pattern does not run lttng-trig: 1.
  let r = await status(dirs);
  assertExit(r, 1);
  assert.ok(r.stdout.startsWith(`core_pattern: not installed (${machine.pattern}): `), show(r));
  assert.match(r.stdout, new RegExp(`^daemon: running, pid ${d.pid}, 0 trigger\\(s\\)$`, "m"));
  assert.match(r.stdout, /^trigger: none: add one with 'lttng-trig set /m, show(r));
  assert.match(r.stdout, /^last crash: none$/m, show(r));

  const s1 = uniqueSession("st");
  const s2 = uniqueSession("st");
  await addTrigger(dirs, ["-n", "web-crash", "-s", s1, "OnAnyCoreDump", "snapshot"]);
  await addTrigger(dirs, ["-n", "db", "-s", s2, "--exec=nomatch*", "OnAnyCoreDump", "stop"]);
  // web-crash fires (and fails: its session does not exist); db's filter does not match.
  await sendNotification(`${dirs.run}/notify-lttng-sessiond`, {
    pid: 4242,
    uid: 1000,
    gid: 1000,
    execName: "crashy\ttab",
    hostname: "host",
  });

  r = await status(dirs);
  assertExit(r, 1);
  assert.equal(r.stderr, "", show(r));
  assert.match(r.stdout, new RegExp(`^daemon: running, pid ${d.pid}, 2 trigger\\(s\\)$`, "m"));
  assert.match(r.stdout, new RegExp(`^trigger: web-crash +session ${s1} +snapshot$`, "m"));
  assert.match(r.stdout, new RegExp(`^trigger: db +session ${s2} +stop$`, "m"));
  // Exec names are data: a tab is shown escaped, never raw.
  assert.match(
    r.stdout,
    /^last crash: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ pid 4242 exec crashy\\ttab: failed \(web-crash: /m,
    show(r),
  );
  assert.match(r.stdout, /^last notifier error: none$/m, show(r));
});

Deno.test("status shows the notifier journal's newest failure", async () => {
  await using dirs = await makeDirs();
  await writeJournal(dirs, { ...JOURNAL_ENTRY, pid: 1, failures: ["older"] }, JOURNAL_ENTRY);
  const r = await status(dirs);
  assertExit(r, 1);
  assert.match(
    r.stdout,
    /^last notifier error: 2025-03-04 05:06:07Z pid 777 exec boom: no lttng-trig daemon answers on \/var\/run\/lttng\/notify-lttng-sessiond$/m,
    show(r),
  );
});

Deno.test("status --json: one object with all of it", async () => {
  await using machine = await machinePattern();
  await using dirs = await makeDirs();
  await writeJournal(dirs, JOURNAL_ENTRY);

  let r = await status(dirs, "--json");
  assertExit(r, 1);
  let report = JSON.parse(r.stdout) as StatusReport;
  assert.deepEqual(Object.keys(report).sort(), [
    "cannotFire",
    "corePattern",
    "corePipeLimit",
    "daemon",
    "handler",
    "inactive",
    "installed",
    "journalError",
    "lastCrash",
    "lastNotifierError",
    "ok",
    "problem",
    "remembered",
    "sessionDaemon",
    "triggers",
  ]);
  assert.equal(report.ok, false);
  assert.equal(report.installed, false);
  assert.equal(report.corePattern, machine.pattern);
  assert.equal(report.daemon.answering, false);
  assert.equal(report.daemon.socket, `${dirs.run}/client-lttng-trig`);
  assert.deepEqual(report.triggers, []);
  assert.equal(report.lastCrash, null);
  assert.deepEqual(report.lastNotifierError, JOURNAL_ENTRY);

  await using d = await daemon(dirs);
  await addTrigger(dirs, ["-n", "t1", "-s", uniqueSession("js"), "OnAnyCoreDump", "stop"]);
  await sendNotification(`${dirs.run}/notify-lttng-sessiond`, {
    pid: 5151,
    uid: 0,
    gid: 0,
    execName: "other",
    hostname: "h",
  }).catch(() => {});
  r = await status(dirs, "--json");
  report = JSON.parse(r.stdout) as StatusReport;
  // The daemon answers, but core_pattern does not run lttng-trig.
  assertExit(r, 1);
  assert.equal(report.ok, false);
  assert.equal(report.installed, false);
  assert.equal(report.corePattern, machine.pattern);
  assert.equal(report.daemon.answering, true);
  assert.ok(report.daemon.answering);
  assert.equal(report.daemon.pid, d.pid);
  assert.equal(report.daemon.triggers, 1);
  assert.equal(report.daemon.stateDir, dirs.state);
  assert.deepEqual(report.triggers.map((t) => t.name), ["t1"]);
  assert.equal(report.lastCrash?.pid, 5151);
  assert.equal(report.lastCrash?.execName, "other");
  assert.deepEqual(report.lastNotifierError, JOURNAL_ENTRY);
});

Deno.test("status rejects arguments it does not know: usage error, exit 2", async () => {
  await using dirs = await makeDirs();
  assertUsageError(await status(dirs, "extra"), /unexpected argument "extra"/);
  assertUsageError(await status(dirs, "--bogus"), /--bogus/);
  const help = await cli(["status", "--help"]);
  assertExit(help, 0);
  assert.match(
    help.stdout,
    /^Exit status: 0 when the notifier is installed, the daemon answers, and every/m,
  );
});

// -------------------------------------------------------------------------------------
// In process, with a pretend kernel: the exit code follows core_pattern and the daemon.

class FakeKernel implements KernelFiles {
  files = new Map<string, string>();
  constructor(pattern: string, limit = "0") {
    this.files.set(CORE_PATTERN_PATH, pattern);
    this.files.set(CORE_PIPE_LIMIT_PATH, limit);
  }
  read(path: string): Promise<Uint8Array> {
    const v = this.files.get(path);
    if (v === undefined) return Promise.reject(new Deno.errors.NotFound(path));
    return Promise.resolve(new TextEncoder().encode(v + "\n"));
  }
  write(): Promise<void> {
    return Promise.reject(new Error("status never writes"));
  }
}

function capture(): { ctx: CommandContext; out: string[] } {
  const out: string[] = [];
  return {
    out,
    ctx: {
      io: { out: (l) => out.push(l), err: (l) => out.push(`stderr: ${l}`) },
      env: { uid: 0, get: () => undefined },
    },
  };
}

Deno.test("status exits 0 only when installed and the daemon answers", async () => {
  await using dirs = await makeDirs();
  const exe = await Deno.realPath(LAUNCHER);
  const ours = corePatternFor({ exe });
  const argv = [`--run-dir=${dirs.run}`, `--state-dir=${dirs.state}`];

  // Installed, no daemon: 1.
  let c = capture();
  assert.equal(await statusCommand(argv, c.ctx, new FakeKernel(ours, "64")), 1);
  assert.equal(c.out[0], `core_pattern: installed (${ours})`);
  assert.ok(c.out.includes("core_pipe_limit: 64"), c.out.join("\n"));

  await using _d = await daemon(dirs);
  c = capture();
  assert.equal(await statusCommand(argv, c.ctx, new FakeKernel(ours, "64")), 0, c.out.join("\n"));
  assert.match(c.out.join("\n"), /^daemon: running, pid \d+, 0 trigger\(s\)$/m);

  c = capture();
  assert.equal(await statusCommand(argv, c.ctx, new FakeKernel("core")), 1);
  assert.equal(c.out[0], "core_pattern: not installed (core): run 'lttng-trig install'");

  const systemd = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h";
  c = capture();
  assert.equal(await statusCommand(argv, c.ctx, new FakeKernel(systemd)), 1);
  assert.equal(
    c.out[0],
    `core_pattern: not installed (${systemd}): /lib/systemd/systemd-coredump handles crashes; 'lttng-trig install --force' replaces it`,
  );

  // Ours, but the executable is gone: not ready.
  const gone = "|/nonexistent/bin/lttng-trig notify %p %u %g %e %h";
  c = capture();
  assert.equal(await statusCommand(argv, c.ctx, new FakeKernel(gone, "64")), 1);
  assert.match(
    c.out[0],
    /^core_pattern: installed but broken .*\/nonexistent\/bin\/lttng-trig does not exist/,
  );

  // install.json is shown when there is one.
  await Deno.writeTextFile(
    `${dirs.state}/install.json`,
    JSON.stringify({
      version: 1,
      installedAt: "2025-01-01T00:00:00.000Z",
      corePattern: ours,
      corePipeLimit: 64,
      previous: { corePattern: `${systemd}\n`, corePipeLimit: "0\n" },
    }),
    { mode: 0o600 },
  );
  c = capture();
  assert.equal(await statusCommand([...argv, "--json"], c.ctx, new FakeKernel(ours, "64")), 0);
  const report = JSON.parse(c.out[0]) as StatusReport;
  assert.deepEqual(report.remembered, {
    path: `${dirs.state}/install.json`,
    previousCorePattern: systemd,
    installedAt: "2025-01-01T00:00:00.000Z",
  });
  assert.equal(report.corePipeLimit, 64);
  assert.equal(report.installed, true);
});
