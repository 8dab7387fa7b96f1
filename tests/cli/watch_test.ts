/** `lttng-trig watch` against a real daemon, through bin/lttng-trig. */
import assert from "node:assert/strict";
import { LAUNCHER } from "../fixtures/paths.ts";
import { cli, client, daemon, makeDirs, notifyArgs } from "./_helpers.ts";

/** A `watch --json` subprocess whose stdout lines are collected. */
function watch(run: string) {
  const child = new Deno.Command(LAUNCHER, {
    args: ["watch", "--json", `--run-dir=${run}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const pump = (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      const parts = (rest + dec.decode(chunk, { stream: true })).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
      for (const w of waiters.splice(0)) w();
    }
  })();
  const stderr = new Response(child.stderr).text();
  return {
    child,
    lines,
    stderr,
    /** Resolve once `check(lines)` holds; bounded. */
    async until(check: (l: typeof lines) => boolean, what: string, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!check(lines)) {
        if (Date.now() > deadline) throw new Error(`watch: timed out waiting for ${what}`);
        await Promise.race([
          new Promise<void>((r) => waiters.push(r)),
          new Promise((r) => setTimeout(r, 200)),
        ]);
      }
    },
    pump,
  };
}

Deno.test("watch streams a crash as it arrives and its outcome, and exits 0 on SIGINT", async () => {
  await using dirs = await makeDirs();
  await using d = await daemon(dirs);
  assert.equal((await client(dirs, "set", ["-s", "nosuch", "OnAnyCoreDump", "stop"])).code, 0);
  const w = watch(dirs.run);
  // The daemon says "watching" before anything: a crash sent after that is streamed.
  await waitWatching(d);
  const n = await cli(notifyArgs(dirs, "5151", "1000", "1000", "watched", "host"));
  assert.equal(n.code, 0, n.stderr);
  await w.until(
    (l) => l.some((e) => e.type === "outcome" && e.pid === 5151),
    "the crash's outcome",
  );
  const crash = w.lines.find((e) => e.type === "crash")!;
  assert.equal(crash.pid, 5151);
  assert.equal(crash.execName, "watched");
  const outcome = w.lines.find((e) => e.type === "outcome")!;
  assert.equal(outcome.outcome, "failed"); // no session daemon: the stop fails, with a reason
  assert.ok(w.lines.indexOf(crash) < w.lines.indexOf(outcome));
  w.child.kill("SIGINT");
  assert.equal((await w.child.status).code, 0, await w.stderr);
  await w.pump;
});

Deno.test("watch exits 1 with a message when the daemon stops", async () => {
  await using dirs = await makeDirs();
  const d = await daemon(dirs);
  const w = watch(dirs.run);
  await waitWatching(d);
  await d.stop();
  const status = await w.child.status;
  assert.equal(status.code, 1);
  assert.match(await w.stderr, /Error: the daemon stopped/);
  await w.pump;
});

Deno.test("watch with no daemon fails at once with exit 1", async () => {
  await using dirs = await makeDirs();
  const r = await client(dirs, "watch");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: no lttng-trig daemon answers/);
});

/** Wait until the daemon says a watcher follows it (count: how many so far). */
async function waitWatching(d: { log: string }, count = 1): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((d.log.match(/watch: a client follows crashes/g) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error("watch never connected");
    await new Promise((r) => setTimeout(r, 20));
  }
}
