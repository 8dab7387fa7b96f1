/**
 * lttng-trig's benchmark, run by `bash scripts/bench.sh` (as root, on a real kernel).
 *
 * It is not a test and asserts nothing: it measures, prints tables with the median, min
 * and max of each figure next to baselines measured in the same run, says which targets
 * are met, writes docs/BENCHMARKS.md and prints the figures of README.md's Performance
 * section. Seven measurements, one module each: crash.ts, notify.ts, ingest.ts, storm.ts,
 * chain.ts, crash_report.ts, start_after_crash.ts.
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
  buildReport,
  chainSection,
  crashReportSection,
  crashSection,
  ingestSection,
  notifySection,
  pipeHold,
  stormSection,
  writeReport,
} from "./report.ts";
import { measureCrash } from "./crash.ts";
import { measureNotify } from "./notify.ts";
import { measureIngest } from "./ingest.ts";
import { measureStorm } from "./storm.ts";
import { chainUnavailable, measureChain } from "./chain.ts";
import { measureCrashReport } from "./crash_report.ts";
import { measureStartAfterCrash, startSection } from "./start_after_crash.ts";

async function main(args: string[]): Promise<number> {
  const opts = parseOptions(args, `${ROOT}/docs/BENCHMARKS.md`);
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
  const results: Parameters<typeof buildReport>[0] = {
    opts,
    date,
    command: Deno.env.get("LTTNG_TRIG_BENCH_COMMAND") ??
      `deno run -P=tests bench/main.ts ${args.join(" ")}`.trim(),
    loadBefore,
    loadAfter: "",
    durationS: 0,
  };
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
      results.crash = await measureCrash(ctx);
      console.log(`\n${crashSection(results.crash).text}\n`);
    }
    if (opts.only.has("notify")) {
      step("2. notifier cost");
      results.notify = await measureNotify(ctx);
      console.log(`\n${notifySection(results.notify).text}\n`);
    }
    if (opts.only.has("ingest")) {
      step("3. daemon ingest");
      results.ingest = await measureIngest(ctx);
      console.log(`\n${ingestSection(results.ingest, opts).text}\n`);
    }
    if (opts.only.has("storm")) {
      if (budget.left() < 2 * opts.stormWindowS * 1000 + 90_000) {
        throw new Error(
          "not enough of the time budget left for the storm: raise --budget or lower --storm-window",
        );
      }
      step("4. storm");
      results.storm = await measureStorm(ctx, crasher);
      console.log(`\n${stormSection(results.storm, pipeHold(results.crash), opts)}\n`);
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
      results.chain = await measureChain(ctx);
      console.log(`\n${chainSection(results.chain)}\n`);
    }
    if (opts.only.has("report")) {
      step("6. crash report");
      results.crashReport = await measureCrashReport(ctx);
      console.log(`\n${crashReportSection(results.crashReport)}\n`);
    }
    if (opts.only.has("start")) {
      step("7. a traced program's start after a crash whose core is kept");
      results.start = await measureStartAfterCrash(ctx);
      console.log(`\n${startSection(results.start).text}\n`);
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    ours.dirs.delete(work);
    clearTimeout(hardDeadline);
  }
  results.loadAfter = loadavg();
  results.durationS = budget.elapsedS();
  const report = await buildReport(results);
  if (opts.out !== undefined) {
    await writeReport(opts.out, report.doc);
    console.error(`bench: wrote ${opts.out}`);
  }
  console.log(report.console);
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
