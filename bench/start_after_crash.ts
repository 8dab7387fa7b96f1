/**
 * Measurement 7 (issue #21, item 1): does a crash whose core is kept slow down the next
 * traced program's start? A traced program registers with lttng-sessiond before its
 * `main` runs; a session daemon stalled on a crashed process would make it wait (up to
 * its 5 s app socket timeout). Pipe mode as `install --core-dir` sets it up (core_pattern
 * with `notify --core-dir`, core_pipe_limit 64), `ulimit -c unlimited`, the root daemon
 * with its default liblttng-ctl path, a snapshot trigger on a per-pid session. Each round
 * starts one crasher when no crash is in flight (the previous round's crashes are in the
 * history, their cores kept and their reports made): its start is the baseline; it
 * crashes, and the next crasher starts as soon as the first is reaped: its start is the
 * figure. Start: from spawn (prlimit, env, the dynamic loader, lttng-ust's registration)
 * to the crasher's "crashing" line, in the same run.
 *
 * @module
 */
import { buildCrasher, crash } from "../tests/fixtures/crasher.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import { history } from "../tests/fixtures/history.ts";
import { corePatternFor } from "../lib/install/pattern.ts";
import { INSTALL_PIPE_LIMIT } from "../lib/cli/install_args.ts";
import { type BenchContext, LAUNCHER, ours, setCorePattern, startRootDaemon } from "./run.ts";
import { benchSession, setSnapshotTrigger } from "./project.ts";

/** One configuration of the daemon, measured. */
export interface StartRun {
  /** What it is (the lever, named as the option). */
  label: string;
  /** Start of a traced program with no crash in flight (ms), per round. */
  calmMs: number[];
  /** Start of a traced program right after a crash whose core was kept (ms), per round. */
  afterCrashMs: number[];
  /** Crashes whose core was not kept, or whose snapshot failed, with why. */
  failures: string[];
}

/** Measurement 7's results. */
export interface StartPhase {
  /** The core_pattern used. */
  pattern: string;
  /** The daemon as it is, then with the lever. */
  runs: StartRun[];
}

/** The daemon configurations: as it is, and reports at once (as before issue #21). */
const CONFIGS = [
  { label: "lttng-trig daemon (reports after 250 ms of quiet)", args: [] },
  { label: "lever --report-delay=0 (each report at once)", args: ["--report-delay=0"] },
];

/** Rounds of `label` against a root daemon started with `args`. */
async function rounds(
  ctx: BenchContext,
  label: string,
  args: string[],
  pattern: string,
): Promise<StartRun> {
  const out: StartRun = { label, calmMs: [], afterCrashMs: [], failures: [] };
  await using _root = await startRootDaemon(`${ctx.work}/state-start-${args.length}`, args);
  await using _pattern = await setCorePattern(pattern);
  await Deno.writeTextFile("/proc/sys/kernel/core_pipe_limit", String(INSTALL_PIPE_LIMIT));
  await using session = await benchSession("pid", `${ctx.work}/out-start-${args.length}`);
  await setSnapshotTrigger(session.name, "bench-start");
  const n = ctx.opts.quick ? 5 : 15;
  for (let i = 0; i < n && ctx.budget.left() > 30_000; i++) {
    const first = await crash({ lastAlloc: 6000 + i, coreLimit: "unlimited" });
    const second = await crash({ lastAlloc: 7000 + i, coreLimit: "unlimited" });
    out.calmMs.push(first.startMs);
    out.afterCrashMs.push(second.startMs);
    // Quiet again before the next round: both crashes recorded, cores kept, reports made.
    for (const run of [first, second]) {
      const c = await waitFor(async () => {
        const e = (await history()).find((h) => h.pid === run.pid) as
          | (Awaited<ReturnType<typeof history>>[number] & { report?: { state: string } })
          | undefined;
        return e !== undefined && e.outcome !== "pending" &&
            (e.core?.kept !== true || (e.report !== undefined && e.report.state !== "pending"))
          ? e
          : undefined;
      }, { timeoutMs: 60_000, what: `the crash of pid ${run.pid} settled`, intervalMs: 50 });
      if (c.outcome !== "ok") out.failures.push(`pid ${run.pid}: ${c.outcome}`);
      if (c.core?.kept !== true) out.failures.push(`pid ${run.pid}: core not kept`);
    }
  }
  return out;
}

/** Run measurement 7. */
export async function measureStartAfterCrash(ctx: BenchContext): Promise<StartPhase> {
  await buildCrasher();
  // Short, so that the whole line (--tid=%i included) fits the kernel's 127 bytes.
  const cores = await Deno.makeTempDir({ prefix: "lk" });
  ours.dirs.add(cores);
  try {
    const full = corePatternFor({ exe: LAUNCHER, coreDir: cores, facts: true });
    const pattern = full.length <= 127
      ? full
      : corePatternFor({ exe: LAUNCHER, coreDir: cores, facts: true, tid: false });
    const runs: StartRun[] = [];
    for (const c of CONFIGS) runs.push(await rounds(ctx, c.label, c.args, pattern));
    return { pattern, runs };
  } finally {
    await Deno.remove(cores, { recursive: true }).catch(() => {});
    ours.dirs.delete(cores);
  }
}
