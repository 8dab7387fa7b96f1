/**
 * The command registry: each command declares its options and arguments once, in a
 * {@linkcode CommandSpec}, and its argument parsing (`parse()` in option_parser.ts), its
 * `--help` ({@linkcode renderHelp}), the bash completion script (`completions.ts`) and its
 * man page (`man.ts`) are all made from that declaration. Nothing here knows any command.
 *
 * @module
 */
/**
 * What completes a value in bash: session names (`lttng list`), the daemon's trigger
 * names, file names, directory names, lttng-trig's commands, or fixed words (matched
 * case-insensitively; a word ending in `:` is completed without a space after it).
 */
export type Completer =
  | "sessions"
  | "triggers"
  | "files"
  | "dirs"
  | "commands"
  | { readonly words: readonly string[] };

/** One option of a command. */
export interface OptionSpec {
  /** Long name, without the dashes: `session` for `--session`. */
  readonly name: string;
  /** One-letter short form, without the dash: `s` for `-s`. */
  readonly short?: string;
  /** `boolean` for a flag, `string` for an option that takes a value. */
  readonly type: "boolean" | "string";
  /** The value's placeholder in usage and help (`SESSION`, `DIR`); string options only. */
  readonly value?: string;
  /** The value the parser gives when the option is absent; shown in help and man. */
  readonly default?: string;
  /** What it does, in sentences (wrapped when rendered). */
  readonly help: string;
  /** Command lines that use it (at least one, except for `--help`). */
  readonly examples?: readonly string[];
  /** What completes its value. */
  readonly complete?: Completer;
  /** Heading of the help section it is listed under. @default "Options" */
  readonly group?: string;
  /**
   * Options it cannot be given with, by long name: the parser refuses the pair, and help
   * ends "Not with --OTHER.". Either side may declare a pair.
   */
  readonly conflicts?: readonly OptionConflict[];
  /**
   * Options it needs, by long name: the parser refuses it without them, and help begins
   * "With --OTHER: ", so that `help` then reads on in lower case.
   */
  readonly depends?: readonly string[];
}

/**
 * An option that another excludes: its long name, or its name and the error that says
 * why, when a usage error that names the two is not enough (`--chain applies to the
 * notifier, not to --socket (...)`).
 */
export type OptionConflict = string | { readonly option: string; readonly error: string };

/** One positional argument of a command. */
export interface PositionalSpec {
  /** Its placeholder (`NAME`, `CRASH`), or its words joined by `|` when `complete` lists them. */
  readonly name: string;
  /** What it is. */
  readonly help: string;
  /** What completes it; fixed words are also how the usage line names it. */
  readonly complete?: Completer;
  /** It may be left out (the usage line brackets it). */
  readonly optional?: boolean;
}

/** An example of a whole command, for help and the EXAMPLES of a man page. */
export interface ExampleSpec {
  /** What it does. */
  readonly text: string;
  /** The command line(s). */
  readonly commands: readonly string[];
}

/** A file a command reads or writes, for the FILES of a man page. */
export interface FileSpec {
  /** Its path, with placeholders (`RUN_DIR/client-lttng-trig`). */
  readonly path: string;
  /** What it is. */
  readonly help: string;
}

/** Everything a command declares: the single source of its parsing, help, completion and man page. */
export interface CommandSpec {
  /** The command's name: `set`. */
  readonly name: string;
  /** One line for the list of commands and the NAME of the man page. */
  readonly summary: string;
  /**
   * Paragraphs of description. A paragraph whose lines start with two spaces is shown as
   * it is (a table, a command line); any other is wrapped.
   */
  readonly description: readonly string[];
  /** Its options, in the order help lists them. */
  readonly options: readonly OptionSpec[];
  /** Its positional arguments, in order. */
  readonly positionals: readonly PositionalSpec[];
  /** Heading of a group of options and the word the usage line shows for it: `FILTERS`. */
  readonly groups?: Readonly<Record<string, { readonly usage?: string; readonly help?: string }>>;
  /** Paragraphs shown after the options in help (in DESCRIPTION in the man page). */
  readonly notes?: readonly string[];
  /** Whole-command examples. */
  readonly examples?: readonly ExampleSpec[];
  /** What each exit code means. */
  readonly exitStatus: readonly (readonly [code: number, meaning: string])[];
  /** Files it uses. */
  readonly files?: readonly FileSpec[];
  /** Other man pages: `lttng-trig-list(1)`. */
  readonly seeAlso?: readonly string[];
  /** Its arguments are data and are not parsed here (`notify`): no `--help` interception. */
  readonly rawArgs?: boolean;
}

/** The whole program: its own options and its commands. */
export interface ProgramSpec {
  /** `lttng-trig`. */
  readonly name: string;
  /** The version. */
  readonly version: string;
  /** One line, for the man page's NAME. */
  readonly summary: string;
  /** Paragraphs of description, as in {@linkcode CommandSpec.description}. */
  readonly description: readonly string[];
  /** Options before a command (`--help`, `--version`). */
  readonly options: readonly OptionSpec[];
  /** The commands, in the order the help lists them. */
  readonly commands: readonly CommandSpec[];
  /** Exit codes. */
  readonly exitStatus: readonly (readonly [code: number, meaning: string])[];
  /** Files. */
  readonly files: readonly FileSpec[];
  /** Environment variables it reads. */
  readonly environment: readonly (readonly [name: string, meaning: string])[];
  /** Other man pages. */
  readonly seeAlso: readonly string[];
}

/** `-h, --help`, which every command takes. */
export const HELP_OPTION = {
  name: "help",
  short: "h",
  type: "boolean",
  help: "Show this help and exit.",
} as const satisfies OptionSpec;

function valueOf(o: OptionSpec): string {
  return o.value ?? "VALUE";
}

/** How the usage line shows one option: `[-s SESSION]`, `[--json]`, `[--cooldown=DURATION]`. */
function usageWord(o: OptionSpec): string {
  if (o.type === "boolean") return `[${o.short === undefined ? `--${o.name}` : `-${o.short}`}]`;
  return o.short === undefined ? `[--${o.name}=${valueOf(o)}]` : `[-${o.short} ${valueOf(o)}]`;
}

/** How usage lines and help show a positional: its words (`snapshot|stop`) or its name. */
export function positionalWord(p: PositionalSpec): string {
  const word = typeof p.complete === "object" ? p.complete.words.join("|") : p.name;
  return p.optional ? `[${word}]` : word;
}

/**
 * The usage line, without `Usage: `: the options (but `--help`), a group of options that
 * has a `usage` word as that word, then the positionals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usageLine } from "./registry.ts";
 * assert.equal(usageLine({
 *   name: "remove", summary: "", description: [], exitStatus: [],
 *   options: [{ name: "run-dir", type: "string", value: "DIR", help: "" }],
 *   positionals: [{ name: "NAME", help: "" }],
 * }), "lttng-trig remove [--run-dir=DIR] NAME");
 * ```
 */
export function usageLine(spec: CommandSpec): string {
  const words = [`lttng-trig ${spec.name}`];
  const shownGroups = new Set<string>();
  for (const o of spec.options) {
    if (o.name === "help") continue;
    const groupWord = o.group === undefined ? undefined : spec.groups?.[o.group]?.usage;
    if (groupWord === undefined) {
      words.push(usageWord(o));
    } else if (!shownGroups.has(groupWord)) {
      shownGroups.add(groupWord);
      words.push(`[${groupWord}]`);
    }
  }
  for (const p of spec.positionals) words.push(positionalWord(p));
  return words.join(" ");
}

/** How help and man pages name an option: `-s, --session=SESSION`, `--json`. */
export function optionLabel(o: OptionSpec): string {
  const long = o.type === "string" ? `--${o.name}=${valueOf(o)}` : `--${o.name}`;
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`;
}

/**
 * The help text of an option: the options it needs (`With --chain: ...`), what it does,
 * the options it excludes (`Not with --socket.`) and its default.
 */
export function optionHelp(o: OptionSpec): string {
  const needs = o.depends ?? [];
  const parts = [needs.length === 0 ? o.help : `With ${flagList(needs, "and")}: ${o.help}`];
  const excluded = (o.conflicts ?? []).map((c) => typeof c === "string" ? c : c.option);
  if (excluded.length > 0) parts.push(`Not with ${flagList(excluded, "or")}.`);
  if (o.default !== undefined) parts.push(`Default: ${o.default}.`);
  return parts.join(" ");
}

/** `--a`, `--a or --b`, `--a, --b or --c` (with `and`, the same). */
function flagList(names: readonly string[], word: "and" | "or"): string {
  const flags = names.map((n) => `--${n}`);
  return flags.length === 1 ? flags[0] : `${flags.slice(0, -1).join(", ")} ${word} ${flags.at(-1)}`;
}

/** Wrap `text` to lines of at most `width` characters (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** A paragraph is shown as it is when its lines are indented. */
export function isVerbatim(paragraph: string): boolean {
  return paragraph.startsWith("  ");
}

/** Help and man pages wrap at this width. */
const WIDTH = 88;
/** Where option descriptions start in help. */
const DESCRIPTION_COLUMN = 26;

function paragraphs(texts: readonly string[]): string[] {
  return texts.map((p) => isVerbatim(p) ? p.trimEnd() : wrap(p, WIDTH).join("\n"));
}

/** Help lines for one option: its label, its description and its examples. */
function optionLines(o: OptionSpec): string[] {
  const label = `  ${optionLabel(o)}`;
  const text = wrap(optionHelp(o), WIDTH - DESCRIPTION_COLUMN);
  const pad = " ".repeat(DESCRIPTION_COLUMN);
  const lines: string[] = [];
  if (label.length + 2 <= DESCRIPTION_COLUMN) {
    lines.push(label.padEnd(DESCRIPTION_COLUMN) + (text.shift() ?? ""));
  } else {
    lines.push(label);
  }
  for (const t of text) lines.push(pad + t);
  for (const e of o.examples ?? []) lines.push(`${pad}  ${e}`);
  return lines.map((l) => l.trimEnd());
}

/** The option groups of `spec`, in order of first appearance: [heading, options]. */
export function optionGroups(spec: CommandSpec): [string, OptionSpec[]][] {
  const groups = new Map<string, OptionSpec[]>();
  for (const o of spec.options) {
    const g = o.group ?? "Options";
    groups.set(g, [...groups.get(g) ?? [], o]);
  }
  return [...groups];
}

/** The words of an exit status list: `0 ok, 1 failed, 2 usage error.` */
export function exitStatusText(codes: CommandSpec["exitStatus"]): string {
  return `${codes.map(([code, meaning]) => `${code} ${meaning}`).join(", ")}.`;
}

/**
 * `lttng-trig COMMAND --help`: the usage line, the description, the arguments, every
 * option with what it does and an example, grouped, the notes, the examples and the exit
 * status.
 */
export function renderHelp(spec: CommandSpec): string {
  const out: string[] = [`Usage: ${usageLine(spec)}`];
  out.push(...paragraphs(spec.description));
  const args = spec.positionals.filter((p) => p.help !== "");
  if (args.length > 0) {
    const width = Math.max(...args.map((p) => p.name.length));
    out.push(
      `Arguments:\n${
        args.map((p) =>
          wrap(p.help, WIDTH - width - 4).map((l, i) =>
            `  ${(i === 0 ? p.name : "").padEnd(width)}  ${l}`
          ).join("\n")
        ).join("\n")
      }`,
    );
  }
  for (const [heading, options] of optionGroups(spec)) {
    const note = spec.groups?.[heading]?.help;
    out.push(
      [`${heading}${note === undefined ? "" : ` (${note})`}:`, ...options.flatMap(optionLines)]
        .join("\n"),
    );
  }
  out.push(...paragraphs(spec.notes ?? []));
  if (spec.examples !== undefined && spec.examples.length > 0) {
    out.push(
      `Examples:\n${
        spec.examples.map((e) =>
          [...wrap(e.text, WIDTH - 2).map((l) => `  ${l}`), ...e.commands.map((c) => `    ${c}`)]
            .join("\n")
        ).join("\n")
      }`,
    );
  }
  out.push(wrap(`Exit status: ${exitStatusText(spec.exitStatus)}`, WIDTH).join("\n"));
  return `${out.join("\n\n")}\n`;
}

/** `lttng-trig --help`: the usage, the description, the commands and the program's options. */
export function renderProgramHelp(program: ProgramSpec): string {
  const width = Math.max(...program.commands.map((c) => c.name.length));
  const commands = program.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  const options = program.options.map((o) => {
    const label = `  ${optionLabel(o)}`;
    return `${label.padEnd(DESCRIPTION_COLUMN)}${o.help}`;
  });
  return [
    `Usage: ${program.name} COMMAND [OPTIONS]`,
    ...paragraphs(program.description),
    `Commands:\n${commands.join("\n")}`,
    `Run '${program.name} COMMAND --help' (or 'man ${program.name}-COMMAND') for a command's options.`,
    `Options:\n${options.join("\n")}`,
  ].join("\n\n") + "\n";
}
