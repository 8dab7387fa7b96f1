/**
 * Pages about a topic rather than a command, as lttng-tools has lttng-concepts(7) and
 * systemd coredump.conf(5): one source, written as data, that `deno task man` renders
 * both as a man page (dist/man) and as Markdown (docs/), so the two never drift.
 *
 * A paragraph is filled text; one whose lines start with two spaces is shown as it is (a
 * command line, a table); one that starts with `- ` is a bullet. `` `code` `` is bold in
 * the man page and code in Markdown.
 *
 * @module
 */
import { isVerbatim } from "../core/registry.ts";

/** One section of a topic page. */
export interface TopicSection {
  /** Its heading (upper case in the man page). */
  readonly heading: string;
  /** Its paragraphs. */
  readonly paragraphs: readonly string[];
}

/** A topic page: `lttng-trig-concepts(7)`. */
export interface TopicPage {
  /** The page's name: `lttng-trig-concepts`. */
  readonly name: string;
  /** Its manual section: 5 for a file format, 7 for concepts. */
  readonly section: 5 | 7;
  /** One line, for NAME. */
  readonly summary: string;
  /** The sections, in order; the first is DESCRIPTION. */
  readonly sections: readonly TopicSection[];
  /** Other pages: `lttng-trig(1)`. */
  readonly seeAlso: readonly string[];
  /** Its Markdown copy in docs/: `CONCEPTS.md`. */
  readonly doc: string;
}

function roffText(text: string): string {
  const escaped = text.replaceAll("\\", "\\e").replaceAll("-", "\\-")
    .replace(/`([^`]+)`/g, "\\fB$1\\fR");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function roffParagraph(p: string): string[] {
  if (isVerbatim(p)) {
    const lines = p.split("\n").map((l) => l.replace(/^ {2}/, "").replaceAll("\\", "\\e"))
      .map((l) => l.replaceAll("-", "\\-")).map((l) => /^[.']/.test(l) ? `\\&${l}` : l);
    return [".PP", ".RS 4", ".nf", ...lines, ".fi", ".RE"];
  }
  if (p.startsWith("- ")) return [".IP \\(bu 2", roffText(p.slice(2))];
  return [".PP", roffText(p)];
}

/**
 * `page` as a man page in roff.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTopicManPage } from "./topic_page.ts";
 * const roff = renderTopicManPage({
 *   name: "x-concepts",
 *   section: 7,
 *   summary: "What x is",
 *   sections: [{ heading: "Description", paragraphs: ["Use `x set`."] }],
 *   seeAlso: ["x(1)"],
 *   doc: "CONCEPTS.md",
 * }, "1.0.0");
 * assert.match(roff, /^\.SH "DESCRIPTION"$/m);
 * assert.match(roff, /^Use \\fBx set\\fR\.$/m);
 * ```
 */
export function renderTopicManPage(page: TopicPage, version: string): string {
  const out = [
    `.\\" Made by 'deno task man' from lib/cli (${page.name}): do not edit.`,
    `.TH ${roffText(page.name.toUpperCase())} ${page.section} "" "lttng-trig ${
      roffText(version)
    }" "lttng-trig Manual"`,
    ".nh",
    ".ad l",
    ".SH NAME",
    `${roffText(page.name)} \\- ${roffText(page.summary)}`,
  ];
  for (const section of page.sections) {
    out.push(`.SH "${roffText(section.heading.toUpperCase())}"`);
    for (const p of section.paragraphs) out.push(...roffParagraph(p));
  }
  const refs = page.seeAlso.map((ref) => {
    const m = /^(.+)\((\d)\)$/.exec(ref);
    return m === null ? roffText(ref) : `\\fB${roffText(m[1])}\\fR(${m[2]})`;
  });
  out.push('.SH "SEE ALSO"', refs.join(",\n"));
  return `${out.join("\n")}\n`;
}

/** `page` as Markdown, for docs/. */
export function renderTopicMarkdown(page: TopicPage): string {
  const out = [
    `<!-- Made by 'deno task man' from lib/cli (${page.name}): do not edit. -->`,
    "",
    `# ${page.name}(${page.section}): ${page.summary}`,
  ];
  for (const section of page.sections) {
    out.push("", `## ${section.heading}`);
    let inList = false;
    for (const p of section.paragraphs) {
      const bullet = p.startsWith("- ");
      if (!(bullet && inList)) out.push("");
      inList = bullet;
      if (isVerbatim(p)) {
        out.push("```", ...p.split("\n").map((l) => l.replace(/^ {2}/, "")), "```");
      } else out.push(p);
    }
  }
  out.push("", "## See also", "", page.seeAlso.map((r) => `${r}`).join(", "));
  return `${out.join("\n")}\n`;
}
