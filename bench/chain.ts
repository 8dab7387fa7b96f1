/**
 * Measurement 5: crash-to-release with `install --chain` over systemd-coredump (with a
 * per-pid snapshot trigger), against systemd-coredump alone, in the same run, round
 * robin. systemd-coredump's socket unit is emulated as in tests/e2e/chain_test.ts
 * (systemd-socket-activate, one systemd-coredump per connection, stopped by pid). Each
 * stored core is decompressed and its size compared, so that a core cut short by the
 * chain would show.
 *
 * @module
 */
import { buildCrasher } from "../tests/fixtures/crasher.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import {
  type BenchContext,
  LAUNCHER,
  ours,
  ROOT_CONTROL,
  setCorePattern,
  startRootDaemon,
  stopRootDaemon,
} from "./run.ts";
import { crashOnce } from "./process_timing.ts";
import { benchSession, finishedEntry, history, setSnapshotTrigger, trig } from "./project.ts";
import { num } from "./stats.ts";

/** systemd-coredump, as Debian installs it. */
export const SYSTEMD_COREDUMP = "/lib/systemd/systemd-coredump";
/** Debian 12's pattern for it, as its sysctl file writes it. */
export const SYSTEMD_PATTERN = `|${SYSTEMD_COREDUMP} %P %u %g %s %t 9223372036854775808 %h %d`;
const COREDUMP_STORE = "/var/lib/systemd/coredump";
const COREDUMP_SOCKET = "/run/systemd/coredump";

/** One crash of one method. */
export interface ChainSample {
  pid: number;
  /** Crash to reaping, ms. */
  ms: number;
  ok: boolean;
  /** Bytes of the core systemd-coredump stored (decompressed). */
  storedBytes?: number;
  /** The chained handler's run as the daemon recorded it (chain rows). */
  chainMs?: number;
  /** The snapshot action's time (chain rows). */
  snapshotMs?: number;
  note?: string;
}

/** One way of handling the crash. */
export interface ChainMethod {
  key: "systemd" | "chain";
  label: string;
  pattern: string;
  samples: ChainSample[];
}

/** The results of measurement 5. */
export interface ChainPhase {
  methods: ChainMethod[];
  notes: string[];
}

/** Whether this machine can run measurement 5, or why not. */
export async function chainUnavailable(): Promise<string | undefined> {
  if (!await Deno.lstat(SYSTEMD_COREDUMP).then(() => true, () => false)) {
    return `no ${SYSTEMD_COREDUMP}`;
  }
  const which = await new Deno.Command("sh", {
    args: ["-c", "command -v systemd-socket-activate && command -v zstd"],
    stdout: "null",
    stderr: "null",
  }).output();
  return which.success ? undefined : "no systemd-socket-activate or zstd";
}

/** systemd-coredump's socket unit, emulated; its pid is the run's until it is stopped. */
async function coredumpSocket(): Promise<AsyncDisposable> {
  await Deno.mkdir("/run/systemd", { recursive: true });
  if (await Deno.lstat(COREDUMP_SOCKET).then(() => true, () => false)) {
    throw new Error(`${COREDUMP_SOCKET} exists: a real systemd-coredump socket is not ours to use`);
  }
  const child = new Deno.Command("systemd-socket-activate", {
    args: ["--seqpacket", "--accept", "-l", COREDUMP_SOCKET, SYSTEMD_COREDUMP],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  ours.pids.add(child.pid);
  await waitFor(() => Deno.lstat(COREDUMP_SOCKET).then((s) => s.isSocket, () => false), {
    what: "the emulated systemd-coredump socket",
  });
  return {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      ours.pids.delete(child.pid);
      await Deno.remove(COREDUMP_SOCKET).catch(() => {});
    },
  };
}

/** The core systemd-coredump stored for `pid`: its size decompressed; the file removed. */
async function storedCore(pid: number): Promise<number> {
  const name = await waitFor(async () => {
    for await (const e of Deno.readDir(COREDUMP_STORE)) {
      if (new RegExp(`^core\\.crasher\\.0\\.[0-9a-f]+\\.${pid}\\.\\d+`).test(e.name)) {
        return e.name;
      }
    }
    return undefined;
  }, { timeoutMs: 20_000, what: `systemd-coredump's core of pid ${pid}`, intervalMs: 20 });
  const path = `${COREDUMP_STORE}/${name}`;
  try {
    const out = await new Deno.Command("zstd", {
      args: ["-dc", path],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.stdout.byteLength;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** A short directory with a link `lttng-trig` to the launcher: the pattern fits 127 bytes. */
async function shortHome(): Promise<{ dir: string; exe: string } & AsyncDisposable> {
  // Not below /tmp: install trusts no path others can write beside (docs/SECURITY.md).
  const dir = `/run/b${Deno.pid}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  ours.dirs.add(dir);
  const exe = `${dir}/lttng-trig`;
  await Deno.symlink(await Deno.realPath(LAUNCHER), exe);
  return {
    dir,
    exe,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      ours.dirs.delete(dir);
    },
  };
}

const CORE_PATTERN = "/proc/sys/kernel/core_pattern";

/** Run measurement 5. */
export async function measureChain(ctx: BenchContext): Promise<ChainPhase> {
  const { opts, work, budget } = ctx;
  const notes: string[] = [];
  const crasher = await buildCrasher();
  await Deno.mkdir(COREDUMP_STORE, { recursive: true });
  await using root = await startRootDaemon(`${work}/state-chain`, []);
  try {
    await using session = await benchSession("pid", `${work}/out-chain`);
    await setSnapshotTrigger(session.name, "bench-chain");
    await using home = await shortHome();
    await using _socket = await coredumpSocket();
    // The guard restores the machine's pattern; inside it the two patterns alternate.
    await using _pattern = await setCorePattern(SYSTEMD_PATTERN);
    await trig(["install", "--chain", `--exe=${home.exe}`, `--state-dir=${home.dir}`]);
    const chainPattern = (await Deno.readTextFile(CORE_PATTERN)).trimEnd();
    const methods: ChainMethod[] = [
      {
        key: "systemd",
        label: "systemd-coredump alone (`|/lib/systemd/systemd-coredump ...`)",
        pattern: SYSTEMD_PATTERN,
        samples: [],
      },
      {
        key: "chain",
        label:
          "**lttng-trig `install --chain` over systemd-coredump** (snapshot trigger, then systemd-coredump)",
        pattern: chainPattern,
        samples: [],
      },
    ];
    try {
      for (let round = 0; round < opts.crashes; round++) {
        if (budget.left() < 60_000) {
          notes.push(`cut short by the budget after ${round} round(s)`);
          break;
        }
        for (const [i, x] of methods.entries()) {
          await Deno.writeTextFile(CORE_PATTERN, x.pattern);
          const u = await crashOnce(crasher, 30_000 + round * 16 + i);
          const s: ChainSample = {
            pid: u.pid,
            ms: u.crashToReapMs ?? NaN,
            ok: u.signal === 11 && !u.timedOut,
          };
          if (!s.ok) s.note = `signal ${u.signal}${u.timedOut ? ", timed out" : ""}`;
          try {
            s.storedBytes = await storedCore(u.pid);
            if (x.key === "chain") {
              const e = await finishedEntry(ROOT_CONTROL, u.pid);
              s.snapshotMs = e.results.find((r) => r.trigger === "bench-chain")?.durationMs;
              if (e.outcome !== "ok") {
                s.ok = false;
                s.note = `history outcome ${e.outcome}: ${JSON.stringify(e.results)}`;
              }
              const chain = await waitFor(async () => {
                const c = (await history(ROOT_CONTROL, 50)).find((h) => h.pid === u.pid) as
                  | { chain?: { outcome: string; durationMs: number } }
                  | undefined;
                return c?.chain;
              }, { timeoutMs: 10_000, what: `the chained run of pid ${u.pid}`, intervalMs: 10 });
              s.chainMs = chain.durationMs;
              if (chain.outcome !== "ok") {
                s.ok = false;
                s.note = `chained handler: ${chain.outcome}`;
              }
            }
          } catch (err) {
            s.ok = false;
            s.note = (err as Error).message;
          }
          x.samples.push(s);
        }
        console.error(
          `bench: chain round ${round + 1}/${opts.crashes}: ${
            methods.map((x) => `${x.key} ${num(x.samples.at(-1)?.ms ?? NaN)} ms`).join(", ")
          }`,
        );
      }
    } finally {
      // uninstall checks that lttng-trig's pattern is in place, then restores systemd's.
      await Deno.writeTextFile(CORE_PATTERN, chainPattern);
      await trig(["uninstall", `--state-dir=${home.dir}`]);
    }
    return { methods, notes };
  } finally {
    await stopRootDaemon(root);
  }
}
