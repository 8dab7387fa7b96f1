/**
 * Measurement 1: crash-to-release latency of a real traced crash with a per-pid snapshot
 * session, for lttng-trig's pipe and socket modes against a shell and a C core_pattern
 * helper, and against the floors its overhead is counted from: the kernel with no helper
 * and no dump, the kernel's pipe to `/bin/true`, and the bare Deno runtime as the helper.
 *
 * @module
 */
import { findDirs } from "../tests/fixtures/relayd.ts";
import { buildCrasher } from "../tests/fixtures/crasher.ts";
import {
  BENCH_DIR,
  type BenchContext,
  KERNEL_HAS_SOCKET,
  LAUNCHER,
  PIPE_PATTERN,
  ROOT_CONTROL,
  setCorePattern,
  SOCKET_PATTERN,
  startRootDaemon,
  stopRootDaemon,
} from "./run.ts";
import { C_HELPER, crashOnce, type Usage } from "./process_timing.ts";
import {
  benchSession,
  finishedEntry,
  lastMallocOf,
  type Server,
  setSnapshotTrigger,
  startTempDaemon,
} from "./project.ts";
import { num } from "./stats.ts";

/** The daemon option every row but the lever's runs with (what `auto` picks here). */
export const LTTNG_CTL_DEFAULT = "--lttng-ctl=library";
/** The lever: the daemon's actions through the `lttng` command instead of liblttng-ctl. */
export const LTTNG_CTL_LEVER = "--lttng-ctl=command";

/** One crash of one method. */
export interface CrashSample {
  round: number;
  pid: number;
  size: number;
  ms: number;
  signal: number;
  /** Where the snapshot is, when the method says. */
  snapshot?: string;
  /** Time the snapshot itself took, as the method reports it. */
  snapshotMs?: number;
  ok: boolean;
  note?: string;
}

/** Keys of the methods, for the report. */
export type CrashKey =
  | "nodump"
  | "true"
  | "deno"
  | "c"
  | "shell"
  | "pipe-nt"
  | "pipe"
  | "socket"
  | "pipe-command";

/** One way of handling the crash: a core_pattern, and how its outcome is checked. */
export interface CrashMethod {
  key: CrashKey;
  label: string;
  pattern: string;
  crasher: string;
  /** A lever (one real option changed), listed apart in the report. */
  lever: boolean;
  /** The control socket of the daemon that records its crashes (lttng-trig's modes). */
  control?: string;
  /** Run the crasher with RLIMIT_CORE 0. */
  noCore: boolean;
  snapshots: boolean;
  samples: CrashSample[];
  verified: number;
  checked: number;
  verifyNotes: string[];
}

/** The results of measurement 1. */
export interface CrashPhase {
  methods: CrashMethod[];
  notes: string[];
}

/** The method `key` of `p`, if this run has it. */
export function method(p: CrashPhase, key: CrashKey): CrashMethod | undefined {
  return p.methods.find((m) => m.key === key);
}

/** Run measurement 1. */
export async function measureCrash(ctx: BenchContext): Promise<CrashPhase> {
  const { opts, work, budget } = ctx;
  const notes: string[] = [];
  const crasher = await buildCrasher();
  // The same program under another name: no trigger matches it (--exec=crasher).
  const otherCrasher = `${work}/crasher-nt`;
  await Deno.copyFile(crasher, otherCrasher);
  await Deno.chmod(otherCrasher, 0o755);

  await using root = await startRootDaemon(`${work}/state-crash`, [LTTNG_CTL_DEFAULT]);
  let lever: Server | undefined;
  try {
    await using session = await benchSession("pid", `${work}/out-crash`);
    await setSnapshotTrigger(session.name, "bench-crash");
    // The lever's daemon, on a temporary run directory that its notifier is told of.
    const leverRun = `${work}/cmd/run`;
    lever = await startTempDaemon(`${work}/cmd`, [LTTNG_CTL_LEVER]);
    await setSnapshotTrigger(session.name, "bench-crash", leverRun);

    const cLog = `${work}/c-helper.log`;
    const shLog = `${work}/sh-helper.log`;
    const m = (
      key: CrashKey,
      label: string,
      pattern: string,
      o: { snapshots?: boolean; crasher?: string; control?: string; lever?: boolean } = {},
    ): CrashMethod => ({
      key,
      label,
      pattern,
      crasher: o.crasher ?? crasher,
      lever: o.lever ?? false,
      control: o.control,
      noCore: key === "nodump",
      snapshots: o.snapshots ?? false,
      samples: [],
      verified: 0,
      checked: 0,
      verifyNotes: [],
    });
    const methods = [
      m(
        "nodump",
        "no helper, no dump: file core_pattern, `RLIMIT_CORE` 0 (the kernel's floor)",
        `${work}/core.%p`,
      ),
      m("true", "no snapshot: `\\|/bin/true` (the kernel's pipe floor)", "|/bin/true"),
      m(
        "deno",
        "no snapshot: bare Deno start as the helper (`bench/deno_floor.sh`: sh, `deno run` of an empty script)",
        `|/bin/sh ${BENCH_DIR}/deno_floor.sh`,
      ),
      m(
        "c",
        "C helper: liblttng-ctl `lttng_snapshot_record()`",
        `|${C_HELPER} ${session.name} ${cLog} %p %e`,
        { snapshots: true },
      ),
      m(
        "shell",
        "shell helper: `lttng snapshot record` (baseline)",
        `|/bin/sh ${BENCH_DIR}/snapshot_helper.sh ${session.name} ${shLog} %p %e`,
        { snapshots: true },
      ),
      m(
        "pipe-nt",
        "lttng-trig pipe mode, no trigger matches (notifier round trip only)",
        PIPE_PATTERN,
        { crasher: otherCrasher, control: ROOT_CONTROL },
      ),
      m("pipe", "**lttng-trig pipe mode** (snapshot trigger)", PIPE_PATTERN, {
        snapshots: true,
        control: ROOT_CONTROL,
      }),
    ];
    if (KERNEL_HAS_SOCKET) {
      methods.push(m(
        "socket",
        "**lttng-trig socket mode** (coredump socket: no helper process)",
        SOCKET_PATTERN,
        { snapshots: true, control: ROOT_CONTROL },
      ));
    } else {
      notes.push(`socket mode needs Linux 6.16+; this is ${Deno.osRelease()}`);
    }
    methods.push(m(
      "pipe-command",
      `lttng-trig pipe mode, daemon \`${LTTNG_CTL_LEVER}\` (the \`lttng\` command, not liblttng-ctl)`,
      `|${LAUNCHER} notify --run-dir=${leverRun} %p %u %g %e %h`,
      { snapshots: true, control: lever.control, lever: true },
    ));

    const logLine = async (path: string, pid: number) => {
      const text = await Deno.readTextFile(path).catch(() => "");
      return text.split("\n").find((l) => l.startsWith(`pid=${pid} `));
    };

    // Round robin over the methods, so that a slow spell of the machine hits them alike.
    for (let round = 0; round < opts.crashes; round++) {
      if (budget.left() < 60_000) {
        notes.push(`cut short by the budget after ${round} round(s)`);
        break;
      }
      for (const [i, x] of methods.entries()) {
        const size = 20_000 + round * 16 + i;
        let u: Usage;
        {
          await using _pattern = await setCorePattern(x.pattern);
          u = await crashOnce(x.crasher, size, { noCore: x.noCore });
        }
        const s: CrashSample = {
          round,
          pid: u.pid,
          size,
          ms: u.crashToReapMs ?? NaN,
          signal: u.signal,
          ok: u.signal === 11 && !u.timedOut,
        };
        if (!s.ok) s.note = `signal ${u.signal}${u.timedOut ? ", timed out" : ""}`;
        if (x.control !== undefined) {
          const e = await finishedEntry(x.control, u.pid).catch((err) => {
            s.ok = false;
            s.note = (err as Error).message;
            return undefined;
          });
          const want = x.key === "pipe-nt" ? "no-trigger" : "ok";
          if (e !== undefined && e.outcome !== want) {
            s.ok = false;
            s.note = `history outcome ${e.outcome}: ${JSON.stringify(e.results)}`;
          }
          const r = e?.results.find((y) => y.trigger === "bench-crash");
          s.snapshot = r?.snapshot;
          s.snapshotMs = r?.durationMs;
        } else if (x.key === "c" || x.key === "shell") {
          const line = await logLine(x.key === "c" ? cLog : shLog, u.pid);
          const ret = /ret=(-?\d+)/.exec(line ?? "")?.[1];
          if (ret !== "0") {
            s.ok = false;
            s.note = line === undefined ? "the helper left no log line" : `helper: ${line}`;
          }
          const ns = /snapshot_ns=(\d+)/.exec(line ?? "")?.[1];
          if (ns !== undefined) s.snapshotMs = Number(ns) / 1e6;
        }
        x.samples.push(s);
      }
      console.error(
        `bench: crash round ${round + 1}/${opts.crashes}: ${
          methods.map((x) => `${x.key} ${num(x.samples.at(-1)?.ms ?? NaN)} ms`).join(", ")
        }`,
      );
    }
    const cores = (await Array.fromAsync(Deno.readDir(work))).filter((e) =>
      e.name.startsWith("core.")
    );
    if (cores.length > 0) {
      throw new Error(
        `the no-dump floor wrote ${cores.length} core file(s) in ${work}: RLIMIT_CORE 0 did not stop the dump, so that row would not be the kernel's floor`,
      );
    }

    // Does each snapshot hold the crashed process's last allocation? (babeltrace2, vpid)
    for (const x of methods.filter((y) => y.snapshots)) {
      await verifySnapshots(x, session.output, () => budget.left());
    }
    return { methods, notes };
  } finally {
    await lever?.stop();
    await stopRootDaemon(root);
  }
}

/** Read back the snapshots of `m` (babeltrace2) and count those with the last malloc. */
async function verifySnapshots(
  m: CrashMethod,
  output: string,
  left: () => number,
): Promise<void> {
  for (const [i, s] of m.samples.entries()) {
    if (i > 0 && left() < 45_000) {
      m.verifyNotes.push(`only ${m.checked} of ${m.samples.length} read back (budget)`);
      return;
    }
    m.checked++;
    let dir = s.snapshot;
    if (dir === undefined || !dir.startsWith("/")) {
      dir = (await findDirs(output, `core-crasher-${s.pid}-`).catch(() => []))[0];
    }
    if (dir === undefined) {
      m.verifyNotes.push(`pid ${s.pid}: no snapshot directory${s.note ? ` (${s.note})` : ""}`);
      continue;
    }
    try {
      const r = await lastMallocOf(dir, s.pid);
      if (r.lastSize === s.size) m.verified++;
      else {
        m.verifyNotes.push(
          `pid ${s.pid} (held ${
            num(s.ms)
          } ms): ${r.count} malloc(s) of its own in ${dir}, last of size ${
            r.lastSize ?? "-"
          } (expected ${s.size})`,
        );
      }
    } catch (err) {
      const lines = (err as Error).message.split("\n");
      const why = lines.filter((l) => /\bE\b|ERROR|[Ee]rror/.test(l)).slice(0, 2);
      m.verifyNotes.push(
        `pid ${s.pid} (held ${num(s.ms)} ms): ${
          (why.length > 0 ? why : lines.slice(0, 1)).join(" ").replace(/\s+/g, " ").slice(0, 300)
        }`,
      );
    }
  }
}
