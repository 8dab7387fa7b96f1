/** `lttng-trig daemon --metrics-dir`: the metrics file of a real daemon subprocess. */
import assert from "node:assert/strict";
import { assertExit, cli, daemon, makeDirs, notifyArgs } from "./_helpers.ts";
import { waitFor } from "../fixtures/wait.ts";

Deno.test("daemon --metrics-dir writes lttng-trig.prom, counts a crash, and removes it at stop", async () => {
  await using dirs = await makeDirs();
  const metrics = `${dirs.scratch}/textfile`;
  await Deno.mkdir(metrics);
  const file = `${metrics}/lttng-trig.prom`;
  {
    await using _d = await daemon(dirs, [`--metrics-dir=${metrics}`]);
    const first = await Deno.readTextFile(file);
    assert.match(first, /^lttng_trig_build_info\{version="0\.1\.0"\} 1$/m);
    assert.match(first, /^lttng_trig_crashes_total\{outcome="no-trigger"\} 0$/m);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o644);
    assertExit(await cli(notifyArgs(dirs, "4343", "0", "0", "metered", "host")), 0);
    const after = await waitFor(async () => {
      const t = await Deno.readTextFile(file);
      return /^lttng_trig_crashes_total\{outcome="no-trigger"\} 1$/m.test(t) ? t : undefined;
    }, { what: "the crash counted in lttng-trig.prom" });
    assert.match(after, /^lttng_trig_hold_duration_seconds_count 1$/m);
    assert.match(after, /^lttng_trig_actions_total\{action="snapshot",result="ok"\} 0$/m);
    assert.doesNotMatch(after, /metered|4343/);
    // Nothing but the file: the temporary files were renamed.
    assert.deepEqual([...Deno.readDirSync(metrics)].map((e) => e.name), ["lttng-trig.prom"]);
  }
  assert.deepEqual([...Deno.readDirSync(metrics)], []);
});

Deno.test("daemon --metrics-dir on a missing directory writes nothing, says so, and handles crashes", async () => {
  await using dirs = await makeDirs();
  const missing = `${dirs.scratch}/no-node-exporter`;
  await using d = await daemon(dirs, [`--metrics-dir=${missing}`]);
  assertExit(await cli(notifyArgs(dirs, "4344", "0", "0", "metered", "host")), 0);
  // The crash is handled all the same (and logged).
  await waitFor(() => d.log.includes("4344"), { what: "the crash in the daemon's log" });
  const said = d.log.split("\n").filter((l) => l.includes(`${missing} does not exist`));
  assert.equal(said.length, 1, d.log);
  assert.match(said[0], /no metrics are written \(install prometheus-node-exporter/);
  assert.equal(await Deno.stat(missing).then(() => true, () => false), false);
});

Deno.test("the notifier's journalled failures are counted by reason", async () => {
  await using dirs = await makeDirs();
  const metrics = `${dirs.scratch}/textfile`;
  await Deno.mkdir(metrics);
  await using _d = await daemon(dirs, [`--metrics-dir=${metrics}`]);
  // A notifier that reaches no daemon (an empty run directory) journals "no root daemon"
  // in the state directory, which the daemon follows.
  const nowhere = `${dirs.scratch}/no-daemon`;
  await Deno.mkdir(nowhere);
  const r = await cli([
    "notify",
    `--run-dir=${nowhere}`,
    `--state-dir=${dirs.state}`,
    "4345",
    "0",
    "0",
    "lonely",
    "host",
  ]);
  assertExit(r, 1);
  const text = await waitFor(async () => {
    const t = await Deno.readTextFile(`${metrics}/lttng-trig.prom`);
    return /^lttng_trig_notifier_failures_total\{reason="no-daemon"\} 1$/m.test(t) ? t : undefined;
  }, { what: 'notifier_failures_total{reason="no-daemon"} 1' });
  assert.match(text, /^lttng_trig_notifier_failures_total\{reason="timeout"\} 0$/m);
  assert.match(text, /^lttng_trig_crashes_total\{outcome="no-trigger"\} 0$/m);
});
