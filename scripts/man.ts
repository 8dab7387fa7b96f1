/**
 * `deno task man`: write the man pages that the command registry makes to dist/man/,
 * and remove pages of commands that are gone. tests/cli/man_test.ts checks that the
 * checked-in pages are up to date.
 */
import { manPages } from "../lib/cli/man.ts";
import { PROGRAM } from "../lib/cli/program.ts";

const dir = new URL("../dist/man/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const pages = manPages(PROGRAM);
for (const entry of Deno.readDirSync(dir)) {
  if (entry.name.endsWith(".1") && !(entry.name in pages)) {
    await Deno.remove(new URL(entry.name, dir));
  }
}
for (const [name, text] of Object.entries(pages)) {
  await Deno.writeTextFile(new URL(name, dir), text);
}
console.log(`Wrote ${Object.keys(pages).length} man pages to dist/man/`);
