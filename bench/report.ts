/**
 * The report writer: the Markdown of each measurement, lttng-trig's own overhead over the
 * floors measured in the same run, docs/BENCHMARKS.md, and the figures for README.md's
 * Performance section (printed, not written: the README is edited by hand).
 *
 * @module
 */
import { commandOutput } from "../tests/fixtures/process.ts";
import type { BenchOptions } from "./options.ts";
import { DENO, ROOT } from "./run.ts";
import { median, num, signed, summarize, table, verdict } from "./stats.ts";
import {
  type CrashKey,
  type CrashMethod,
  type CrashPhase,
  LTTNG_CTL_LEVER,
  method,
} from "./crash.ts";
import type { NotifyKey, NotifyPhase } from "./notify.ts";
import { DAEMON_LABEL, type IngestPhase, type IngestRun, STUB_LABEL } from "./ingest.ts";
import type { StormPhase, StormRun } from "./storm.ts";
import type { ChainMethod, ChainPhase } from "./chain.ts";
import type { ReportPhase } from "./crash_report.ts";
import { type StartPhase, startSection } from "./start_after_crash.ts";

/** The date and machine of the run: kernel, CPU model, cores, memory, versions. */
export async function machine(date: Date): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?";
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(await Deno.readTextFile("/proc/meminfo"))?.[1];
  const version = (cmd: string) =>
    commandOutput(cmd, ["--version"]).then((t) => t.split("\n")[0].trim(), () => "?");
  return [
    `- date: ${date.toISOString()}`,
    `- kernel: ${Deno.osRelease()} (${(await Deno.readTextFile("/proc/version")).trim()})`,
    `- CPU: ${model}; cores (nproc): ${navigator.hardwareConcurrency}`,
    `- memory: ${(Number(mem) / 1024 / 1024).toFixed(1)} GiB`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); ${await version(
      "lttng",
    )}; ${await version(
      "babeltrace2",
    )}`,
  ];
}

/** Median hold (ms) of the successful crashes of `m`. */
function hold(m: CrashMethod | undefined): number {
  return m === undefined ? NaN : median(m.samples.filter((s) => s.ok).map((s) => s.ms));
}

/** Pipe mode's median hold in measurement 1 (NaN when it did not run), for the storm's scale. */
export function pipeHold(p: CrashPhase | undefined): number {
  return p === undefined ? NaN : hold(method(p, "pipe"));
}

/** Median snapshot time (ms) of `m`, as the method reports it. */
function snapshotTime(m: CrashMethod | undefined): number {
  return m === undefined
    ? NaN
    : median(m.samples.filter((s) => s.ok).map((s) => s.snapshotMs ?? NaN));
}

/** lttng-trig's own overhead, in milliseconds, from measurement 1's rows of one run. */
export interface Overheads {
  /** The snapshot's own time: the C helper's `lttng_snapshot_record()` (median). */
  snapshotMs: number;
  socket: { modeMs: number; floorMs: number; overheadMs: number };
  pipe: { modeMs: number; floorMs: number; overheadMs: number };
}

/**
 * Socket mode over the kernel's no-helper floor plus the snapshot; pipe mode over the bare
 * runtime's start (as a core_pattern helper) plus the snapshot.
 */
export function overheads(p: CrashPhase): Overheads {
  const snapshotMs = snapshotTime(method(p, "c"));
  const of = (mode: CrashKey, floor: CrashKey) => {
    const modeMs = hold(method(p, mode));
    const floorMs = hold(method(p, floor));
    return { modeMs, floorMs, overheadMs: modeMs - floorMs - snapshotMs };
  };
  return { snapshotMs, socket: of("socket", "nodump"), pipe: of("pipe", "deno") };
}

/** The two overhead lines, as the report and the console print them. */
export function overheadLines(o: Overheads): string[] {
  return [
    `- socket mode overhead: ${num(o.socket.overheadMs)} ms over the floor+snapshot (socket mode ${
      num(o.socket.modeMs)
    } ms - kernel's no-helper floor ${num(o.socket.floorMs)} ms - snapshot ${
      num(o.snapshotMs)
    } ms)`,
    `- pipe mode overhead: ${num(o.pipe.overheadMs)} ms over the runtime+snapshot (pipe mode ${
      num(o.pipe.modeMs)
    } ms - bare Deno start as the helper ${num(o.pipe.floorMs)} ms - snapshot ${
      num(o.snapshotMs)
    } ms)`,
  ];
}

/** Median, min and max of the successful samples' holds, and how many succeeded. */
function holdCells(samples: readonly { ok: boolean; ms: number }[]): string[] {
  const ok = samples.filter((s) => s.ok);
  const s = summarize(ok.map((x) => x.ms));
  return [num(s.median), num(s.min), num(s.max), `${ok.length}/${samples.length}`];
}

/** Measurement 1's section and its targets. */
export function crashSection(
  p: CrashPhase,
): { text: string; met?: boolean; socketMet?: boolean } {
  const base = hold(method(p, "shell"));
  const row = (m: CrashMethod) => {
    const ok = m.samples.filter((s) => s.ok);
    const s = summarize(ok.map((x) => x.ms));
    const snap = summarize(ok.map((x) => x.snapshotMs ?? NaN));
    return [
      m.label,
      ...holdCells(m.samples),
      num(s.median / base, 2) + "x",
      snap.n > 0 ? num(snap.median) : "-",
      m.snapshots ? `${m.verified}/${m.checked}` : "-",
    ];
  };
  const header = [
    "method",
    "median",
    "min",
    "max",
    "ok/n",
    "vs shell",
    "snapshot (median)",
    "snapshot verified",
  ];
  const pipe = hold(method(p, "pipe"));
  const ratio = pipe / base;
  const met = Number.isFinite(ratio) ? ratio <= 3.0 : undefined;
  const socketRatio = hold(method(p, "socket")) / hold(method(p, "c"));
  const socketMet = Number.isFinite(socketRatio) ? socketRatio <= 1.0 : undefined;
  const failures = p.methods.flatMap((m) =>
    m.samples.filter((s) => !s.ok).map((s) => `- ${m.key}, pid ${s.pid}: ${s.note}`)
  );
  const verify = p.methods.filter((m) => m.snapshots).map((m) =>
    `- ${m.key}: ${m.verified} of ${m.checked} snapshots read back hold the crashed process's last malloc (its size, its vpid)${
      m.verifyNotes.length > 0 ? `; ${m.verifyNotes.slice(0, 3).join("; ")}` : ""
    }`
  );
  const o = overheads(p);
  const text = [
    "## 1. Crash-to-release latency",
    "",
    "From the crashed process's last instant (the crasher prints `CLOCK_MONOTONIC` just before",
    "its fault) to the moment its parent reaps it (`CLOCK_MONOTONIC` right after `wait4`, in",
    "`bench/rusage.c`): how long the core dump holds it. A real traced crash",
    "(`LD_PRELOAD=liblttng-ust-libc-wrapper.so.1`), a per-pid snapshot session (`--buffers-pid`,",
    'vpid context), the methods taken in turn, round after round. "snapshot" is the time the',
    "snapshot itself took as the method reports it (C helper: `lttng_snapshot_record()`;",
    "lttng-trig: the daemon's action, through liblttng-ctl: the daemon runs with",
    "`--lttng-ctl=library`, what `auto` picks here). The first three rows are floors: no",
    "snapshot at all. Milliseconds.",
    "",
    table(header, p.methods.filter((m) => !m.lever).map(row)),
    "",
    "Lever (one option of `lttng-trig daemon` changed; a daemon of its own on a temporary run",
    "directory, which the notifier is told of with `notify --run-dir`):",
    "",
    table(header, p.methods.filter((m) => m.lever).map(row)),
    "",
    "lttng-trig's own overhead (medians of this run; the snapshot's own time is the C",
    "helper's `lttng_snapshot_record()`):",
    "",
    ...overheadLines(o),
    "",
    `Target: pipe mode at most 3.0x the shell helper: ${num(ratio, 2)}x, ${verdict(met)}.`,
    "",
    `Target: socket mode at most 1.0x the C helper: ${num(socketRatio, 2)}x, ${
      verdict(socketMet)
    }.`,
    "",
    "Snapshots read back with babeltrace2:",
    ...verify,
    ...(failures.length > 0 ? ["", "Failed runs:", ...failures.slice(0, 10)] : []),
    ...(p.notes.length > 0 ? ["", ...p.notes.map((n) => `- ${n}`)] : []),
  ].join("\n");
  return { text, met, socketMet };
}

export function notifySection(
  p: NotifyPhase,
): { text: string; timeMet?: boolean; rssMet?: boolean } {
  const get = (k: NotifyKey) => p.variants.find((x) => x.key === k);
  const floor = get("floor")!;
  const fw = summarize(floor.wall).median;
  const fr = summarize(floor.rss).median;
  const rows = p.variants.map((x) => {
    const w = summarize(x.wall);
    const r = summarize(x.rss);
    return [
      x.label,
      num(w.median),
      num(w.min),
      num(w.max),
      (w.median - fw >= 0 ? "+" : "") + num(w.median - fw),
      num(r.median),
      num(r.min),
      num(r.max),
      (r.median - fr >= 0 ? "+" : "") + num(r.median - fr),
      `${w.n}${x.failures.length > 0 ? ` (${x.failures.length} failed)` : ""}`,
    ];
  });
  const l = get("launcher")!;
  const lw = summarize(l.wall).median;
  const lr = summarize(l.rss).median;
  const timeMet = Number.isFinite(lw) ? lw <= fw + 15 : undefined;
  const rssMet = Number.isFinite(lr) ? lr <= fr + 20 : undefined;
  const d = (a: NotifyKey, b: NotifyKey) => {
    const x = get(a), y = get(b);
    if (x === undefined || y === undefined) return "-";
    return num(summarize(x.wall).median - summarize(y.wall).median);
  };
  const dr = (a: NotifyKey, b: NotifyKey) => {
    const x = get(a), y = get(b);
    if (x === undefined || y === undefined) return "-";
    return num(summarize(x.rss).median - summarize(y.rss).median);
  };
  const failures = p.variants.flatMap((x) => x.failures.slice(0, 2).map((f) => `- ${x.key}: ${f}`));
  const text = [
    "## 2. Notifier cost",
    "",
    "One `lttng-trig notify PID 0 0 bench-notify benchhost` run, as the kernel runs it: empty",
    "environment, cwd `/`, stdin `/dev/null`, to the root daemon (`/var/run/lttng`, through",
    "RootDaemon) with no trigger, so it replies as soon as the crash is recorded. Wall time",
    "from fork to reap and peak RSS (`ru_maxrss` of `wait4`), by `bench/rusage.c`. The",
    "rows below the second each change one thing in how the same code starts, to show where",
    "the time goes; the programs are files of bench/ (`empty.ts`, `notify_entry.ts`,",
    "`stub_server.ts`). Variants run in turn, round after round, after two warm-up runs each.",
    "",
    table(
      [
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
      ],
      rows,
    ),
    "",
    `Targets: at most floor + 15 ms: +${num(lw - fw)} ms, ${
      verdict(timeMet)
    }; at most floor + 20 MiB: +${num(lr - fr)} MiB, ${verdict(rssMet)}.`,
    "",
    "Where the time goes (differences of medians):",
    `- the sh launcher (\`bin/lttng-trig\`: sh, no subprocess unless run through a symlink): ${
      d("launcher", "direct")
    } ms`,
    `- a user's crash vs root's (the per-uid held slot, the owner of a subordinate uid, the user's home and daemon): ${
      d("user", "launcher")
    } ms`,
    `- \`--cached-only\` vs not: ${d("uncached", "direct")} ms`,
    `- \`--config deno.json -P=lttng-trig\` on an empty script (config, lock file, permission set): ${
      d("config-floor", "floor")
    } ms, ${dr("config-floor", "floor")} MiB`,
    `- module graph: main.ts vs the notify-only entry: ${
      d("direct", "entry")
    } ms; entry vs its bundle (no config): ${d("entry", "bundle")} ms, ${
      dr("entry", "bundle")
    } MiB`,
    `- the daemon's reply (recording the crash, fsync) vs a stub that replies at once: ${
      d("direct", "stub")
    } ms`,
    `- what is left of a notify over an empty script with the same config (imports, osrelease, lstat x3, connect, one exchange, exit): ${
      d("stub", "config-floor")
    } ms, ${dr("stub", "config-floor")} MiB`,
    `- the crash's identity through the kernel's pidfd (\`%F\`: one PIDFD_GET_INFO and its module), same run: ${
      d("pidfd", "facts")
    } ms, ${dr("pidfd", "facts")} MiB`,
    ...(failures.length > 0 ? ["", "Failed runs:", ...failures] : []),
    ...(p.notes.length > 0 ? ["", ...p.notes.map((n) => `- ${n}`)] : []),
  ].join("\n");
  return { text, timeMet, rssMet };
}

export function ingestSection(p: IngestPhase, opts: BenchOptions): { text: string; met?: boolean } {
  const row = (r: IngestRun) => {
    const rates = summarize(r.rates);
    return [
      r.target,
      String(r.senders),
      String(r.sent),
      num(rates.median, 0),
      num(rates.min, 0),
      num(rates.max, 0),
      num(r.latency.p50, 2),
      num(r.latency.p99, 2),
      num(r.latency.max, 2),
      String(r.errors),
      r.recorded === undefined
        ? "-"
        : `${r.recorded}/${r.sent}${r.pending ? ` (${r.pending} pending)` : ""}`,
    ];
  };
  const header = [
    "server",
    "senders",
    "sent",
    "per second (median)",
    "min",
    "max",
    "p50 ms",
    "p99 ms",
    "max ms",
    "errors",
    "in history",
  ];
  const at16 = p.runs.find((r) => r.target === DAEMON_LABEL && r.senders === 16);
  const met = at16 === undefined ? undefined : at16.rate >= 5000 && at16.latency.p99 < 20;
  const lost = p.runs.filter((r) => r.recorded !== undefined && r.recorded !== r.sent);
  const errs = [...p.runs, ...p.levers].filter((r) => r.firstError !== undefined).map((r) =>
    `- ${r.target}, ${r.senders} senders: ${r.errors} error(s), first: ${r.firstError}`
  );
  const text = [
    "## 3. Daemon ingest",
    "",
    "In-process Deno clients (`sendNotification` of `lib/client/client.ts`, one connection",
    "per notification, as the notifier does) against an `lttng-trig daemon` on a temporary",
    `--run-dir and --state-dir (filesystem: ${p.stateFs}), started through bin/lttng-trig and`,
    `logging to stderr as by default. Its one trigger: ${p.trigger}.`,
    "",
    `Each level sends ${opts.ingestCount} notifications from that many concurrent senders, ${opts.ingestReps} time(s)`,
    "(the per-second columns are over those repetitions; latency, from connect to reply,",
    "over all their notifications), after a warm-up. The stub server is a Deno process that",
    "reads the same frames and replies at once (the runtime's floor for this protocol). All",
    "servers run at once and take turns, so that the machine's other work hits them alike.",
    "",
    table(header, p.runs.map(row)),
    "",
    `Target: at least 5,000/s at 16 senders with p99 under 20 ms: ${
      at16 === undefined
        ? "not measured"
        : `${num(at16.rate, 0)}/s, p99 ${num(at16.latency.p99, 2)} ms, ${verdict(met)}`
    }.`,
    `No notification lost (history count equals sent): ${
      p.runs.some((r) => r.recorded !== undefined)
        ? lost.length === 0
          ? "**yes**"
          : `**no**: ${lost.map((r) => `${r.senders} senders: ${r.recorded}/${r.sent}`).join(", ")}`
        : "not measured"
    }.`,
    ...(p.levers.length > 0
      ? [
        "",
        "Levers, at 16 senders (one option of `lttng-trig daemon` changed each):",
        "",
        table(header, p.levers.map(row)),
      ]
      : []),
    ...(p.storeRuns.length > 0
      ? [
        "",
        "The store alone, in one process (the daemon calls it on its only thread, so its time",
        "per notification bounds the rate): `recordCrash` then `finishCrash`, milliseconds.",
        "",
        table(
          [
            "store",
            "filesystem",
            "recordCrash median",
            "p99",
            "finishCrash median",
            "p99",
            "bound (1/sum of medians)",
          ],
          p.storeRuns.map((r) => [
            r.label,
            r.fs,
            num(r.record.median, 3),
            num(r.record.p99, 3),
            num(r.finish.median, 3),
            num(r.finish.p99, 3),
            `${num(1000 / (r.record.median + r.finish.median), 0)}/s`,
          ]),
        ),
      ]
      : []),
    ...(errs.length > 0 ? ["", ...errs] : []),
    ...(p.notes.length > 0 ? ["", ...p.notes.map((n) => `- ${n}`)] : []),
  ].join("\n");
  return { text, met };
}

export function stormSection(p: StormPhase, pipeMedian: number, opts: BenchOptions): string {
  const cols = p.runs;
  const row = (label: string, f: (r: StormRun) => string) => [label, ...cols.map(f)];
  const d = (f: (x: NonNullable<StormRun["daemon"]>) => string) => (r: StormRun) =>
    r.daemon === undefined ? "-" : f(r.daemon);
  const pipe = cols.find((r) => r.daemon !== undefined);
  const reasons = Object.entries(pipe?.daemon?.failureReasons ?? {}).sort((a, b) => b[1] - a[1])
    .slice(0, 5).map(([k, v]) => `  - ${v}x ${k}`);
  return [
    "## 4. Storm",
    "",
    `${opts.storm} traced crashers started evenly over ${opts.stormWindowS} s, each crashing at once, with`,
    "a per-uid snapshot session (a new one for each column). Baseline: the shell helper of",
    "measurement 1 (every crash runs its own `lttng snapshot record`, all at once). lttng-trig:",
    "pipe mode, core_pattern as users write it, the root daemon through RootDaemon, one",
    "snapshot trigger; identical snapshot actions queued on one session are served by one",
    "snapshot (lib/daemon/action_queue.ts). The baseline runs first.",
    "",
    table(["figure", ...cols.map((r) => r.label)], [
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
    ]),
    "",
    `For scale: one crash alone in pipe mode, per-pid session (measurement 1, median): ${
      Number.isFinite(pipeMedian) ? `${num(pipeMedian)} ms` : "not measured"
    }.`,
    ...(reasons.length > 0 ? ["", "Actions that did not succeed, by reason:", ...reasons] : []),
    ...cols.flatMap((r) => [
      ...(r.firstError ? ["", `${r.label}: first error: ${r.firstError}`] : []),
      ...r.notes.map((n) => `- ${r.label}: ${n}`),
    ]),
  ].join("\n");
}

/** Levers of earlier versions, gone with the code they compared against (history, not rows). */
export const REMOVED_LEVERS: string[] = [
  "Earlier versions of this benchmark measured some levers on a temporary copy of the project",
  "with one line of lib/ replaced by text substitution. It no longer patches source: every",
  "lever is an option the code supports, and a lever that cannot be applied fails the run.",
  "These were removed, because the code they compared against no longer exists:",
  "",
  "- the notifier's deadline on `setTimeout()` against `AbortSignal.timeout()`: the notifier",
  "  now arms `AbortSignal.timeout()` (lib/notify/cli.ts), so the patch found nothing to",
  "  replace; with it went the empty-script rows that timed one `setTimeout` and one",
  "  `AbortSignal.timeout()`.",
  "- the daemon's snapshot action without its `lttng snapshot list-output` lookup: the daemon",
  "  now remembers each session's output for a minute and records through liblttng-ctl, so",
  "  the patch found nothing to replace, and the row timing `list-output` alone no longer",
  "  describes a per-crash cost.",
  "- the store's `synchronous = NORMAL`: the store now commits crash history with NORMAL",
  "  (WAL: durable across a SIGKILL of the daemon) and trigger changes with FULL, and has no",
  '  option for it; the "NORMAL" rows had come to compare two nearly identical',
  "  configurations.",
];

/** What stands in the way of each target, from the figures of this run. */
export function analysis(
  c?: CrashPhase,
  n?: NotifyPhase,
  i?: IngestPhase,
  st?: StormPhase,
): string[] {
  const out: string[] = [];
  const nw = (k: NotifyKey) => {
    const v = n?.variants.find((x) => x.key === k);
    return v === undefined ? NaN : median(v.wall);
  };
  if (c !== undefined) {
    const m = (k: CrashKey) => hold(method(c, k));
    const [nd, t, dn, nt, pp, sh, ch, so] = [
      m("nodump"),
      m("true"),
      m("deno"),
      m("pipe-nt"),
      m("pipe"),
      m("shell"),
      m("c"),
      m("socket"),
    ];
    const action = snapshotTime(method(c, "pipe"));
    out.push(
      "### Crash-to-release",
      "",
      `Pipe mode (${num(pp)} ms) = the kernel with no helper (${
        num(nd)
      } ms) + a pipe helper process (${
        num(t - nd)
      } ms: \`/bin/true\` row minus that) + Deno's start (${
        num(dn - t)
      } ms: bare Deno helper minus \`/bin/true\`) + lttng-trig's notifier and its round trip to the daemon (${
        num(nt - dn)
      } ms: no-trigger row minus bare Deno) + the snapshot action (${
        num(pp - nt)
      } ms; the daemon reports ${num(action)} ms for it). The shell helper spends ${
        num(sh - nd)
      } ms over the no-helper floor, the C helper ${num(ch - nd)} ms, socket mode ${
        num(so - nd)
      } ms.`,
      "",
      `The target of pipe mode, 3.0x the shell helper, is ${
        num(3 * sh)
      } ms; the bare Deno runtime as the helper alone takes ${num(dn)} ms, so ${
        dn + snapshotTime(method(c, "c")) > 3 * sh
          ? "**the target is out of reach of any notifier that is a Deno process started per crash**, whatever lttng-trig's code does"
          : `what is left to lttng-trig under the target is ${
            num(3 * sh - dn - snapshotTime(method(c, "c")))
          } ms`
      }. Socket mode removes the helper process: the kernel connects to the daemon, which holds the dump itself.`,
      "",
      `Lever \`${LTTNG_CTL_LEVER}\`: pipe mode with the daemon's actions through the \`lttng\` command takes ${
        num(m("pipe-command"))
      } ms (${signed(m("pipe-command") - pp)} ms against liblttng-ctl; its action ${
        num(snapshotTime(method(c, "pipe-command")))
      } ms against ${num(action)}).`,
      "",
    );
    if (n !== undefined) {
      out.push(
        `Where the notifier's start goes (measurement 2): the sh launcher ${
          num(nw("launcher") - nw("direct"))
        } ms, the config and permission set ${
          num(nw("config-floor") - nw("floor"))
        } ms, main.ts's module graph over a bundled notify-only entry ${
          num(nw("direct") - nw("bundle"))
        } ms, the daemon's reply over a stub's ${num(nw("direct") - nw("stub"))} ms.`,
        "",
      );
    }
  }
  if (i !== undefined) {
    const at16 = i.runs.find((r) => r.target === DAEMON_LABEL && r.senders === 16);
    const stub16 = i.runs.find((r) => r.target === STUB_LABEL && r.senders === 16);
    const quiet = i.levers[0];
    const disk = i.storeRuns[0];
    if (at16 !== undefined) {
      out.push(
        "### Ingest",
        "",
        `At 16 senders the daemon answers ${
          num(at16.rate, 0)
        }/s; a Deno server that does no work answers ${
          stub16 === undefined ? "-" : num(stub16.rate, 0)
        }/s with the same clients. The store alone costs ${
          num(disk.record.median, 3)
        } ms (recordCrash) + ${
          num(disk.finish.median, 3)
        } ms (finishCrash) per notification on this disk, on the daemon's only thread (node:sqlite is synchronous): a bound of ${
          num(1000 / (disk.record.median + disk.finish.median), 0)
        }/s.${
          quiet === undefined
            ? ""
            : ` With \`--quiet\` (no log line per crash) it answers ${num(quiet.rate, 0)}/s, p99 ${
              num(quiet.latency.p99, 2)
            } ms.`
        }`,
        "",
      );
    }
  }
  const pipeStorm = st?.runs.find((r) => r.daemon !== undefined);
  const shellStorm = st?.runs.find((r) => r.daemon === undefined);
  if (pipeStorm !== undefined) {
    out.push(
      "### Storm",
      "",
      `In pipe mode the storm's crashes were held ${
        num(pipeStorm.perCrash.median)
      } ms (median, max ${num(pipeStorm.perCrash.max)}) against ${
        shellStorm === undefined ? "-" : num(shellStorm.perCrash.median)
      } ms with the shell helper; the daemon's snapshot actions took ${
        num(pipeStorm.actions.median)
      } ms (median, max ${
        num(pipeStorm.actions.max)
      }). When actions take seconds, lttng-sessiond itself stalls: a crasher frozen in its dump before it finished registering leaves its UST registration thread waiting up to \`LTTNG_APP_SOCKET_TIMEOUT\` (5 s by default), and the \`lttng\` commands wait behind it (the row "registration thread seen blocked" watches for it: ${pipeStorm.registrationBlocked} of ${pipeStorm.sessiondSamples} samples here).`,
      "",
    );
  }
  return out.length > 0 ? ["## What stands in the way", "", ...out] : [];
}

/** Median hold of the successful crashes of chain row `key`. */
function chainHold(p: ChainPhase, key: ChainMethod["key"]): number {
  const m = p.methods.find((x) => x.key === key);
  return m === undefined ? NaN : median(m.samples.filter((s) => s.ok).map((s) => s.ms));
}

/** What `install --chain` adds to systemd-coredump's own hold: the medians' difference. */
export function chainOverhead(p: ChainPhase): { systemdMs: number; chainMs: number } {
  return { systemdMs: chainHold(p, "systemd"), chainMs: chainHold(p, "chain") };
}

/** Measurement 5: `install --chain` over systemd-coredump against systemd-coredump alone. */
export function chainSection(p: ChainPhase): string {
  const title = "## 5. The chain: lttng-trig before systemd-coredump";
  const row = (m: ChainMethod) => {
    const ok = m.samples.filter((s) => s.ok);
    const stored = summarize(ok.map((x) => x.storedBytes ?? NaN));
    const snap = summarize(ok.map((x) => x.snapshotMs ?? NaN));
    const chain = summarize(ok.map((x) => x.chainMs ?? NaN));
    return [
      m.label,
      ...holdCells(m.samples),
      snap.n > 0 ? num(snap.median) : "-",
      chain.n > 0 ? num(chain.median, 0) : "-",
      stored.n > 0 ? `${num(stored.min / 1024, 0)}-${num(stored.max / 1024, 0)} KiB` : "-",
    ];
  };
  const o = chainOverhead(p);
  const failures = p.methods.flatMap((m) =>
    m.samples.filter((s) => !s.ok).map((s) => `- ${m.key}, pid ${s.pid}: ${s.note}`)
  );
  return [
    title,
    "",
    "Crash-to-release as in measurement 1 (the same traced crasher, its last instant to its",
    "reaping), for a machine whose crash handler is systemd-coredump: systemd-coredump alone,",
    "and `lttng-trig install --chain` over it, with a snapshot trigger on a per-pid session.",
    "Under the chain, lttng-trig's notifier tells the daemon (which takes the snapshot), then",
    "runs systemd-coredump with the core on its stdin; the crash is released once it is done.",
    "systemd-coredump's socket unit is emulated (`systemd-socket-activate --accept`, one",
    "systemd-coredump per connection); each stored core is decompressed and its size shown, so",
    'that a core cut short would show. "snapshot" is the daemon\'s action, "chained run" the',
    "chained handler's run as the daemon recorded it (CHAIN_RESULT). The two rows taken in",
    "turn, round after round. Milliseconds.",
    "",
    table(
      [
        "method",
        "median",
        "min",
        "max",
        "ok/n",
        "snapshot (median)",
        "chained run (median)",
        "stored core",
      ],
      p.methods.map(row),
    ),
    "",
    `What the chain adds to systemd-coredump's own hold (medians): ${
      signed(o.chainMs - o.systemdMs)
    } ms (${num(o.chainMs)} ms against ${num(o.systemdMs)} ms).`,
    ...(failures.length > 0 ? ["", "Failed runs:", ...failures.slice(0, 10)] : []),
    ...(p.notes.length > 0 ? ["", ...p.notes.map((n) => `- ${n}`)] : []),
  ].join("\n");
}

const MS = (values: number[]) => {
  if (values.length === 0) return "-";
  const s = summarize(values);
  return `${num(s.median, 0)} / ${num(s.min, 0)} / ${num(s.max, 0)}`;
};

/** Measurement 6: the crash report's time and the daemon's peak memory. */
export function crashReportSection(p: ReportPhase): string {
  const rows = p.sizes.map((s) => [
    s.label,
    String(s.totalMs.length),
    s.coreBytes.length === 0 ? "-" : num(median(s.coreBytes) / 1024 ** 2, 1),
    MS(s.totalMs),
    MS(s.euStackMs),
    num(s.hwmMiB, 1),
  ]);
  const failures = p.sizes.flatMap((s) => s.failures.map((f) => `- ${s.label}: failed: ${f}`));
  return [
    "## 6. Crash report",
    "",
    `Real crashes of the two-thread \`tests/fixtures/mt_crasher\` (${p.mode} mode, the daemon's \`--core-dir\`): once the core is kept, the daemon decompresses it (zstd) into a private temporary directory and runs eu-stack on it, one report at a time, after the crash's release. "crash to report" runs from the crash's arrival to the report stored (it includes keeping the core); VmHWM is the daemon's peak resident memory after that size's crashes (it was ${
      num(p.hwmStartMiB, 1)
    } MiB before the first); eu-stack's own memory is its process's, not the daemon's.`,
    "",
    table(
      [
        "core",
        "reports",
        "core MiB",
        "crash to report ms (median / min / max)",
        "eu-stack ms",
        "daemon VmHWM MiB",
      ],
      rows,
    ),
    ...(failures.length > 0 ? ["", ...failures] : []),
  ].join("\n");
}

/** Everything one run produced, for the report. */
export interface RunResults {
  opts: BenchOptions;
  date: Date;
  command: string;
  loadBefore: string;
  loadAfter: string;
  durationS: number;
  crash?: CrashPhase;
  notify?: NotifyPhase;
  ingest?: IngestPhase;
  storm?: StormPhase;
  /** Measurement 5. */
  chain?: ChainPhase;
  /** Measurement 6. */
  crashReport?: ReportPhase;
  /** Measurement 7. */
  start?: StartPhase;
}

/** The report's sections and targets, and the README's figures. */
export async function buildReport(r: RunResults): Promise<{ doc: string; console: string }> {
  const sections: string[] = [];
  const targets: string[] = [];
  let pipeMedian = NaN;
  const readme: string[] = [];
  if (r.crash !== undefined) {
    const s = crashSection(r.crash);
    sections.push(s.text);
    targets.push(`- pipe mode at most 3.0x the shell helper: ${verdict(s.met)}`);
    targets.push(`- socket mode at most 1.0x the C helper: ${verdict(s.socketMet)}`);
    pipeMedian = hold(method(r.crash, "pipe"));
    const o = overheads(r.crash);
    readme.push(
      ...overheadLines(o),
      `- crash-to-release medians: socket mode ${num(o.socket.modeMs)} ms, pipe mode ${
        num(o.pipe.modeMs)
      } ms, C helper ${num(hold(method(r.crash, "c")))} ms, shell helper ${
        num(hold(method(r.crash, "shell")))
      } ms`,
    );
  }
  if (r.notify !== undefined) {
    const s = notifySection(r.notify);
    sections.push(s.text);
    targets.push(`- notifier at most floor + 15 ms: ${verdict(s.timeMet)}`);
    targets.push(`- notifier at most floor + 20 MiB: ${verdict(s.rssMet)}`);
  }
  if (r.ingest !== undefined) {
    const s = ingestSection(r.ingest, r.opts);
    sections.push(s.text);
    targets.push(`- ingest at least 5,000/s at 16 senders, p99 under 20 ms: ${verdict(s.met)}`);
    const at16 = r.ingest.runs.find((x: IngestRun) =>
      x.target === DAEMON_LABEL && x.senders === 16
    );
    if (at16 !== undefined) {
      readme.push(
        `- ingest at 16 senders: ${num(at16.rate, 0)}/s, p99 ${num(at16.latency.p99, 2)} ms`,
      );
    }
  }
  if (r.storm !== undefined) {
    sections.push(stormSection(r.storm, pipeMedian, r.opts));
    const ps = r.storm.runs.find((x: StormRun) => x.daemon !== undefined);
    if (ps !== undefined) {
      const line = `storm: ${ps.crashed} of ${ps.planned} crashes released, longest hold ${
        num(ps.perCrash.max / 1000, 1)
      } s, ${ps.snapshotsOk} snapshot actions succeeded (${ps.distinctSnapshots} snapshots), daemon VmHWM ${
        num(ps.daemon?.hwmAfter ?? NaN)
      } MiB`;
      targets.push(`- ${line.replace("storm:", "storm (no target set):")}`);
      readme.push(`- ${line}`);
    }
  }
  if (r.chain !== undefined) {
    sections.push(chainSection(r.chain));
    const o = chainOverhead(r.chain);
    readme.push(
      `- install --chain over systemd-coredump: crash-to-release median ${
        num(o.chainMs)
      } ms against ${num(o.systemdMs)} ms for systemd-coredump alone (${
        signed(o.chainMs - o.systemdMs)
      } ms, with the snapshot)`,
    );
  }
  if (r.crashReport !== undefined) {
    sections.push(crashReportSection(r.crashReport));
    for (const s of r.crashReport.sizes) {
      const line = `crash report, ${s.label}: ${
        num(median(s.totalMs), 0)
      } ms crash to report (eu-stack ${num(median(s.euStackMs), 0)} ms), daemon VmHWM ${
        num(s.hwmMiB, 1)
      } MiB`;
      targets.push(`- ${line.replace("crash report,", "crash report (no target set),")}`);
      readme.push(`- ${line}`);
    }
  }
  if (r.start !== undefined) {
    const s = startSection(r.start);
    sections.push(s.text);
    targets.push(
      `- a traced program's start after a crash with a kept core within 10%: ${verdict(s.met)}`,
    );
  }
  const about = await machine(r.date);
  const doc = [
    "# lttng-trig benchmarks",
    "",
    "Written by `bench/main.ts` (run it with `bash scripts/bench.sh` or `deno task bench`;",
    "`--quick` for a short run, `--help` for the options). Figures are from one run on one",
    "machine: compare rows of the same run, not runs of different machines. Nothing here is a",
    "test: the test suite asserts nothing about time.",
    "",
    "Its tools, in bench/: `rusage.c` runs a command and reports its wall time and peak RSS",
    "(`wait4`), and for a crash the time from the crasher's last `CLOCK_MONOTONIC` instant to",
    "its reaping; `snapshot_helper.c` is a core_pattern helper that snapshots through",
    "liblttng-ctl's `lttng_snapshot_record()`; `snapshot_helper.sh` is the shell helper that runs",
    "`lttng snapshot record`; `deno_floor.sh` is the bare Deno runtime as a core_pattern helper.",
    "Every lever is an option of lttng-trig (named in its row); the tree is never modified.",
    "",
    ...about,
    `- command: \`${r.command}\`${r.opts.quick ? " (quick run)" : ""}`,
    `- load average before / after: ${r.loadBefore} / ${r.loadAfter} (other work on the machine shows here)`,
    `- duration: ${num(r.durationS, 0)} s`,
    "",
    "## Targets",
    "",
    ...targets,
    "",
    ...sections.flatMap((s) => [s, ""]),
    ...analysis(r.crash, r.notify, r.ingest, r.storm),
    "## Levers removed",
    "",
    ...REMOVED_LEVERS,
    "",
  ].join("\n");
  const console = [
    "Run:",
    ...about,
    "",
    "Targets:",
    ...targets,
    "",
    "README figures (Performance section):",
    ...readme,
  ].join("\n");
  return { doc, console };
}

/** Write `doc` to `path` in the project's format (so that `deno fmt --check` passes). */
export async function writeReport(path: string, doc: string): Promise<void> {
  await Deno.writeTextFile(path, doc);
  await commandOutput(DENO, ["fmt", "--quiet", "--config", `${ROOT}/deno.json`, path]);
}
