/**
 * The benchmark's options: argv to a typed object, in a pure function.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The six measurements, in the order they run. */
export const MEASUREMENTS = [
  "crash",
  "notify",
  "ingest",
  "storm",
  "chain",
  "report",
  "start",
] as const;
/** One of {@linkcode MEASUREMENTS}. */
export type Measurement = typeof MEASUREMENTS[number];

/** Usage of `bash scripts/bench.sh` (and of `deno run bench/main.ts`). */
export const USAGE = `Usage: bash scripts/bench.sh [OPTIONS]

Measures lttng-trig on this machine (as root), writes its figures to bench/results.json
and renders docs/BENCHMARKS.md from them. A full run
takes about two minutes on 2 cores; --quick about forty seconds.

Options:
  --quick                 A short run: fewer repetitions, a smaller storm.
  --crashes=N             Crashes per method in measurements 1 and 5 (default 20;
                          quick 5).
  --notify-runs=N         Runs per variant in measurement 2 (default 40; quick 12).
  --ingest-count=N        Notifications per sender level in measurement 3 (default 5000;
                          quick 1000).
  --ingest-reps=N         Repetitions of each level of measurement 3 (default 3; quick 2).
  --senders=LIST          Sender levels of measurement 3 (default 1,16,64).
  --storm=N               Crashes in the storm of measurement 4 (default 200; quick 50).
  --storm-window=S        Seconds over which the storm's crashes start (default 10; quick 5).
  --only=LIST             Only these measurements: crash,notify,ingest,storm,chain,report,
                          start.
  --budget=S              Stop starting new work after S seconds (default 540); every
                          wait has its own deadline, so the run ends soon after.
  --out=PATH              Where to write the report (default docs/BENCHMARKS.md).
  --json=PATH             Where to write the figures (default bench/results.json).
  --no-write              Print the tables only.
  -h, --help              Show this help.
`;

/** A wrong command line: printed as `Error: ...` with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The benchmark's options. */
export interface BenchOptions {
  help: boolean;
  quick: boolean;
  crashes: number;
  notifyRuns: number;
  ingestCount: number;
  ingestReps: number;
  senders: number[];
  storm: number;
  stormWindowS: number;
  only: Set<Measurement>;
  budgetS: number;
  /** Where to write the report; undefined with --no-write. */
  out?: string;
  /** Where to write the figures the report is rendered from. */
  json: string;
}

/**
 * Parse `args`; `defaultOut` and `defaultJson` are the report's and the figures' default
 * paths. Throws {@linkcode UsageError}.
 */
export function parseOptions(
  args: string[],
  defaultOut: string,
  defaultJson: string,
): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        quick: { type: "boolean" },
        crashes: { type: "string" },
        "notify-runs": { type: "string" },
        "ingest-count": { type: "string" },
        "ingest-reps": { type: "string" },
        senders: { type: "string" },
        storm: { type: "string" },
        "storm-window": { type: "string" },
        only: { type: "string" },
        budget: { type: "string" },
        out: { type: "string" },
        json: { type: "string" },
        "no-write": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const quick = values.quick === true;
  const int = (name: string, text: string | undefined, dflt: number, min: number) => {
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`--${name} must be an integer >= ${min}, got "${text}"`);
    }
    return n;
  };
  const only = new Set<Measurement>();
  for (const word of (values.only ?? MEASUREMENTS.join(",")).split(",").map((s) => s.trim())) {
    const m = MEASUREMENTS.find((x) => x === word);
    if (m === undefined) {
      throw new UsageError(`--only takes ${MEASUREMENTS.join(",")}, not "${word}"`);
    }
    only.add(m);
  }
  return {
    help: values.help === true,
    quick,
    crashes: int("crashes", values.crashes, quick ? 5 : 20, 1),
    notifyRuns: int("notify-runs", values["notify-runs"], quick ? 12 : 40, 1),
    ingestCount: int("ingest-count", values["ingest-count"], quick ? 1000 : 5000, 1),
    ingestReps: int("ingest-reps", values["ingest-reps"], quick ? 2 : 3, 1),
    senders: (values.senders ?? "1,16,64").split(",").map((s) => int("senders", s.trim(), 1, 1)),
    storm: int("storm", values.storm, quick ? 50 : 200, 1),
    stormWindowS: int("storm-window", values["storm-window"], quick ? 5 : 10, 1),
    only,
    budgetS: int("budget", values.budget, 540, 30),
    out: values["no-write"] ? undefined : (values.out ?? defaultOut),
    json: values.json ?? defaultJson,
  };
}
