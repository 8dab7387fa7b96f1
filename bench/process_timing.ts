/**
 * Process timing through the C tools of bench/: `rusage.c` (wall time, peak RSS and, for a
 * crash, how long the core dump held it) and `snapshot_helper.c` (the C core_pattern
 * helper), built into .tools/build/bench.
 *
 * @module
 */
import { BUILD_DIR } from "../tests/fixtures/paths.ts";
import { buildCrasher } from "../tests/fixtures/crasher.ts";
import { commandOutput } from "../tests/fixtures/process.ts";
import { BENCH_BUILD, BENCH_DIR, PRELOAD } from "./run.ts";

/** bench/rusage.c, built. */
export const RUSAGE = `${BENCH_BUILD}/rusage`;
/** bench/with_pidfd.c, built: runs a program with fd 3 a pidfd, as the kernel's %F. */
export const WITH_PIDFD = `${BENCH_BUILD}/with_pidfd`;
/** bench/snapshot_helper.c, built. */
export const C_HELPER = `${BENCH_BUILD}/snapshot_helper`;

/** One run of a command under rusage. */
export interface Usage {
  pid: number;
  exit: number;
  signal: number;
  wallMs: number;
  maxrssMiB: number;
  timedOut: boolean;
  crashNs?: number;
  reapNs?: number;
  crashToReapMs?: number;
  stderr: string;
}

/** Options of {@linkcode rusage}. */
export interface RusageOptions {
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
  /** The command is the traced crasher: time its hold in the dump. */
  crash?: boolean;
  /** SIGKILL it after this long. @default 60000 */
  timeoutMs?: number;
}

/** Run `cmd` under bench/rusage.c: its wall time, peak RSS and, for a crash, its hold. */
export async function rusage(cmd: string[], o: RusageOptions = {}): Promise<Usage> {
  const flags = [`--timeout=${o.timeoutMs ?? 60_000}`, ...(o.crash ? ["--crash"] : [])];
  const out = await new Deno.Command(RUSAGE, {
    args: [...flags, "--", ...cmd],
    env: o.env,
    clearEnv: o.clearEnv,
    cwd: o.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout).trim().split("\n").at(-1) ?? "";
  const kv: Record<string, number> = {};
  for (const word of text.split(" ")) {
    const [k, v] = word.split("=");
    if (v !== undefined) kv[k] = Number(v);
  }
  if (out.code !== 0 || kv.pid === undefined) {
    throw new Error(`rusage ${cmd.join(" ")} failed: ${dec.decode(out.stderr)}${text}`);
  }
  return {
    pid: kv.pid,
    exit: kv.exit,
    signal: kv.signal,
    wallMs: kv.wall_ns / 1e6,
    maxrssMiB: kv.maxrss_kib / 1024,
    timedOut: kv.timed_out === 1,
    ...(o.crash
      ? {
        crashNs: kv.crash_ns,
        reapNs: kv.reap_ns,
        crashToReapMs: kv.crash_to_reap_ns < 0 ? NaN : kv.crash_to_reap_ns / 1e6,
      }
      : {}),
    stderr: dec.decode(out.stderr),
  };
}

/** Options of {@linkcode crashOnce}. */
export interface CrashOnceOptions {
  /** @default 40000 */
  timeoutMs?: number;
  /**
   * Run the crasher with RLIMIT_CORE 0: with a file core_pattern the kernel then dumps
   * nothing and runs no helper (the no-helper floor). A pipe pattern ignores the limit.
   */
  noCore?: boolean;
}

/**
 * Run the traced crasher (one pid: sh and env exec it), whose last malloc has size
 * `lastAlloc`, and time its hold in the dump.
 */
export function crashOnce(
  crasher: string,
  lastAlloc: number,
  o: CrashOnceOptions = {},
): Promise<Usage> {
  const traced = ["env", PRELOAD, crasher, String(lastAlloc)];
  const cmd = o.noCore ? ["sh", "-c", 'ulimit -c 0 && exec "$@"', "sh", ...traced] : traced;
  return rusage(cmd, { crash: true, timeoutMs: o.timeoutMs ?? 40_000 });
}

/** Build rusage, the C helper and the crasher; resolves to the crasher's path. */
export async function buildTools(): Promise<string> {
  await Deno.mkdir(BENCH_BUILD, { recursive: true, mode: 0o755 });
  await Deno.chmod(BUILD_DIR, 0o755);
  await Deno.chmod(BENCH_BUILD, 0o755);
  await commandOutput("gcc", ["-O2", "-Wall", "-o", RUSAGE, `${BENCH_DIR}/rusage.c`]);
  await commandOutput("gcc", ["-O2", "-Wall", "-o", WITH_PIDFD, `${BENCH_DIR}/with_pidfd.c`]);
  await commandOutput("gcc", [
    "-O2",
    "-Wall",
    "-o",
    C_HELPER,
    `${BENCH_DIR}/snapshot_helper.c`,
    "-llttng-ctl",
  ]);
  return await buildCrasher();
}
