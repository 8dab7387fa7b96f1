/**
 * Each measurement's results as a {@linkcode Section} of bench/results.json: its tables
 * (numbers as numbers), the figures derived from them, and its targets. bench/report.ts
 * renders them; nothing here writes prose around a figure.
 *
 * @module
 */
import { INSTALL_PIPE_LIMIT } from "../lib/cli/install_args.ts";
import {
  type Cell,
  columns,
  type Figure,
  type Section,
  type Table,
  type Target,
} from "./report.ts";
import type { BenchOptions } from "./options.ts";
import { median, num, signed, summarize } from "./stats.ts";
import { type CrashKey, type CrashMethod, type CrashPhase, method } from "./crash.ts";
import type { NotifyKey, NotifyPhase } from "./notify.ts";
import { DAEMON_LABEL, type IngestPhase, type IngestRun, STUB_LABEL } from "./ingest.ts";
import type { StormPhase, StormRun } from "./storm.ts";
import type { ChainMethod, ChainPhase } from "./chain.ts";
import type { ReportPhase } from "./crash_report.ts";
import type { StartPhase, StartRun } from "./start_after_crash.ts";

/** A target decided by `met`, which is undefined when its figure is not a number. */
function target(what: string, value: string, met: boolean | undefined): Target {
  return { what, value, met: met ?? null };
}

/** Median hold (ms) of the successful samples. */
function holdOf(samples: readonly { ok: boolean; ms: number }[] | undefined): number {
  return samples === undefined ? NaN : median(samples.filter((s) => s.ok).map((s) => s.ms));
}

/** Median, min and max of `values`. */
function spreadCells(values: number[]): Cell[] {
  const s = summarize(values);
  return [s.median, s.min, s.max];
}

/** Median, min and max of the successful samples' holds, and how many succeeded. */
function holdCells(samples: readonly { ok: boolean; ms: number }[]): Cell[] {
  const ok = samples.filter((s) => s.ok);
  return [...spreadCells(ok.map((x) => x.ms)), `${ok.length}/${samples.length}`];
}

/** The median of `values`, or null when there is none. */
function medianOrNull(values: number[]): number | null {
  const m = median(values);
  return Number.isFinite(m) ? m : null;
}

function failuresOf(
  methods: { key: string; samples: { ok: boolean; pid: number; note?: string }[] }[],
) {
  return methods.flatMap((m) =>
    m.samples.filter((s) => !s.ok).map((s) => `${m.key}, pid ${s.pid}: ${s.note}`)
  ).slice(0, 10);
}

/** The columns of {@linkcode holdCells}. */
const HOLD = ["median", "min", "max", "ok/n"];

/** Pipe mode's median hold in measurement 1 (NaN when it did not run), for the storm's scale. */
export function pipeHold(p: CrashPhase | undefined): number {
  return p === undefined ? NaN : holdOf(method(p, "pipe")?.samples);
}

/** Measurement 1: crash-to-release latency. */
export function crashSection(p: CrashPhase): Section {
  const hold = (k: CrashKey) => holdOf(method(p, k)?.samples);
  const snapshot = (k: CrashKey) =>
    median(method(p, k)?.samples.filter((s) => s.ok).map((s) => s.snapshotMs ?? NaN) ?? []);
  const base = hold("shell");
  const cols = columns("method", ...HOLD, "vs shell", "snapshot (median)", "snapshot verified");
  const row = (m: CrashMethod): Cell[] => {
    const ok = m.samples.filter((s) => s.ok);
    return [
      m.label,
      ...holdCells(m.samples),
      `${num(holdOf(m.samples) / base, 2)}x`,
      medianOrNull(ok.map((x) => x.snapshotMs ?? NaN)),
      m.snapshots ? `${m.verified}/${m.checked}` : null,
    ];
  };
  const snap = snapshot("c");
  const [nd, t, dn, nt, pp, sh, ch, so] = (
    ["nodump", "true", "deno", "pipe-nt", "pipe", "shell", "c", "socket"] as const
  ).map(hold);
  const ratio = pp / sh;
  const socketRatio = so / ch;
  const ms = (label: string, value: number): Figure => ({ label, value, unit: "ms" });
  return {
    id: "crash",
    title: "1. Crash-to-release latency",
    about:
      "From the crashed process's last instant (the crasher prints `CLOCK_MONOTONIC` just before its fault) to the moment its parent reaps it (`CLOCK_MONOTONIC` right after `wait4`, in `bench/rusage.c`): how long the core dump holds it. A real traced crash (`LD_PRELOAD=liblttng-ust-libc-wrapper.so.1`), a per-pid snapshot session (`--buffers-pid`, vpid context), the methods taken in turn, round after round. \"snapshot\" is the time the snapshot itself took as the method reports it (C helper: `lttng_snapshot_record()`; lttng-trig: the daemon's action, through liblttng-ctl: the daemon runs with `--lttng-ctl=library`, what `auto` picks here). The first three rows are floors: no snapshot at all. Milliseconds.",
    tables: [
      { columns: cols, rows: p.methods.filter((m) => !m.lever).map(row) },
      {
        caption:
          "Lever (one option of `lttng-trig daemon` changed; a daemon of its own on a temporary run directory, which the notifier is told of with `notify --run-dir`):",
        columns: cols,
        rows: p.methods.filter((m) => m.lever).map(row),
      },
    ],
    targets: [
      target(
        "pipe mode at most 3.0x the shell helper",
        `${num(ratio, 2)}x`,
        Number.isFinite(ratio) ? ratio <= 3 : undefined,
      ),
      target(
        "socket mode at most 1.0x the C helper",
        `${num(socketRatio, 2)}x`,
        Number.isFinite(socketRatio) ? socketRatio <= 1 : undefined,
      ),
    ],
    figuresCaption:
      "Where the time goes (medians of this run; the snapshot's own time is the C helper's `lttng_snapshot_record()`):",
    figures: [
      ms("socket mode over the kernel's no-helper floor and the snapshot", so - nd - snap),
      ms("pipe mode over the bare Deno helper's start and the snapshot", pp - dn - snap),
      ms("the kernel with no helper", nd),
      ms("a pipe helper process (`/bin/true` over no helper)", t - nd),
      ms("Deno's start (bare Deno helper over `/bin/true`)", dn - t),
      ms("lttng-trig's notifier and its round trip (no-trigger row over bare Deno)", nt - dn),
      ms("the snapshot action in pipe mode (pipe over no-trigger)", pp - nt),
      ms("the snapshot itself, as the daemon reports it in pipe mode", snapshot("pipe")),
      ms("the C helper's `lttng_snapshot_record()`", snap),
      ms("pipe mode's target (3.0x the shell helper)", 3 * sh),
      ms(
        "the daemon's actions through the `lttng` command, over liblttng-ctl",
        hold("pipe-command") - pp,
      ),
    ],
    notesCaption: "Snapshots read back with babeltrace2, and failed runs:",
    notes: [
      ...p.methods.filter((m) => m.snapshots).map((m) =>
        `${m.key}: ${m.verified} of ${m.checked} snapshots read back hold the crashed process's last malloc (its size, its vpid)${
          m.verifyNotes.length > 0 ? `; ${m.verifyNotes.slice(0, 3).join("; ")}` : ""
        }`
      ),
      ...failuresOf(p.methods),
      ...p.notes,
    ],
  };
}

/** Measurement 2: the notifier's cost. */
export function notifySection(p: NotifyPhase): Section {
  const get = (k: NotifyKey) => p.variants.find((x) => x.key === k);
  const wall = (k: NotifyKey) => median(get(k)?.wall ?? []);
  const rss = (k: NotifyKey) => median(get(k)?.rss ?? []);
  const fw = wall("floor");
  const fr = rss("floor");
  const lw = wall("launcher");
  const lr = rss("launcher");
  const d = (label: string, a: NotifyKey, b: NotifyKey, withRss = false): Figure => ({
    label,
    value: withRss
      ? `${num(wall(a) - wall(b))} ms, ${num(rss(a) - rss(b))} MiB`
      : wall(a) - wall(b),
    unit: withRss ? undefined : "ms",
  });
  return {
    id: "notify",
    title: "2. Notifier cost",
    about:
      "One `lttng-trig notify PID 0 0 bench-notify benchhost` run, as the kernel runs it: empty environment, cwd `/`, stdin `/dev/null`, to the root daemon (`/var/run/lttng`, through RootDaemon) with no trigger, so it replies as soon as the crash is recorded. Wall time from fork to reap and peak RSS (`ru_maxrss` of `wait4`), by `bench/rusage.c`. The rows below the second each change one thing in how the same code starts, to show where the time goes; the programs are files of bench/ (`empty.ts`, `notify_entry.ts`, `stub_server.ts`). Variants run in turn, round after round, after two warm-up runs each.",
    tables: [{
      columns: columns(
        "variant",
        "wall median",
        "min",
        "max",
        "vs floor",
        "peak RSS MiB median",
        "min",
        "max",
        "vs floor",
        "n",
      ),
      rows: p.variants.map((x) => [
        x.label,
        ...spreadCells(x.wall),
        signed(median(x.wall) - fw),
        ...spreadCells(x.rss),
        signed(median(x.rss) - fr),
        `${summarize(x.wall).n}${x.failures.length > 0 ? ` (${x.failures.length} failed)` : ""}`,
      ]),
    }],
    targets: [
      target(
        "notifier at most floor + 15 ms",
        `${signed(lw - fw)} ms`,
        Number.isFinite(lw) ? lw <= fw + 15 : undefined,
      ),
      target(
        "notifier at most floor + 20 MiB",
        `${signed(lr - fr)} MiB`,
        Number.isFinite(lr) ? lr <= fr + 20 : undefined,
      ),
    ],
    figuresCaption: "Where the time goes (differences of medians):",
    figures: [
      d(
        "the sh launcher (`bin/lttng-trig`: sh, no subprocess unless run through a symlink)",
        "launcher",
        "direct",
      ),
      d(
        "a user's crash vs root's (the per-uid held slot, the owner of a subordinate uid, the user's home and daemon)",
        "user",
        "launcher",
      ),
      d("`--cached-only` vs not", "uncached", "direct"),
      d(
        "`--config deno.json -P=lttng-trig` on an empty script (config, lock file, permission set)",
        "config-floor",
        "floor",
        true,
      ),
      d("module graph: main.ts vs the notify-only entry", "direct", "entry"),
      d("the notify-only entry vs its bundle (no config)", "entry", "bundle", true),
      d(
        "the daemon's reply (recording the crash, fsync) vs a stub that replies at once",
        "direct",
        "stub",
      ),
      d(
        "what is left of a notify over an empty script with the same config (imports, osrelease, lstat x3, connect, one exchange, exit)",
        "stub",
        "config-floor",
        true,
      ),
      d(
        "the crash's identity through the kernel's pidfd (`%F`: one PIDFD_GET_INFO and its module), same run",
        "pidfd",
        "facts",
        true,
      ),
    ],
    notesCaption: "Failed runs and remarks:",
    notes: [
      ...p.variants.flatMap((x) => x.failures.slice(0, 2).map((f) => `${x.key}: ${f}`)),
      ...p.notes,
    ],
  };
}

const INGEST_COLUMNS = columns(
  "server",
  ["senders", 0],
  ["sent", 0],
  ["per second (median)", 0],
  ["min", 0],
  ["max", 0],
  ["p50 ms", 2],
  ["p99 ms", 2],
  ["max ms", 2],
  ["errors", 0],
  "in history",
);

function ingestRow(r: IngestRun): Cell[] {
  return [
    r.target,
    r.senders,
    r.sent,
    ...spreadCells(r.rates),
    r.latency.p50,
    r.latency.p99,
    r.latency.max,
    r.errors,
    r.recorded === undefined
      ? null
      : `${r.recorded}/${r.sent}${r.pending ? ` (${r.pending} pending)` : ""}`,
  ];
}

/** Measurement 3: the daemon's ingest. */
export function ingestSection(p: IngestPhase, opts: BenchOptions): Section {
  const at16 = p.runs.find((r) => r.target === DAEMON_LABEL && r.senders === 16);
  const stub16 = p.runs.find((r) => r.target === STUB_LABEL && r.senders === 16);
  const counted = p.runs.filter((r) => r.recorded !== undefined);
  const lost = counted.filter((r) => r.recorded !== r.sent);
  const disk = p.storeRuns[0];
  const tables: Table[] = [{ columns: INGEST_COLUMNS, rows: p.runs.map(ingestRow) }];
  if (p.levers.length > 0) {
    tables.push({
      caption: "Levers, at 16 senders (one option of `lttng-trig daemon` changed each):",
      columns: INGEST_COLUMNS,
      rows: p.levers.map(ingestRow),
    });
  }
  if (p.storeRuns.length > 0) {
    tables.push({
      caption:
        "The store alone, in one process (the daemon calls it on its only thread, so its time per notification bounds the rate): `recordCrash` then `finishCrash`, milliseconds.",
      columns: columns(
        "store",
        "filesystem",
        ["recordCrash median", 3],
        ["p99", 3],
        ["finishCrash median", 3],
        ["p99", 3],
        "bound (1/sum of medians)",
      ),
      rows: p.storeRuns.map((r) => [
        r.label,
        r.fs,
        r.record.median,
        r.record.p99,
        r.finish.median,
        r.finish.p99,
        `${num(1000 / (r.record.median + r.finish.median), 0)}/s`,
      ]),
    });
  }
  return {
    id: "ingest",
    title: "3. Daemon ingest",
    about:
      `In-process Deno clients (\`sendNotification\` of \`lib/client/client.ts\`, one connection per notification, as the notifier does) against an \`lttng-trig daemon\` on a temporary --run-dir and --state-dir (filesystem: ${p.stateFs}), started through bin/lttng-trig and logging to stderr as by default. Its one trigger: ${p.trigger}. Each level sends ${opts.ingestCount} notifications from that many concurrent senders, ${opts.ingestReps} time(s) (the per-second columns are over those repetitions; latency, from connect to reply, over all their notifications), after a warm-up. The stub server is a Deno process that reads the same frames and replies at once (the runtime's floor for this protocol). All servers run at once and take turns, so that the machine's other work hits them alike.`,
    tables,
    targets: [
      target(
        "ingest at least 5,000/s at 16 senders, p99 under 20 ms",
        at16 === undefined
          ? "not measured"
          : `${num(at16.rate, 0)}/s, p99 ${num(at16.latency.p99, 2)} ms`,
        at16 === undefined ? undefined : at16.rate >= 5000 && at16.latency.p99 < 20,
      ),
      target(
        "no notification lost (history count equals sent)",
        lost.map((r) => `${r.senders} senders: ${r.recorded}/${r.sent}`).join(", ") || "none lost",
        counted.length === 0 ? undefined : lost.length === 0,
      ),
    ],
    figuresCaption: "At 16 senders, and the store alone:",
    figures: [
      { label: "the daemon at 16 senders", value: at16?.rate ?? null, unit: "/s", digits: 0 },
      {
        label: "a Deno server that does no work, same clients",
        value: stub16?.rate ?? null,
        unit: "/s",
        digits: 0,
      },
      {
        label:
          "the store's bound on this disk (node:sqlite is synchronous, on the daemon's only thread)",
        value: disk === undefined ? null : 1000 / (disk.record.median + disk.finish.median),
        unit: "/s",
        digits: 0,
      },
    ],
    notes: [
      ...[...p.runs, ...p.levers].filter((r) => r.firstError !== undefined).map((r) =>
        `${r.target}, ${r.senders} senders: ${r.errors} error(s), first: ${r.firstError}`
      ),
      ...p.notes,
    ],
  };
}

/** Measurement 4: the storm. */
export function stormSection(p: StormPhase, pipeMedian: number, opts: BenchOptions): Section {
  const cols = p.runs;
  const row = (label: string, f: (r: StormRun) => string): Cell[] => [label, ...cols.map(f)];
  const d = (f: (x: NonNullable<StormRun["daemon"]>) => string) => (r: StormRun) =>
    r.daemon === undefined ? "-" : f(r.daemon);
  const pipe = cols.find((r) => r.daemon !== undefined);
  const reasons = Object.entries(pipe?.daemon?.failureReasons ?? {}).sort((a, b) => b[1] - a[1])
    .slice(0, 5).map(([k, v]) => `${v}x ${k}`);
  return {
    id: "storm",
    title: "4. Storm",
    about:
      `${opts.storm} traced crashers started evenly over ${opts.stormWindowS} s, each crashing at once, with a per-uid snapshot session (a new one for each column). Baseline: the shell helper of measurement 1 (every crash runs its own \`lttng snapshot record\`, all at once). lttng-trig: pipe mode, core_pattern as users write it, the root daemon through RootDaemon, one snapshot trigger; identical snapshot actions queued on one session are served by one snapshot (lib/daemon/action_queue.ts). The baseline runs first. A crasher frozen in its dump before it finished registering leaves lttng-sessiond's UST registration thread waiting up to \`LTTNG_APP_SOCKET_TIMEOUT\` (5 s by default), and the \`lttng\` commands wait behind it: the row "registration thread seen blocked" watches for it.`,
    tables: [{
      columns: columns("figure", ...cols.map((r) => r.label)),
      rows: [
        row("crashers started / died of SIGSEGV", (r) => `${r.started} / ${r.crashed}`),
        row("from the first crash to the last crash", (r) => `${num(r.arrivalSpanS, 2)} s`),
        row("from the first crash to the last release", (r) => `${num(r.releaseSpanS, 2)} s`),
        row(
          "crash-to-release per crash: median / min / max (ms)",
          (r) => `${num(r.perCrash.median)} / ${num(r.perCrash.min)} / ${num(r.perCrash.max)}`,
        ),
        row("held over 10 s", (r) => String(r.overTenS)),
        row("killed by the benchmark's 60 s guard", (r) => String(r.timedOut)),
        row("snapshots that succeeded", (r) => String(r.snapshotsOk)),
        row("distinct snapshots taken", (r) => String(r.distinctSnapshots)),
        row(
          "snapshot actions: median / max (ms)",
          (r) => r.actions.n === 0 ? "-" : `${num(r.actions.median)} / ${num(r.actions.max)}`,
        ),
        row("most helper processes alive at once (sampled)", (r) => String(r.peakHelpers)),
        row(
          "lttng-sessiond's UST registration thread seen blocked reading an app (samples)",
          (r) => `${r.registrationBlocked} of ${r.sessiondSamples}`,
        ),
        row(
          "system memory in use at the peak (MemAvailable drop)",
          (r) => `${num(r.systemMemPeakMiB, 0)} MiB`,
        ),
        row("crashes in the history", d((x) => `${x.entries}`)),
        row(
          "history outcomes",
          d((x) => Object.entries(x.outcomes).map(([k, v]) => `${k} ${v}`).join(", ") || "none"),
        ),
        row("history settled after the last release", d((x) => `${num(x.historySettledS, 1)} s`)),
        row(
          "daemon VmHWM before / after (VmRSS after)",
          d((x) => `${num(x.hwmBefore)} / ${num(x.hwmAfter)} MiB (${num(x.rssAfter)} MiB)`),
        ),
      ],
    }],
    figures: [{
      label: "for scale: one crash alone in pipe mode, per-pid session (measurement 1, median)",
      value: Number.isFinite(pipeMedian) ? pipeMedian : null,
      unit: "ms",
    }],
    notesCaption: reasons.length > 0
      ? "Actions that did not succeed, by reason, and remarks:"
      : "Remarks:",
    notes: [
      ...reasons,
      ...cols.flatMap((r) => [
        ...(r.firstError ? [`${r.label}: first error: ${r.firstError}`] : []),
        ...r.notes.map((n) => `${r.label}: ${n}`),
      ]),
    ],
  };
}

/** Measurement 5: `install --chain` over systemd-coredump against systemd-coredump alone. */
export function chainSection(p: ChainPhase): Section {
  const hold = (key: ChainMethod["key"]) => holdOf(p.methods.find((m) => m.key === key)?.samples);
  const row = (m: ChainMethod): Cell[] => {
    const ok = m.samples.filter((s) => s.ok);
    const stored = summarize(ok.map((x) => x.storedBytes ?? NaN));
    return [
      m.label,
      ...holdCells(m.samples),
      medianOrNull(ok.map((x) => x.snapshotMs ?? NaN)),
      medianOrNull(ok.map((x) => x.chainMs ?? NaN)),
      stored.n > 0 ? `${num(stored.min / 1024, 0)}-${num(stored.max / 1024, 0)} KiB` : null,
    ];
  };
  return {
    id: "chain",
    title: "5. The chain: lttng-trig before systemd-coredump",
    about:
      "Crash-to-release as in measurement 1 (the same traced crasher, its last instant to its reaping), for a machine whose crash handler is systemd-coredump: systemd-coredump alone, and `lttng-trig install --chain` over it, with a snapshot trigger on a per-pid session. Under the chain, lttng-trig's notifier tells the daemon (which takes the snapshot), then runs systemd-coredump with the core on its stdin; the crash is released once it is done. systemd-coredump's socket unit is emulated (`systemd-socket-activate --accept`, one systemd-coredump per connection); each stored core is decompressed and its size shown, so that a core cut short would show. \"snapshot\" is the daemon's action, \"chained run\" the chained handler's run as the daemon recorded it (CHAIN_RESULT). The two rows taken in turn, round after round. Milliseconds.",
    tables: [{
      columns: columns(
        "method",
        ...HOLD,
        "snapshot (median)",
        ["chained run (median)", 0],
        "stored core",
      ),
      rows: p.methods.map(row),
    }],
    figures: [{
      label: "what the chain adds to systemd-coredump's own hold (medians)",
      value: hold("chain") - hold("systemd"),
      unit: "ms",
    }],
    notes: [...failuresOf(p.methods), ...p.notes],
  };
}

/** `values` as "median / min / max", whole milliseconds. */
function spread(values: number[]): string {
  const s = summarize(values);
  return s.n === 0 ? "-" : `${num(s.median, 0)} / ${num(s.min, 0)} / ${num(s.max, 0)}`;
}

/** Measurement 6: the crash report's time and the daemon's peak memory. */
export function crashReportSection(p: ReportPhase): Section {
  return {
    id: "report",
    title: "6. Crash report",
    about:
      `Real crashes of the two-thread \`tests/fixtures/mt_crasher\` (${p.mode} mode, the daemon's \`--core-dir\`): once the core is kept, the daemon decompresses it (zstd) into a private temporary directory and runs eu-stack on it, one report at a time, after the crash's release. "crash to report" runs from the crash's arrival to the report stored (it includes keeping the core); VmHWM is the daemon's peak resident memory after that size's crashes (it was ${
        num(p.hwmStartMiB, 1)
      } MiB before the first); eu-stack's own memory is its process's, not the daemon's.`,
    tables: [{
      columns: columns(
        "core",
        ["reports", 0],
        "core MiB",
        "crash to report ms (median / min / max)",
        "eu-stack ms",
        "daemon VmHWM MiB",
      ),
      rows: p.sizes.map((s) => [
        s.label,
        s.totalMs.length,
        s.coreBytes.length === 0 ? null : median(s.coreBytes) / 1024 ** 2,
        spread(s.totalMs),
        spread(s.euStackMs),
        s.hwmMiB,
      ]),
    }],
    notes: p.sizes.flatMap((s) => s.failures.map((f) => `${s.label}: failed: ${f}`)),
  };
}

/** After a crash over no crash, the medians' ratio. */
function startRatio(r: StartRun): number {
  return median(r.afterCrashMs) / median(r.calmMs);
}

/** Measurement 7: a traced program's start right after a crash whose core is kept. */
export function startSection(p: StartPhase): Section {
  const first = p.runs[0];
  return {
    id: "start",
    title: "7. A traced program's start right after a crash whose core is kept",
    about:
      `Pipe mode as \`install --core-dir\` writes it (\`${p.pattern}\`, core_pipe_limit ${INSTALL_PIPE_LIMIT}), \`ulimit -c unlimited\`, the daemon's default liblttng-ctl path, a snapshot trigger on a per-pid session. Start: from spawn to the crasher's \`crashing\` line (lttng-ust's registration with lttng-sessiond included). Each round, one start with no crash in flight, then one right after that program's crash (as soon as it is reaped).`,
    tables: [{
      columns: columns(
        "daemon",
        "traced program's start",
        ["n", 0],
        "median ms",
        "min ms",
        "max ms",
        "after / before",
      ),
      rows: p.runs.flatMap((r) => [
        [r.label, "with no crash in flight", r.calmMs.length, ...spreadCells(r.calmMs), ""],
        [
          r.label,
          "right after a crash whose core is kept",
          r.afterCrashMs.length,
          ...spreadCells(r.afterCrashMs),
          `${num(startRatio(r), 2)}x`,
        ],
      ]),
    }],
    targets: [target(
      "a traced program's start after a crash with a kept core within 10%",
      first === undefined ? "not measured" : `${num(startRatio(first), 2)}x`,
      first === undefined ? undefined : startRatio(first) <= 1.1,
    )],
    text: [
      "What slowed the next program before: the crash report of the crash before it (decompressing the kept core, eu-stack), started as soon as the crash was released, on the same CPUs as the program's start and lttng-sessiond's registration of it. Without --core-dir (no report) or when the next program starts after the report, the start is as fast as with no crash. The daemon now starts a report once no crash has come for 250 ms (at most 5 s after its crash): the lever row is the daemon without that delay.",
    ],
    notes: p.runs.flatMap((r) => r.failures.map((f) => `${r.label}: ${f}`)),
  };
}
