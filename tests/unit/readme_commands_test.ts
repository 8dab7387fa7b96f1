/**
 * The README names commands, options and man pages; the registry (lib/cli/program.ts) is
 * their one list. Every command line of the README's code blocks is a command the registry
 * declares, with options it declares, and every `man` page it names is one that
 * `deno task man` makes.
 */
import assert from "node:assert/strict";
import { PROGRAM } from "../../lib/cli/program.ts";
import { manPages } from "../../lib/cli/man.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

/** The lines of the README's fenced code blocks. */
function codeLines(markdown: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inBlock = !inBlock;
    else if (inBlock) lines.push(line);
  }
  return lines;
}

Deno.test("every lttng-trig command line of the README is a command of the registry, with its options", () => {
  const lines = codeLines(README).map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.startsWith("lttng-trig "));
  assert.ok(lines.length > 5, "the README shows how to use lttng-trig");
  for (const line of lines) {
    const [, name, ...words] = line.split(/\s+/);
    const spec = PROGRAM.commands.find((c) => c.name === name);
    assert.ok(spec !== undefined, `README: "${line}": no command ${name} in the registry`);
    for (const word of words) {
      const option = /^--([a-z][a-z-]*)/.exec(word)?.[1];
      if (option === undefined) continue;
      assert.ok(
        spec.options.some((o) => o.name === option),
        `README: "${line}": ${name} has no --${option}`,
      );
    }
  }
});

Deno.test("every man page the README names is one the registry makes", () => {
  const pages = Object.keys(manPages(PROGRAM)).map((p) => p.replace(/\.\d$/, ""));
  const named = [...README.matchAll(/\bman (?:\d )?(lttng-trig[a-z-]*)/g)].map((m) => m[1]);
  assert.ok(named.length > 0);
  for (const page of named) assert.ok(pages.includes(page), `README: man ${page}: no such page`);
});
