/**
 * The backtrace of every thread of a crashed process, from its kept core, with
 * elfutils' `eu-stack`: the crashing thread first, each frame's pc, function, offset in
 * its module and module. Computed after the crash is released (it only reads the core
 * file), in bounded time and output, without a shell; its failure is a report of state
 * "failed" with the reason, never an exception.
 *
 * Why eu-stack rather than `gdb -batch`: it unwinds a small core in ~20 ms where gdb
 * takes hundreds of ms and far more memory (gdb loads every symbol table and DWARF);
 * its output is one fixed line per frame, where gdb's depends on arguments, source
 * availability and version; with the executable stripped or gone it still prints every
 * frame it can (module and offset without a function name) and exits 1, where gdb
 * stops at the first frame it cannot unwind; and it never asks debuginfod when run
 * with an empty environment.
 *
 * @module
 */
import type { RunAs } from "./as_user.ts";
import { runTool, type ToolResult, type ToolRunner } from "./tool.ts";

export { runTool, type ToolResult, type ToolRunner } from "./tool.ts";
import type { Frame, ThreadBacktrace } from "../protocol/records.ts";

/** Where the crash happened: a crash's backtraces, ready or failed. */
export interface CrashReport {
  /** `ready` (possibly partial: see `missing`) or `failed` (see `reason`). */
  state: "ready" | "failed";
  /** Why it failed. */
  reason?: string;
  /** The crashing thread's tid: the one given, else the core's first thread. */
  crashingTid?: number;
  /** Every thread (at most {@linkcode BacktraceOptions.maxThreads}), the crashing one first. */
  threads: ThreadBacktrace[];
  /** What the report lacks, one sentence each (`symbols: ...`, `executable: ...`). */
  missing: string[];
  /** How long the tool ran, in milliseconds. */
  durationMs: number;
}

/** Options of {@linkcode computeBacktrace}. */
export interface BacktraceOptions {
  /** The executable that crashed (its path when it crashed); checked before use. */
  exe?: string;
  /** The crashing thread's tid (`%i`, or the core's first NT_PRSTATUS). @default the core's first thread */
  tid?: number;
  /** Kill the tool after this long. */
  timeoutMs: number;
  /** Kill the tool once it has written this many bytes; what it wrote is used. */
  maxBytes: number;
  /** Frames kept per thread. @default 64 */
  maxFrames?: number;
  /** Threads kept (the crashing one always). @default 32 */
  maxThreads?: number;
  /** Runs the tool. @default {@linkcode runTool} */
  run?: ToolRunner;
  /** Run the tool as this user (the crashing one: lib/report/as_user.ts). @default the daemon */
  as?: RunAs;
  /**
   * Run the tool in this directory, the core's, naming the core relative to it (`./NAME`):
   * a user the tool runs as reaches it without searching the directories above.
   */
  cwd?: string;
}

/** The tool, run from PATH. */
export const EU_STACK = "eu-stack";
/** Longest function or module name kept, in characters. */
export const MAX_NAME_LENGTH = 256;

function clip(name: string): string {
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH - 1)}…` : name;
}

function hex(digits: string): string {
  return `0x${BigInt(`0x${digits}`).toString(16)}`;
}

const THREAD_LINE = /^TID (\d+):$/;
// "#1  0x0000557d26015241 - 1 worker - mt_crasher": index, pc, "- 1" unless the frame
// is the activation (innermost), then "FUNCTION - MODULE", "- MODULE" or nothing.
const FRAME_LINE = /^#(\d+)\s+0x([0-9a-fA-F]{1,16})(?:\s+- 1)?(?:\s+(.*))?$/;
// "    [build-id]@0x557d26014000+0x11ad" (eu-stack -b), under its frame.
const MODULE_OFFSET_LINE = /^\s+\[[0-9a-fA-F]*\]@0x[0-9a-fA-F]+\+0x([0-9a-fA-F]{1,16})$/;

/**
 * Parse the output of `eu-stack -a -m -b --core=CORE`: threads in the order printed
 * (the kernel writes the crashing thread's NT_PRSTATUS first), at most `maxFrames`
 * frames each and `maxThreads` threads; an unparsable line is skipped, a cut last line
 * ignored.
 */
export function parseEuStack(
  text: string,
  limits: { maxFrames: number; maxThreads: number } = { maxFrames: 64, maxThreads: 32 },
): ThreadBacktrace[] {
  const threads: ThreadBacktrace[] = [];
  let current: ThreadBacktrace | undefined;
  const lines = text.split("\n");
  if (!text.endsWith("\n")) lines.pop(); // cut by the output bound: incomplete
  for (const line of lines) {
    const t = THREAD_LINE.exec(line);
    if (t !== null) {
      if (threads.length >= limits.maxThreads) break;
      current = { tid: Number(t[1]), frames: [] };
      threads.push(current);
      continue;
    }
    if (current === undefined) continue;
    const f = FRAME_LINE.exec(line);
    if (f !== null) {
      if (current.frames.length >= limits.maxFrames) continue;
      const frame: Frame = { pc: hex(f[2]) };
      const rest = (f[3] ?? "").trim();
      if (rest.startsWith("- ")) {
        frame.module = clip(rest.slice(2));
      } else if (rest !== "") {
        const dash = rest.lastIndexOf(" - ");
        if (dash < 0) frame.function = clip(rest);
        else {
          frame.function = clip(rest.slice(0, dash));
          frame.module = clip(rest.slice(dash + 3));
        }
      }
      current.frames.push(frame);
      continue;
    }
    const m = MODULE_OFFSET_LINE.exec(line);
    const last = current.frames.at(-1);
    if (m !== null && last !== undefined && last.offset === undefined) last.offset = hex(m[1]);
  }
  return threads;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * What the crashing thread's frames lack: the modules whose frames there have no
 * function name. Only that thread's: the others often run in libraries shipped without
 * symbols (the tracer's own threads, in liblttng-ust), which says nothing of the crash.
 */
function missingSymbols(
  threads: ThreadBacktrace[],
  exe: string | undefined,
  exeGone: boolean,
): string[] {
  const modules = new Set<string>();
  for (const t of threads) {
    for (const f of t.frames) if (f.function === undefined && f.module) modules.add(f.module);
  }
  const isExe = (m: string) => exe !== undefined && (m === exe || m === basename(exe));
  return [...modules].filter((m) => !(exeGone && isExe(m))).map((m) =>
    isExe(m)
      ? `symbols: the executable ${exe} is stripped (no function names in its frames)`
      : `symbols: no function names in ${m} (stripped, or not readable)`
  );
}

/**
 * The backtrace of every thread in the core at `corePath`, crashing thread first. Never
 * throws: a tool that cannot run, times out or prints nothing gives `state: "failed"`;
 * a stripped or vanished executable gives a partial report that says so in `missing`.
 *
 * @example
 * ```ts ignore
 * const report = await computeBacktrace("/var/lib/cores/core.42", {
 *   exe: "/usr/bin/app",
 *   tid: 43,
 *   timeoutMs: 10_000,
 *   maxBytes: 1 << 20,
 * });
 * if (report.state === "ready") console.log(innermostNamedFrame(report)?.function);
 * ```
 */
export async function computeBacktrace(
  corePath: string,
  options: BacktraceOptions,
): Promise<CrashReport> {
  const started = performance.now();
  const maxFrames = options.maxFrames ?? 64;
  const maxThreads = Math.max(1, options.maxThreads ?? 32);
  const missing: string[] = [];
  const failed = (reason: string): CrashReport => ({
    state: "failed",
    reason,
    ...(options.tid === undefined ? {} : { crashingTid: options.tid }),
    threads: [],
    missing,
    durationMs: Math.round(performance.now() - started),
  });
  try {
    const st = await Deno.stat(corePath);
    if (!st.isFile) return failed(`the core ${corePath} is not a regular file`);
  } catch (err) {
    return failed(`cannot read the core ${corePath}: ${(err as Error).message}`);
  }
  let exe = options.exe;
  if (exe !== undefined) {
    try {
      if (!(await Deno.stat(exe)).isFile) throw new Error("not a regular file");
    } catch (err) {
      missing.push(
        err instanceof Deno.errors.NotFound
          ? `executable: ${exe} no longer exists (its frames have no function names)`
          : `executable: cannot read ${exe}: ${(err as Error).message}`,
      );
      exe = undefined;
    }
  }
  const inCwd = options.cwd !== undefined && corePath.startsWith(`${options.cwd}/`);
  const core = inCwd ? `.${corePath.slice(options.cwd!.length)}` : corePath;
  const args = ["-a", "-m", "-b", "-n", String(maxFrames), `--core=${core}`];
  if (exe !== undefined) args.push(`--executable=${exe}`);
  let result: ToolResult;
  try {
    result = await (options.run ?? runTool)(EU_STACK, args, {
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      ...(options.as === undefined ? {} : { as: options.as }),
      ...(inCwd ? { cwd: options.cwd } : {}),
    });
  } catch (err) {
    return failed(
      `cannot run ${EU_STACK} (${
        (err as Error).message
      }): install it with 'apt-get install elfutils'`,
    );
  }
  const all = parseEuStack(result.stdout, { maxFrames, maxThreads: Number.MAX_SAFE_INTEGER });
  const lastError = result.stderr.trim().split("\n").pop()?.trim() ?? "";
  if (result.timedOut) {
    return failed(`${EU_STACK} did not finish within ${options.timeoutMs} ms`);
  }
  if (all.every((t) => t.frames.length === 0)) {
    return failed(
      `${EU_STACK} found no frame (exit ${result.code ?? "by signal"})${
        lastError === "" ? "" : `: ${clip(lastError)}`
      }`,
    );
  }
  const crashingTid = options.tid ?? all[0].tid;
  const index = all.findIndex((t) => t.tid === crashingTid);
  if (index < 0) missing.push(`thread: the crashing thread ${crashingTid} is not in the core`);
  const ordered = index <= 0 ? all : [all[index], ...all.slice(0, index), ...all.slice(index + 1)];
  const threads = ordered.slice(0, maxThreads);
  missing.push(...missingSymbols(threads.slice(0, 1), options.exe, exe === undefined));
  if (ordered.length > threads.length) {
    missing.push(`threads: ${ordered.length - threads.length} more threads not kept`);
  }
  if (result.truncated) {
    missing.push(`output: cut at ${options.maxBytes} bytes, later threads not read`);
  } else if (result.code !== 0) {
    // eu-stack exits 1 when any thread's unwinding stopped early; other threads' ends
    // (often past clone, in the tracer's threads) say nothing of the crash.
    const own = result.stderr.split("\n").map((l) => l.trim()).filter((l) => {
      const t = /dwfl_thread_getframes tid (\d+)/.exec(l);
      return l !== "" && (t === null || Number(t[1]) === crashingTid);
    }).pop();
    if (own !== undefined) missing.push(`unwind: ${clip(own)}`);
  }
  return {
    state: "ready",
    crashingTid,
    threads,
    missing,
    durationMs: Math.round(performance.now() - started),
  };
}

/** The crashing thread's innermost frame that has a function name (what `watch` prints). */
export function innermostNamedFrame(report: CrashReport): Frame | undefined {
  const t = report.threads.find((t) => t.tid === report.crashingTid);
  return t?.frames.find((f) => f.function !== undefined);
}

/**
 * One line per frame, as `show` prints it:
 * `#0  0x557d260151ad crash_in_worker (mt_crasher+0x11ad)`.
 */
export function formatFrame(frame: Frame, index: number): string {
  const where = frame.module === undefined
    ? ""
    : ` (${frame.module}${frame.offset === undefined ? "" : `+${frame.offset}`})`;
  return `#${index}`.padEnd(4) + ` ${frame.pc} ${frame.function ?? "??"}${where}`;
}

/**
 * The report as text for `show`: "Backtrace of the crashing thread TID:" and its
 * frames, the other threads' when `allThreads`, then what is missing or why it failed.
 */
export function formatReport(report: CrashReport, allThreads = false): string[] {
  if (report.state === "failed") return [`No backtrace: ${report.reason}`];
  const lines: string[] = [];
  for (const t of report.threads) {
    const crashing = t.tid === report.crashingTid;
    if (!crashing && !allThreads) continue;
    if (lines.length > 0) lines.push("");
    lines.push(crashing ? `Backtrace of the crashing thread ${t.tid}:` : `Thread ${t.tid}:`);
    t.frames.forEach((f, i) => lines.push(`  ${formatFrame(f, i)}`));
  }
  if (!allThreads && report.threads.length > 1) {
    lines.push(`  (${report.threads.length - 1} other threads: --all-threads)`);
  }
  for (const m of report.missing) lines.push(`Partial report: ${m}`);
  return lines;
}
