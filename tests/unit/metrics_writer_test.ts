import assert from "node:assert/strict";
import { type TextfileFs, TextfileWriter } from "../../lib/metrics/textfile_writer.ts";
import { JournalTail } from "../../lib/metrics/journal_tail.ts";
import { MetricsExporter } from "../../lib/metrics/exporter.ts";
import { tempDir } from "../fixtures/temp_dir.ts";
import { waitFor } from "../fixtures/wait.ts";

/** A file system that records the writes and renames. */
function recordingFs(): TextfileFs & { files: Map<string, string>; ops: string[] } {
  const files = new Map<string, string>();
  const ops: string[] = [];
  return {
    files,
    ops,
    writeNew(path, text) {
      if (files.has(path)) return Promise.reject(new Deno.errors.AlreadyExists(path));
      files.set(path, text);
      ops.push(`write ${path.replace(/\.[0-9a-f-]{36}\./, ".UUID.")}`);
      return Promise.resolve();
    },
    rename(from, to) {
      files.set(to, files.get(from)!);
      files.delete(from);
      ops.push(`rename ${to}`);
      return Promise.resolve();
    },
    remove(path) {
      files.delete(path);
      ops.push(`remove ${path}`);
      return Promise.resolve();
    },
  };
}

Deno.test("TextfileWriter writes a temporary file in the directory, then renames it", async () => {
  const fs = recordingFs();
  const w = new TextfileWriter({ dir: "/m", name: "x.prom", render: () => "a 1\n", fs });
  await w.flush();
  assert.deepEqual(fs.ops, ["write /m/.x.prom.UUID.tmp", "rename /m/x.prom"]);
  assert.deepEqual([...fs.files], [["/m/x.prom", "a 1\n"]]);
  await w.close();
  assert.deepEqual([...fs.files], []);
});

Deno.test("TextfileWriter writes a storm of changes at most once per interval, the last state last", async () => {
  const fs = recordingFs();
  let n = 0;
  const w = new TextfileWriter({
    dir: "/m",
    name: "x.prom",
    render: () => `n ${n}\n`,
    intervalMs: 200,
    fs,
  });
  for (let i = 0; i < 5000; i++) {
    n++;
    w.changed();
  }
  await waitFor(() => w.writes === 1, { what: "the first write" });
  for (let i = 0; i < 5000; i++) {
    n++;
    w.changed();
  }
  await waitFor(() => w.writes === 2, { what: "the second write" });
  assert.equal(fs.files.get("/m/x.prom"), "n 10000\n");
  await w.close();
  assert.equal(w.writes, 2);
});

Deno.test("TextfileWriter logs a missing directory once and writes nothing", async () => {
  await using dir = await tempDir("metrics-");
  const lines: string[] = [];
  const w = new TextfileWriter({
    dir: `${dir.path}/absent`,
    name: "x.prom",
    render: () => "a 1\n",
    log: (l) => lines.push(l),
  });
  await w.flush();
  await w.flush();
  assert.equal(lines.length, 1);
  assert.match(lines[0], /absent does not exist: no metrics are written/);
  assert.equal(w.writes, 0);
  await Deno.mkdir(`${dir.path}/absent`);
  await w.flush();
  assert.equal(await Deno.readTextFile(`${dir.path}/absent/x.prom`), "a 1\n");
  assert.equal((await Deno.stat(`${dir.path}/absent/x.prom`)).mode! & 0o777, 0o644);
  await w.close();
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/absent`)], []);
});

Deno.test("TextfileWriter never follows a symlink planted at the file's name", async () => {
  await using dir = await tempDir("metrics-");
  await Deno.writeTextFile(`${dir.path}/target`, "precious\n");
  await Deno.symlink(`${dir.path}/target`, `${dir.path}/x.prom`);
  const w = new TextfileWriter({ dir: dir.path, name: "x.prom", render: () => "a 1\n" });
  await w.flush();
  assert.equal(await Deno.readTextFile(`${dir.path}/target`), "precious\n");
  assert.equal((await Deno.lstat(`${dir.path}/x.prom`)).isSymlink, false);
  await w.close();
});

Deno.test("JournalTail reads only the entries appended after its start, whole lines only", async () => {
  await using dir = await tempDir("metrics-");
  const path = `${dir.path}/notifier.log`;
  await Deno.writeTextFile(path, JSON.stringify({ failures: ["old"] }) + "\n");
  const seen: string[][] = [];
  const tail = await JournalTail.start({ path, onEntry: (f) => seen.push(f), intervalMs: 60_000 });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ failures: ["a", "b"] }) + "\n{torn", {
      append: true,
    });
    await tail.poll();
    assert.deepEqual(seen, [["a", "b"]]);
    await Deno.writeTextFile(path, `": 1}\n${JSON.stringify({ failures: ["c"] })}\n`, {
      append: true,
    });
    await tail.poll();
    assert.deepEqual(seen, [["a", "b"], ["c"]]);
    // Rotated: the new, shorter journal is read from its beginning.
    await Deno.writeTextFile(path, JSON.stringify({ failures: ["d"] }) + "\n");
    await tail.poll();
    assert.deepEqual(seen.at(-1), ["d"]);
  } finally {
    tail.close();
  }
});

Deno.test("MetricsExporter writes every series at start and removes its file at close", async () => {
  await using dir = await tempDir("metrics-");
  const e = await MetricsExporter.start({ dir: dir.path, version: "9.9.9", intervalMs: 10 });
  const text = await Deno.readTextFile(`${dir.path}/lttng-trig.prom`);
  assert.match(text, /^lttng_trig_build_info\{version="9\.9\.9"\} 1$/m);
  assert.match(text, /^lttng_trig_crashes_total\{outcome="ok"\} 0$/m);
  e.crashFinished("ok", [{ action: "snapshot", outcome: "ok", durationMs: 5 }]);
  await waitFor(
    async () =>
      /^lttng_trig_crashes_total\{outcome="ok"\} 1$/m.test(
        await Deno.readTextFile(`${dir.path}/lttng-trig.prom`),
      ),
    { what: "the crash counted in the file" },
  );
  await e.close();
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});
