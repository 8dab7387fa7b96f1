/**
 * lttng-trig as the benchmark drives it: its CLI through the launcher, its history, its
 * daemons on temporary directories, the snapshot sessions, and a few /proc readings.
 *
 * @module
 */
import { runLauncher } from "../tests/fixtures/launcher.ts";
import { readTrace, SnapshotSession } from "../tests/fixtures/lttng.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import { commandOutput } from "../tests/fixtures/process.ts";
import { controlRequest } from "../lib/client/client.ts";
import { ControlCommand } from "../lib/wire/control.ts";
import { CONTROL_SOCKET_NAME, NOTIFY_SOCKET_NAME } from "../lib/core/paths.ts";
import { LAUNCHER, ours, ROOT } from "./run.ts";

/** `lttng-trig ARGS...` through the launcher; throws with its stderr on failure. */
export async function trig(args: string[]): Promise<string> {
  const r = await runLauncher(args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`lttng-trig ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** A snapshot session of the benchmark's own, destroyed on dispose (or by the signal path). */
export async function benchSession(
  buffers: "pid" | "uid",
  output: string,
): Promise<SnapshotSession> {
  const session = await SnapshotSession.create({ buffers, output });
  ours.sessions.add(session.name);
  return session;
}

/** The snapshot trigger `name` on `session`, for the crasher only; `runDir` of its daemon. */
export async function setSnapshotTrigger(
  session: string,
  name: string,
  runDir?: string,
): Promise<void> {
  await trig([
    "set",
    ...(runDir === undefined ? [] : [`--run-dir=${runDir}`]),
    "-s",
    session,
    "-n",
    name,
    "--exec=crasher",
    "OnAnyCoreDump",
    "snapshot",
  ]);
}

/** One action's result in a crash's history entry. */
export interface HistoryResult {
  trigger: string;
  outcome: string;
  snapshot?: string;
  reason?: string;
  durationMs?: number;
}

/** A crash's history entry (`history` control command). */
export interface HistoryCrash {
  id: number;
  pid: number;
  execName: string;
  outcome: string;
  results: HistoryResult[];
}

/** The last `limit` crashes in the history of the daemon at `control`. */
export async function history(control: string, limit: number): Promise<HistoryCrash[]> {
  const reply = await controlRequest(control, ControlCommand.HISTORY, { limit }, {
    timeoutMs: 30_000,
  });
  return reply.crashes;
}

/** A crash's history entry once its actions have finished. */
export function finishedEntry(
  control: string,
  pid: number,
  timeoutMs = 20_000,
): Promise<HistoryCrash> {
  return waitFor(async () => {
    const c = (await history(control, 50)).find((h) => h.pid === pid);
    return c !== undefined && c.outcome !== "pending" ? c : undefined;
  }, { timeoutMs, what: `the history entry of pid ${pid}`, intervalMs: 10 });
}

/** A `kB` field of /proc/PID/status, in MiB (NaN when the process is gone). */
export function procStatus(pid: number, field: string): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** MemAvailable of /proc/meminfo, in MiB. */
export function memAvailableMiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/meminfo"));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** The load averages of /proc/loadavg. */
export function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** The malloc events of `pid` in `snapshot`; the last one's size. */
export async function lastMallocOf(
  snapshot: string,
  pid: number,
): Promise<{ count: number; lastSize?: number }> {
  const events = await readTrace(snapshot);
  const mallocs = events.filter((e) =>
    e.includes("lttng_ust_libc:malloc") && e.includes(`vpid = ${pid} `)
  );
  const m = /size = (\d+)/.exec(mallocs.at(-1) ?? "");
  return { count: mallocs.length, lastSize: m === null ? undefined : Number(m[1]) };
}

/** The flags of the project's permission set ("lttng-trig" in deno.json), spelled out. */
export async function permissionFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const set = config.permissions["lttng-trig"] as Record<string, boolean | string[]>;
  return Object.entries(set).map(([k, v]) =>
    v === true ? `--allow-${k}` : `--allow-${k}=${(v as string[]).join(",")}`
  );
}

/** The filesystem type `path` is on. */
export async function fsType(path: string): Promise<string> {
  const out = await commandOutput("findmnt", ["-n", "-o", "FSTYPE", "--target", path]);
  return out.split("\n")[0].trim();
}

/** A process of ours serving a notification socket: a daemon or the stub server. */
export interface Server {
  pid: number;
  notify: string;
  control?: string;
  stop(): Promise<void>;
  log(): string;
}

/** Spawn `cmd` and wait (bounded) until it answers on `control` or accepts on `notify`. */
export async function spawnServer(
  cmd: string,
  args: string[],
  notify: string,
  control?: string,
): Promise<Server> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  ours.pids.add(child.pid);
  let log = "";
  // Drain stderr (the daemon logs every crash), keeping only its beginning.
  const pump = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (log.length < 16_384) log += dec.decode(chunk, { stream: true });
    }
  })().catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const server: Server = {
    pid: child.pid,
    notify,
    control,
    log: () => log,
    async stop() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* exited */ }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        status.then(() => true),
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), 15_000)),
      ]);
      clearTimeout(timer);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }
      await status;
      await pump;
      ours.pids.delete(child.pid);
    },
  };
  try {
    await waitFor(async () => {
      if (exited) return true;
      if (control !== undefined) {
        await controlRequest(control, ControlCommand.STATUS, {}, { timeoutMs: 2000 });
      } else {
        (await Deno.connect({ transport: "unix", path: notify })).close();
      }
      return true;
    }, { timeoutMs: 20_000, what: `${cmd} ${args.join(" ")} to listen` });
    if (exited) {
      await pump;
      throw new Error(`${cmd} ${args.join(" ")} exited: ${log.trim()}`);
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/**
 * An `lttng-trig daemon` through bin/lttng-trig on `dir/run` and `dir/state`, with `extra`
 * options (the daemon's own: a lever is one of them). A daemon that refuses an option
 * fails the run.
 */
export async function startTempDaemon(dir: string, extra: string[] = []): Promise<Server> {
  const run = `${dir}/run`;
  return await spawnServer(
    LAUNCHER,
    ["daemon", `--run-dir=${run}`, `--state-dir=${dir}/state`, "--no-coredump-socket", ...extra],
    `${run}/${NOTIFY_SOCKET_NAME}`,
    `${run}/${CONTROL_SOCKET_NAME}`,
  );
}
