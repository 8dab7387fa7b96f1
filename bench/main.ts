/**
 * lttng-trig's benchmark, run by `bash scripts/bench.sh` (as root, on a real kernel).
 *
 * It is not a test and asserts nothing: it measures, prints each section with the median,
 * min and max of each figure next to baselines measured in the same run, says which
 * targets are met, and writes the figures to bench/results.json and docs/BENCHMARKS.md
 * rendered from them (bench/report.ts). Seven measurements, one module each: crash.ts,
 * notify.ts, ingest.ts, storm.ts, chain.ts, crash_report.ts, start_after_crash.ts; their
 * sections are bench/sections.ts's.
 *
 * It plays by the end-to-end tests' rules: core_pattern only under CorePatternGuard (lock,
 * restored in every path), the root daemon only through RootDaemon (lock, temporary
 * state), lttng-sessiond only through SessionDaemon.ensure(), sessions of its own, and it
 * stops only the processes it started, by pid. It is bounded in time: every wait has a
 * deadline and the whole run a budget (--budget). Any failure, a lever that cannot be
 * applied included, ends it with exit status 1.
 *
 * @module
 */
import { e2eUnavailable } from "../tests/fixtures/root_daemon.ts";
import { SessionDaemon } from "../tests/fixtures/lttng.ts";
import { ROOT_RUN_DIR } from "../lib/core/paths.ts";
import { parseOptions, USAGE, UsageError } from "./options.ts";
import { type BenchContext, Budget, emergencyCleanup, ours, ROOT } from "./run.ts";
import { buildTools } from "./process_timing.ts";
import { loadavg } from "./project.ts";
import { num } from "./stats.ts";
import {
  mergeResults,
  readResults,
  renderSection,
  RESULTS_PATH,
  type RunInfo,
  type Section,
  targetLines,
  writeResults,
} from "./report.ts";
import {
  chainSection,
  crashReportSection,
  crashSection,
  ingestSection,
  notifySection,
  pipeHold,
  startSection,
  stormSection,
} from "./sections.ts";
import { measureCrash } from "./crash.ts";
import { measureNotify } from "./notify.ts";
import { measureIngest } from "./ingest.ts";
import { measureStorm } from "./storm.ts";
import { chainUnavailable, measureChain } from "./chain.ts";
import { measureCrashReport } from "./crash_report.ts";
import { measureStartAfterCrash } from "./start_after_crash.ts";
import { commandOutput } from "../tests/fixtures/process.ts";

/** The machine of the run: kernel, CPU model, cores, memory, versions. */
async function machine(): Promise<
  Omit<RunInfo, "date" | "command" | "quick" | "loadBefore" | "loadAfter" | "durationS">
> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(await Deno.readTextFile("/proc/meminfo"))?.[1];
  const version = (cmd: string) =>
    commandOutput(cmd, ["--version"]).then((t) => t.split("\n")[0].trim(), () => "?");
  return {
    kernel: `${Deno.osRelease()} (${(await Deno.readTextFile("/proc/version")).trim()})`,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "?",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Number(mem) / 1024 / 1024,
    deno: `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`,
    lttng: await version("lttng"),
    babeltrace2: await version("babeltrace2"),
  };
}

async function main(args: string[]): Promise<number> {
  const opts = parseOptions(args, `${ROOT}/docs/BENCHMARKS.md`, RESULTS_PATH);
  if (opts.help) {
    console.log(USAGE.trimEnd());
    return 0;
  }
  if (Deno.uid() !== 0) {
    console.error("Error: the benchmark needs root (it writes core_pattern): run it as root");
    return 1;
  }
  const skip = await e2eUnavailable();
  if (skip !== undefined) {
    console.error(`Error: cannot run the root daemon here: ${skip}`);
    return 1;
  }
  const budget = new Budget(opts.budgetS);
  // Ctrl-C or SIGTERM: stop our processes; CorePatternGuard's own listener (registered
  // later, so it runs after this one) restores core_pattern and exits.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      emergencyCleanup(`got ${sig}`);
      if (ours.guards === 0) Deno.exit(130);
    });
  }
  // The last resort, should a bounded wait still overrun: a hard deadline past the budget.
  const hardDeadline = setTimeout(() => {
    emergencyCleanup(`hard deadline (${opts.budgetS + 120} s) passed`);
    if (ours.guards > 0) Deno.kill(Deno.pid, "SIGTERM"); // the guard restores, then exits
    else Deno.exit(3);
  }, budget.ms + 120_000);
  const date = new Date();
  const loadBefore = loadavg();
  const crasher = await buildTools();
  const work = await Deno.makeTempDir({ prefix: "lttng-trig-bench-" });
  ours.dirs.add(work);
  await Deno.chmod(work, 0o755);
  const ctx: BenchContext = { opts, work, budget };
  const step = (what: string) => console.error(`bench: [${num(budget.elapsedS(), 0)} s] ${what}`);
  const sections: Section[] = [];
  const done = (s: Section) => {
    sections.push(s);
    console.log(`\n${renderSection(s)}\n`);
  };
  let pipeMedian = NaN;
  try {
    const needsSessiond = opts.only.has("crash") || opts.only.has("storm") ||
      opts.only.has("chain") || opts.only.has("start");
    await using sessiond = needsSessiond ? await SessionDaemon.ensure() : undefined;
    if (sessiond?.ours) {
      // Ours: stopped by the fixture at the end, by pid; known here for the signal path.
      const pid = Number(
        (await Deno.readTextFile(`${ROOT_RUN_DIR}/lttng-sessiond.pid`).catch(() => "")).trim(),
      );
      if (pid > 0) ours.pids.add(pid);
    }
    if (opts.only.has("crash")) {
      step("1. crash-to-release latency");
      const crash = await measureCrash(ctx);
      pipeMedian = pipeHold(crash);
      done(crashSection(crash));
    }
    if (opts.only.has("notify")) {
      step("2. notifier cost");
      done(notifySection(await measureNotify(ctx)));
    }
    if (opts.only.has("ingest")) {
      step("3. daemon ingest");
      done(ingestSection(await measureIngest(ctx), opts));
    }
    if (opts.only.has("storm")) {
      if (budget.left() < 2 * opts.stormWindowS * 1000 + 90_000) {
        throw new Error(
          "not enough of the time budget left for the storm: raise --budget or lower --storm-window",
        );
      }
      step("4. storm");
      done(stormSection(await measureStorm(ctx, crasher), pipeMedian, opts));
    }
    if (opts.only.has("chain")) {
      step("5. the chain over systemd-coredump");
      // A measurement that cannot run fails the benchmark: it is never left out.
      const why = await chainUnavailable();
      if (why !== undefined) {
        throw new Error(
          `measurement 5 (the chain) cannot run: ${why}: install systemd-coredump and zstd (bash scripts/setup.sh --tests), or leave it out with --only`,
        );
      }
      done(chainSection(await measureChain(ctx)));
    }
    if (opts.only.has("report")) {
      step("6. crash report");
      done(crashReportSection(await measureCrashReport(ctx)));
    }
    if (opts.only.has("start")) {
      step("7. a traced program's start after a crash whose core is kept");
      done(startSection(await measureStartAfterCrash(ctx)));
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    ours.dirs.delete(work);
    clearTimeout(hardDeadline);
  }
  const run: RunInfo = {
    date: date.toISOString(),
    ...await machine(),
    command: Deno.env.get("LTTNG_TRIG_BENCH_COMMAND") ??
      `deno run -P=tests bench/main.ts ${args.join(" ")}`.trim(),
    quick: opts.quick,
    loadBefore,
    loadAfter: loadavg(),
    durationS: budget.elapsedS(),
  };
  console.log(["Targets:", ...targetLines(sections)].join("\n"));
  if (opts.out !== undefined) {
    // The sections another run measured (evidence under load) stay.
    const results = mergeResults(await readResults(opts.json), run, sections);
    await writeResults(results, opts.json, opts.out);
    console.error(`bench: wrote ${opts.json} and ${opts.out}`);
  }
  return 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`Error: ${err.message}\n\n${USAGE}`);
      code = 2;
    } else {
      console.error(`Error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      code = 1;
    }
  }
  Deno.exit(code);
}
