/**
 * The benchmark's figures as JSON (bench/results.json) and the one writer that renders
 * docs/BENCHMARKS.md from them. A measurement gives a {@linkcode Section}: its tables,
 * its derived figures and its targets, as data; this module adds the headings and the
 * fixed text around them. A section measured by a run of its own (bench/evidence.ts's
 * "evidence under load") carries that run's date and command, and a full run keeps it.
 *
 * Run alone, it renders the document again from the JSON:
 * `deno run -P=tests bench/report.ts [bench/results.json] [docs/BENCHMARKS.md]`.
 *
 * @module
 */
import { MEASUREMENTS } from "./options.ts";
import { num } from "./stats.ts";

/** A table cell: text as it is, a number formatted by its column, or `null` ("-"). */
export type Cell = string | number | null;

/** A column of a {@linkcode Table}. */
export interface Column {
  /** Its header. */
  name: string;
  /** Decimals of its numbers. @default 1 */
  digits?: number;
}

/** Columns named by `specs`: a name, or a name and the decimals of its numbers. */
export function columns(...specs: (string | [string, number])[]): Column[] {
  return specs.map((s) => typeof s === "string" ? { name: s } : { name: s[0], digits: s[1] });
}

/** A table of a section. */
export interface Table {
  /** The paragraph before it. */
  caption?: string;
  columns: Column[];
  rows: Cell[][];
}

/** One derived figure, shown as `- label: value unit`. */
export interface Figure {
  label: string;
  /** `null` when it was not measured. */
  value: number | string | null;
  unit?: string;
  /** Decimals of a number. @default 1 */
  digits?: number;
}

/** A target or goal, with the figure that decides it. */
export interface Target {
  what: string;
  /** The figure, formatted ("3.78x", "+10.5 ms"). */
  value?: string;
  /** `null` when it was not measured. */
  met: boolean | null;
}

/** One measurement's part of the report. */
export interface Section {
  /** The measurement (bench/options.ts) or "evidence". */
  id: string;
  /** Its heading, without `##`. */
  title: string;
  /** Date and command of the run that measured it, when not the report's own run. */
  run?: { date: string; command: string };
  /** What it measures and how (Markdown). */
  about: string;
  tables: Table[];
  targets?: Target[];
  /** Derived figures, under {@linkcode Section.figuresCaption} ("Figures:" by default). */
  figures?: Figure[];
  figuresCaption?: string;
  /** Paragraphs after the figures: what the figures show. */
  text?: string[];
  /** Failures and remarks of the run, one bullet each, under {@linkcode Section.notesCaption} ("Notes:" by default). */
  notes?: string[];
  notesCaption?: string;
}

/** The run that wrote the report: the machine, the command, the load. */
export interface RunInfo {
  date: string;
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  deno: string;
  lttng: string;
  babeltrace2: string;
  command: string;
  quick: boolean;
  loadBefore: string;
  loadAfter: string;
  durationS: number;
}

/** The content of bench/results.json. */
export interface Results {
  run: RunInfo;
  sections: Section[];
}

/** The order of the sections in the document, whatever run measured them. */
export const SECTION_ORDER: string[] = [...MEASUREMENTS, "evidence"];

const INTRO = [
  "Written by `bench/main.ts` (run it with `bash scripts/bench.sh` or `deno task bench`; `--quick`",
  "for a short run, `--help` for the options), rendered by `bench/report.ts` from the figures",
  "the run writes to `bench/results.json`. Figures are from one run on one machine: compare rows",
  "of the same run, not runs of different machines. Nothing here is a test: the test suite",
  "asserts nothing about time.",
  "",
  "Its tools, in bench/: `rusage.c` runs a command and reports its wall time and peak RSS",
  "(`wait4`), and for a crash the time from the crasher's last `CLOCK_MONOTONIC` instant to its",
  "reaping; `snapshot_helper.c` is a core_pattern helper that snapshots through liblttng-ctl's",
  "`lttng_snapshot_record()`; `snapshot_helper.sh` is the shell helper that runs",
  "`lttng snapshot record`; `deno_floor.sh` is the bare Deno runtime as a core_pattern helper.",
  "Every lever is an option of lttng-trig (named in its row); the tree is never modified.",
].join("\n");

/** Levers of earlier versions, gone with the code they compared against (history, not rows). */
const REMOVED_LEVERS = [
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
  "  now remembers each session's output for a minute and records through liblttng-ctl, so the",
  "  patch found nothing to replace, and the row timing `list-output` alone no longer",
  "  describes a per-crash cost.",
  "- the store's `synchronous = NORMAL`: the store now commits crash history with NORMAL (WAL:",
  "  durable across a SIGKILL of the daemon) and trigger changes with FULL, and has no option",
  '  for it; the "NORMAL" rows had come to compare two nearly identical configurations.',
].join("\n");

/** How a target fared. */
export function verdict(met: boolean | null): string {
  return met === null ? "not measured" : met ? "**met**" : "**missed**";
}

/** A cell as Markdown: a pipe escaped, so that a cell never splits. */
function cellText(cell: Cell, column: Column | undefined): string {
  const text = typeof cell === "number" ? num(cell, column?.digits ?? 1) : cell ?? "-";
  return text.replaceAll("|", "\\|");
}

/** The one table writer. */
export function markdownTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(t.columns.map((c) => c.name)),
    line(t.columns.map(() => "---")),
    ...t.rows.map((row) => line(row.map((cell, i) => cellText(cell, t.columns[i])))),
  ].join("\n");
}

function figureText(f: Figure): string {
  const value = typeof f.value === "number" ? num(f.value, f.digits ?? 1) : f.value ?? "-";
  const unit = f.unit === undefined ? "" : f.unit.startsWith("/") ? f.unit : ` ${f.unit}`;
  return `- ${f.label}: ${value}${unit}`;
}

function targetText(t: Target): string {
  return `- ${t.what}: ${t.value === undefined ? "" : `${t.value}, `}${verdict(t.met)}`;
}

/** One section as Markdown. */
export function renderSection(s: Section): string {
  const blocks = [
    `## ${s.title}`,
    s.run === undefined ? s.about : `${s.run.date}, \`${s.run.command}\`. ${s.about}`,
  ];
  for (const t of s.tables) {
    if (t.caption !== undefined) blocks.push(t.caption);
    blocks.push(markdownTable(t));
  }
  if ((s.targets ?? []).length > 0) {
    blocks.push("Targets:", s.targets!.map(targetText).join("\n"));
  }
  if ((s.figures ?? []).length > 0) {
    blocks.push(s.figuresCaption ?? "Figures:");
    blocks.push(s.figures!.map(figureText).join("\n"));
  }
  blocks.push(...s.text ?? []);
  if ((s.notes ?? []).length > 0) {
    blocks.push(s.notesCaption ?? "Notes:");
    blocks.push(s.notes!.map((n) => `- ${n}`).join("\n"));
  }
  return blocks.join("\n\n");
}

/** The sections of `sections` in {@linkcode SECTION_ORDER}. */
function ordered(sections: Section[]): Section[] {
  const rank = (s: Section) => {
    const i = SECTION_ORDER.indexOf(s.id);
    return i < 0 ? SECTION_ORDER.length : i;
  };
  return sections.toSorted((a, b) => rank(a) - rank(b));
}

/** Every target of `sections`, one line each; one of another run names its section and date. */
export function targetLines(sections: Section[]): string[] {
  return sections.flatMap((s) =>
    (s.targets ?? []).map((t) =>
      targetText(
        s.run === undefined
          ? t
          : { ...t, what: `${t.what} (${s.title.replace(/^\d+\.\s*/, "")}, ${s.run.date})` },
      )
    )
  );
}

/** docs/BENCHMARKS.md from `results`. */
export function renderBenchmarks(results: Results): string {
  const r = results.run;
  const sections = ordered(results.sections);
  return [
    "# lttng-trig benchmarks",
    INTRO,
    [
      `- date: ${r.date}`,
      `- kernel: ${r.kernel}`,
      `- CPU: ${r.cpu}; cores (nproc): ${r.cores}`,
      `- memory: ${num(r.memoryGiB)} GiB`,
      `- ${r.deno}; ${r.lttng}; ${r.babeltrace2}`,
      `- command: \`${r.command}\`${r.quick ? " (quick run)" : ""}`,
      `- load average before / after: ${r.loadBefore} / ${r.loadAfter} (other work on the machine shows here)`,
      `- duration: ${num(r.durationS, 0)} s`,
    ].join("\n"),
    "## Targets",
    targetLines(sections).join("\n"),
    ...sections.map(renderSection),
    "## Levers removed",
    REMOVED_LEVERS,
  ].join("\n\n") + "\n";
}

/**
 * `run` and `sections` as the results of a run, with the sections of `previous` that this
 * one did not measure again, each with the run it is from (its own `run`, else the one of
 * `previous`): a partial run (`--only`) loses no figure.
 */
export function mergeResults(
  previous: Results | undefined,
  run: RunInfo,
  sections: Section[],
): Results {
  const ids = new Set(sections.map((s) => s.id));
  // A section this run did not measure keeps its figures, stamped with the run they are from.
  const kept = (previous?.sections ?? []).filter((s) => !ids.has(s.id)).map((s) =>
    s.run !== undefined || previous === undefined ? s : {
      ...s,
      run: {
        date: `${previous.run.date.slice(0, 16).replace("T", " ")} UTC`,
        command: previous.run.command,
      },
    }
  );
  return { run, sections: ordered([...sections, ...kept]) };
}

/** The results in `path`, or undefined when there are none. */
export async function readResults(path: string): Promise<Results | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Results;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Where a full run writes its figures. */
export const RESULTS_PATH = `${ROOT}/bench/results.json`;
/** Where it writes the document. */
export const REPORT_PATH = `${ROOT}/docs/BENCHMARKS.md`;

/** Write `results` to `json` and the document rendered from them to `doc`, both formatted. */
export async function writeResults(results: Results, json: string, doc: string): Promise<void> {
  const data: Results = { ...results, sections: ordered(results.sections) };
  await Deno.writeTextFile(json, JSON.stringify(data, null, 2) + "\n");
  await Deno.writeTextFile(doc, renderBenchmarks(results));
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--config", `${ROOT}/deno.json`, json, doc],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!fmt.success) throw new Error(`deno fmt ${json} ${doc} failed`);
}

if (import.meta.main) {
  const [json = RESULTS_PATH, doc = REPORT_PATH] = Deno.args;
  const results = await readResults(json);
  if (results === undefined) {
    console.error(`Error: no results in ${json}: run the benchmark (bash scripts/bench.sh)`);
    Deno.exit(1);
  }
  await writeResults(results, json, doc);
  console.error(`bench: rendered ${doc} from ${json}`);
}
