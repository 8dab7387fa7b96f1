/**
 * Measurement 5: the crash report (issue #14). Real crashes of the two-thread
 * tests/fixtures/mt_crasher through the root daemon with `--core-dir` (socket mode where
 * the kernel has it, else pipe mode with `notify --core-dir`): the time the daemon takes
 * to make the report once the core is kept (decompressing the zstd core, then eu-stack),
 * eu-stack's own time, and the daemon's peak memory (VmHWM of /proc/PID/status), for a
 * small core and for a 256 MiB one (the worker writes every byte of a 256 MiB block).
 *
 * @module
 */
import { buildMtCrasher, runMtCrasher } from "../tests/fixtures/mt_crasher.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import { corePatternFor } from "../lib/install/pattern.ts";
import {
  type BenchContext,
  KERNEL_HAS_SOCKET,
  LAUNCHER,
  setCorePattern,
  SOCKET_PATTERN,
  startRootDaemon,
} from "./run.ts";
import { runLauncher } from "../tests/fixtures/launcher.ts";

/** One size of core. */
export interface ReportSize {
  /** What it is. */
  label: string;
  /** Bytes of core before compression, per crash. */
  coreBytes: number[];
  /** From the crash's arrival to its report stored, per crash (ms). */
  totalMs: number[];
  /** eu-stack's part, per crash (ms). */
  euStackMs: number[];
  /** Daemon VmHWM after this size's crashes (MiB). */
  hwmMiB: number;
  /** Reports not `ready`, with why. */
  failures: string[];
}

/** Measurement 5's results. */
export interface ReportPhase {
  /** `socket` or `pipe`. */
  mode: string;
  /** Daemon VmHWM before any crash (MiB). */
  hwmStartMiB: number;
  /** The small core, then the large one. */
  sizes: ReportSize[];
}

/** VmHWM of `pid`, in MiB. */
async function vmHwm(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return m === null ? NaN : Number(m[1]) / 1024;
}

interface Shown {
  time: string;
  core?: { kept: boolean; bytes: number; reason?: string };
  report?: { state: string; reason?: string; durationMs?: number; time?: string };
}

/** Crash `exe` `count` times with `allocSize` bytes (touched when `touch`), measured. */
async function crashes(
  exe: string,
  label: string,
  count: number,
  allocSize: number,
  touch: boolean,
  daemonPid: number,
): Promise<ReportSize> {
  const out: ReportSize = {
    label,
    coreBytes: [],
    totalMs: [],
    euStackMs: [],
    hwmMiB: NaN,
    failures: [],
  };
  for (let i = 0; i < count; i++) {
    const run = await runMtCrasher(exe, allocSize, { touch });
    if (run.signal !== "SIGSEGV") throw new Error(`the crasher ended with ${run.signal}`);
    const c = await waitFor(async () => {
      const r = await runLauncher(["show", "--json", "--events=1", String(run.pid)]);
      if (r.code !== 0) return undefined;
      const s = JSON.parse(r.stdout) as Shown;
      return s.report !== undefined && s.report.state !== "pending" ? s : undefined;
    }, { timeoutMs: 120_000, what: `the report of pid ${run.pid}`, intervalMs: 50 });
    if (c.report?.state !== "ready") {
      out.failures.push(c.report?.reason ?? "no report");
      continue;
    }
    out.coreBytes.push(c.core?.bytes ?? NaN);
    out.euStackMs.push(c.report.durationMs ?? NaN);
    out.totalMs.push(Date.parse(c.report.time ?? "") - Date.parse(c.time));
  }
  out.hwmMiB = await vmHwm(daemonPid);
  return out;
}

/** Run measurement 5. */
export async function measureCrashReport(ctx: BenchContext): Promise<ReportPhase> {
  const { opts, work } = ctx;
  const exe = await buildMtCrasher(work, "mt_report");
  const cores = `${work}/rc`;
  const mode = KERNEL_HAS_SOCKET ? "socket" : "pipe";
  await using root = await startRootDaemon(`${work}/state-report`, [`--core-dir=${cores}`]);
  const pattern = mode === "socket"
    ? SOCKET_PATTERN
    : corePatternFor({ exe: LAUNCHER, coreDir: cores });
  await using _pattern = await setCorePattern(pattern);
  const pid = root.daemon.pid;
  const hwmStartMiB = await vmHwm(pid);
  const small = await crashes(
    exe,
    "small core (7777-byte block)",
    opts.quick ? 3 : 10,
    7777,
    false,
    pid,
  );
  const large = await crashes(
    exe,
    "256 MiB core (256 MiB block, every byte written)",
    opts.quick ? 1 : 3,
    256 * 1024 * 1024,
    true,
    pid,
  );
  return { mode, hwmStartMiB, sizes: [small, large] };
}
