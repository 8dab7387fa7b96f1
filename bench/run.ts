/**
 * What one benchmark run shares: its paths, its time budget, the processes, sessions and
 * directories it started (so that an interrupted run stops them, by pid), and the locked
 * ways to change core_pattern and start the root daemon.
 *
 * @module
 */
import { BUILD_DIR, LAUNCHER, ROOT } from "../tests/fixtures/paths.ts";
import { RootDaemon } from "../tests/fixtures/root_daemon.ts";
import { CorePatternGuard } from "../tests/fixtures/core_pattern.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import {
  CONTROL_SOCKET_NAME,
  NOTIFIER_LOG_NAME,
  ROOT_RUN_DIR,
  ROOT_STATE_DIR,
} from "../lib/core/paths.ts";
import type { BenchOptions } from "./options.ts";

export { LAUNCHER, ROOT };

/** The Deno running the benchmark (the project's pinned one). */
export const DENO: string = Deno.execPath();
/** The benchmark's own folder (its programs and helpers). */
export const BENCH_DIR = `${ROOT}/bench`;
/** Where the C tools are built (git-ignored). */
export const BENCH_BUILD = `${BUILD_DIR}/bench`;
/** The root daemon's control socket. */
export const ROOT_CONTROL = `${ROOT_RUN_DIR}/${CONTROL_SOCKET_NAME}`;
/** Traces malloc/free of any program (the crasher needs no build with LTTng). */
export const PRELOAD = "LD_PRELOAD=liblttng-ust-libc-wrapper.so.1";
/** The kernel's limit on core_pattern (CORENAME_MAX_SIZE), NUL included. */
const CORE_PATTERN_MAX = 127;
/** Pipe mode, as users write it. */
export const PIPE_PATTERN = `|${LAUNCHER} notify %p %u %g %e %h`;
/** Coredump-socket mode: the root daemon's socket, by its real path (no symlink). */
export const SOCKET_PATTERN = `@${await Deno.realPath("/var/run/lttng").catch(() =>
  "/run/lttng"
)}/coredump-lttng-trig`;
const [KERNEL_MAJOR, KERNEL_MINOR] = Deno.osRelease().split(".").map(Number);
/** Whether the kernel has coredump sockets (Linux 6.16+). */
export const KERNEL_HAS_SOCKET = KERNEL_MAJOR > 6 || (KERNEL_MAJOR === 6 && KERNEL_MINOR >= 16);
/** Where the notifier run by the kernel journals its failures (it uses the root defaults). */
export const NOTIFIER_JOURNAL = `${ROOT_STATE_DIR}/${NOTIFIER_LOG_NAME}`;

/** The notifier journal's lines added since it was `size` bytes long. */
export async function journalSince(size: number): Promise<string[]> {
  const bytes = await Deno.readFile(NOTIFIER_JOURNAL).catch(() => new Uint8Array());
  return new TextDecoder().decode(bytes.subarray(size)).split("\n").filter((l) => l !== "");
}

/** The notifier journal's size in bytes (0 when there is none). */
export async function journalSize(): Promise<number> {
  return await Deno.stat(NOTIFIER_JOURNAL).then((s) => s.size, () => 0);
}

/** The run's clock: seconds since it began, milliseconds left in its budget. */
export class Budget {
  readonly #t0 = performance.now();
  readonly ms: number;
  constructor(seconds: number) {
    this.ms = seconds * 1000;
  }
  /** Seconds since the run began. */
  elapsedS(): number {
    return (performance.now() - this.#t0) / 1000;
  }
  /** Milliseconds left in the budget. */
  left(): number {
    return this.ms - (performance.now() - this.#t0);
  }
}

/** What every measurement gets: the options, a private work directory, the clock. */
export interface BenchContext {
  opts: BenchOptions;
  /** A temporary directory of this run's, removed at the end. */
  work: string;
  budget: Budget;
}

/** Pids this run started and must stop if it is interrupted; sessions; directories. */
export const ours = {
  pids: new Set<number>(),
  sessions: new Set<string>(),
  dirs: new Set<string>(),
  /** How many core_pattern guards are active (each restores core_pattern on its way out). */
  guards: 0,
};

/** Stop what this run started (by pid), destroy its sessions, remove its directories. */
export function emergencyCleanup(why: string): void {
  console.error(`bench: ${why}: stopping what it started`);
  for (const pid of ours.pids) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* gone */ }
  }
  for (const name of ours.sessions) {
    try {
      new Deno.Command("lttng", {
        args: ["--no-sessiond", "destroy", name],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).outputSync();
    } catch { /* no lttng */ }
  }
  for (const dir of ours.dirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
  }
}

/** The locks of the fixtures (tests/fixtures/root_daemon.ts and core_pattern.ts). */
const E2E_LOCK = "/run/lock/lttng-trig-e2e.lock";
const CORE_PATTERN_LOCK = "/run/lock/lttng-trig-core-pattern.lock";

/**
 * Wait (bounded) until nobody holds `path`'s lock: the fixtures wait without a deadline,
 * and a test of someone else's may hold it for a while.
 */
async function waitLockFree(path: string, timeoutMs = 120_000): Promise<void> {
  await Deno.mkdir("/run/lock", { recursive: true });
  await waitFor(async () => {
    const f = await Deno.open(path, { create: true, write: true });
    try {
      if (!await f.tryLock(true)) return false;
      await f.unlock();
      return true;
    } finally {
      f.close();
    }
  }, { timeoutMs, what: `the lock ${path} (held by a test?)`, intervalMs: 100 });
}

/** The root daemon (RootDaemon.start, after waiting for its lock), its pid noted as ours. */
export async function startRootDaemon(stateDir: string, args: string[]): Promise<RootDaemon> {
  await waitLockFree(E2E_LOCK);
  const root = await RootDaemon.start(stateDir, args);
  ours.pids.add(root.daemon.pid);
  return root;
}

/** Stop the root daemon and forget its pid (the fixture's dispose then restores the rest). */
export async function stopRootDaemon(root: RootDaemon): Promise<void> {
  const pid = root.daemon.pid;
  await root.daemon.stop();
  ours.pids.delete(pid);
}

/** CorePatternGuard.set, counted so that the signal path knows a guard will restore. */
export async function setCorePattern(pattern: string): Promise<AsyncDisposable> {
  await waitLockFree(CORE_PATTERN_LOCK);
  if (pattern.length > CORE_PATTERN_MAX) {
    throw new Error(
      `core_pattern "${pattern}" is ${pattern.length} bytes, over the kernel's ${CORE_PATTERN_MAX}: use a shorter repository or TMPDIR path`,
    );
  }
  const guard = await CorePatternGuard.set(pattern);
  ours.guards++;
  return {
    async [Symbol.asyncDispose]() {
      try {
        await guard[Symbol.asyncDispose]();
      } finally {
        ours.guards--;
      }
    },
  };
}
