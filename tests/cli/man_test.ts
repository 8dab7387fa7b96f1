/**
 * The man pages in dist/man/ are the ones the command registry makes (`deno task man`),
 * and groff formats each without a warning.
 */
import { requirement } from "../fixtures/require.ts";
import assert from "node:assert/strict";
import { manPages, roffEscape, TOPIC_PAGES } from "../../lib/cli/man.ts";
import { renderTopicMarkdown } from "../../lib/cli/topic_page.ts";
import { PROGRAM } from "../../lib/cli/program.ts";

const DIR = new URL("../../dist/man/", import.meta.url);
const pages = manPages(PROGRAM);

Deno.test("dist/man holds exactly the pages the registry makes: run 'deno task man'", async () => {
  const names = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => /\.[157]$/.test(n));
  assert.deepEqual(names.toSorted(), Object.keys(pages).toSorted());
  for (const [name, text] of Object.entries(pages)) {
    assert.equal(
      await Deno.readTextFile(new URL(name, DIR)),
      text,
      `dist/man/${name} is stale: run 'deno task man'`,
    );
  }
});

Deno.test("there is a page for lttng-trig and one per command, with every section", () => {
  const expected = [
    "lttng-trig.1",
    ...PROGRAM.commands.map((c) => `lttng-trig-${c.name}.1`),
    ...TOPIC_PAGES.map((t) => `${t.name}.${t.section}`),
  ];
  assert.deepEqual(Object.keys(pages), expected);
  for (const [name, text] of Object.entries(pages).filter(([name]) => name.endsWith(".1"))) {
    const sections = name === "lttng-trig.1"
      ? ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", '"EXIT STATUS"', "FILES"]
      : ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", '"EXIT STATUS"'];
    for (const section of [...sections, '"SEE ALSO"']) {
      assert.match(text, new RegExp(`^\\.SH ${section}$`, "m"), `${name}: no ${section}`);
    }
    for (const ref of ["lttng", "lttng\\\\-snapshot"]) {
      assert.match(text, new RegExp(`\\\\fB${ref}\\\\fR\\(1\\)`), `${name}: no ${ref}(1)`);
    }
    assert.match(text, /\\fBcore\\fR\(5\)/, `${name}: no core(5)`);
  }
  // Pages that have examples or files have the sections.
  assert.match(pages["lttng-trig-set.1"], /^\.SH EXAMPLES$/m);
  assert.match(pages["lttng-trig-set.1"], /^\.SH FILES$/m);
});

Deno.test("docs/ holds each topic page as the man page says it: run 'deno task man'", async () => {
  for (const page of TOPIC_PAGES) {
    assert.equal(
      await Deno.readTextFile(new URL(`../../docs/${page.doc}`, import.meta.url)),
      renderTopicMarkdown(page),
      `docs/${page.doc} is stale: run 'deno task man'`,
    );
  }
});

Deno.test("the topic pages have NAME, DESCRIPTION and SEE ALSO, and are named in section 5 or 7", () => {
  for (const page of TOPIC_PAGES) {
    const text = pages[`${page.name}.${page.section}`];
    assert.match(
      text,
      new RegExp(
        `^\\.TH ${page.name.toUpperCase().replaceAll("-", "\\\\-")} ${page.section} `,
        "m",
      ),
    );
    for (const section of ["NAME", '"DESCRIPTION"', '"SEE ALSO"']) {
      assert.match(text, new RegExp(`^\\.SH ${section}$`, "m"), `${page.name}: no ${section}`);
    }
  }
  // The defaults come from the keeper's constants, not from prose.
  assert.match(pages["lttng-trig-core-limits.5"], /Default: 15% of the filesystem, at most 4G/);
});

Deno.test("every option of every command is in its page, with its examples", () => {
  for (const spec of PROGRAM.commands) {
    const page = pages[`lttng-trig-${spec.name}.1`];
    for (const o of spec.options) {
      assert.ok(page.includes(`\\fB${roffEscape(`--${o.name}`)}\\fR`), `${spec.name}: --${o.name}`);
      for (const e of o.examples ?? []) {
        assert.ok(page.includes(`\n${roffEscape(e)}\n`), `${spec.name}: example ${e}`);
      }
    }
  }
});

Deno.test("roffEscape() escapes hyphens, backslashes and leading control characters", () => {
  assert.equal(roffEscape("--run-dir"), "\\-\\-run\\-dir");
  assert.equal(roffEscape("a\\b"), "a\\eb");
  assert.equal(roffEscape(".hidden"), "\\&.hidden");
  assert.equal(roffEscape("'quoted'"), "\\&'quoted'");
});

const groff = await (async () => {
  try {
    const out = await new Deno.Command("groff", { args: ["--version"], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "groff -ww -z formats every page without a warning (needs groff-base)",
  ignore: requirement(groff ? undefined : "groff is not installed (apt-get install groff-base)"),
  fn: async () => {
    for (const name of Object.keys(pages)) {
      const out = await new Deno.Command("groff", {
        args: ["-ww", "-z", "-man", new URL(name, DIR).pathname],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(stderr, "", `${name}: groff warns:\n${stderr}`);
      assert.ok(out.success, name);
    }
  },
});
