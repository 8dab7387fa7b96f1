/**
 * Man pages in roff (the `man` macros), made from the command registry, in the shape of
 * LTTng's own: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXAMPLES, EXIT STATUS, FILES,
 * SEE ALSO. `lttng-trig(1)` for the program, `lttng-trig-COMMAND(1)` for each command,
 * and the topic pages (lttng-trig-concepts(7), lttng-trig-core-limits(5)).
 * `deno task man` writes them to dist/man/.
 *
 * @module
 */
import {
  type CommandSpec,
  isVerbatim,
  optionGroups,
  optionHelp,
  type OptionSpec,
  type ProgramSpec,
  usageLine,
} from "../core/registry.ts";
import { renderTopicManPage, type TopicPage } from "./topic_page.ts";
import { CONCEPTS_PAGE } from "./concepts.ts";
import { CORE_LIMITS_PAGE } from "./core_limits_page.ts";

/** The pages about a topic rather than a command, each also in docs/. */
export const TOPIC_PAGES: readonly TopicPage[] = [CONCEPTS_PAGE, CORE_LIMITS_PAGE];

/** Text for a roff text line: backslashes and hyphens escaped, no leading control character. */
export function roffEscape(text: string): string {
  const escaped = text.replaceAll("\\", "\\e").replaceAll("-", "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function bold(text: string): string {
  return `\\fB${roffEscape(text)}\\fR`;
}

function italic(text: string): string {
  return `\\fI${roffEscape(text)}\\fR`;
}

/** Lines shown as they are, indented. */
function verbatim(lines: readonly string[]): string[] {
  return [".PP", ".RS 4", ".nf", ...lines.map(roffEscape), ".fi", ".RE"];
}

/** Paragraphs: verbatim ones (indented lines) as they are, the others filled. */
function paragraphs(texts: readonly string[]): string[] {
  return texts.flatMap((p) =>
    isVerbatim(p)
      ? verbatim(p.split("\n").map((l) => l.replace(/^ {2}/, "")))
      : [".PP", roffEscape(p)]
  );
}

/** `\fB\-s\fR, \fB\-\-session\fR=\fISESSION\fR`. */
function optionHead(o: OptionSpec): string {
  const long = `${bold(`--${o.name}`)}${
    o.type === "string" ? `=${italic(o.value ?? "VALUE")}` : ""
  }`;
  return o.short === undefined ? long : `${bold(`-${o.short}`)}, ${long}`;
}

/** A synopsis word in roff: options bold, placeholders italic. */
function synopsisWord(word: string): string {
  return word.replace(/[^[\]|= ]+/g, (w) => /^[A-Z]/.test(w) ? italic(w) : bold(w));
}

function heading(name: string, summary: string, version: string): string[] {
  return [
    `.TH ${roffEscape(name.toUpperCase())} 1 "" "lttng-trig ${
      roffEscape(version)
    }" "lttng-trig Manual"`,
    ".nh",
    ".ad l",
    ".SH NAME",
    `${roffEscape(name)} \\- ${roffEscape(summary)}`,
  ];
}

function seeAlso(pages: readonly string[]): string[] {
  const refs = pages.map((p) => {
    const m = /^(.+)\((\d)\)$/.exec(p);
    return m === null ? roffEscape(p) : `${bold(m[1])}(${m[2]})`;
  });
  return ['.SH "SEE ALSO"', refs.join(",\n")];
}

function exitStatus(codes: CommandSpec["exitStatus"]): string[] {
  return [
    '.SH "EXIT STATUS"',
    ...codes.flatMap(([code, meaning]) => [".TP", bold(String(code)), roffEscape(meaning)]),
  ];
}

function files(list: readonly { path: string; help: string }[]): string[] {
  if (list.length === 0) return [];
  return [".SH FILES", ...list.flatMap((f) => [".TP", italic(f.path), roffEscape(f.help)])];
}

/** The man page `lttng-trig-NAME(1)` of one command. */
export function renderManPage(program: ProgramSpec, spec: CommandSpec): string {
  const page = `${program.name}-${spec.name}`;
  const [, ...synopsis] = usageLine(spec).split(" ");
  const out = [
    `.\\" Made by 'deno task man' from the command registry (lib/cli): do not edit.`,
    ...heading(page, spec.summary, program.version),
    ".SH SYNOPSIS",
    ".PP",
    ".in +4n",
    ".ti -4n",
    `${bold(program.name)} ${synopsis.map(synopsisWord).join(" ")}`,
    ".in",
    ".SH DESCRIPTION",
    ...paragraphs(spec.description),
  ];
  if (spec.positionals.length > 0) {
    out.push(".SS Arguments");
    for (const p of spec.positionals) {
      out.push(".TP", italic(p.name), roffEscape(p.help));
    }
  }
  out.push(...paragraphs(spec.notes ?? []));
  out.push(".SH OPTIONS");
  for (const [group, options] of optionGroups(spec)) {
    const note = spec.groups?.[group]?.help;
    if (group !== "Options") out.push(`.SS "${roffEscape(group)}"`);
    if (note !== undefined) {
      out.push(".PP", `${roffEscape(note[0].toUpperCase() + note.slice(1))}.`);
    }
    for (const o of options) {
      out.push(".TP", optionHead(o), roffEscape(optionHelp(o)));
      if (o.examples !== undefined && o.examples.length > 0) {
        out.push(".RS", ".PP", "Example:", ".PP", ".RS 4", ".nf");
        out.push(...o.examples.map(roffEscape), ".fi", ".RE", ".RE");
      }
    }
  }
  if (spec.examples !== undefined && spec.examples.length > 0) {
    out.push(".SH EXAMPLES");
    for (const e of spec.examples) {
      out.push(".PP", roffEscape(e.text), ...verbatim(e.commands));
    }
  }
  out.push(...exitStatus(spec.exitStatus));
  out.push(...files(spec.files ?? []));
  out.push(...seeAlso([`${program.name}(1)`, ...spec.seeAlso ?? [], ...program.seeAlso]));
  return `${out.join("\n")}\n`;
}

/** The man page `lttng-trig(1)`: the program, its options and the list of commands. */
export function renderProgramManPage(program: ProgramSpec): string {
  const out = [
    `.\\" Made by 'deno task man' from the command registry (lib/cli): do not edit.`,
    ...heading(program.name, program.summary, program.version),
    ".SH SYNOPSIS",
    ".PP",
    `${bold(program.name)} [${bold("-h")} | ${bold("-V")}]`,
    ".br",
    `${bold(program.name)} ${italic("COMMAND")} [${italic("OPTIONS")}] [${italic("ARGUMENTS")}]`,
    ".SH DESCRIPTION",
    ...paragraphs(program.description),
    ".PP",
    `Each command has its own page: ${bold(`${program.name}-COMMAND`)}(1).`,
    ".SH COMMANDS",
    ...program.commands.flatMap((c) => [
      ".TP",
      `${bold(`${program.name}-${c.name}`)}(1)`,
      roffEscape(`${c.summary}.`),
    ]),
    ".SH OPTIONS",
    ...program.options.flatMap((o) => [".TP", optionHead(o), roffEscape(o.help)]),
    ".SH ENVIRONMENT",
    ...program.environment.flatMap(([name, meaning]) => [".TP", bold(name), roffEscape(meaning)]),
    ...exitStatus(program.exitStatus),
    ...files(program.files),
    ...seeAlso([
      ...program.commands.map((c) => `${program.name}-${c.name}(1)`),
      ...program.seeAlso,
    ]),
  ];
  return `${out.join("\n")}\n`;
}

/** Every man page of `program`, by file name (`lttng-trig-set.1`). */
export function manPages(program: ProgramSpec): Record<string, string> {
  const pages: Record<string, string> = {
    [`${program.name}.1`]: renderProgramManPage(program),
  };
  for (const spec of program.commands) {
    pages[`${program.name}-${spec.name}.1`] = renderManPage(program, spec);
  }
  for (const page of TOPIC_PAGES) {
    pages[`${page.name}.${page.section}`] = renderTopicManPage(page, program.version);
  }
  return pages;
}
