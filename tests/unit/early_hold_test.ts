/**
 * The early path's hold files (lib/daemon/early_hold.ts), as bin/lttng-trig waits on them:
 * `flock -s` on a file the daemon locked, opened without creating it.
 */
import assert from "node:assert/strict";
import { EARLY_HOLD_DIR, EarlyHolds } from "../../lib/daemon/early_hold.ts";

const ROOT = Deno.uid() === 0 ? undefined : "the hold directory must be root's: run as root";

/** What the launcher runs: a shared lock within `seconds`, on a file it does not create. */
function launcherWaiting(path: string, seconds: string): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", `{ /usr/bin/flock -s -w "$2" 3 3<"$1"; } 2>/dev/null`, "sh", path, seconds],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function launcherWait(path: string, seconds: string): Promise<number> {
  return (await launcherWaiting(path, seconds).status).code;
}

/** Resolves once `pid` has `path` open on fd 3 (within 5 s). */
async function opened(pid: number, path: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/3`) === path) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not open ${path} within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test({
  name:
    "a hold keeps the launcher's shared lock waiting until it is released, then the file is gone",
  ignore: ROOT !== undefined,
  async fn() {
    const parent = await Deno.makeTempDir();
    try {
      const holds = EarlyHolds.prepare(`${parent}/early`, () => {});
      assert.ok(typeof holds !== "string", String(holds));
      assert.equal((await Deno.stat(`${parent}/early`)).mode! & 0o777, 0o700);
      const release = holds.take(4242);
      // Held: the launcher's wait gives up at its bound (flock exits 1).
      assert.equal(await launcherWait(`${parent}/early/4242`, "0.2"), 1);
      const waiting = launcherWaiting(`${parent}/early/4242`, "5");
      await opened(waiting.pid, `${parent}/early/4242`);
      release();
      release(); // idempotent
      assert.equal((await waiting.status).code, 0);
      await assert.rejects(Deno.stat(`${parent}/early/4242`), Deno.errors.NotFound);
      // No hold: the file is not there, and the launcher does not create it.
      assert.notEqual(await launcherWait(`${parent}/early/4343`, "1"), 0);
      await assert.rejects(Deno.stat(`${parent}/early/4343`), Deno.errors.NotFound);
      holds.take(4444);
      holds.close(); // releases what is held, removes the directory
      await assert.rejects(Deno.stat(`${parent}/early`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});

Deno.test({
  name: "a hold directory others can use is refused, and stale hold files are removed",
  ignore: ROOT !== undefined,
  async fn() {
    const parent = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${parent}/open`, { mode: 0o777 });
      await Deno.chmod(`${parent}/open`, 0o777);
      assert.match(
        String(EarlyHolds.prepare(`${parent}/open`, () => {})),
        /is not a directory of root's that only root can use/,
      );
      await Deno.mkdir(`${parent}/early`, { mode: 0o700 });
      await Deno.writeTextFile(`${parent}/early/77`, "");
      const holds = EarlyHolds.prepare(`${parent}/early`, () => {});
      assert.ok(typeof holds !== "string");
      await assert.rejects(Deno.stat(`${parent}/early/77`), Deno.errors.NotFound);
      holds.close();
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});

Deno.test("the launcher waits on the hold directory the daemon uses", async () => {
  const launcher = await Deno.readTextFile(new URL("../../bin/lttng-trig", import.meta.url));
  assert.ok(
    launcher.includes(`3<"${EARLY_HOLD_DIR}/$word"`),
    `bin/lttng-trig does not open ${EARLY_HOLD_DIR}/PID`,
  );
});
