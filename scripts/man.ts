/**
 * `deno task man`: write the man pages that the command registry and the topic pages make
 * to dist/man/, and the topic pages' Markdown copies to docs/; remove pages that are gone.
 * tests/cli/man_test.ts checks that the checked-in files are up to date.
 */
import { manPages, TOPIC_PAGES } from "../lib/cli/man.ts";
import { PROGRAM } from "../lib/cli/program.ts";
import { renderTopicMarkdown } from "../lib/cli/topic_page.ts";

const dir = new URL("../dist/man/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const pages = manPages(PROGRAM);
for (const entry of Deno.readDirSync(dir)) {
  if (/\.[157]$/.test(entry.name) && !(entry.name in pages)) {
    await Deno.remove(new URL(entry.name, dir));
  }
}
for (const [name, text] of Object.entries(pages)) {
  await Deno.writeTextFile(new URL(name, dir), text);
}
for (const page of TOPIC_PAGES) {
  await Deno.writeTextFile(
    new URL(`../docs/${page.doc}`, import.meta.url),
    renderTopicMarkdown(page),
  );
}
console.log(
  `Wrote ${Object.keys(pages).length} man pages to dist/man/ and ${TOPIC_PAGES.length} to docs/`,
);
