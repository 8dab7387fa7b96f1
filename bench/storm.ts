/**
 * Measurement 4: a storm of traced crashes through lttng-trig's pipe mode, and through the
 * shell helper (each crash runs its own `lttng snapshot record`).
 *
 * @module
 */
import { lttng } from "../tests/fixtures/lttng.ts";
import { waitFor } from "../tests/fixtures/wait.ts";
import { ROOT_RUN_DIR } from "../lib/core/paths.ts";
import {
  BENCH_DIR,
  type BenchContext,
  journalSince,
  journalSize,
  NOTIFIER_JOURNAL,
  PIPE_PATTERN,
  ROOT,
  ROOT_CONTROL,
  setCorePattern,
  startRootDaemon,
  stopRootDaemon,
} from "./run.ts";
import { crashOnce, type Usage } from "./process_timing.ts";
import {
  benchSession,
  history,
  type HistoryCrash,
  loadavg,
  memAvailableMiB,
  procStatus,
  setSnapshotTrigger,
} from "./project.ts";
import { num, summarize, type Summary } from "./stats.ts";
import { LTTNG_CTL_DEFAULT } from "./crash.ts";

/** One storm: the same crashes through one core_pattern. */
export interface StormRun {
  label: string;
  planned: number;
  started: number;
  crashed: number;
  timedOut: number;
  firstError?: string;
  /** From the first crash instant to the last (how the arrivals spread). */
  arrivalSpanS: number;
  releaseSpanS: number;
  perCrash: Summary;
  overTenS: number;
  /** Snapshots that succeeded, as the method reports them. */
  snapshotsOk: number;
  distinctSnapshots: number;
  /** The time of each snapshot as the method reports it. */
  actions: Summary;
  /** Most helper processes alive at once (sampled every 300 ms). */
  peakHelpers: number;
  /** Samples of the session daemon's threads (every 300 ms). */
  sessiondSamples: number;
  /** Of those, how many found its UST registration thread reading an app's socket. */
  registrationBlocked: number;
  systemMemPeakMiB: number;
  /** lttng-trig only. */
  daemon?: {
    entries: number;
    outcomes: Record<string, number>;
    failureReasons: Record<string, number>;
    historySettledS: number;
    hwmBefore: number;
    hwmAfter: number;
    rssAfter: number;
  };
  notes: string[];
}

export interface StormPhase {
  runs: StormRun[];
}

/**
 * Start `n` crashers evenly over the window, with core_pattern set to `pattern`, and
 * sample the system while they are held. `helperMatch` finds the helper processes by
 * their command line.
 */
async function stormCrashes(
  ctx: BenchContext,
  pattern: string,
  crasher: string,
  helperMatch: string,
) {
  const { opts } = ctx;
  // What else the machine and the session daemon are doing (others' tests share them).
  const sessions = await lttng("--mi", "xml", "list").then(
    (xml) => (xml.match(/<session>/g) ?? []).length,
    () => NaN,
  );
  const context = `load average ${loadavg()}, ${sessions} session(s) in the session daemon`;
  const availBefore = memAvailableMiB();
  let availMin = availBefore;
  let peakHelpers = 0;
  const countHelpers = () => {
    let k = 0;
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(helperMatch)) k++;
      } catch { /* gone */ }
    }
    return k;
  };
  // The session daemon's threads: is its UST registration thread stuck reading an app?
  const sessiondPid = Number(
    (await Deno.readTextFile(`${ROOT_RUN_DIR}/lttng-sessiond.pid`).catch(() => "")).trim(),
  );
  let samples = 0;
  let regBlocked = 0;
  const sampleSessiond = () => {
    if (!(sessiondPid > 0)) return;
    samples++;
    try {
      for (const t of Deno.readDirSync(`/proc/${sessiondPid}/task`)) {
        const dir = `/proc/${sessiondPid}/task/${t.name}`;
        const comm = Deno.readTextFileSync(`${dir}/comm`).trim();
        if (!comm.startsWith("UST registr")) continue;
        if (Deno.readTextFileSync(`${dir}/wchan`).includes("unix_stream_read")) regBlocked++;
      }
    } catch { /* gone */ }
  };
  let tick = 0;
  const sampler = setInterval(() => {
    availMin = Math.min(availMin, memAvailableMiB());
    if (tick++ % 3 === 0) {
      peakHelpers = Math.max(peakHelpers, countHelpers());
      sampleSessiond();
    }
  }, 100);
  const n = opts.storm;
  const interval = (opts.stormWindowS * 1000) / n;
  const runs: Promise<Usage | Error>[] = [];
  let end = 0;
  try {
    await using _pattern = await setCorePattern(pattern);
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      runs.push(crashOnce(crasher, 30_000 + i, { timeoutMs: 60_000 }).catch((e) => e as Error));
    }
    await Promise.all(runs);
    end = performance.now();
  } finally {
    clearInterval(sampler);
  }
  const results = await Promise.all(runs);
  const usages = results.filter((r): r is Usage => !(r instanceof Error));
  const crashed = usages.filter((u) => u.signal === 11);
  const firstCrash = Math.min(...crashed.map((u) => u.crashNs ?? Infinity));
  const lastCrash = Math.max(...crashed.map((u) => u.crashNs ?? -Infinity));
  const lastReap = Math.max(...crashed.map((u) => u.reapNs ?? -Infinity));
  return {
    end,
    usages,
    crashed,
    context,
    base: {
      planned: n,
      started: usages.length,
      crashed: crashed.length,
      timedOut: usages.filter((u) => u.timedOut).length,
      firstError: results.find((r): r is Error => r instanceof Error)?.message,
      arrivalSpanS: (lastCrash - firstCrash) / 1e9,
      releaseSpanS: (lastReap - firstCrash) / 1e9,
      perCrash: summarize(crashed.map((u) => u.crashToReapMs ?? NaN)),
      overTenS: crashed.filter((u) => (u.crashToReapMs ?? 0) > 10_000).length,
      peakHelpers,
      systemMemPeakMiB: availBefore - availMin,
      sessiondSamples: samples,
      registrationBlocked: regBlocked,
    },
  };
}

/** The storm through the shell helper: the baseline (each crash runs its own lttng). */
async function stormShell(ctx: BenchContext, crasher: string): Promise<StormRun> {
  const { work } = ctx;
  await using session = await benchSession("uid", `${work}/out-storm-shell`);
  const log = `${work}/storm-sh.log`;
  const helper = `${BENCH_DIR}/snapshot_helper.sh`;
  const r = await stormCrashes(
    ctx,
    `|/bin/sh ${helper} ${session.name} ${log} %p %e`,
    crasher,
    `${helper}\0${session.name}\0`,
  );
  const lines = (await Deno.readTextFile(log).catch(() => "")).split("\n");
  const pids = new Set(r.crashed.map((u) => u.pid));
  const ok = lines.filter((l) => {
    const m = /^pid=(\d+) ret=0$/.exec(l);
    return m !== null && pids.has(Number(m[1]));
  }).length;
  return {
    label: "shell helper (baseline)",
    ...r.base,
    snapshotsOk: ok,
    distinctSnapshots: ok,
    actions: summarize([]),
    notes: [`at the start: ${r.context}`],
  };
}

/** The storm through lttng-trig's pipe mode. */
async function stormPipe(ctx: BenchContext, crasher: string): Promise<StormRun> {
  const { opts, work } = ctx;
  const notes: string[] = [];
  await using root = await startRootDaemon(`${work}/state-storm`, [LTTNG_CTL_DEFAULT]);
  const daemonPid = root.daemon.pid;
  try {
    await using session = await benchSession("uid", `${work}/out-storm`);
    await setSnapshotTrigger(session.name, "bench-storm");
    const hwmBefore = procStatus(daemonPid, "VmHWM");
    const journalBefore = await journalSize();
    const r = await stormCrashes(ctx, PIPE_PATTERN, crasher, `${ROOT}/main.ts\0notify\0`);
    notes.push(`at the start: ${r.context}`);

    // Every crash in the history, its actions finished (bounded).
    const pids = new Set(r.crashed.map((u) => u.pid));
    let mine: HistoryCrash[] = [];
    await waitFor(async () => {
      mine = (await history(ROOT_CONTROL, opts.storm + 200)).filter((c) => pids.has(c.pid));
      return mine.length >= pids.size && mine.every((c) => c.outcome !== "pending");
    }, { timeoutMs: 60_000, what: "the storm's history", intervalMs: 200 }).catch((err) => {
      notes.push((err as Error).message);
    });
    const settled = (performance.now() - r.end) / 1000;
    const journal = await journalSince(journalBefore);
    if (journal.length > 0) {
      notes.push(
        `the notifier journaled ${journal.length} failure(s) (${NOTIFIER_JOURNAL}), first: ${
          journal[0].slice(0, 300)
        }`,
      );
    }
    const seen = new Set(mine.map((c) => c.pid));
    const missing = r.crashed.filter((u) => !seen.has(u.pid));
    if (missing.length > 0) {
      notes.push(
        `${missing.length} crash(es) missing from the history, e.g. ${
          missing.slice(0, 5).map((u) => `pid ${u.pid} (held ${num(u.crashToReapMs ?? NaN)} ms)`)
            .join(", ")
        }`,
      );
    }
    const outcomes: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    const snapshots = new Set<string>();
    let snapshotsOk = 0;
    const durations: number[] = [];
    for (const c of mine) {
      outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
      for (const x of c.results) {
        if (x.durationMs !== undefined) durations.push(x.durationMs);
        if (x.outcome === "ok" && x.snapshot !== undefined) {
          snapshotsOk++;
          snapshots.add(x.snapshot);
        } else if (x.outcome !== "ok") {
          const why = (x.reason ?? x.outcome).slice(0, 120);
          reasons[why] = (reasons[why] ?? 0) + 1;
        }
      }
    }
    return {
      label: "lttng-trig pipe mode",
      ...r.base,
      snapshotsOk,
      distinctSnapshots: snapshots.size,
      actions: summarize(durations),
      daemon: {
        entries: mine.length,
        outcomes,
        failureReasons: reasons,
        historySettledS: settled,
        hwmBefore,
        hwmAfter: procStatus(daemonPid, "VmHWM"),
        rssAfter: procStatus(daemonPid, "VmRSS"),
      },
      notes,
    };
  } finally {
    await stopRootDaemon(root);
  }
}

/** Run measurement 4: the shell helper first (the baseline), then pipe mode. */
export async function measureStorm(ctx: BenchContext, crasher: string): Promise<StormPhase> {
  const runs: StormRun[] = [await stormShell(ctx, crasher)];
  if (ctx.budget.left() < ctx.opts.stormWindowS * 1000 + 60_000) {
    throw new Error(
      "the time budget ran out before the storm's pipe-mode run: raise --budget or lower --storm",
    );
  }
  runs.push(await stormPipe(ctx, crasher));
  return { runs };
}
