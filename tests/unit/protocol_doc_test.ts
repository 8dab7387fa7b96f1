/**
 * docs/PROTOCOL.md against the protocol's own types: every field of the STATUS reply
 * (lib/protocol/control.ts) and every WATCH event type (lib/protocol/watch.ts) has its
 * row, and no row names one that is gone.
 */
import assert from "node:assert/strict";

const source = await Deno.readTextFile(new URL("../../lib/protocol/control.ts", import.meta.url));
const watchSource = await Deno.readTextFile(
  new URL("../../lib/protocol/watch.ts", import.meta.url),
);
const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));

/** The body of `export type NAME = { ... };` (its top-level fields only). */
function topLevelFields(name: string): string[] {
  const start = source.indexOf(`export type ${name} = {`);
  assert.ok(start >= 0, `no type ${name} in lib/protocol/control.ts`);
  const fields: string[] = [];
  let depth = 0;
  for (const line of source.slice(start).split("\n").slice(1)) {
    if (depth === 0 && /^};/.test(line)) break;
    const m = /^ {2}([a-zA-Z]+)\??:/.exec(line);
    if (depth === 0 && m !== null) fields.push(m[1]);
    depth += (line.match(/[{(]/g) ?? []).length - (line.match(/[})]/g) ?? []).length;
  }
  return fields;
}

/** The first column of the table under `### heading`, its header row left out. */
function tableKeys(heading: string): string[] {
  const section = doc.split(`### ${heading}\n`)[1]?.split(/\n#{2,3} /)[0];
  assert.ok(section !== undefined, `docs/PROTOCOL.md has no "### ${heading}"`);
  const rows = section.split("\n").filter((l) => l.startsWith("|")).slice(2);
  return rows.flatMap((l) => /^\| `([a-zA-Z]+)` +\|/.exec(l)?.[1] ?? []);
}

Deno.test("PROTOCOL.md's STATUS table has a row for each field of StatusReply, and no other", () => {
  const fields = topLevelFields("StatusReply");
  assert.ok(fields.includes("pid") && fields.includes("corePatternWatch"), fields.join(" "));
  assert.deepEqual(tableKeys("STATUS reply"), fields);
});

Deno.test("PROTOCOL.md's WATCH table has a row for each event type of WatchEvent, and no other", () => {
  const types = [...watchSource.matchAll(/type: "([a-z]+)"/g)].map((m) => m[1]);
  assert.deepEqual(types, [
    "watching",
    "crash",
    "outcome",
    "chain",
    "report",
    "heartbeat",
    "dropped",
  ]);
  assert.deepEqual(tableKeys("WATCH events"), types);
});
