/**
 * End to end, for real: the root daemon writes its metrics into the textfile directory
 * of Debian's prometheus-node-exporter, which this test starts on 127.0.0.1 (a free port,
 * a directory of its own, nothing of the package's service or default directory), and
 * scrapes over HTTP, before and after a real traced program crashes under core_pattern.
 */
import assert from "node:assert/strict";
import { e2eUnavailable, NOTIFY_PATTERN, RootDaemon } from "../fixtures/root_daemon.ts";
import { SessionDaemon, SnapshotSession } from "../fixtures/lttng.ts";
import { CorePatternGuard } from "../fixtures/core_pattern.ts";
import { buildCrasher, crash } from "../fixtures/crasher.ts";
import { crashEntry } from "../fixtures/history.ts";
import { trig } from "../fixtures/launcher.ts";
import { waitFor } from "../fixtures/wait.ts";
import { requirement } from "../fixtures/require.ts";
import { tempDir } from "../fixtures/temp_dir.ts";

const NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";

async function unavailable(): Promise<string | undefined> {
  const e2e = await e2eUnavailable();
  if (e2e !== undefined) return e2e;
  try {
    await Deno.stat(NODE_EXPORTER);
    return undefined;
  } catch {
    return `${NODE_EXPORTER} is missing: apt-get install prometheus-node-exporter (scripts/setup.sh --tests)`;
  }
}

const skip = await unavailable();

/** A port on 127.0.0.1 that nothing listens on right now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A node_exporter of our own with the textfile collector only, stopped by pid. */
async function startNodeExporter(dir: string): Promise<
  { url: string; child: Deno.ChildProcess } & AsyncDisposable
> {
  const port = freePort();
  const child = new Deno.Command(NODE_EXPORTER, {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--collector.disable-defaults",
      "--collector.textfile",
      `--collector.textfile.directory=${dir}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/metrics`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  };
  try {
    await waitFor(async () => (await scrape(url)).includes("node_textfile_scrape_error"), {
      what: `node_exporter answering on ${url}`,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, child, [Symbol.asyncDispose]: stop };
}

async function scrape(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return text;
}

/** The value of the sample `series` (name and labels exactly as node_exporter writes them). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test({
  name: "end to end: node_exporter serves the daemon's metrics, and a crash moves them",
  ignore: requirement(skip),
  async fn() {
    await buildCrasher();
    await using _sessiond = await SessionDaemon.ensure();
    await using work = await tempDir("lttng-trig-metrics-", 0o755);
    const textfile = `${work.path}/textfile`;
    await Deno.mkdir(textfile, { mode: 0o755 });
    await using exporter = await startNodeExporter(textfile);
    {
      await using _root = await RootDaemon.start(`${work.path}/state`, [
        `--metrics-dir=${textfile}`,
      ]);
      // The daemon writes its file at start: every series is there, at 0.
      const before = await waitFor(async () => {
        const t = await scrape(exporter.url);
        return t.includes("lttng_trig_build_info") ? t : undefined;
      }, { what: "lttng_trig_build_info in node_exporter's /metrics" });
      assert.equal(sample(before, 'lttng_trig_build_info{version="0.1.0"}'), 1);
      assert.equal(sample(before, 'lttng_trig_crashes_total{outcome="ok"}'), 0);
      assert.equal(sample(before, 'lttng_trig_actions_total{action="snapshot",result="ok"}'), 0);
      assert.equal(sample(before, "lttng_trig_hold_duration_seconds_count"), 0);
      assert.equal(sample(before, "node_textfile_scrape_error"), 0);

      await using _pattern = await CorePatternGuard.set(NOTIFY_PATTERN);
      await using session = await SnapshotSession.create({
        buffers: "uid",
        output: `${work.path}/out`,
      });
      await trig("set", "-s", session.name, "--name", "metrics-e2e", "OnAnyCoreDump", "snapshot");
      try {
        const run = await crash({ lastAlloc: 4096 });
        assert.equal(run.signal, "SIGSEGV");
        const entry = await crashEntry(run.pid);
        assert.equal(entry.outcome, "ok", JSON.stringify(entry));
        const after = await waitFor(async () => {
          const t = await scrape(exporter.url);
          return sample(t, 'lttng_trig_crashes_total{outcome="ok"}') === 1 ? t : undefined;
        }, { what: 'lttng_trig_crashes_total{outcome="ok"} 1 in /metrics' });
        assert.equal(sample(after, 'lttng_trig_actions_total{action="snapshot",result="ok"}'), 1);
        assert.equal(sample(after, 'lttng_trig_actions_total{action="stop",result="ok"}'), 0);
        assert.equal(sample(after, "lttng_trig_action_duration_seconds_count"), 1);
        assert.equal(sample(after, 'lttng_trig_action_duration_seconds_bucket{le="+Inf"}'), 1);
        assert.equal(sample(after, "lttng_trig_hold_duration_seconds_count"), 1);
        assert.ok(sample(after, "lttng_trig_hold_duration_seconds_sum")! > 0, after);
        assert.equal(sample(after, 'lttng_trig_crashes_total{outcome="failed"}'), 0);
        // No series names a pid or an executable.
        assert.doesNotMatch(after, /^lttng_trig_.*(crasher|pid=|exe=)/m);
      } finally {
        await trig("remove", "metrics-e2e");
      }
    }
    // Stopped: its file is gone, and node_exporter no longer serves its series.
    assert.deepEqual([...Deno.readDirSync(textfile)].map((e) => e.name), []);
    assert.doesNotMatch(await scrape(exporter.url), /^lttng_trig_/m);
  },
});
