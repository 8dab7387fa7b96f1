/** Shared by the CLI subprocess tests: private temporary directories and assertions. */
import assert from "node:assert/strict";
import { runLauncher, type RunLauncherOptions, type RunResult } from "../fixtures/launcher.ts";
import { type DaemonProcess, startDaemon } from "../fixtures/daemon.ts";

/** A test's own run and state directories, removed when disposed. */
export interface TestDirs extends AsyncDisposable {
  /** The run directory (sockets), mode 0700. */
  run: string;
  /** The state directory (store, notifier journal), mode 0700. */
  state: string;
  /** A scratch directory (HOME, LTTNG_HOME...). */
  scratch: string;
}

/** Make a test's own directories (never /var/run/lttng nor /var/lib/lttng-trig). */
export async function makeDirs(): Promise<TestDirs> {
  const root = await Deno.makeTempDir({ prefix: "lttng-trig-cli-test-" });
  const run = `${root}/run`;
  const state = `${root}/state`;
  const scratch = `${root}/scratch`;
  for (const dir of [run, state, scratch]) await Deno.mkdir(dir, { mode: 0o700 });
  // mkdir's mode goes through the umask: make sure of 0700.
  for (const dir of [run, state, scratch]) await Deno.chmod(dir, 0o700);
  return {
    run,
    state,
    scratch,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Run `lttng-trig ...args`. */
/**
 * `notify` to the test's daemon: its run and state directories, then `words` (options,
 * then the kernel's %p %u %g %e %h).
 */
export function notifyArgs(dirs: TestDirs, ...words: string[]): string[] {
  return ["notify", `--run-dir=${dirs.run}`, `--state-dir=${dirs.state}`, ...words];
}

export function cli(args: string[], options: RunLauncherOptions = {}): Promise<RunResult> {
  return runLauncher(args, { timeoutMs: 30_000, ...options });
}

/** Run a client command against the daemon of `dirs`. */
export function client(
  dirs: TestDirs,
  command: string,
  args: string[] = [],
  options: RunLauncherOptions = {},
): Promise<RunResult> {
  return cli([command, `--run-dir=${dirs.run}`, ...args], options);
}

/** Start a daemon on `dirs`. */
export function daemon(dirs: TestDirs, args: string[] = []): Promise<DaemonProcess> {
  return startDaemon({ runDir: dirs.run, stateDir: dirs.state, args });
}

/** Describe a run for an assertion message. */
export function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Assert a run exited with `code`. */
export function assertExit(r: RunResult, code: number): void {
  assert.equal(r.code, code, show(r));
}

/** Assert a usage error: exit 2, `Error: ...` then a `Usage:` line on stderr, no stdout. */
export function assertUsageError(r: RunResult, message?: RegExp): void {
  assertExit(r, 2);
  assert.equal(r.stdout, "", show(r));
  assert.match(r.stderr, /^Error: \S/, show(r));
  assert.match(r.stderr, /^Usage: /m, show(r));
  if (message !== undefined) assert.match(r.stderr, message, show(r));
}

/** A trigger as `list --json` gives it. */
export interface ListedTrigger {
  name: string;
  session: string;
  condition: { type: string; exec?: string; uids?: number[] };
  action: { type: string; maxSize?: number; path?: string; url?: string };
  ratePolicy?: { kind: string; count: number };
  hits: number;
  fired: number;
}

/** The daemon's triggers, through `list --json`. */
export async function listTriggers(dirs: TestDirs): Promise<ListedTrigger[]> {
  const r = await client(dirs, "list", ["--json"]);
  assertExit(r, 0);
  return (JSON.parse(r.stdout) as { triggers: ListedTrigger[] }).triggers;
}

/** Add a trigger with `set`; asserts it worked and returns its name. */
export async function addTrigger(dirs: TestDirs, args: string[]): Promise<string> {
  const r = await client(dirs, "set", args);
  assertExit(r, 0);
  const m = /^Added trigger `([^`]+)`\.$/m.exec(r.stdout);
  assert.ok(m !== null, show(r));
  return m[1];
}

/** A session name no one else uses, so that acting on it fails for sure. */
export function uniqueSession(tag = "s"): string {
  return `trigcli-${tag}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Parse a table as `list` and `history` print it: a heading line, then rows whose cells
 * start under their heading (every column but the last is padded). Extra columns are
 * ignored by the tests that read a few of them.
 */
export function parseTable(stdout: string): Record<string, string>[] {
  const [head, ...rows] = stdout.trimEnd().split("\n");
  const columns = [...head.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index! }));
  return rows.map((row) => {
    const record: Record<string, string> = {};
    columns.forEach((c, i) => {
      const end = i + 1 < columns.length ? columns[i + 1].start : undefined;
      record[c.name] = row.slice(c.start, end).trim();
    });
    return record;
  });
}
