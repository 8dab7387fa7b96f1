/**
 * A self-contained demonstration of lttng-trig's main job, run by scripts/demo.sh:
 * a traced program crashes and its last events are in a snapshot taken at the moment
 * of the core dump. Everything it changes is put back at the end (the snapshot stays in
 * a temporary directory for you to look at).
 */
import { LAUNCHER } from "../tests/fixtures/paths.ts";
import { runLauncher } from "../tests/fixtures/launcher.ts";
import { RootDaemon } from "../tests/fixtures/root_daemon.ts";
import { readTrace, SessionDaemon, SnapshotSession } from "../tests/fixtures/lttng.ts";
import { CorePatternGuard } from "../tests/fixtures/core_pattern.ts";
import { corePatternFor } from "../lib/install/pattern.ts";
import { buildCrasher, crash } from "../tests/fixtures/crasher.ts";
import { waitFor } from "../tests/fixtures/wait.ts";

const say = (text: string) => console.log(`\n== ${text}`);
const cmd = (text: string) => console.log(`$ ${text}`);

async function trig(...args: string[]): Promise<string> {
  cmd(`lttng-trig ${args.join(" ")}`);
  const r = await runLauncher(args);
  if (r.stderr.trim()) console.log(r.stderr.trimEnd());
  if (r.stdout.trim()) console.log(r.stdout.trimEnd());
  if (r.code !== 0) throw new Error(`lttng-trig ${args[0]} failed (exit ${r.code})`);
  return r.stdout;
}

async function main(): Promise<void> {
  if (Deno.uid() !== 0) throw new Error("the demo needs root (it writes core_pattern)");
  const work = await Deno.makeTempDir({ prefix: "lttng-trig-demo-" });
  await Deno.chmod(work, 0o755);
  await buildCrasher();

  say("LTTng session daemon");
  await using sessiond = await SessionDaemon.ensure();
  console.log(sessiond.ours ? "started lttng-sessiond --no-kernel" : "using the running one");

  say("a snapshot session with per-process buffers and the vpid and vtid contexts");
  cmd(`lttng create NAME --snapshot --output=${work}/snapshots`);
  cmd("lttng enable-channel -u --buffers-pid ch0 && lttng enable-event -u -a -c ch0");
  cmd("lttng add-context -u -t vpid -t vtid -c ch0 && lttng start");
  await using session = await SnapshotSession.create({
    buffers: "pid",
    output: `${work}/snapshots`,
    contexts: ["vpid", "vtid"],
  });
  console.log(`session ${session.name}`);

  say("the lttng-trig daemon");
  let daemon: RootDaemon | undefined;
  try {
    (await Deno.connect({ transport: "unix", path: "/var/run/lttng/client-lttng-trig" }))
      .close();
    console.log("an lttng-trig daemon already serves /var/run/lttng: using it");
  } catch {
    cmd(`lttng-trig daemon --state-dir=${work}/state &`);
    daemon = await RootDaemon.start(`${work}/state`);
    console.log(`daemon pid ${daemon.daemon.pid}`);
  }
  const trigger = `demo-${session.name}`;
  try {
    say("the RFC's command: snapshot the session on any core dump");
    await trig("set", "-s", session.name, "--name", trigger, "OnAnyCoreDump", "snapshot");
    await trig("list");

    say("point core_pattern at the notifier");
    // The line 'lttng-trig install' writes: the RFC's %p %u %g %e %h and the crash facts.
    const pattern = corePatternFor({ exe: LAUNCHER, facts: true });
    cmd(`echo '${pattern}' > /proc/sys/kernel/core_pattern`);
    await using _pattern = await CorePatternGuard.set(pattern);

    say("a traced program crashes (LD_PRELOAD=liblttng-ust-libc-wrapper.so.1)");
    const run = await crash({ lastAlloc: 31337 });
    console.log(
      `pid ${run.pid} died of ${run.signal}, released ${
        run.releaseMs.toFixed(0)
      } ms after its fault`,
    );

    say("what lttng-trig recorded");
    type Entry = { pid: number; outcome: string; results: { snapshot?: string }[] };
    const entry = await waitFor(async () => {
      const r = await runLauncher(["history", "--json", "-n", "100"]);
      const crashes = (JSON.parse(r.stdout) as { crashes: Entry[] }).crashes;
      return crashes.find((c) => c.pid === run.pid && c.outcome !== "pending");
    }, { timeoutMs: 20_000, what: "the crash in history" });
    await trig("history", "-n", "5");
    const snapshot = entry.results.find((r) => r.snapshot)?.snapshot;
    if (snapshot === undefined) throw new Error(`no snapshot: ${JSON.stringify(entry)}`);

    say("the crash in full: its facts and the crashed process's last events");
    await trig("show", String(run.pid));
    const ofPid = new RegExp(`\\bvpid = ${run.pid}\\b`);
    const events = (await readTrace(snapshot)).filter((e) => ofPid.test(e));
    if (!events.some((e) => e.includes("size = 31337"))) {
      throw new Error(`the snapshot lacks the program's last malloc(31337): ${snapshot}`);
    }
    console.log(`\nThe snapshot stays in ${snapshot}`);
    console.log("(its last event is the program's malloc(31337) right before the crash)");
  } finally {
    say("putting everything back");
    await runLauncher(["remove", trigger]);
    if (daemon !== undefined) await daemon[Symbol.asyncDispose]();
    console.log("core_pattern restored, trigger removed, daemon and session stopped");
  }
}

try {
  await main();
} catch (err) {
  console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
  Deno.exitCode = 1;
}
