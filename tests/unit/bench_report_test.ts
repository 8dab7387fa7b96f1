/**
 * The benchmark's one writer (bench/report.ts): docs/BENCHMARKS.md is what it renders
 * from bench/results.json, a full run keeps the section another run measured, and a
 * table's cells are formatted by their column.
 */
import assert from "node:assert/strict";
import {
  markdownTable,
  mergeResults,
  readResults,
  renderBenchmarks,
  type Results,
  type Section,
} from "../../bench/report.ts";

const ROOT = new URL("../../", import.meta.url);

/** `markdown` as `deno fmt` writes it (the document is formatted when written). */
async function formatted(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", new URL("deno.json", ROOT).pathname, "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("docs/BENCHMARKS.md is bench/results.json rendered: run 'deno run -P=tests bench/report.ts'", async () => {
  const results = await readResults(new URL("bench/results.json", ROOT).pathname);
  assert.ok(results !== undefined);
  const doc = await Deno.readTextFile(new URL("docs/BENCHMARKS.md", ROOT));
  assert.equal(await formatted(renderBenchmarks(results)), doc);
  // Section 8 comes from its own run (bench/evidence.ts), and says so.
  const evidence = results.sections.find((s) => s.id === "evidence");
  assert.ok(evidence?.run !== undefined);
  assert.match(
    doc,
    /^## 8\. Evidence under load\n\n\d{4}-\d\d-\d\d .*, `deno run -P=tests bench\/evidence\.ts/m,
  );
});

Deno.test("markdownTable() formats numbers by their column, writes null as -, escapes pipes", () => {
  const text = markdownTable({
    columns: [{ name: "method" }, { name: "median" }, { name: "rate", digits: 0 }, {
      name: "p99",
      digits: 2,
    }],
    rows: [["`|/bin/true`", 1.04, 12345.6, null]],
  });
  assert.equal(
    text,
    "| method | median | rate | p99 |\n| --- | --- | --- | --- |\n| `\\|/bin/true` | 1.0 | 12346 | - |",
  );
});

const RUN: Results["run"] = {
  date: "2026-12-04T00:00:00.000Z",
  kernel: "6.18",
  cpu: "cpu",
  cores: 2,
  memoryGiB: 1,
  deno: "Deno",
  lttng: "lttng",
  babeltrace2: "babeltrace2",
  command: "bash scripts/bench.sh",
  quick: false,
  loadBefore: "0 0 0",
  loadAfter: "0 0 0",
  durationS: 1,
};

function section(id: string, run?: Section["run"]): Section {
  return { id, title: id, about: `about ${id}`, tables: [], ...(run ? { run } : {}) };
}

Deno.test("mergeResults() replaces the sections measured again and keeps the others, each with the run it is from", () => {
  const evidence = section("evidence", { date: "then", command: "deno run bench/evidence.ts" });
  const previous: Results = { run: RUN, sections: [section("crash"), section("notify"), evidence] };
  const merged = mergeResults(previous, { ...RUN, date: "2026-12-05T00:00:00.000Z" }, [
    section("notify"),
    section("ingest"),
  ]);
  assert.deepEqual(merged.sections.map((s) => s.id), ["crash", "notify", "ingest", "evidence"]);
  assert.deepEqual(merged.sections[0].run, {
    date: "2026-12-04 00:00 UTC",
    command: "bash scripts/bench.sh",
  });
  assert.equal(merged.sections[1].run, undefined); // this run's
  assert.equal(merged.sections[3], evidence);
  assert.deepEqual(mergeResults(undefined, RUN, [section("crash")]).sections.map((s) => s.id), [
    "crash",
  ]);
});

Deno.test("renderBenchmarks() lists every section's targets, another run's with its date", () => {
  const doc = renderBenchmarks({
    run: RUN,
    sections: [
      { ...section("crash"), targets: [{ what: "fast", value: "1.0x", met: true }] },
      {
        ...section("evidence", { date: "2026-12-01 10:00 UTC", command: "x" }),
        title: "8. Evidence under load",
        targets: [{ what: "kept", value: "20/20", met: false }, { what: "late", met: null }],
      },
    ],
  });
  const targets = doc.split("## Targets\n\n")[1].split("\n\n")[0];
  assert.equal(
    targets,
    [
      "- fast: 1.0x, **met**",
      "- kept (Evidence under load, 2026-12-01 10:00 UTC): 20/20, **missed**",
      "- late (Evidence under load, 2026-12-01 10:00 UTC): not measured",
    ].join("\n"),
  );
  assert.match(doc, /^## 8\. Evidence under load\n\n2026-12-01 10:00 UTC, `x`\. about evidence$/m);
});
